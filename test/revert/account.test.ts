// The right account, proven: before any call, every client asks STS GetCallerIdentity whether its credentials belong
// to the record's account (moto: plain keys are account 123456789012; AssumeRole hands out the role's account).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { AttachRolePolicyCommand, CreatePolicyCommand, CreateRoleCommand, ListAttachedRolePoliciesCommand } from '@aws-sdk/client-iam';
import { createAwsActivities } from '../../activities/aws-revert';
import { createAwsClientFactory } from '../../src/revert';
import { startMoto, type MotoServer } from '../../src/demo/sandbox/moto';

const HOME = '123456789012';
const OTHER = '222233334444';
const CREDS = { accessKeyId: 'test', secretAccessKey: 'test' };
let moto: MotoServer;
before(async () => {
  moto = await startMoto();
});
after(async () => {
  await moto?.stop();
});

const plan = (arn: string) => ({
  service: 'iam' as const,
  operation: 'DetachRolePolicy',
  input: { RoleName: 'deployer', PolicyArn: arn },
  description: `detach ${arn} from role deployer`,
});

test('credentials of another account than the record\'s make no call at all (RevertWrongAccount)', async () => {
  const home = createAwsClientFactory({ endpoint: moto.endpoint, credentials: CREDS });
  const iam = home.clientFor('iam', HOME, 'us-east-1', 'setup');
  await iam.send(new CreateRoleCommand({ RoleName: 'deployer', AssumeRolePolicyDocument: '{"Version":"2012-10-17","Statement":[]}' }));
  const arn = (await iam.send(new CreatePolicyCommand({ PolicyName: 'Admin', PolicyDocument: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}' }))).Policy?.Arn as string;
  await iam.send(new AttachRolePolicyCommand({ RoleName: 'deployer', PolicyArn: arn }));

  // A record of OTHER, reverted with the home account's own keys (no role): refused before IAM is called.
  await assert.rejects(
    createAwsActivities(home).revertChange({ plan: plan(arn), account: OTHER, region: 'us-east-1', eventId: 'e1' }),
    (err: unknown) =>
      err instanceof ApplicationFailure &&
      err.type === 'RevertWrongAccount' &&
      err.nonRetryable &&
      /credentials for account 222233334444 belong to account 123456789012/.test(err.message),
  );
  const left = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'deployer' }));
  assert.deepEqual(left.AttachedPolicies?.map((p) => p.PolicyArn), [arn], 'the home account was touched');
});

test('without a revert role, a worker-style factory refuses at once (RevertRoleUnavailable)', async () => {
  const acts = createAwsActivities(createAwsClientFactory({ endpoint: moto.endpoint, credentials: CREDS, requireRole: true }));
  await assert.rejects(
    acts.revertChange({ plan: plan('arn:aws:iam::aws:policy/AdministratorAccess'), account: OTHER, region: 'us-east-1', eventId: 'e2' }),
    (err: unknown) => err instanceof ApplicationFailure && err.type === 'RevertRoleUnavailable' && err.nonRetryable,
  );
});

test('with the revert role of the record\'s account, STS proves it and the revert runs there', async () => {
  const factory = createAwsClientFactory({ endpoint: moto.endpoint, credentials: CREDS, roleArnTemplate: 'arn:aws:iam::{account}:role/vouch-revert', requireRole: true });
  const res = await createAwsActivities(factory).revertChange({ plan: plan('arn:aws:iam::aws:policy/AdministratorAccess'), account: OTHER, region: 'us-east-1', eventId: 'e3' }).catch((e: Error) => e);
  // The role in OTHER has no deployer: the revert reached OTHER's IAM (not the home account's deployer).
  assert.ok(res instanceof ApplicationFailure && res.type === 'RevertTargetGone', String(res));
});
