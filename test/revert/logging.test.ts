// The logging and detection reverts against moto_server: CloudTrail
// StopLogging → StartLogging, GuardDuty detector disabled → enabled, Config recorder stopped → started, KMS key
// deletion cancelled and the key enabled again (and a disabled key enabled). Plus: a failed call is never reverted,
// and a dry run outside EC2 is plan-only.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateTrailCommand, GetTrailStatusCommand, StartLoggingCommand, StopLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { CreateDetectorCommand, GetDetectorCommand, UpdateDetectorCommand } from '@aws-sdk/client-guardduty';
import {
  DescribeConfigurationRecorderStatusCommand,
  PutConfigurationRecorderCommand,
  PutDeliveryChannelCommand,
  StartConfigurationRecorderCommand,
  StopConfigurationRecorderCommand,
} from '@aws-sdk/client-config-service';
import { CreateKeyCommand, DescribeKeyCommand, DisableKeyCommand, ScheduleKeyDeletionCommand, type KMSClient } from '@aws-sdk/client-kms';
import { ApplicationFailure } from '@temporalio/common';
import { createAwsClientFactory, planRevert, type AwsClientFor } from '../../src/revert';
import { createAwsActivities } from '../../activities/aws-revert';
import { ACCOUNT, CREDS, REGION, changeOf, inputFor, planOf, record, revertTwice, startAws, type Aws } from './helpers';

let aws: Aws;
const BUCKET = 'vouch-trail-logs';

before(async () => {
  aws = await startAws();
  await aws.admin('s3').send(new CreateBucketCommand({ Bucket: BUCKET }));
});

after(async () => {
  await aws?.stop();
});

describe('CloudTrail logging', () => {
  test('StopLogging is undone by StartLogging on the same trail', async () => {
    const ct = aws.admin('cloudtrail');
    await ct.send(new CreateTrailCommand({ Name: 'org-trail', S3BucketName: BUCKET }));
    await ct.send(new StartLoggingCommand({ Name: 'org-trail' }));
    await ct.send(new StopLoggingCommand({ Name: 'org-trail' }));
    // As in the Stratus cloudtrail-stop detonation: the name in the request, no response elements.
    const change = changeOf(record('cloudtrail.amazonaws.com', 'StopLogging', { name: 'org-trail' }, null));

    const first = await revertTwice(aws, change);

    assert.deepEqual([first.before, first.after], [{ isLogging: false }, { isLogging: true }]);
    assert.equal((await ct.send(new GetTrailStatusCommand({ Name: 'org-trail' }))).IsLogging, true);
  });

  test('a failed StopLogging (TrailNotFoundException, as in the Invictus hour) is never reverted', async () => {
    const ct = aws.admin('cloudtrail');
    await assert.rejects(ct.send(new StopLoggingCommand({ Name: 'no-such-trail' })), /TrailNotFound|Unknown trail/);
    const change = changeOf(record('cloudtrail.amazonaws.com', 'StopLogging', { name: 'no-such-trail' }, null, { errorCode: 'TrailNotFoundException' }));
    const { plan, reason } = planRevert(change);
    assert.equal(plan, null);
    assert.match(reason, /the call failed \(TrailNotFoundException\)/);
  });
});

describe('GuardDuty', () => {
  test('a detector disabled with UpdateDetector is enabled again', async () => {
    const gd = aws.admin('guardduty');
    const detectorId = (await gd.send(new CreateDetectorCommand({ Enable: true }))).DetectorId ?? assert.fail('no detector');
    await gd.send(new UpdateDetectorCommand({ DetectorId: detectorId, Enable: false }));
    assert.equal((await gd.send(new GetDetectorCommand({ DetectorId: detectorId }))).Status, 'DISABLED');
    const change = changeOf(record('guardduty.amazonaws.com', 'UpdateDetector', { detectorId, enable: false }, null));
    assert.deepEqual(planOf(change).input, { DetectorId: detectorId, Enable: true });

    await revertTwice(aws, change);

    assert.equal((await gd.send(new GetDetectorCommand({ DetectorId: detectorId }))).Status, 'ENABLED');
    // An UpdateDetector that changes something else is not a disable: no plan.
    const other = changeOf(record('guardduty.amazonaws.com', 'UpdateDetector', { detectorId, findingPublishingFrequency: 'SIX_HOURS' }, null));
    assert.equal(planRevert(other).plan, null);
  });
});

describe('AWS Config', () => {
  test('a stopped configuration recorder is started again', async () => {
    const cfg = aws.admin('config');
    await cfg.send(
      new PutConfigurationRecorderCommand({ ConfigurationRecorder: { name: 'default', roleARN: `arn:aws:iam::${ACCOUNT}:role/aws-config` } }),
    );
    await cfg.send(new PutDeliveryChannelCommand({ DeliveryChannel: { name: 'default', s3BucketName: BUCKET } }));
    await cfg.send(new StartConfigurationRecorderCommand({ ConfigurationRecorderName: 'default' }));
    await cfg.send(new StopConfigurationRecorderCommand({ ConfigurationRecorderName: 'default' }));
    const change = changeOf(record('config.amazonaws.com', 'StopConfigurationRecorder', { configurationRecorderName: 'default' }, null));

    const first = await revertTwice(aws, change);

    assert.equal((first.before as { recording: boolean }).recording, false);
    const status = await cfg.send(new DescribeConfigurationRecorderStatusCommand({ ConfigurationRecorderNames: ['default'] }));
    assert.equal(status.ConfigurationRecordersStatus?.[0]?.recording, true);
  });
});

describe('KMS', () => {
  test('a scheduled key deletion is cancelled and the key left Disabled, as KMS leaves it; a dry run first is plan-only', async () => {
    const kms = aws.admin('kms');
    const keyId = (await kms.send(new CreateKeyCommand({ Description: 'vouch test' }))).KeyMetadata?.KeyId ?? assert.fail('no key');
    const res = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    const change = changeOf(
      record('kms.amazonaws.com', 'ScheduleKeyDeletion', { keyId, pendingWindowInDays: 7 }, {
        keyId: res.KeyId,
        deletionDate: 'Jul 17, 2023, 12:00:00 AM',
        keyState: 'PendingDeletion',
        pendingWindowInDays: 7,
      }),
    );
    const plan = planOf(change);
    assert.deepEqual([plan.operation, plan.input, plan.then], ['CancelKeyDeletion', { KeyId: res.KeyId }, undefined]);

    const dry = await aws.revert(inputFor(change, plan, true));
    assert.deepEqual([dry.dryRun, dry.changed], [true, false]);
    assert.match(dry.message, /plan only, no call made/);
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState, 'PendingDeletion');

    const first = await revertTwice(aws, change, plan);

    assert.deepEqual([first.before, first.after], [
      { keyState: 'PendingDeletion', enabled: false },
      { keyState: 'Disabled', enabled: false },
    ]);
    const meta = (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    assert.deepEqual([meta?.KeyState, meta?.DeletionDate], ['Disabled', undefined]);
  });

  test('a disabled key is enabled again', async () => {
    const kms = aws.admin('kms');
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId ?? assert.fail('no key');
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    const change = changeOf(record('kms.amazonaws.com', 'DisableKey', { keyId }, null));

    await revertTwice(aws, change);

    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState, 'Enabled');
  });
});

describe('verification and refusals outside EC2', () => {
  test('a call AWS acknowledges but that leaves the key disabled fails as RevertNotVerified, with before/after', async () => {
    const kms = aws.admin('kms');
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId ?? assert.fail('no key');
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    const change = changeOf(record('kms.amazonaws.com', 'DisableKey', { keyId }, null));
    const factory = createAwsClientFactory({ endpoint: aws.moto.endpoint, credentials: CREDS });
    // A KMS client whose EnableKey answers 200 without reaching AWS.
    const clientFor = ((service, account, region, session) => {
      const c = factory.clientFor(service, account, region, session);
      (c as unknown as KMSClient).middlewareStack.add(
        (next, context) => async (args) => (context.commandName === 'EnableKeyCommand' ? { output: { $metadata: {} }, response: {} } : next(args)),
        { step: 'initialize', name: 'swallowEnableKey' },
      );
      return c;
    }) as AwsClientFor;

    await assert.rejects(createAwsActivities({ clientFor }).revertChange(inputFor(change, planOf(change))), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'RevertNotVerified');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /not verified after the revert: key Disabled/);
      return true;
    });
  });

  test('a follow-up step the handler does not allow, or without a client for the service, is refused before any call', async () => {
    const plan = {
      ...planOf(changeOf(record('kms.amazonaws.com', 'DisableKey', { keyId: 'k-1' }, null))),
      then: [{ service: 'iam' as const, operation: 'DeleteUser', input: { UserName: 'x' } }],
    };
    const acts = createAwsActivities({
      clientFor: (service) => {
        throw new Error(`no ${service} client configured`);
      },
    });
    await assert.rejects(acts.revertChange({ plan, account: ACCOUNT, region: REGION, eventId: 'e' }), /does not run iam:DeleteUser after kms:EnableKey/);
    const { then: _then, ...plain } = plan;
    await assert.rejects(acts.revertChange({ plan: plain, account: ACCOUNT, region: REGION, eventId: 'e' }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'RevertForbidden');
      assert.match(err.message, /no kms client/);
      return true;
    });
  });
});
