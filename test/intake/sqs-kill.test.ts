// At-least-once in, exactly-once reviews out: `vouch ingest --from sqs://…` runs as its own process with the real
// policy, is SIGKILLed in the middle of its first batch (reviews started, nothing deleted yet), and is started
// again. Every pinned risky record (test/intake/helpers/expected.ts, written down by hand) ends with exactly one
// review; the pinned read-only ones with none; the queue empty.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startMoto, type MotoServer } from '../../src/demo/sandbox/moto';
import { eventually, startDevServer } from '../helpers/temporal';
import { eventIdsOf, reviewsByWorkflowId } from './helpers/temporal';
import { accountsFile, envelope, inAccount, randomAccount, type Rec } from './helpers/records';
import { pinnedRecords } from './helpers/expected';

const CHILD = path.resolve(__dirname, 'helpers/ingest-child.ts');
const REVIEW_QUEUE = `kill-reviews-${process.pid}`; // no worker: reviews stay PENDING
let env: TestWorkflowEnvironment;
let moto: MotoServer;

before(async () => {
  [env, moto] = await Promise.all([startDevServer(), startMoto()]);
});
after(async () => {
  await moto?.stop();
  await env?.teardown();
});

function ingest(args: string[], childEnv: Record<string, string>): { child: ChildProcess; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
    env: { ...process.env, ...childEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout?.resume();
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exit };
}

test('an intake killed mid-batch and restarted leaves exactly one review per risky record', async (t) => {
  const account = randomAccount();
  const pinned = pinnedRecords();
  const risky = inAccount(pinned.reviewed, account);
  const ignored = inAccount(pinned.ignored, account);
  // A risky record first, then risky and ignored ones interleaved.
  const chosen: Rec[] = [];
  const r = [...risky];
  const g = [...ignored];
  while (r.length || g.length) {
    if (r.length) chosen.push(r.shift() as Rec);
    if (r.length) chosen.push(r.shift() as Rec);
    if (g.length) chosen.push(g.shift() as Rec);
  }
  const expected = new Set(risky.map((x) => String(x.eventID)));

  const sqs = new SQSClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `kill-${account}`, Attributes: { VisibilityTimeout: '2' } }))).QueueUrl as string;
  for (let i = 0; i < chosen.length; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chosen.slice(i, i + 10).map((rec, k) => ({ Id: String(i + k), MessageBody: JSON.stringify(envelope(rec)) })),
      }),
    );
  }
  const depth = async (): Promise<number> => {
    const a = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }))).Attributes ?? {};
    return Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible);
  };
  const deadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-kill-dl-'));
  const childEnv = {
    TEMPORAL_ADDRESS: env.address,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: REVIEW_QUEUE,
    VOUCH_DEAD_LETTER_DIR: deadDir,
    VOUCH_ACCOUNTS_FILE: accountsFile(account),
    VOUCH_INTAKE_MAX_AGE_SECONDS: '3600', // under the dev server's 24 h retention
    VOUCH_POLICY_FILE: '',
    VOUCH_LOG_LEVEL: 'debug',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
  };

  // Run 1: 2 records/second, so a batch of 10 takes five seconds; SIGKILL as soon as the first review started (the
  // event, not a guess at timing: the slow rate only leaves a loaded machine ample time to act on it).
  const first = ingest(['--from', `sqs://${queueUrl}`, '--rate', '2', '--wait', '1'], childEnv);
  await eventually(() => /"msg":"review started"/.test(first.stderr()), 30_000, `a first review (stderr: ${first.stderr().slice(-500)})`);
  first.child.kill('SIGKILL');
  assert.equal(await first.exit, null, 'killed, not exited');
  const afterKill = await eventually(async () => {
    const m = await reviewsByWorkflowId(env.client, account);
    return m.size > 0 ? m : undefined;
  }, 10_000, 'the reviews the first run started');
  assert.ok(afterKill.size < expected.size, `killed part-way: ${afterKill.size} of ${expected.size} reviews started`);
  assert.equal(await depth(), chosen.length, 'killed inside the first batch: no message was deleted, started ones included');

  // Run 2: the same command until the queue is empty; the killed batch comes back after its visibility timeout.
  const second = ingest(['--from', `sqs://${queueUrl}`, '--until-empty', '--wait', '1'], childEnv);
  assert.equal(await second.exit, 0, second.stderr().slice(-2000));
  assert.equal(await depth(), 0);

  const byId = await eventually(async () => {
    const m = await reviewsByWorkflowId(env.client, account);
    return m.size >= expected.size ? m : undefined;
  }, 15_000, `${expected.size} reviews`);
  assert.deepEqual([...eventIdsOf(byId, account)].sort(), [...expected].sort(), 'every risky record reviewed, nothing else');
  assert.deepEqual([...new Set(byId.values())], [1], 'exactly one review each');
  const existing = (second.stderr().match(/"msg":"review existing"/g) ?? []).length;
  assert.ok(existing >= afterKill.size, `the restart found the ${afterKill.size} reviews the killed run had started (${existing})`);
  assert.deepEqual(fs.readdirSync(deadDir), [], 'nothing was dead-lettered');
  t.diagnostic(`${chosen.length} messages, ${expected.size} risky; killed after ${afterKill.size} reviews; restart found ${existing} existing`);
});
