// Attacks on the record's word: vouch must act on the resource as it is now, not as the record says it was, and the
// trusted baseline must really decide what an overwriting change goes back to. Played through `vouch ingest`, the
// policy, the review workflow on Temporal and the worker's AWS activity on moto (the sandbox account, through the
// revert role).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { AddPermissionCommand, CreateFunctionCommand, GetPolicyCommand, RemovePermissionCommand } from '@aws-sdk/client-lambda';
import { CreateKeyCommand, DescribeKeyCommand, DisableKeyCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { CreateBucketCommand, GetBucketPolicyCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { captureIntoStore, createAwsClientFactory, createBaselineStore } from '../../src/revert';
import { cloudTrailRecord, REGION, REVERT_ROLE_TEMPLATE, SANDBOX, startAttackStack, type AttackStack } from '../intake/helpers/attack-stack';
import path from 'node:path';

let stack: AttackStack;
before(async () => {
  stack = await startAttackStack();
  await stack.startWorker({ VOUCH_REVERT_ROLE_ARN_TEMPLATE: REVERT_ROLE_TEMPLATE });
});
after(async () => {
  await stack?.stop();
});

function timeline(o: { timeline: { step: string; result: string }[] }): string {
  return JSON.stringify(o.timeline.map((t) => `${t.step}: ${t.result}`));
}

test('a Lambda permission re-granted to its rightful principal under the same statement id is not removed', async () => {
  const lambda = stack.admin('lambda', SANDBOX);
  const role = await stack.admin('iam', SANDBOX).send(
    new CreateRoleCommand({
      RoleName: 'orders-exec',
      AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] }),
    }),
  );
  const emptyZip = Buffer.concat([Buffer.from([0x50, 0x4b, 0x05, 0x06]), Buffer.alloc(18)]);
  await lambda.send(new CreateFunctionCommand({ FunctionName: 'orders', Runtime: 'python3.12', Role: role.Role?.Arn, Handler: 'index.handler', Code: { ZipFile: emptyZip } }));
  // The attacker opens the function to everyone under the statement id the API gateway integration uses…
  await lambda.send(new AddPermissionCommand({ FunctionName: 'orders', StatementId: 'apigw-invoke', Action: 'lambda:InvokeFunction', Principal: '*' }));
  const record = cloudTrailRecord(SANDBOX, 'lambda.amazonaws.com', 'AddPermission20150331v2', {
    functionName: 'orders',
    statementId: 'apigw-invoke',
    action: 'lambda:InvokeFunction',
    principal: '*',
  });
  // …and the owner puts the rightful grant back under that id before the record reaches vouch.
  await lambda.send(new RemovePermissionCommand({ FunctionName: 'orders', StatementId: 'apigw-invoke' }));
  await lambda.send(new AddPermissionCommand({ FunctionName: 'orders', StatementId: 'apigw-invoke', Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com' }));

  const run = await stack.ingestRecords([record]);
  assert.equal(run.code, 0, run.stderr);
  const outcome = await stack.outcome(stack.reviewId(SANDBOX, String(record.eventID)));

  // The harm that must not happen: the rightful permission removed on the record's word.
  type Doc = { Statement?: { Sid: string; Principal: unknown }[] };
  const policy: Doc = await lambda.send(new GetPolicyCommand({ FunctionName: 'orders' })).then(
    (r) => JSON.parse(r.Policy ?? '{}') as Doc,
    (err: Error) => (err.name === 'ResourceNotFoundException' ? ({} as Doc) : Promise.reject(err)), // no policy left at all
  );
  assert.deepEqual(policy.Statement?.map((s) => s.Sid) ?? [], ['apigw-invoke'], `the rightful statement was removed (${timeline(outcome)})`);
  assert.equal(outcome.outcome, 'REVERT_FAILED', outcome.reason);
  assert.match(timeline(outcome), /no longer matches the change.*RevertStateChanged/);
});

test('undoing a scheduled key deletion leaves a key security disabled on purpose disabled', async () => {
  const kms = stack.admin('kms', SANDBOX);
  const keyId = (await kms.send(new CreateKeyCommand({ Description: 'orders signing key' }))).KeyMetadata?.KeyId ?? assert.fail('no key');
  await kms.send(new DisableKeyCommand({ KeyId: keyId })); // security, during an incident
  const res = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 })); // the attacker
  const record = cloudTrailRecord(SANDBOX, 'kms.amazonaws.com', 'ScheduleKeyDeletion', { keyId, pendingWindowInDays: 7 }, {
    keyId: res.KeyId,
    keyState: 'PendingDeletion',
    pendingWindowInDays: 7,
  });
  const run = await stack.ingestRecords([record]);
  assert.equal(run.code, 0, run.stderr);
  const outcome = await stack.outcome(stack.reviewId(SANDBOX, String(record.eventID)));
  assert.equal(outcome.outcome, 'REVERTED', `${outcome.reason} ${timeline(outcome)}`);

  const meta = (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
  assert.deepEqual([meta?.KeyState, meta?.DeletionDate], ['Disabled', undefined], 'the deletion is cancelled and the key stays disabled');
});

test('a bucket made public goes back to its trusted policy: the baseline decides, the review reverts', async () => {
  const s3 = stack.admin('s3', SANDBOX);
  const bucket = `orders-${Date.now()}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const trustedPolicy = {
    Version: '2012-10-17',
    Statement: [{ Sid: 'deny-insecure', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: `arn:aws:s3:::${bucket}/*`, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }],
  };
  await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(trustedPolicy) }));
  // `vouch baseline capture` into the store the worker and intake share.
  await captureIntoStore({
    clientFor: createAwsClientFactory({ endpoint: stack.moto.endpoint, roleArnTemplate: REVERT_ROLE_TEMPLATE, requireRole: true }).clientFor,
    store: createBaselineStore(path.join(stack.dir, 'baseline')),
    account: SANDBOX,
    regions: [REGION],
    kinds: ['s3-bucket-policy'],
  });
  await new Promise((r) => setTimeout(r, 1100)); // the change comes after the capture
  const publicPolicy = { Version: '2012-10-17', Statement: [{ Sid: 'public', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` }] };
  await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(publicPolicy) }));
  const record = cloudTrailRecord(SANDBOX, 's3.amazonaws.com', 'PutBucketPolicy', { bucketName: bucket, bucketPolicy: publicPolicy, policy: [''] });

  const run = await stack.ingestRecords([record]);
  assert.equal(run.code, 0, run.stderr);
  const outcome = await stack.outcome(stack.reviewId(SANDBOX, String(record.eventID)));
  assert.equal(outcome.outcome, 'REVERTED', `${outcome.reason} ${timeline(outcome)}`);
  const now = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy ?? '{}') as unknown;
  assert.deepEqual(now, trustedPolicy, 'the bucket is still public');
});
