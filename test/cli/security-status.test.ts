// `vouch security` and `vouch status` end to end: the real executable (src/bin/vouch.js) against a real Temporal dev
// server, where the production worker runs a review. The review's vendors are FakeVendors, except the trusted
// baseline: acceptTrustedChange is the real activity over a baseline store and moto, so "approve makes the change
// trusted" is read back from the store.
// (Today a security member's override is one command; when overrides need the member's own Duo push, this test
// follows that flow.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { CreateUserCommand, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { startReview } from '../../src/intake/starter';
import { statusQuery } from '../../workflows/messages';
import type { ReviewStatus } from '../../src/core/types';
import { createAwsClientFactory } from '../../src/revert';
import { captureIntoStore, loadBaselineLookup } from '../../src/revert/baseline/index';
import { createBaselineStore, type BaselineStore } from '../../src/revert/baseline/store';
import { createBaselineActivities } from '../../activities/baseline';
import { FakeVendors } from '../helpers/fake-vendors';
import { reviewInput } from '../helpers/review-input';
import { eventually, startReviewStack, type ReviewStack } from '../helpers/temporal';
import { ACCOUNT, CREDS, REGION, changeOf, record, startAws, type Aws } from '../revert/helpers';

const BIN = path.resolve(__dirname, '../../src/bin/vouch.js');
const SECURITY = 'U-SEC-CLI';
const taskQueue = `security-cli-${randomUUID()}`;
const fake = new FakeVendors();
const D0 = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }] };
const D1 = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ec2:Describe*', 's3:ListBucket'], Resource: '*' }] };

let aws: Aws;
let stack: ReviewStack;
let store: BaselineStore;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The `vouch` executable with the dev server's address, to completion. */
function vouch(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        TEMPORAL_ADDRESS: stack.env.address,
        TEMPORAL_NAMESPACE: 'default',
        VOUCH_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function status(id: string): Promise<ReviewStatus> {
  const r = await vouch(['status', id]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ReviewStatus;
}

/** A page-tier review of `eng-<k>` putting D1 as user ci's inline policy (a change the baseline keeps). */
async function startPolicyReview(k: string) {
  await aws.admin('iam').send(new PutUserPolicyCommand({ UserName: 'ci', PolicyName: 'ci-inline', PolicyDocument: JSON.stringify(D1) }));
  const rec = {
    ...record('iam.amazonaws.com', 'PutUserPolicy', { userName: 'ci', policyName: 'ci-inline', policyDocument: JSON.stringify(D1) }, null, {
      // A second after the capture (CloudTrail times have whole seconds), by eng-<k>.
      eventTime: new Date(Date.now() + 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      userIdentity: { type: 'IAMUser', principalId: 'AIDAENG', arn: `arn:aws:iam::${ACCOUNT}:user/eng-${k}`, accountId: ACCOUNT, userName: `eng-${k}` },
    }),
    eventID: `evt-${k}`,
  };
  const change = changeOf(rec);
  const { handle, workflowId } = await startReview(
    stack.env.client,
    reviewInput(k, { tier: 'page', account: ACCOUNT, change, securityResponders: [SECURITY] }),
    { taskQueue, uiBaseUrl: 'http://127.0.0.1:8233' },
  );
  await eventually(async () => (await handle.query(statusQuery)).phase === 'AWAITING_ANSWER', 20_000, 'the question to the engineer');
  return { handle, workflowId };
}

before(async () => {
  aws = await startAws();
  store = createBaselineStore(fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-security-cli-')));
  const { clientFor } = createAwsClientFactory({ endpoint: aws.moto.endpoint, credentials: CREDS });
  const iam = aws.admin('iam');
  await iam.send(new CreateUserCommand({ UserName: 'ci' }));
  await iam.send(new PutUserPolicyCommand({ UserName: 'ci', PolicyName: 'ci-inline', PolicyDocument: JSON.stringify(D0) }));
  await captureIntoStore({ clientFor, store, account: ACCOUNT, regions: [REGION] });
  stack = await startReviewStack({ ...fake.activities(), ...createBaselineActivities({ baselineStore: store, clientFor }) }, taskQueue);
});

after(async () => {
  await stack?.stop();
  await aws?.stop();
});

describe('vouch security and vouch status, end to end', () => {
  test('a member approves with a note: APPROVED, the incident resolved, the approval in vouch status, and the change trusted', async () => {
    const k = randomUUID().slice(0, 8);
    const { handle, workflowId } = await startPolicyReview(k);
    const open = await status(workflowId);
    assert.deepEqual([open.phase, open.outcome, open.incidentOpen, open.tier], ['AWAITING_ANSWER', 'PENDING', true, 'page']);

    const approved = await vouch(['security', 'approve', workflowId, '--by', SECURITY, '--note', 'change window 42']);
    assert.equal(approved.code, 0, approved.stderr);
    // The override took effect only after the member approved their own Duo push (the stand-in approves at once).
    assert.equal(approved.stdout, 'Confirmed with Duo by sec-cli: approve now.\n');
    assert.equal((await handle.result()).outcome, 'APPROVED');

    const done = await status(workflowId);
    assert.deepEqual([done.phase, done.outcome, done.incidentOpen], ['DONE', 'APPROVED', false]);
    const steps = (step: string) => done.timeline.filter((t) => t.step === step).map((t) => t.result);
    assert.deepEqual(steps('security.decided'), [`approve by sec-cli (<@${SECURITY}>), confirmed with Duo: change window 42`]);
    assert.deepEqual(steps('pagerduty.resolved'), [`approved by security (sec-cli, <@${SECURITY}>, confirmed with Duo): change window 42`]);
    assert.deepEqual(steps('review.outcome'), [`APPROVED: approved by security (sec-cli, <@${SECURITY}>, confirmed with Duo): change window 42`]);
    assert.equal(steps('baseline.accepted').length, 1, JSON.stringify(done.timeline));
    assert.match(steps('baseline.accepted')[0] ?? '', /trusted baseline of user ci moved to the confirmed state/);
    for (const t of done.timeline) assert.ok(!Number.isNaN(Date.parse(t.at)), `each step has its time: ${JSON.stringify(t)}`);

    // The approved state is now the trusted one: a later revert would restore D1, not D0.
    const version = (await loadBaselineLookup(store, ACCOUNT, [REGION])).get(ACCOUNT, 'global', 'iam-user', 'ci');
    assert.deepEqual([version?.source, version?.eventId], ['accepted', `evt-${k}`]);
    assert.deepEqual((version?.config as { InlinePolicies: unknown }).InlinePolicies, { 'ci-inline': D1 });
  });

  test('someone outside security is refused (exit 1, the reason, nothing recorded); a member escalates; unknown reviews are named', async () => {
    const k = randomUUID().slice(0, 8);
    const { handle, workflowId } = await startPolicyReview(k);

    const refused = await vouch(['security', 'approve', workflowId, '--by', `U-${k}`]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^vouch security: .*Only members of the security group can override a review\./m);
    const still = await status(workflowId);
    assert.deepEqual([still.phase, still.outcome], ['AWAITING_ANSWER', 'PENDING']);
    assert.equal(still.timeline.filter((t) => t.step === 'security.decided').length, 0);

    const escalated = await vouch(['security', 'escalate', workflowId, '--by', SECURITY]);
    assert.equal(escalated.code, 0, escalated.stderr);
    assert.equal((await handle.result()).outcome, 'ESCALATED');
    const done = await status(workflowId);
    assert.deepEqual([done.outcome, done.incidentOpen], ['ESCALATED', true], 'an escalated incident stays open');
    assert.deepEqual(done.timeline.filter((t) => t.step === 'security.decided').map((t) => t.result), [`escalate by sec-cli (<@${SECURITY}>), confirmed with Duo`]);
    assert.equal(done.timeline.filter((t) => t.step.startsWith('baseline.')).length, 0, 'an escalated change is not trusted');

    const again = await vouch(['security', 'approve', workflowId, '--by', SECURITY]);
    assert.equal(again.code, 1, 'a closed review takes no override');
    assert.match(again.stderr, /^vouch security: workflow execution already completed$/m);

    const unknown = await vouch(['status', `vouch-${ACCOUNT}-no-such-event`]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^vouch status: .*not found/im);
  });
});
