// Real-time intake over SQS: moto_server's queue, the real @aws-sdk/client-sqs, a real Temporal dev server.
// EventBridge envelopes of real records → reviews started once each → messages deleted; poison messages →
// dead letters with their reason, and the consumer goes on; Temporal down → messages kept and redelivered.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startMoto, type MotoServer } from '../../src/demo/sandbox/moto';
import { FolderDeadLetterStore } from '../../src/intake/dead-letter';
import { IntakePipeline, type Starter } from '../../src/intake/pipeline';
import { temporalStarter } from '../../src/intake/starter';
import { SqsIntake, sqsClientFor } from '../../src/intake/sqs';
import { eventually, startDevServer } from '../helpers/temporal';
import { eventIdsOf, waitForReviews } from './helpers/temporal';
import { envelope, expectedReviewed, inAccount, loadRecords, randomAccount, testJudge, type Rec } from './helpers/records';

const REVIEW_QUEUE = `sqs-reviews-${process.pid}`; // no worker: reviews stay PENDING
let env: TestWorkflowEnvironment;
let moto: MotoServer;
let sqs: SQSClient;
const { records: loaded } = loadRecords();

async function queue(name: string, visibility = 30): Promise<string> {
  const q = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: String(visibility) } }));
  return q.QueueUrl as string;
}

async function send(queueUrl: string, bodies: string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10) {
    const res = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.slice(i, i + 10).map((b, k) => ({ Id: String(i + k), MessageBody: b })),
      }),
    );
    assert.equal(res.Failed?.length ?? 0, 0, JSON.stringify(res.Failed));
  }
}

async function depth(queueUrl: string): Promise<number> {
  const a = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }))).Attributes ?? {};
  return Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible) + Number(a.ApproximateNumberOfMessagesDelayed);
}

function pipeline(deadDir: string, starter?: Starter): IntakePipeline {
  return new IntakePipeline({
    judge: testJudge,
    starter: starter ?? temporalStarter(env.client, { taskQueue: REVIEW_QUEUE, uiBaseUrl: 'http://127.0.0.1:8233' }),
    deadLetters: new FolderDeadLetterStore(deadDir),
    review: { securityResponders: ['USEC1'] },
  });
}

/** A sample of the real records (writes, reads, failed calls) in a fresh account. */
function sample(account: string, n = 40): Rec[] {
  const writes = loaded.filter((r) => r.readOnly === false && !r.errorCode);
  const reads = loaded.filter((r) => r.readOnly === true);
  const failed = loaded.filter((r) => r.errorCode);
  return inAccount([...writes.slice(0, n / 2), ...reads.slice(0, n / 4), ...failed.slice(0, n / 4)], account);
}

before(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  process.env.AWS_REGION = 'us-east-1';
  [env, moto] = await Promise.all([startDevServer(), startMoto()]);
  sqs = new SQSClient({ region: 'us-east-1', endpoint: moto.endpoint });
});
after(async () => {
  await moto?.stop();
  await env?.teardown();
});

describe('SQS intake', () => {
  test('envelopes become reviews, once each (duplicates too); messages are deleted; poison is dead-lettered with the reason', async () => {
    const account = randomAccount();
    const records = sample(account);
    const queueUrl = await queue(`intake-${account}`);
    const good = records.map((r) => JSON.stringify(envelope(r)));
    const poison: Array<[string, RegExp]> = [
      [JSON.stringify(envelope(records[0] as Rec)).slice(0, 200), /message body is not valid JSON/],
      [JSON.stringify(records[1]), /not an EventBridge envelope: detail-type is missing/],
      [JSON.stringify({ ...envelope(records[2] as Rec), 'detail-type': 'EC2 Instance State-change Notification' }), /detail-type must be "AWS API Call via CloudTrail"/],
      [JSON.stringify({ ...envelope(records[3] as Rec), detail: ['not', 'a', 'record'] }), /detail must be an object .* got an array/],
      [JSON.stringify(envelope({ ...(records[4] as Rec), eventID: undefined })), /eventID is missing/],
      [JSON.stringify(envelope({ ...(records[5] as Rec), eventID: 'wrong-types', eventTime: 1688989338 })), /eventTime must be a string, got number/],
      ['\u0001\u00ff\u00fe\u0007garbage\ud7ff\u0010', /message body is not valid JSON/],
      ['', /message body is not valid JSON/],
    ];
    // Poison first, in the middle and last; two good records delivered twice (SQS is at-least-once).
    const bodies = [poison[0]?.[0], ...good.slice(0, 20), ...poison.slice(1, 6).map((p) => p[0]), ...good.slice(20), good[0], good[5], ...poison.slice(6).map((p) => p[0])]
      .filter((b): b is string => b !== undefined)
      .map((b) => (b === '' ? ' ' : b)); // SQS refuses an empty body; a blank one is the nearest
    await send(queueUrl, bodies);
    const deadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-sqs-dl-'));
    const p = pipeline(deadDir);
    const summary = await new SqsIntake({ client: sqsClientFor(queueUrl), queueUrl, pipeline: p, waitTimeSeconds: 1, untilEmpty: true }).run();

    assert.equal(summary.messages, bodies.length);
    assert.equal(summary.deleted, bodies.length, 'every message done and deleted');
    assert.equal(summary.kept, 0);
    assert.equal(await depth(queueUrl), 0);

    const expected = expectedReviewed(records);
    assert.ok(expected.size >= 10, `${expected.size} reviews expected`);
    const byId = await waitForReviews(env.client, account, expected.size);
    assert.deepEqual([...eventIdsOf(byId, account)].sort(), [...expected].sort());
    assert.deepEqual([...new Set(byId.values())], [1], 'one execution per event, duplicates included');

    const letters = await new FolderDeadLetterStore(deadDir).list();
    assert.equal(letters.length, poison.length);
    for (const [body, reason] of poison) {
      const sent = body === '' ? ' ' : body;
      const l = letters.find((x) => x.raw.encoding === 'utf8' && x.raw.text === sent);
      assert.ok(l, `kept: ${sent.slice(0, 40)}`);
      assert.match(l.reason, reason);
      assert.match(l.source, /^sqs:\/\/127\.0\.0\.1:\d+\/123456789012\/intake-\d+#[0-9a-f-]{36}/);
      assert.equal(l.sourceKind, 'sqs');
    }
    const m = p.metrics.snapshot();
    assert.equal(m.read, bodies.length);
    assert.equal(m.failed, poison.length);
    assert.equal(m.started, expected.size);
    assert.equal(m.existing >= 2, true, 'the duplicates found their reviews');
    assert.equal(m.ignored, bodies.length - poison.length - m.started - m.existing);
  });

  test('Temporal unreachable: messages are kept, come back after the visibility timeout, and are reviewed once', async () => {
    const account = randomAccount();
    const records = sample(account, 8).filter((r) => expectedReviewed([r]).size === 1);
    const queueUrl = await queue(`flaky-${account}`, 1);
    await send(queueUrl, records.map((r) => JSON.stringify(envelope(r))));
    const real = temporalStarter(env.client, { taskQueue: REVIEW_QUEUE, uiBaseUrl: 'http://127.0.0.1:8233' });
    let failures = 0;
    const flaky: Starter = async (input) => {
      if (failures < 3) {
        failures += 1;
        throw Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
      }
      return real(input);
    };
    const deadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-sqs-dl-'));
    const p = pipeline(deadDir, flaky);
    const summary = await new SqsIntake({ client: sqsClientFor(queueUrl), queueUrl, pipeline: p, waitTimeSeconds: 1, untilEmpty: true }).run();
    assert.equal(summary.kept, 3, 'the three failed messages were left for redelivery');
    assert.equal(summary.deleted, records.length);
    const byId = await waitForReviews(env.client, account, records.length);
    assert.equal(byId.size, records.length);
    assert.deepEqual([...new Set(byId.values())], [1]);
    assert.deepEqual(await new FolderDeadLetterStore(deadDir).list(), [], 'nothing transient was dead-lettered');
    assert.equal(p.metrics.snapshot().retried, 3);
  });

  test("a message that keeps failing is never deleted: after maxReceiveCount receives, the queue's redrive moves it, intact, to its dead-letter queue", async () => {
    const account = randomAccount();
    const [record] = sample(account, 4).filter((r) => expectedReviewed([r]).size === 1);
    assert.ok(record);
    const redriveUrl = await queue(`redrive-target-${account}`);
    const redriveArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: redriveUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
    assert.ok(redriveArn);
    const MAX_RECEIVES = 2;
    const queueUrl = (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: `redrive-${account}`,
          Attributes: { VisibilityTimeout: '1', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: redriveArn, maxReceiveCount: MAX_RECEIVES }) },
        }),
      )
    ).QueueUrl as string;
    const body = JSON.stringify(envelope(record));
    await send(queueUrl, [body]);
    // Temporal stays unreachable: every start fails as a transient error.
    let starts = 0;
    const down: Starter = async () => {
      starts += 1;
      throw Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
    };
    const deadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-sqs-dl-'));
    const intake = new SqsIntake({ client: sqsClientFor(queueUrl), queueUrl, pipeline: pipeline(deadDir, down), waitTimeSeconds: 1 });
    const running = intake.run();
    try {
      // Wait on the event itself: the message shows up in the redrive queue.
      const moved = await eventually(async () => {
        const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: redriveUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }));
        return r.Messages?.[0];
      }, 30_000, 'the message in the redrive queue');
      assert.equal(moved.Body, body, 'moved as it was sent');
    } finally {
      intake.stop();
    }
    const summary = await running;
    assert.equal(summary.deleted, 0, 'vouch never deleted a message whose review did not start');
    assert.equal(summary.kept, MAX_RECEIVES, 'kept (left for redelivery) once per receive');
    assert.equal(starts, MAX_RECEIVES, 'one start attempt per delivery, then SQS took over');
    assert.equal(await depth(queueUrl), 0, 'gone from the intake queue');
    assert.deepEqual(await new FolderDeadLetterStore(deadDir).list(), [], "a transient failure is not vouch's dead letter");
    assert.equal((await waitForReviews(env.client, account, 0)).size, 0, 'no review started');
  });

  test('stop() ends a long poll at once and run() resolves with what was done', async () => {
    const queueUrl = await queue(`idle-${randomAccount()}`);
    const intake = new SqsIntake({ client: sqsClientFor(queueUrl), queueUrl, pipeline: pipeline(fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-sqs-dl-'))), waitTimeSeconds: 20 });
    const running = intake.run();
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    intake.stop();
    const summary = await running;
    assert.ok(Date.now() - t0 < 2_000, 'did not wait for the 20 s long poll');
    assert.deepEqual(summary, { batches: 0, messages: 0, deleted: 0, kept: 0 });
  });

  test('an envelope wrapped by SNS, and a second delivery of a reviewed event, are handled like the raw one', async () => {
    const account = randomAccount();
    const [record] = sample(account, 4).filter((r) => expectedReviewed([r]).size === 1);
    assert.ok(record);
    const queueUrl = await queue(`sns-${account}`);
    const env1 = JSON.stringify(envelope(record));
    await send(queueUrl, [JSON.stringify({ Type: 'Notification', MessageId: 'm-1', Message: env1 }), env1]);
    const p = pipeline(fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-sqs-dl-')));
    await new SqsIntake({ client: sqsClientFor(queueUrl), queueUrl, pipeline: p, waitTimeSeconds: 1, untilEmpty: true, concurrency: 1 }).run();
    const byId = await waitForReviews(env.client, account, 1);
    assert.deepEqual([...byId.entries()], [[`vouch-${account}-${String(record.eventID)}`, 1]]);
    const m = p.metrics.snapshot();
    assert.deepEqual([m.started, m.existing], [1, 1]);
  });
});
