// The IAM reverts planned from the record, against moto_server: AdministratorAccess attached to a user, a role and a
// group → detached; an access key created for another user → deactivated. And the safety rule: the events of vouch's own
// revert principal (role session vouch-revert-<eventID>, assumed through moto's STS) are never reverted.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreateRoleCommand,
  CreateUserCommand,
  ListAccessKeysCommand,
  ListAttachedGroupPoliciesCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createAwsClientFactory, planRevert, revertSessionName } from '../../src/revert';
import { createAwsActivities } from '../../activities/aws-revert';
import { CREDS, REGION, changeOf, inputFor, planOf, record, revertTwice, startAws, type Aws } from './helpers';

let aws: Aws;
const ADMIN = 'arn:aws:iam::aws:policy/AdministratorAccess';
const READONLY = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

before(async () => {
  // moto loads the AWS managed policies (AdministratorAccess …) only when asked; startMoto passes the environment on.
  process.env.MOTO_IAM_LOAD_MANAGED_POLICIES = 'true';
  aws = await startAws();
});

after(async () => {
  await aws?.stop();
});

describe('admin policy attached → detached', () => {
  test('AdministratorAccess on a user is detached; the user\'s other policy stays', async () => {
    const iam = aws.admin('iam');
    await iam.send(new CreateUserCommand({ UserName: 'malicious-iam-user' }));
    await iam.send(new AttachUserPolicyCommand({ UserName: 'malicious-iam-user', PolicyArn: READONLY }));
    await iam.send(new AttachUserPolicyCommand({ UserName: 'malicious-iam-user', PolicyArn: ADMIN }));
    // As in the Stratus iam-create-admin-user detonation.
    const change = changeOf(record('iam.amazonaws.com', 'AttachUserPolicy', { policyArn: ADMIN, userName: 'malicious-iam-user' }, null));

    const first = await revertTwice(aws, change);

    assert.deepEqual(first.before, { attached: [ADMIN, READONLY] });
    const left = await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'malicious-iam-user' }));
    assert.deepEqual(left.AttachedPolicies?.map((p) => p.PolicyArn), [READONLY]);
  });

  test('AdministratorAccess on a role is detached', async () => {
    const iam = aws.admin('iam');
    await iam.send(new CreateRoleCommand({ RoleName: 'stratus-red-team-malicious-iam-role', AssumeRolePolicyDocument: TRUST }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'stratus-red-team-malicious-iam-role', PolicyArn: ADMIN }));
    const change = changeOf(
      record('iam.amazonaws.com', 'AttachRolePolicy', { policyArn: ADMIN, roleName: 'stratus-red-team-malicious-iam-role' }, null),
    );

    await revertTwice(aws, change);

    const left = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'stratus-red-team-malicious-iam-role' }));
    assert.deepEqual(left.AttachedPolicies ?? [], []);
  });

  test('AdministratorAccess on a group is detached', async () => {
    const iam = aws.admin('iam');
    await iam.send(new CreateGroupCommand({ GroupName: 'ops' }));
    await iam.send(new AttachGroupPolicyCommand({ GroupName: 'ops', PolicyArn: ADMIN }));
    const change = changeOf(record('iam.amazonaws.com', 'AttachGroupPolicy', { groupName: 'ops', policyArn: ADMIN }, null));

    await revertTwice(aws, change);

    assert.deepEqual((await iam.send(new ListAttachedGroupPoliciesCommand({ GroupName: 'ops' }))).AttachedPolicies ?? [], []);
  });
});

describe('access key created for another user → deactivated', () => {
  test('the backdoor key is made Inactive (kept for inspection); the user\'s own older key stays Active', async () => {
    const iam = aws.admin('iam');
    await iam.send(new CreateUserCommand({ UserName: 'stratus-red-team-backdoor-u-user' }));
    const own = (await iam.send(new CreateAccessKeyCommand({ UserName: 'stratus-red-team-backdoor-u-user' }))).AccessKey?.AccessKeyId;
    const res = await iam.send(new CreateAccessKeyCommand({ UserName: 'stratus-red-team-backdoor-u-user' }));
    const key = res.AccessKey ?? assert.fail('no key');
    // CloudTrail never records the secret; the response holds the key id, status, user and date (Stratus shape).
    const change = changeOf(
      record('iam.amazonaws.com', 'CreateAccessKey', { userName: 'stratus-red-team-backdoor-u-user' }, {
        accessKey: { accessKeyId: key.AccessKeyId, createDate: 'Jul 30, 2024 9:53:13 PM', status: 'Active', userName: key.UserName },
      }),
    );
    const plan = planOf(change);
    assert.deepEqual(plan.input, { UserName: 'stratus-red-team-backdoor-u-user', AccessKeyId: key.AccessKeyId, Status: 'Inactive' });

    await revertTwice(aws, change, plan);

    const keys = (await iam.send(new ListAccessKeysCommand({ UserName: 'stratus-red-team-backdoor-u-user' }))).AccessKeyMetadata ?? [];
    assert.deepEqual(
      keys.map((k) => [k.AccessKeyId, k.Status]).sort(),
      [
        [key.AccessKeyId, 'Inactive'],
        [own, 'Active'],
      ].sort(),
    );
  });

  test('a key a user created for itself is not a backdoor: no plan', () => {
    const self = changeOf(
      record('iam.amazonaws.com', 'CreateAccessKey', {}, { accessKey: { accessKeyId: 'AKIAEXAMPLE000000001', status: 'Active', userName: 'alice' } }),
    );
    assert.equal(planRevert(self).plan, null);
    assert.match(planRevert(self).reason, /for the caller itself/);
    const named = changeOf(
      record('iam.amazonaws.com', 'CreateAccessKey', { userName: 'alice' }, { accessKey: { accessKeyId: 'AKIAEXAMPLE000000001', status: 'Active', userName: 'alice' } }),
    );
    assert.match(planRevert(named).reason, /by alice for itself/);
  });
});

describe("vouch's own revert principal", () => {
  test('a change made by the vouch-revert session is never planned for revert, even if it looks risky', async () => {
    const target = '111122223333';
    const eventId = '5e1f0c1e-0000-4000-8000-00000000abcd';
    const factory = createAwsClientFactory({ roleArnTemplate: 'arn:aws:iam::{account}:role/vouch-revert', endpoint: aws.moto.endpoint, credentials: CREDS });
    // Run a real revert in the target account as vouch would: the identity it runs as is what CloudTrail records.
    const iam = factory.clientFor('iam', target, REGION, 'test-setup');
    await iam.send(new CreateUserCommand({ UserName: 'bob' }));
    await iam.send(new AttachUserPolicyCommand({ UserName: 'bob', PolicyArn: ADMIN }));
    const attach = changeOf({ ...record('iam.amazonaws.com', 'AttachUserPolicy', { userName: 'bob', policyArn: ADMIN }, null), recipientAccountId: target });
    const result = await createAwsActivities(factory).revertChange({ ...inputFor(attach, planOf(attach)), eventId });
    assert.equal(result.changed, true);

    const sts = new STSClient({
      region: REGION,
      endpoint: aws.moto.endpoint,
      credentials: factory.clientFor('iam', target, REGION, revertSessionName(eventId)).config.credentials,
    });
    const me = await sts.send(new GetCallerIdentityCommand({}));
    sts.destroy();
    assert.match(me.Arn ?? '', new RegExp(`:assumed-role/vouch-revert/${revertSessionName(eventId)}$`));

    // What CloudTrail writes for the revert's own (risky-looking) call, e.g. a detach the policy would page on.
    const identity = {
      type: 'AssumedRole',
      principalId: `AROAEXAMPLE:${revertSessionName(eventId)}`,
      arn: me.Arn,
      accountId: target,
      sessionContext: {
        sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${target}:role/vouch-revert`, accountId: target, userName: 'vouch-revert' },
        attributes: { mfaAuthenticated: 'false', creationDate: new Date().toISOString() },
      },
    };
    const own = changeOf({
      ...record('iam.amazonaws.com', 'AttachRolePolicy', { roleName: 'app', policyArn: ADMIN }, null, { userIdentity: identity }),
      recipientAccountId: target,
    });
    const { plan, reason } = planRevert(own);
    assert.equal(plan, null);
    assert.match(reason, /vouch's own revert session/);
    // With the revert role's name configured, only that role's vouch-revert-* sessions count as vouch's own.
    assert.equal(planRevert(own, { revertRoleName: 'vouch-revert' }).plan, null);
    assert.ok(planRevert(own, { revertRoleName: 'another-role' }).plan, 'an impostor session name on another role is still reverted');
  });
});
