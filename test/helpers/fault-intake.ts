// Intake under faults: the intake killed mid-batch on each path (SQS on moto, LookupEvents on its stand-in, files)
// and started again, and one eventID delivered many times at once through every path. The records that must start
// reviews are written down when the batch is built (risky by construction: fault-records.ts), never asked of the
// policy; reviews are counted on the server, per workflow id and run.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Client } from '@temporalio/client';
import { ensurePollers } from '../../src/intake/lookup';
import { lookupPollerWorkflowId, reviewWorkflowId } from '../../workflows/messages';
import { lookupPollerStatusQuery } from '../../workflows/lookup-poller';
import { engineer, envelope, openedToWorldOnPaper, PEOPLE, readOnly, userDataReplaced, type Rec } from './fault-records';
import { REGION, type FaultStack } from './fault-stack';
import { eventually } from './temporal';
import { exitWithin, type VouchProcess } from './vouch-processes';

export interface IntakeBatch {
  account: string;
  records: Rec[];
  /** eventIDs that must each start exactly one review (risky by construction); the rest are read-only calls. */
  risky: Set<string>;
}

/** `n` records in `account`: two in five risky (a security group opened to the world, user data replaced). */
export function intakeBatch(account: string, n: number): IntakeBatch {
  const records: Rec[] = [];
  const risky = new Set<string>();
  for (let i = 0; i < n; i++) {
    const actor = engineer(PEOPLE[i % PEOPLE.length] as (typeof PEOPLE)[number], account);
    let rec: Rec;
    if (i % 5 === 1) rec = openedToWorldOnPaper({ account, region: REGION, actor });
    else if (i % 5 === 3) rec = userDataReplaced({ account, region: REGION, actor });
    else rec = readOnly({ account, region: REGION, actor, n: i });
    if (i % 5 === 1 || i % 5 === 3) risky.add(String(rec.eventID));
    records.push(rec);
  }
  return { account, records, risky };
}

/** Review executions per workflow id in `account` (every run counted), from SQL visibility. */
export async function reviewsIn(client: Client, account: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const wf of client.workflow.list({ query: `VouchAccount = '${account}'` })) out.set(wf.workflowId, (out.get(wf.workflowId) ?? 0) + 1);
  return out;
}

async function countIn(client: Client, account: string): Promise<number> {
  return (await client.workflow.count(`VouchAccount = '${account}'`)).count;
}

/** Missing, unexpected and doubled reviews of the batch, one line each. */
export async function batchProblems(client: Client, batch: IntakeBatch, timeoutMs: number): Promise<string[]> {
  await eventually(async () => (await countIn(client, batch.account)) >= batch.risky.size, timeoutMs, `${batch.risky.size} reviews in ${batch.account}`).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 1_500)); // visibility settles: a late extra review must be seen
  const byId = await reviewsIn(client, batch.account);
  const prefix = `vouch-${batch.account}-`;
  const reviewed = new Set([...byId.keys()].map((id) => id.slice(prefix.length)));
  const problems: string[] = [];
  for (const id of batch.risky) if (!reviewed.has(id)) problems.push(`${batch.account}: risky record ${id} has no review`);
  for (const id of reviewed) if (!batch.risky.has(id)) problems.push(`${batch.account}: ${id} was reviewed but is not risky`);
  for (const [id, runs] of byId) if (runs > 1) problems.push(`${batch.account}: ${id} has ${runs} review runs`);
  return problems;
}

export interface KillReport {
  /** Reviews on the server when the intake was killed, of those the batch must start. */
  atKill: number;
  risky: number;
  killMs: number;
  recoverMs: number;
  problems: string[];
}

async function killWhenPartway(client: Client, batch: IntakeBatch, kill: () => Promise<void>, alive: () => boolean, timeoutMs: number): Promise<number> {
  const want = Math.max(1, Math.floor(batch.risky.size / 4));
  await eventually(async () => (await countIn(client, batch.account)) >= want || !alive(), timeoutMs, `${want} reviews in ${batch.account} before the kill`);
  if (!alive()) throw new Error(`the intake finished before it could be killed: slow it down (it had ${batch.risky.size} reviews to start)`);
  await kill();
  return countIn(client, batch.account);
}

/** A queue on moto holding the records as EventBridge envelopes. */
async function queueWith(stack: FaultStack, name: string, records: Rec[]): Promise<string> {
  const sqs = new SQSClient({ region: REGION, endpoint: stack.moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  const url = (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '3' } }))).QueueUrl as string;
  for (let i = 0; i < records.length; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: records.slice(i, i + 10).map((r, k) => ({ Id: String(i + k), MessageBody: JSON.stringify(envelope(r)) })),
      }),
    );
  }
  sqs.destroy();
  return url;
}

const NO_WORKER_QUEUE = 'vouch-faults-intake-only'; // reviews the intake starts here stay at their start

/** `vouch ingest --from sqs://…` killed with SIGKILL partway and run again until the queue is empty. */
export async function killSqsIntake(stack: FaultStack, batch: IntakeBatch, boundMs: number): Promise<KillReport> {
  const url = await queueWith(stack, `faults-${randomUUID().slice(0, 8)}`, batch.records);
  const args = ['ingest', '--from', `sqs://${url}`, '--concurrency', '4', '--rate', '20', '--wait', '1', '--visibility-timeout', '3'];
  const env = stack.intakeEnv(NO_WORKER_QUEUE);
  const first = stack.vouch('ingest-sqs-1', args, env);
  const t0 = Date.now();
  const atKill = await killWhenPartway(stack.client, batch, () => first.kill9(), () => first.running(), boundMs);
  const killMs = Date.now() - t0;
  const t1 = Date.now();
  const second = stack.vouch('ingest-sqs-2', [...args, '--until-empty'], env);
  const code = await exitWithin(second, boundMs);
  if (code !== 0) throw new Error(`the second SQS intake exited ${code}:\n${second.stderr().slice(-2000)}`);
  const problems = await batchProblems(stack.client, batch, 30_000);
  return { atKill, risky: batch.risky.size, killMs, recoverMs: Date.now() - t1, problems };
}

/** `vouch ingest --from DIR` killed with SIGKILL partway and run again over the same files. */
export async function killFileIntake(stack: FaultStack, batch: IntakeBatch, boundMs: number): Promise<KillReport> {
  const dir = path.join(stack.dir, `intake-files-${batch.account}`);
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < batch.records.length; i += 25) {
    fs.writeFileSync(path.join(dir, `part-${String(i).padStart(4, '0')}.json`), JSON.stringify({ Records: batch.records.slice(i, i + 25) }));
  }
  const args = ['ingest', '--from', dir, '--concurrency', '4', '--rate', '20', '--no-progress'];
  const env = stack.intakeEnv(NO_WORKER_QUEUE);
  const first = stack.vouch('ingest-files-1', args, env);
  const t0 = Date.now();
  const atKill = await killWhenPartway(stack.client, batch, () => first.kill9(), () => first.running(), boundMs);
  const killMs = Date.now() - t0;
  const t1 = Date.now();
  const second = stack.vouch('ingest-files-2', args, env);
  const code = await exitWithin(second, boundMs);
  if (code !== 0) throw new Error(`the second file intake exited ${code}:\n${second.stderr().slice(-2000)}`);
  const problems = await batchProblems(stack.client, batch, 30_000);
  return { atKill, risky: batch.risky.size, killMs, recoverMs: Date.now() - t1, problems };
}

/** The LookupEvents poller for the lookup account (started once; later calls find it). */
export async function ensureLookupPoller(stack: FaultStack): Promise<string> {
  await ensurePollers(stack.client, [{ account: stack.accounts.lookup, region: REGION }], {
    taskQueue: stack.taskQueue,
    settings: { pollIntervalSeconds: 5, overlapSeconds: 60, initialLookbackSeconds: 900, maxResults: 10 },
  });
  return lookupPollerWorkflowId(stack.accounts.lookup, REGION);
}

/** The worker (which runs the LookupEvents poller and its page activity) killed with SIGKILL partway, and restarted. */
export async function killLookupIntake(stack: FaultStack, batch: IntakeBatch, boundMs: number): Promise<KillReport> {
  stack.cloudtrail.add(batch.records);
  await ensureLookupPoller(stack);
  const t0 = Date.now();
  const worker: VouchProcess = stack.worker();
  const atKill = await killWhenPartway(stack.client, batch, () => worker.kill9(), () => worker.running(), boundMs);
  const killMs = Date.now() - t0;
  const t1 = Date.now();
  await stack.startWorker();
  // The page in flight when the worker died is retried once its start-to-close timeout (2 minutes) passes.
  const problems = await batchProblems(stack.client, batch, boundMs);
  return { atKill, risky: batch.risky.size, killMs, recoverMs: Date.now() - t1, problems };
}

export interface DuplicateReport {
  workflowId: string;
  runs: number;
  dms: number;
  /** How many deliveries the intake reported as "started" (one review was). */
  startedClaims: number;
  deliveries: Record<string, number>;
  ms: number;
  problems: string[];
}

/** One record delivered through every path at once: SQS messages, files, LookupEvents entries, `vouch review` runs. */
export async function deliverAtOnce(stack: FaultStack, copies: { sqs: number; files: number; lookup: number; review: number }, boundMs: number): Promise<DuplicateReport> {
  const account = stack.accounts.lookup; // the one account the LookupEvents stand-in serves
  const record = openedToWorldOnPaper({ account, region: REGION, actor: engineer('alice', account) });
  const workflowId = reviewWorkflowId(account, String(record.eventID));
  const url = await queueWith(stack, `faults-dup-${randomUUID().slice(0, 8)}`, Array.from({ length: copies.sqs }, () => record));
  const dir = path.join(stack.dir, `dup-${randomUUID().slice(0, 8)}`);
  fs.mkdirSync(dir);
  for (let i = 0; i < copies.files; i++) fs.writeFileSync(path.join(dir, `copy-${i}.json`), JSON.stringify({ Records: [record] }));
  const reviewFile = path.join(stack.dir, `dup-review-${randomUUID().slice(0, 8)}.json`);
  fs.writeFileSync(reviewFile, JSON.stringify({ Records: [record] }));
  const poller = copies.lookup > 0 ? stack.client.workflow.getHandle(await ensureLookupPoller(stack)) : undefined;
  const before = poller ? await eventually(() => poller.query(lookupPollerStatusQuery), 60_000, 'the poller to answer') : undefined;

  const t0 = Date.now();
  if (poller) stack.cloudtrail.add(Array.from({ length: copies.lookup }, () => record));
  const procs: VouchProcess[] = [
    stack.vouch('dup-sqs', ['ingest', '--from', `sqs://${url}`, '--until-empty', '--wait', '1', '--concurrency', '16']),
    stack.vouch('dup-files', ['ingest', '--from', dir, '--concurrency', '16', '--no-progress']),
    ...Array.from({ length: copies.review }, (_, i) => stack.vouch(`dup-review-${i}`, ['review', reviewFile])),
  ];
  const codes = await Promise.all(procs.map((p) => exitWithin(p, boundMs)));
  // A window that began after the copies were served has read them: its end becomes the checkpoint.
  if (poller) {
    await eventually(async () => {
      const s = await poller.query(lookupPollerStatusQuery);
      return Date.parse(s.checkpoint) > t0 ? s : null;
    }, boundMs, `the poller to read the ${copies.lookup} copies`);
  }
  const ms = Date.now() - t0;

  const problems: string[] = [];
  codes.forEach((c, i) => {
    if (c !== 0) problems.push(`${procs[i]?.name} exited ${c}: ${procs[i]?.stderr().slice(-800)}`);
  });
  await eventually(() => stack.dmsFor(workflowId).length > 0, 60_000, 'the review to DM alice').catch(() => undefined);
  await new Promise((r) => setTimeout(r, 2_000)); // a second review, had one started, would have DMed by now too
  let runs = 0;
  for await (const wf of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) if (wf.workflowId === workflowId) runs++;
  const dms = stack.dmsFor(workflowId).length;
  if (runs !== 1) problems.push(`${workflowId}: ${runs} review runs, want 1`);
  if (dms !== 1) problems.push(`${workflowId}: ${dms} DMs, want 1`);

  const summaries = procs.slice(0, 2).map((p) => JSON.parse(p.stdout().trim().split('\n').pop() || '{}') as { started?: number });
  const reviewLines = procs.slice(2).flatMap((p) => p.stdout().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { status?: string }));
  const after = poller ? await poller.query(lookupPollerStatusQuery) : undefined;
  const startedClaims =
    summaries.reduce((n, s) => n + (s.started ?? 0), 0) +
    reviewLines.filter((l) => l.status === 'started').length +
    (after && before ? after.totals.started - before.totals.started : 0);
  return { workflowId, runs, dms, startedClaims, deliveries: copies, ms, problems };
}
