// The data-exposure reverts against moto_server: RDS snapshot and cluster snapshot
// shared → unshared (the same call with ValuesToRemove), a Lambda permission for "*" → removed, and the S3 public
// access block of a bucket and of the account removed or weakened → turned fully on again.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateDBClusterCommand,
  CreateDBClusterSnapshotCommand,
  CreateDBInstanceCommand,
  CreateDBSnapshotCommand,
  DescribeDBClusterSnapshotAttributesCommand,
  DescribeDBSnapshotAttributesCommand,
  ModifyDBClusterSnapshotAttributeCommand,
  ModifyDBSnapshotAttributeCommand,
} from '@aws-sdk/client-rds';
import { AddPermissionCommand, CreateFunctionCommand, GetPolicyCommand } from '@aws-sdk/client-lambda';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import {
  CreateBucketCommand,
  DeletePublicAccessBlockCommand,
  GetPublicAccessBlockCommand,
  PutPublicAccessBlockCommand,
} from '@aws-sdk/client-s3';
import {
  GetPublicAccessBlockCommand as GetAccountPabCommand,
  PutPublicAccessBlockCommand as PutAccountPabCommand,
} from '@aws-sdk/client-s3-control';
import { ApplicationFailure } from '@temporalio/common';
import { ACCOUNT, REGION, changeOf, planOf, record, revertTwice, startAws, type Aws } from './helpers';

let aws: Aws;

before(async () => {
  aws = await startAws();
});

after(async () => {
  await aws?.stop();
});

const ALL_ON = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true };
const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

describe('RDS snapshot sharing', () => {
  test('a DB snapshot shared with a foreign account is unshared; an earlier share stays', async () => {
    const rds = aws.admin('rds');
    await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: 'db1',
        Engine: 'postgres',
        DBInstanceClass: 'db.t3.micro',
        AllocatedStorage: 20,
        MasterUsername: 'admin1',
        MasterUserPassword: 'not-a-real-password-1',
      }),
    );
    await rds.send(new CreateDBSnapshotCommand({ DBSnapshotIdentifier: 'exfiltration', DBInstanceIdentifier: 'db1' }));
    await rds.send(new ModifyDBSnapshotAttributeCommand({ DBSnapshotIdentifier: 'exfiltration', AttributeName: 'restore', ValuesToAdd: ['444455556666'] }));
    const res = await rds.send(
      new ModifyDBSnapshotAttributeCommand({ DBSnapshotIdentifier: 'exfiltration', AttributeName: 'restore', ValuesToAdd: ['193672423079'] }),
    );
    // As in the Stratus rds-share-snapshot detonation and the Invictus hour.
    const change = changeOf(
      record('rds.amazonaws.com', 'ModifyDBSnapshotAttribute', { attributeName: 'restore', dBSnapshotIdentifier: 'exfiltration', valuesToAdd: ['193672423079'] }, {
        dBSnapshotAttributes: res.DBSnapshotAttributesResult?.DBSnapshotAttributes?.map((a) => ({ attributeName: a.AttributeName, attributeValues: a.AttributeValues })),
        dBSnapshotIdentifier: 'exfiltration',
      }),
    );

    await revertTwice(aws, change);

    const attrs = await rds.send(new DescribeDBSnapshotAttributesCommand({ DBSnapshotIdentifier: 'exfiltration' }));
    assert.deepEqual(attrs.DBSnapshotAttributesResult?.DBSnapshotAttributes?.find((a) => a.AttributeName === 'restore')?.AttributeValues, ['444455556666']);
  });

  test('a cluster snapshot made public ("all") is unshared', async () => {
    const rds = aws.admin('rds');
    await rds.send(
      new CreateDBClusterCommand({ DBClusterIdentifier: 'c1', Engine: 'aurora-postgresql', MasterUsername: 'admin1', MasterUserPassword: 'not-a-real-password-1' }),
    );
    await rds.send(new CreateDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: 'c1-snap', DBClusterIdentifier: 'c1' }));
    await rds.send(new ModifyDBClusterSnapshotAttributeCommand({ DBClusterSnapshotIdentifier: 'c1-snap', AttributeName: 'restore', ValuesToAdd: ['all'] }));
    const change = changeOf(
      record('rds.amazonaws.com', 'ModifyDBClusterSnapshotAttribute', { dBClusterSnapshotIdentifier: 'c1-snap', attributeName: 'restore', valuesToAdd: ['all'] }, null),
    );
    assert.deepEqual(planOf(change).input, { DBClusterSnapshotIdentifier: 'c1-snap', AttributeName: 'restore', ValuesToRemove: ['all'] });

    await revertTwice(aws, change);

    const attrs = await rds.send(new DescribeDBClusterSnapshotAttributesCommand({ DBClusterSnapshotIdentifier: 'c1-snap' }));
    const restore = attrs.DBClusterSnapshotAttributesResult?.DBClusterSnapshotAttributes?.find((a) => a.AttributeName === 'restore');
    assert.deepEqual(restore?.AttributeValues ?? [], []);
  });
});

describe('Lambda permission for "*"', () => {
  test('the backdoor statement is removed; the function\'s other statement stays', async () => {
    const role = await aws.admin('iam').send(
      new CreateRoleCommand({
        RoleName: 'lambda-exec',
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] }),
      }),
    );
    const lambda = aws.admin('lambda');
    // The smallest valid zip archive (an empty one): moto stores the code, it does not run it here.
    const emptyZip = Buffer.concat([Buffer.from([0x50, 0x4b, 0x05, 0x06]), Buffer.alloc(18)]);
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'stratus-red-team-backdoor-f-func',
        Runtime: 'python3.12',
        Role: role.Role?.Arn ?? assert.fail('no role'),
        Handler: 'index.handler',
        Code: { ZipFile: emptyZip },
      }),
    );
    await lambda.send(
      new AddPermissionCommand({ FunctionName: 'stratus-red-team-backdoor-f-func', StatementId: 'events', Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com' }),
    );
    const res = await lambda.send(
      new AddPermissionCommand({ FunctionName: 'stratus-red-team-backdoor-f-func', StatementId: 'backdoor', Action: 'lambda:InvokeFunction', Principal: '*' }),
    );
    // As in the Stratus lambda-backdoor-function detonation: the event name carries the API version.
    const change = changeOf(
      record('lambda.amazonaws.com', 'AddPermission20150331v2', { action: 'lambda:InvokeFunction', functionName: 'stratus-red-team-backdoor-f-func', principal: '*', statementId: 'backdoor' }, { statement: res.Statement }),
    );
    assert.deepEqual(planOf(change).input, { FunctionName: 'stratus-red-team-backdoor-f-func', StatementId: 'backdoor' });

    const first = await revertTwice(aws, change);

    assert.deepEqual((first.before as { statementIds: string[] }).statementIds, ['backdoor', 'events']);
    const policy = JSON.parse((await lambda.send(new GetPolicyCommand({ FunctionName: 'stratus-red-team-backdoor-f-func' }))).Policy ?? '{}') as { Statement: { Sid: string }[] };
    assert.deepEqual(policy.Statement.map((s) => s.Sid), ['events']);
  });
});

describe('S3 public access block', () => {
  test("a bucket's public access block deleted is put back with all four flags on", async () => {
    const s3 = aws.admin('s3');
    await s3.send(new CreateBucketCommand({ Bucket: 'vouch-pab-deleted' }));
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: 'vouch-pab-deleted', PublicAccessBlockConfiguration: ALL_ON }));
    await s3.send(new DeletePublicAccessBlockCommand({ Bucket: 'vouch-pab-deleted' }));
    const change = changeOf(
      record('s3.amazonaws.com', 'DeleteBucketPublicAccessBlock', { publicAccessBlock: [''], bucketName: 'vouch-pab-deleted', host: ['vouch-pab-deleted.s3.us-east-1.amazonaws.com'] }, null),
    );

    const first = await revertTwice(aws, change);

    assert.deepEqual(first.before, { publicAccessBlock: null });
    const now = await s3.send(new GetPublicAccessBlockCommand({ Bucket: 'vouch-pab-deleted' }));
    assert.deepEqual(now.PublicAccessBlockConfiguration, ALL_ON);
  });

  test('a public access block put with flags off (the console shape) is turned fully on', async () => {
    const s3 = aws.admin('s3');
    await s3.send(new CreateBucketCommand({ Bucket: 'vouch-pab-weakened' }));
    const weak = { RestrictPublicBuckets: true, BlockPublicPolicy: false, BlockPublicAcls: false, IgnorePublicAcls: true };
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: 'vouch-pab-weakened', PublicAccessBlockConfiguration: weak }));
    const change = changeOf(
      record('s3.amazonaws.com', 'PutBucketPublicAccessBlock', {
        publicAccessBlock: [''],
        PublicAccessBlockConfiguration: { xmlns: XMLNS, ...weak },
        bucketName: 'vouch-pab-weakened',
        host: ['vouch-pab-weakened.s3.us-east-1.amazonaws.com'],
      }, null),
    );
    assert.match(planOf(change).description, /was off: BlockPublicAcls, BlockPublicPolicy/);

    await revertTwice(aws, change);

    assert.deepEqual((await s3.send(new GetPublicAccessBlockCommand({ Bucket: 'vouch-pab-weakened' }))).PublicAccessBlockConfiguration, ALL_ON);
  });

  test('the account-level public access block turned off is turned on through S3 Control, in that account only', async () => {
    const control = aws.admin('s3control');
    await control.send(
      new PutAccountPabCommand({
        AccountId: ACCOUNT,
        PublicAccessBlockConfiguration: { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false },
      }),
    );
    const change = changeOf(
      record('s3.amazonaws.com', 'PutAccountPublicAccessBlock', {
        PublicAccessBlockConfiguration: { xmlns: XMLNS, BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false },
      }, null),
    );
    const plan = planOf(change);
    assert.deepEqual([plan.service, plan.operation, plan.input], ['s3control', 'PutPublicAccessBlock', { AccountId: ACCOUNT, PublicAccessBlockConfiguration: ALL_ON }]);

    await revertTwice(aws, change, plan);

    assert.deepEqual((await control.send(new GetAccountPabCommand({ AccountId: ACCOUNT }))).PublicAccessBlockConfiguration, ALL_ON);
    // A plan naming another account than the one the revert acts in is refused.
    await assert.rejects(
      aws.revert({ plan: { ...plan, input: { ...plan.input, AccountId: '999988887777' } }, account: ACCOUNT, region: REGION, eventId: 'e-x' }),
      (err: unknown) => err instanceof ApplicationFailure && err.type === 'RevertForbidden',
    );
  });
});
