// Scaling out: two workers and two `vouch ingest --from sqs://…` processes against the same Temporal server share the
// load, and the result is one review per risky record, nothing doubled. The intake processes are `vouch ingest` as
// production runs it (src/bin/vouch.js, stopped with SIGTERM), with the shipped policy (oracle: the records pinned by hand in test/intake/helpers/expected.ts), both reading one
// moto queue into which every risky envelope is sent twice (SQS is at-least-once, and both consumers may hold the two
// copies at once). The two workers are the production worker (createWorkerWith) with scripted activities, each set
// recording which worker ran it, so the test can see both of them work and no review's DM posted twice.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createWorkerWith } from '../../src/cli/worker';
import { startMoto, type MotoServer } from '../../src/demo/sandbox/moto';
import { eventually, startDevServer } from '../helpers/temporal';
import { FakeVendors } from '../helpers/fake-vendors';
import { spawnVouch } from '../helpers/vouch-processes';
import { eventIdsOf, reviewsByWorkflowId } from '../intake/helpers/temporal';
import { accountsFile, envelope, inAccount, randomAccount, type Rec } from '../intake/helpers/records';
import { pinnedRecords } from '../intake/helpers/expected';

const TASK_QUEUE = `scale-out-${process.pid}`;
const ACCOUNTS = 4;

let env: TestWorkflowEnvironment;
let moto: MotoServer;

before(async () => {
  [env, moto] = await Promise.all([startDevServer(), startMoto()]);
});
after(async () => {
  await moto?.stop();
  await env?.teardown();
});

/** One worker's activities: the shared script, each call also counted for this worker. */
function countedActivities(vendors: FakeVendors, ran: Map<string, number>): object {
  const base = vendors.activities() as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  return Object.fromEntries(
    Object.entries(base).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        ran.set(name, (ran.get(name) ?? 0) + 1);
        return fn(...args);
      },
    ]),
  );
}

test('two workers and two SQS intake processes share the load: each risky record gets exactly one review', async (t) => {
  const pinned = pinnedRecords();
  const accounts = Array.from({ length: ACCOUNTS }, () => randomAccount());
  const risky: Rec[] = [];
  const ignored: Rec[] = [];
  for (const a of accounts) {
    risky.push(...inAccount(pinned.reviewed, a));
    ignored.push(...inAccount(pinned.ignored, a));
  }
  // Every risky envelope twice, the second copy far from the first; ignored records in between.
  const bodies = [...risky, ...ignored, ...[...risky].reverse()].map((r) => JSON.stringify(envelope(r)));
  const expected = new Map(accounts.map((a) => [a, new Set(pinned.reviewed.map((r) => String(r.eventID)))]));

  // ---- two workers on one task queue ----
  const vendors = new FakeVendors();
  const ran = [new Map<string, number>(), new Map<string, number>()];
  const workers: Array<{ worker: Worker; connection: NativeConnection; running: Promise<void> }> = [];
  for (const counts of ran) {
    const { worker, connection } = await createWorkerWith(
      { TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default', TEMPORAL_TASK_QUEUE: TASK_QUEUE },
      countedActivities(vendors, counts),
    );
    workers.push({ worker, connection, running: worker.run() });
  }

  // ---- two intake processes on one queue ----
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `scale-out-${process.pid}`, Attributes: { VisibilityTimeout: '30' } }))).QueueUrl as string;
  const deadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-scale-out-dl-'));
  const childEnv = {
    TEMPORAL_ADDRESS: env.address,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: TASK_QUEUE,
    VOUCH_DEAD_LETTER_DIR: deadDir,
    VOUCH_ACCOUNTS_FILE: accountsFile(...accounts),
    VOUCH_INTAKE_MAX_AGE_SECONDS: '3600', // under the dev server's 24 h retention
    VOUCH_POLICY_FILE: '',
    VOUCH_LOG_LEVEL: 'debug',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
  };
  // A rate per process well under what one process can do, so that neither drains the queue alone.
  const args = ['--no-progress', '--from', `sqs://${queueUrl}`, '--wait', '1', '--rate', '25'];
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-scale-out-logs-'));
  const intakes = [spawnVouch('intake-a', ['ingest', ...args], childEnv, logDir), spawnVouch('intake-b', ['ingest', ...args], childEnv, logDir)];
  try {
    for (const p of intakes) await eventually(() => /"msg":"sqs intake started"/.test(p.stderr()), 60_000, `intake started (stderr: ${p.stderr().slice(-500)})`);

    for (let i = 0; i < bodies.length; i += 10) {
      const res = await sqs.send(
        new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: bodies.slice(i, i + 10).map((b, k) => ({ Id: String(i + k), MessageBody: b })) }),
      );
      assert.equal(res.Failed?.length ?? 0, 0, JSON.stringify(res.Failed));
    }
    const depth = async (): Promise<number> => {
      const a = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }))).Attributes ?? {};
      return Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible) + Number(a.ApproximateNumberOfMessagesDelayed);
    };
    await eventually(async () => (await depth()) === 0, 120_000, `the queue drained (${bodies.length} messages)`);
    const total = async (): Promise<number> => {
      let n = 0;
      for (const a of accounts) n += (await env.client.workflow.count(`VouchAccount = '${a}'`)).count;
      return n;
    };
    await eventually(async () => (await total()) >= risky.length, 30_000, `${risky.length} reviews in visibility`);
    // The workers take up the new reviews: wait until their activity calls have been still for two seconds.
    let seen = -1;
    let stillSince = Date.now();
    await eventually(() => {
      if (vendors.calls.length !== seen) {
        seen = vendors.calls.length;
        stillSince = Date.now();
      }
      return seen > 0 && Date.now() - stillSince > 2000;
    }, 60_000, 'the workers idle');
  } finally {
    await Promise.all(intakes.map((p) => p.stop(20_000)));
    for (const w of workers) {
      w.worker.shutdown();
      await w.running.catch(() => undefined);
      await w.connection.close();
    }
  }
  const codes = await Promise.all(intakes.map((p) => p.exit));
  assert.deepEqual(codes, [0, 0], `intake exits: ${intakes.map((p) => p.stderr().slice(-1000)).join('\n---\n')}`);

  // ---- one review per risky record, across both intakes ----
  for (const a of accounts) {
    const byId = await reviewsByWorkflowId(env.client, a);
    assert.deepEqual([...eventIdsOf(byId, a)].sort(), [...(expected.get(a) as Set<string>)].sort(), `account ${a}: every risky record reviewed, nothing else`);
    assert.deepEqual([...new Set(byId.values())], [1], `account ${a}: exactly one review per record`);
  }
  assert.deepEqual(fs.readdirSync(deadDir), [], 'nothing was dead-lettered');

  // ---- both intakes and both workers did part of it ----
  const summaries = intakes.map((p) => JSON.parse(p.stdout().trim().split('\n').pop() ?? '{}') as { messages: number; deleted: number; metrics: { started: number; existing: number } });
  for (const [i, s] of summaries.entries()) {
    assert.ok(s.messages > 0 && s.metrics.started > 0, `intake ${i} started some reviews: ${JSON.stringify(s)}`);
  }
  assert.equal(summaries[0]!.deleted + summaries[1]!.deleted, bodies.length, 'every message deleted once it was done');
  assert.equal(summaries[0]!.metrics.started + summaries[1]!.metrics.started, risky.length, 'started once per risky record in all');
  assert.ok(summaries[0]!.metrics.existing + summaries[1]!.metrics.existing >= risky.length, 'every second copy found its review');
  for (const [i, counts] of ran.entries()) {
    assert.ok([...counts.values()].some((n) => n > 0), `worker ${i} ran some activities: ${JSON.stringify([...counts])}`);
  }
  const dms = new Map<string, number>();
  for (const c of vendors.calls.filter((x) => x.name === 'postReviewMessage')) {
    const id = (c.args as { reviewId: string }).reviewId;
    dms.set(id, (dms.get(id) ?? 0) + 1);
  }
  assert.ok(dms.size > 0, 'some reviews asked their engineer');
  assert.deepEqual([...new Set(dms.values())], [1], 'one DM per review, whichever worker ran it');
  t.diagnostic(
    `${bodies.length} messages (${risky.length} risky, each sent twice) in ${ACCOUNTS} accounts; intakes handled ${summaries.map((s) => s.messages).join(' + ')} messages, ` +
      `started ${summaries.map((s) => s.metrics.started).join(' + ')}; workers ran ${ran.map((m) => [...m.values()].reduce((x, y) => x + y, 0)).join(' + ')} activities (${dms.size} DMs)`,
  );
});
