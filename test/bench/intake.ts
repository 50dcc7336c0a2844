// `npm run bench -- intake [--records N] [--risky F] [--server dev|prod|both]`: records/s through one intake process
// for mostly benign traffic (a share F of risky records, 2% by default), as `vouch ingest --from DIR` reads it: files of
// 1,000 records, IntakePipeline with the shipped policy and the production starter, against a Temporal server with no
// worker (the reviews stay pending: the intake's cost alone). Side by side in one run, on the same records:
//   - the pipeline with starts dropped              (the ceiling: reading, normalising and judging)
//   - two calls per review (describe, then start)   (what the starter did before: the old figure)
//   - one call per review (the start), at concurrency 8, 32 and 64
// Bounded: a fixed record count per row (default 40,000).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { WorkflowNotFoundError } from '@temporalio/client';
import { checkRecord, IntakePipeline, type Starter } from '../../src/intake/pipeline';
import { policyJudge } from '../../src/intake/judges';
import { startReview, temporalStarter } from '../../src/intake/starter';
import { FolderDeadLetterStore } from '../../src/intake/dead-letter';
import { ingestFiles, type InputFile } from '../../src/intake/files';
import { reviewWorkflowId } from '../../workflows/messages';
import { loadPolicy } from '../../src/policy';
import { loadRecords } from './classify';
import { fmt, table, writeSection } from './report';
import { parseServers, persistenceDelta, persistenceLatency, serverMetricsUrl, startBenchServer, type BenchServer } from './servers';

type Rec = Record<string, unknown>;

/** Benign and risky real records (by the shipped policy), then a stream of `total` with `risky` of them risky. */
export function mixedRecords(total: number, riskyShare: number): { files: string[]; risky: number; pool: { benign: number; risky: number } } {
  const { records } = loadRecords();
  const judge = policyJudge(loadPolicy());
  const benign: Rec[] = [];
  const risky: Rec[] = [];
  records.forEach((r, i) => {
    const c = checkRecord({ kind: 'files', source: 'bench', index: i, record: r }, { judge });
    if (c.status === 'ignored') benign.push(r);
    else if (c.status === 'review') risky.push(r);
  });
  if (risky.length === 0 || benign.length === 0) throw new Error(`the records hold ${risky.length} risky and ${benign.length} benign ones: need both`);
  const every = Math.max(1, Math.round(1 / riskyShare));
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const files: string[] = [];
  let batch: Rec[] = [];
  let nRisky = 0;
  for (let i = 0; i < total; i++) {
    const isRisky = i % every === every - 1;
    const src = isRisky ? (risky[nRisky % risky.length] as Rec) : (benign[i % benign.length] as Rec);
    if (isRisky) nRisky++;
    batch.push({ ...src, eventID: randomUUID(), eventTime: now });
    if (batch.length === 1000 || i === total - 1) {
      files.push(JSON.stringify({ Records: batch }));
      batch = [];
    }
  }
  return { files, risky: nRisky, pool: { benign: benign.length, risky: risky.length } };
}

/** The starter as it was: describe the workflow id first, start only when it is not there (two calls per review). */
function twoCallStarter(server: BenchServer, taskQueue: string): Starter {
  return async (input) => {
    const workflowId = reviewWorkflowId(input.change.account, input.change.eventId);
    try {
      await server.client.workflow.getHandle(workflowId).describe();
      return { workflowId, status: 'existing' };
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    const res = await startReview(server.client, input, { taskQueue, uiBaseUrl: 'http://127.0.0.1:8080' });
    return { workflowId: res.workflowId, status: res.status };
  };
}

interface Row {
  server: string;
  name: string;
  concurrency: number;
  seconds: number;
  records: number;
  started: number;
  /** The server's database time in this row (production topology only). */
  db?: string;
}

async function runRow(files: string[], starter: Starter, concurrency: number): Promise<{ seconds: number; records: number; started: number }> {
  const dead = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-bench-dl-'));
  const pipeline = new IntakePipeline({ judge: policyJudge(loadPolicy()), starter, deadLetters: new FolderDeadLetterStore(dead), review: { securityResponders: ['USEC1'] } });
  const inputs: InputFile[] = files.map((text, i) => ({ name: `bench-${i}.json`, read: async () => Buffer.from(text) }));
  const t0 = process.hrtime.bigint();
  const summary = await ingestFiles(inputs, pipeline, { concurrency });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  fs.rmSync(dead, { recursive: true, force: true });
  if (summary.deadLettered > 0) throw new Error(`${summary.deadLettered} records dead-lettered in the benchmark`);
  return { seconds, records: summary.records, started: summary.started };
}

export async function benchIntake(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { records: { type: 'string', default: '40000' }, risky: { type: 'string', default: '0.02' }, server: { type: 'string', default: 'both' } },
  });
  const total = Number(values.records);
  const share = Number(values.risky);
  if (!Number.isInteger(total) || total < 1000 || !(share > 0 && share <= 1)) throw new Error('--records must be ≥ 1000 and --risky in (0, 1]');
  const kinds = parseServers(values.server);
  const say = (s: string): void => void process.stdout.write(`${s}\n`);
  const rows: Row[] = [];
  const labels: string[] = [];

  const dropped: Starter = async (input) => ({ workflowId: reviewWorkflowId(input.change.account, input.change.eventId), status: 'started' });
  const mix = mixedRecords(total, share);
  say(`intake benchmark: ${fmt(total)} records per row, ${fmt(mix.risky)} risky (${(share * 100).toFixed(1)}%), files of 1,000`);
  const ceiling = await runRow(mix.files, dropped, 8);
  rows.push({ server: '(none)', name: 'pipeline only, starts dropped', concurrency: 8, ...ceiling });
  say(`  ceiling: ${fmt(ceiling.records / ceiling.seconds)} records/s`);

  for (const kind of kinds) {
    say(`starting the ${kind} server…`);
    const server = await startBenchServer(kind);
    labels.push(`${kind}: ${server.label}`);
    try {
      const taskQueue = `bench-intake-${randomUUID().slice(0, 8)}`; // no worker: reviews stay pending
      const plan: Array<[string, Starter, number]> = [
        ['two calls per review (describe, start)', twoCallStarter(server, taskQueue), 8],
        ['one call per review (start)', temporalStarter(server.client, { taskQueue, uiBaseUrl: 'http://127.0.0.1:8080' }), 8],
        ['one call per review (start)', temporalStarter(server.client, { taskQueue, uiBaseUrl: 'http://127.0.0.1:8080' }), 32],
        ['one call per review (start)', temporalStarter(server.client, { taskQueue, uiBaseUrl: 'http://127.0.0.1:8080' }), 64],
      ];
      for (const [name, starter, concurrency] of plan) {
        const files = mixedRecords(total, share).files; // fresh eventIDs: every row starts its own reviews
        const metricsUrl = serverMetricsUrl(server);
        const before = await persistenceLatency(metricsUrl);
        const r = await runRow(files, starter, concurrency);
        const db = persistenceDelta(before, await persistenceLatency(metricsUrl), 3)
          .map((x) => `${x.op} ${fmt(x.count)}× ${fmt(x.meanMs, 1)} ms`)
          .join('; ');
        if (r.started !== mix.risky) throw new Error(`${name}: started ${r.started} reviews, expected ${mix.risky}`);
        rows.push({ server: kind, name, concurrency, ...r, ...(db ? { db } : {}) });
        say(`  ${kind} ${name} c=${concurrency}: ${fmt(r.records / r.seconds)} records/s, ${fmt(r.started / r.seconds)} starts/s`);
      }
    } finally {
      await server.stop();
    }
  }

  const base = new Map(rows.filter((r) => r.name.startsWith('two calls')).map((r) => [r.server, r.records / r.seconds]));
  const file = writeSection(
    'intake',
    `One process, ${fmt(total)} real CloudTrail records per row (from ../shared/data/cloudtrail, fresh eventIDs), ` +
      `${(share * 100).toFixed(1)}% risky by the shipped policy (${fmt(mix.risky)} reviews started per row), in files of 1,000 records ` +
      `through ingestFiles → IntakePipeline → the production starter, no worker. Servers: ${labels.join('; ')}.\n\n` +
      table(
        ['server', 'starter', 'concurrency', 'records/s', 'reviews started/s', 'seconds', 'vs two calls, c=8'],
        rows.map((r) => [
          r.server,
          r.name,
          r.concurrency,
          fmt(r.records / r.seconds),
          fmt(r.started / r.seconds),
          r.seconds.toFixed(1),
          base.has(r.server) ? `${((r.records / r.seconds) / (base.get(r.server) as number)).toFixed(2)}×` : '',
        ]),
      ) +
      (rows.some((r) => r.db)
        ? '\n\nWhere the server spent its database time in each production-topology row (persistence_latency from its ' +
          'Prometheus endpoint: the operations with the most time, count × mean):\n\n' +
          table(['starter', 'concurrency', 'PostgreSQL operations'], rows.filter((r) => r.db).map((r) => [r.name, r.concurrency, r.db as string]))
        : ''),
    argv,
  );
  say(`written to ${file}`);
  return 0;
}
