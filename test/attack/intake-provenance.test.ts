// Attacks on intake: records that must never reach an engineer or a revert. A replayed backfill of old records, a
// record about an account vouch does not watch, an EventBridge envelope that did not come from AWS, an envelope for
// one account carrying another account's record, and a gzip bomb. Each is played through `vouch ingest` (files or
// SQS on moto) with the worker running, and the harm checked: no review, no DM, no revert; the record kept with why.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { cloudTrailRecord, HOME, REVERT_ROLE_TEMPLATE, reviewExists, SANDBOX, startAttackStack, type AttackStack } from '../intake/helpers/attack-stack';

let stack: AttackStack;
before(async () => {
  stack = await startAttackStack();
  await stack.startWorker({ VOUCH_REVERT_ROLE_ARN_TEMPLATE: REVERT_ROLE_TEMPLATE });
});
after(async () => {
  await stack?.stop();
});

/** HTTPS opened to the world: the default policy asks the engineer (a DM). */
function webToWorld(account: string, o: { eventTime?: string } = {}): Record<string, unknown> {
  return cloudTrailRecord(
    account,
    'ec2.amazonaws.com',
    'AuthorizeSecurityGroupIngress',
    { groupId: 'sg-0123456789abcdef0', ipPermissions: { items: [{ ipProtocol: 'tcp', fromPort: 443, toPort: 443, ipRanges: { items: [{ cidrIp: '0.0.0.0/0' }] } }] } },
    null,
    o,
  );
}

async function noReviewNoDm(account: string, record: Record<string, unknown>): Promise<void> {
  const id = stack.reviewId(account, String(record.eventID));
  await new Promise((r) => setTimeout(r, 1500)); // a DM would be out by now
  assert.equal(await reviewExists(stack.env, id), false, `a review was started: ${id}`);
  assert.equal(stack.dmFor(id), undefined, 'an engineer was asked');
}

async function letterFor(eventId: string): Promise<{ reason: string; details?: Record<string, unknown> }> {
  const letter = (await stack.deadLetters()).find((l) => l.eventID === eventId || l.raw.encoding === 'utf8' && l.raw.text.includes(eventId));
  return letter ?? assert.fail(`no dead letter for ${eventId}`);
}

test('a replayed backfill of records older than the maximum age asks nobody and starts nothing; it is reported', async () => {
  const old = new Date(Date.now() - 3 * 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'); // max age here: 1 h
  const record = webToWorld(SANDBOX, { eventTime: old });
  const run = await stack.ingestRecords([record]);
  await noReviewNoDm(SANDBOX, record);
  assert.match(run.stderr, /1 record\(s\) older than VOUCH_INTAKE_MAX_AGE_SECONDS \(3600 s\) were reported, not reviewed/);
  assert.equal(run.summary.started, 0);
  const letter = await letterFor(String(record.eventID));
  assert.match(letter.reason, /too old to review: AuthorizeSecurityGroupIngress .* over the maximum age of 3600 s/);
  assert.equal(letter.details?.tooOld, true);
});

test('a record of an account vouch does not watch is dead-lettered, never reviewed', async () => {
  const stranger = '444455556666';
  const record = webToWorld(stranger);
  const run = await stack.ingestRecords([record]);
  await noReviewNoDm(stranger, record);
  assert.equal(run.code, 1, 'dead-lettered records make a backfill exit 1');
  assert.equal(run.summary.started, 0);
  assert.match((await letterFor(String(record.eventID))).reason, /account 444455556666 is not one vouch watches \(VOUCH_ACCOUNTS_FILE /);
});

test('EventBridge envelopes not from AWS, or for another account than the record\'s, are dead-lettered from SQS', async () => {
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: stack.moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `attack-${Date.now()}` }))).QueueUrl as string;
  const envelope = (record: Record<string, unknown>, over: Record<string, unknown>) => ({
    version: '0',
    id: `env-${String(record.eventID)}`,
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.ec2',
    account: record.recipientAccountId,
    time: record.eventTime,
    region: 'us-east-1',
    resources: [],
    detail: record,
    ...over,
  });
  // Someone with sqs:SendMessage (or a custom EventBridge bus) forges a source; another wraps a record of a watched
  // account in an envelope of another account.
  const forged = webToWorld(HOME);
  const crossed = webToWorld(SANDBOX);
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(envelope(forged, { source: 'custom.ci' })) }));
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(envelope(crossed, { account: HOME })) }));
  const run = await stack.ingest(['--from', `sqs://${queueUrl}`, '--until-empty', '--wait', '1']);
  assert.equal(run.code, 0, run.stderr);
  await noReviewNoDm(HOME, forged);
  await noReviewNoDm(SANDBOX, crossed);
  const letters = await stack.deadLetters();
  const reasons = letters.map((l) => l.reason).join('\n');
  assert.match(reasons, /source must be an AWS service's \(aws\.\*\), got "custom\.ci"/);
  assert.match(reasons, new RegExp(`the envelope's account ${HOME} is not the record's recipientAccountId "${SANDBOX}"`));
});

test('a gzip bomb is dead-lettered unread, and the records beside it are still reviewed', async () => {
  const folder = path.join(stack.dir, 'bomb');
  fs.mkdirSync(folder, { recursive: true });
  // 64 MiB of one byte inflate from ~64 KiB; the limit here is 16 MiB.
  const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20), { level: 9 });
  fs.writeFileSync(path.join(folder, 'a-bomb.json.gz'), bomb);
  const fine = webToWorld(SANDBOX);
  fs.writeFileSync(path.join(folder, 'b-fine.json.gz'), zlib.gzipSync(JSON.stringify({ Records: [fine] })));
  const before = process.memoryUsage().rss;
  const run = await stack.ingest(['--from', folder], { VOUCH_INTAKE_MAX_FILE_BYTES: String(16 * 1024 * 1024) });
  const grew = process.memoryUsage().rss - before;
  assert.ok(grew < 48 * 1024 * 1024, `the bomb was inflated into memory (+${Math.round(grew / 1048576)} MiB)`);
  assert.equal(run.summary.badFiles, 1, run.stderr);
  assert.equal(run.summary.started, 1);
  const letter = (await stack.deadLetters()).find((l) => l.source.endsWith('a-bomb.json.gz')) ?? assert.fail('the bomb was not kept');
  assert.match(letter.reason, /a-bomb\.json\.gz: decompresses to more than 16777216 bytes, the limit for one file \(VOUCH_INTAKE_MAX_FILE_BYTES\)/);
  assert.equal(await reviewExists(stack.env, stack.reviewId(SANDBOX, String(fine.eventID))), true);
});
