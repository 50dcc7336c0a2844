// The trusted baseline end to end on moto_server: `vouch baseline capture` reads trails, bucket policies and IAM
// trust/inline policies into a store; a state-overwriting change is planned from the baseline and reverted to it
// (denied), or accepted so the baseline moves (confirmed); no baseline → no plan, with the reason; a refresh that
// read the changed state after the change never becomes the state a revert puts back; `diff` shows drift.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, GetBucketPolicyCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import {
  CreateTrailCommand,
  GetEventSelectorsCommand,
  GetTrailCommand,
  PutEventSelectorsCommand,
  UpdateTrailCommand,
} from '@aws-sdk/client-cloudtrail';
import {
  CreateGroupCommand,
  CreateRoleCommand,
  CreateUserCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { createAwsClientFactory, planRevert, revertVerdictFields } from '../../../src/revert';
import { captureIntoStore, createBaselinePlanner, loadBaselineLookup } from '../../../src/revert/baseline/index';
import { createBaselineStore, type BaselineStore } from '../../../src/revert/baseline/store';
import { parsePolicyDocument } from '../../../src/revert/baseline/types';
import { baselineCommand } from '../../../src/cli/baseline';
import { runCommand } from '../../../src/cli/program';
import { createBaselineActivities } from '../../../activities/baseline';
import { ACCOUNT, CREDS, REGION, changeOf, record, revertTwice, startAws, type Aws } from '../helpers';
import type { Change } from '../../../src/core/types';

let aws: Aws;
let dir: string;
let store: BaselineStore;
let clientFor: ReturnType<typeof createAwsClientFactory>['clientFor'];

const P0 = { Version: '2012-10-17', Statement: [{ Sid: 'DenyInsecure', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::vouch-data/*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] };
const P_PUBLIC = { Version: '2012-10-17', Statement: [{ Sid: 'Public', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::vouch-data/*' }] };
const T0 = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
const T_FOREIGN = { Version: '2012-10-17', Statement: [...T0.Statement, { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::193672423079:root' }, Action: 'sts:AssumeRole' }] };
const D0 = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }] };
const D_STAR = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
const SELECTORS0 = [{ ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: [] }];

/** CloudTrail's eventTime has whole seconds: events here are stamped a second ahead, so they fall after the capture. */
function later(): { eventTime: string } {
  return { eventTime: new Date(Date.now() + 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

async function plan(change: Change) {
  return createBaselinePlanner(store, { ttlMs: 0 }).plan(change); // the planner intake uses
}

async function capture(now?: () => Date) {
  return captureIntoStore({ clientFor, store, account: ACCOUNT, regions: [REGION], ...(now ? { now } : {}) });
}

before(async () => {
  aws = await startAws();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-baseline-'));
  store = createBaselineStore(dir);
  clientFor = createAwsClientFactory({ endpoint: aws.moto.endpoint, credentials: CREDS }).clientFor;
  const s3 = aws.admin('s3');
  await s3.send(new CreateBucketCommand({ Bucket: 'vouch-trail-logs' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'attacker-logs' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'vouch-data' }));
  await s3.send(new PutBucketPolicyCommand({ Bucket: 'vouch-data', Policy: JSON.stringify(P0) }));
  const ct = aws.admin('cloudtrail');
  await ct.send(new CreateTrailCommand({ Name: 'org-trail', S3BucketName: 'vouch-trail-logs', S3KeyPrefix: 'ct', IsMultiRegionTrail: true, IncludeGlobalServiceEvents: true }));
  await ct.send(new PutEventSelectorsCommand({ TrailName: 'org-trail', EventSelectors: SELECTORS0 as never }));
  const iam = aws.admin('iam');
  await iam.send(new CreateRoleCommand({ RoleName: 'app-deployer', AssumeRolePolicyDocument: JSON.stringify(T0) }));
  await iam.send(new PutRolePolicyCommand({ RoleName: 'app-deployer', PolicyName: 'deploy', PolicyDocument: JSON.stringify(D0) }));
  await iam.send(new CreateUserCommand({ UserName: 'ci' }));
  await iam.send(new PutUserPolicyCommand({ UserName: 'ci', PolicyName: 'ci-inline', PolicyDocument: JSON.stringify(D0) }));
  await iam.send(new CreateGroupCommand({ GroupName: 'ops' }));
});

after(async () => {
  await aws?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('capture', () => {
  test('records the trail, the bucket policies and the IAM principals of the account', async () => {
    const summaries = await capture();
    assert.deepEqual(summaries.map((s) => s.scope), [REGION, 'global']);
    const regional = summaries[0] ?? assert.fail('no regional summary');
    assert.deepEqual(regional.added, ['cloudtrail-trail:org-trail']);
    const global = summaries[1] ?? assert.fail('no global summary');
    for (const key of ['s3-bucket-policy:vouch-data', 'iam-role:app-deployer', 'iam-user:ci', 'iam-group:ops']) {
      assert.ok(global.added.includes(key), `${key} captured (got ${global.added.join(', ')})`);
    }
    const lookup = await loadBaselineLookup(store, ACCOUNT, [REGION]);
    const role = lookup.get(ACCOUNT, 'global', 'iam-role', 'app-deployer')?.config as { AssumeRolePolicyDocument: unknown; InlinePolicies: Record<string, unknown> };
    assert.deepEqual(role.AssumeRolePolicyDocument, T0);
    assert.deepEqual(role.InlinePolicies, { deploy: D0 });
    assert.deepEqual(lookup.get(ACCOUNT, 'global', 's3-bucket-policy', 'vouch-data')?.config, { Bucket: 'vouch-data', Policy: P0 });
    const trail = lookup.get(ACCOUNT, REGION, 'cloudtrail-trail', 'org-trail')?.config as unknown as Record<string, unknown>;
    assert.equal(trail.S3BucketName, 'vouch-trail-logs');
    assert.equal(trail.IsMultiRegionTrail, true);
    assert.deepEqual(trail.EventSelectors, SELECTORS0);

    const again = await capture();
    assert.deepEqual(again.flatMap((s) => [...s.added, ...s.changed, ...s.removed]), [], 'a second capture of an unchanged account records nothing new');
  });
});

describe('denied change → restored to the trusted baseline', () => {
  test('a bucket policy opened to the world is replaced by the trusted one; the verdict also reverts on timeout', async () => {
    const s3 = aws.admin('s3');
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'vouch-data', Policy: JSON.stringify(P_PUBLIC) }));
    // CloudTrail records an S3 bucket policy as an object, not a JSON string.
    const change = changeOf(record('s3.amazonaws.com', 'PutBucketPolicy', { bucketPolicy: P_PUBLIC, bucketName: 'vouch-data', Host: 'vouch-data.s3.us-east-1.amazonaws.com', policy: [''] }, null, later()));
    const decision = await plan(change);
    assert.equal(decision.plan?.source, 'baseline');
    assert.deepEqual([decision.plan?.operation, decision.plan?.input], ['PutBucketPolicy', { Bucket: 'vouch-data', Policy: JSON.stringify(P0) }]);
    assert.equal(revertVerdictFields(decision).revertOnTimeout, true);
    assert.equal(planRevert(change).plan, null, 'without the baseline there is no plan');

    await revertTwice(aws, change, decision.plan ?? assert.fail('no plan'));

    assert.deepEqual(parsePolicyDocument((await s3.send(new GetBucketPolicyCommand({ Bucket: 'vouch-data' }))).Policy), P0);
  });

  test('a trust policy opened to a foreign account is put back', async () => {
    const iam = aws.admin('iam');
    await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: 'app-deployer', PolicyDocument: JSON.stringify(T_FOREIGN, null, 2) }));
    const change = changeOf(record('iam.amazonaws.com', 'UpdateAssumeRolePolicy', { roleName: 'app-deployer', policyDocument: JSON.stringify(T_FOREIGN, null, 2) }, null, later()));
    const decision = await plan(change);

    await revertTwice(aws, change, decision.plan ?? assert.fail(decision.reason));

    assert.deepEqual(parsePolicyDocument((await iam.send(new GetRoleCommand({ RoleName: 'app-deployer' }))).Role?.AssumeRolePolicyDocument), T0);
  });

  test('an overwritten inline policy is restored, and a new inline policy is deleted', async () => {
    const iam = aws.admin('iam');
    await iam.send(new PutRolePolicyCommand({ RoleName: 'app-deployer', PolicyName: 'deploy', PolicyDocument: JSON.stringify(D_STAR) }));
    const overwrite = changeOf(record('iam.amazonaws.com', 'PutRolePolicy', { roleName: 'app-deployer', policyName: 'deploy', policyDocument: JSON.stringify(D_STAR) }, null, later()));
    const restore = await plan(overwrite);
    assert.equal(restore.plan?.operation, 'PutRolePolicy');
    await revertTwice(aws, overwrite, restore.plan ?? assert.fail(restore.reason));
    assert.deepEqual(parsePolicyDocument((await iam.send(new GetRolePolicyCommand({ RoleName: 'app-deployer', PolicyName: 'deploy' }))).PolicyDocument), D0);

    await iam.send(new PutRolePolicyCommand({ RoleName: 'app-deployer', PolicyName: 'backdoor', PolicyDocument: JSON.stringify(D_STAR) }));
    const added = changeOf(record('iam.amazonaws.com', 'PutRolePolicy', { roleName: 'app-deployer', policyName: 'backdoor', policyDocument: JSON.stringify(D_STAR) }, null, later()));
    const remove = await plan(added);
    assert.deepEqual([remove.plan?.operation, remove.plan?.input], ['DeleteRolePolicy', { RoleName: 'app-deployer', PolicyName: 'backdoor' }]);
    await revertTwice(aws, added, remove.plan ?? assert.fail(remove.reason));
    assert.deepEqual((await iam.send(new ListRolePoliciesCommand({ RoleName: 'app-deployer' }))).PolicyNames, ['deploy']);
  });

  test('trail settings and event selectors narrowed are restored', async () => {
    const ct = aws.admin('cloudtrail');
    await ct.send(new UpdateTrailCommand({ Name: 'org-trail', S3BucketName: 'attacker-logs', IsMultiRegionTrail: false }));
    const update = changeOf(record('cloudtrail.amazonaws.com', 'UpdateTrail', { name: 'org-trail', s3BucketName: 'attacker-logs', isMultiRegionTrail: false }, null, later()));
    const trailPlan = await plan(update);
    assert.deepEqual(trailPlan.plan?.input, { Name: 'org-trail', S3BucketName: 'vouch-trail-logs', IsMultiRegionTrail: true });
    await revertTwice(aws, update, trailPlan.plan ?? assert.fail(trailPlan.reason));
    const trail = (await ct.send(new GetTrailCommand({ Name: 'org-trail' }))).Trail;
    assert.deepEqual([trail?.S3BucketName, trail?.IsMultiRegionTrail, trail?.S3KeyPrefix], ['vouch-trail-logs', true, 'ct']);

    // As in the Stratus cloudtrail-event-selectors detonation.
    const narrow = [{ readWriteType: 'ReadOnly', includeManagementEvents: false, dataResources: [{ type: 'AWS::S3::Object', values: [] }], excludeManagementEventSources: [] }];
    await ct.send(
      new PutEventSelectorsCommand({ TrailName: 'org-trail', EventSelectors: [{ ReadWriteType: 'ReadOnly', IncludeManagementEvents: false, DataResources: [{ Type: 'AWS::S3::Object', Values: [] }], ExcludeManagementEventSources: [] }] }),
    );
    const selectors = changeOf(record('cloudtrail.amazonaws.com', 'PutEventSelectors', { trailName: 'org-trail', eventSelectors: narrow }, { trailARN: 'x', eventSelectors: narrow }, later()));
    const selPlan = await plan(selectors);
    await revertTwice(aws, selectors, selPlan.plan ?? assert.fail(selPlan.reason));
    assert.deepEqual((await ct.send(new GetEventSelectorsCommand({ TrailName: 'org-trail' }))).EventSelectors, SELECTORS0);
  });
});

describe('confirmed change → the baseline moves', () => {
  test('acceptTrustedChange records the confirmed state; a later change is reverted to it, not to the original', async () => {
    const iam = aws.admin('iam');
    const D1 = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ec2:Describe*', 's3:ListBucket'], Resource: '*' }] };
    await iam.send(new PutUserPolicyCommand({ UserName: 'ci', PolicyName: 'ci-inline', PolicyDocument: JSON.stringify(D1) }));
    const confirmed = changeOf(record('iam.amazonaws.com', 'PutUserPolicy', { userName: 'ci', policyName: 'ci-inline', policyDocument: JSON.stringify(D1) }, null, later()));
    const acts = createBaselineActivities({ baselineStore: store, clientFor });

    const accepted = await acts.acceptTrustedChange({ change: confirmed });

    assert.equal(accepted.updated, true);
    assert.match(accepted.message, /trusted baseline of user ci moved to the confirmed state/);
    const version = (await loadBaselineLookup(store, ACCOUNT, [REGION])).get(ACCOUNT, 'global', 'iam-user', 'ci');
    assert.deepEqual([version?.source, version?.eventId], ['accepted', confirmed.eventId]);
    assert.deepEqual((version?.config as { InlinePolicies: unknown }).InlinePolicies, { 'ci-inline': D1 });

    await new Promise((r) => setTimeout(r, 1100)); // the next event is in a later second than the acceptance
    await iam.send(new PutUserPolicyCommand({ UserName: 'ci', PolicyName: 'ci-inline', PolicyDocument: JSON.stringify(D_STAR) }));
    const denied = changeOf(record('iam.amazonaws.com', 'PutUserPolicy', { userName: 'ci', policyName: 'ci-inline', policyDocument: JSON.stringify(D_STAR) }, null, later()));
    const decision = await plan(denied);
    await revertTwice(aws, denied, decision.plan ?? assert.fail(decision.reason));
    assert.deepEqual(parsePolicyDocument((await iam.send(new GetUserPolicyCommand({ UserName: 'ci', PolicyName: 'ci-inline' }))).PolicyDocument), D1);

    const notBaseline = await acts.acceptTrustedChange({ change: changeOf(record('ec2.amazonaws.com', 'AuthorizeSecurityGroupIngress', { groupId: 'sg-1' }, null)) });
    assert.deepEqual(notBaseline.updated, false);
  });
});

describe('no baseline, stale baseline', () => {
  test('a resource the baseline has never seen gets no plan, and the reason says the review pages instead', async () => {
    await aws.admin('iam').send(new CreateRoleCommand({ RoleName: 'created-later', AssumeRolePolicyDocument: JSON.stringify(T0) }));
    const change = changeOf(record('iam.amazonaws.com', 'UpdateAssumeRolePolicy', { roleName: 'created-later', policyDocument: JSON.stringify(T_FOREIGN) }, null, later()));
    const { plan: p, reason } = await plan(change);
    assert.equal(p, null);
    assert.equal(reason, `no trusted baseline for role created-later captured before the change at ${change.eventTime} (${ACCOUNT}/global); paging instead`);
    const otherAccount = { ...change, account: '999988887777' };
    assert.equal((await plan(otherAccount)).reason, 'no trusted baseline for role created-later (999988887777/global); paging instead');
  });

  test('a refresh that read the changed state after the change is not what the revert puts back', async () => {
    const s3 = aws.admin('s3');
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'vouch-data', Policy: JSON.stringify(P_PUBLIC) }));
    const change = changeOf(record('s3.amazonaws.com', 'PutBucketPolicy', { bucketPolicy: P_PUBLIC, bucketName: 'vouch-data' }, null, later()));
    // The scheduled refresh runs before the review ends and records the public policy as the latest version…
    const refresh = await capture(() => new Date(Date.now() + 5000));
    assert.ok(refresh[1]?.changed.includes('s3-bucket-policy:vouch-data'));
    // …but the plan for the change uses the version in force before the change.
    const decision = await plan(change);
    assert.deepEqual(decision.plan?.input, { Bucket: 'vouch-data', Policy: JSON.stringify(P0) });
    await revertTwice(aws, change, decision.plan ?? assert.fail(decision.reason));
  });
});

describe('vouch baseline capture | show | diff, and an S3 store', () => {
  async function run(argv: string[], env: Record<string, string>): Promise<{ code: number; lines: string[] }> {
    const chunks: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      chunks.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    try {
      const code = await runCommand(baselineCommand({ env: { ...env, AWS_ENDPOINT_URL: aws.moto.endpoint }, credentials: CREDS }), argv);
      return { code, lines: chunks.join('').split('\n').filter(Boolean) };
    } finally {
      process.stdout.write = write;
    }
  }

  test('capture into moto S3 (account from STS), show one resource, diff after drift exits 1 naming the field', async () => {
    await aws.admin('s3').send(new CreateBucketCommand({ Bucket: 'vouch-baseline-store' }));
    const env = { VOUCH_BASELINE_STORE: 's3://vouch-baseline-store/prod', AWS_REGION: REGION };

    const captured = await run(['capture', '--kinds', 'iam-role,cloudtrail-trail'], env);
    assert.equal(captured.code, 0);
    const summaries = captured.lines.map((l) => JSON.parse(l) as { account: string; scope: string; added: string[]; store: string });
    assert.deepEqual(summaries.map((s) => [s.account, s.scope, s.store]), [
      [ACCOUNT, REGION, 's3://vouch-baseline-store/prod/'],
      [ACCOUNT, 'global', 's3://vouch-baseline-store/prod/'],
    ]);
    assert.ok(summaries[1]?.added.includes('iam-role:app-deployer'));

    const shown = await run(['show', '--account', ACCOUNT, '--resource', 'iam-role:app-deployer'], env);
    assert.equal(shown.code, 0);
    assert.equal((JSON.parse(shown.lines[0] ?? '{}') as { id: string }).id, 'app-deployer');

    assert.equal((await run(['diff', '--kinds', 'iam-role'], env)).code, 0, 'no drift yet');
    await aws.admin('iam').send(new PutRolePolicyCommand({ RoleName: 'app-deployer', PolicyName: 'deploy', PolicyDocument: JSON.stringify(D_STAR) }));
    const drift = await run(['diff', '--kinds', 'iam-role'], env);
    assert.equal(drift.code, 1);
    assert.deepEqual(JSON.parse(drift.lines[0] ?? '{}'), {
      account: ACCOUNT,
      scope: 'global',
      resource: 'iam-role:app-deployer',
      change: 'changed',
      fields: ['InlinePolicies.deploy'],
      trustedAt: (JSON.parse(shown.lines[0] ?? '{}') as { versions: { capturedAt: string }[] }).versions.at(-1)?.capturedAt,
    });

    // A denied change planned from the S3 store is restored like from a folder.
    const s3store = createBaselineStore('s3://vouch-baseline-store/prod', { endpoint: aws.moto.endpoint, credentials: CREDS });
    const change = changeOf(record('iam.amazonaws.com', 'PutRolePolicy', { roleName: 'app-deployer', policyName: 'deploy', policyDocument: JSON.stringify(D_STAR) }, null, later()));
    const decision = await createBaselinePlanner(s3store, { ttlMs: 0 }).plan(change);
    const planner = createBaselinePlanner(s3store, { revertRoleName: 'vouch-revert' });
    assert.deepEqual(await planner.plan(change), decision, 'the caching planner plans the same');
    await revertTwice(aws, change, decision.plan ?? assert.fail(decision.reason));

    const bad = await run(['capture', '--kinds', 'nope'], env);
    assert.equal(bad.code, 2);
  });
});
