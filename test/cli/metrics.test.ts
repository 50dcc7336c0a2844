// Metrics and logs of a worker process, on a real Temporal dev server: the Runtime installed with Core's Prometheus
// exporter and vouch's JSON logger as `vouch worker` installs it, the worker `vouch worker` builds (createWorkerWith:
// the review workflow with the metrics interceptor module, vouch's activity interceptor) over FakeVendors
// activities, and vouch's /metrics endpoint scraped before and after reviews run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, type NativeConnection, type Worker } from '@temporalio/worker';
import {
  createMetrics,
  scrapeText,
  sdkTelemetryOptions,
  startMetricsServer,
  type MetricsServer,
  type VouchMetrics,
} from '../../src/cli/metrics';
import { createLogger, temporalLogger } from '../../src/cli/log';
import { createWorkerWith } from '../../src/cli/worker';
import { ingestCommand } from '../../src/cli/ingest';
import { runCommand } from '../../src/cli/program';
import { loadIntakeConfig } from '../../src/cli/intake-settings';
import { lookupPollerWorkflowId } from '../../workflows/messages';
import { startCloudTrailStandIn } from '../standins/cloudtrail';
import { pinnedRecords } from '../intake/helpers/expected';
import { inAccount, randomAccount, retime } from '../intake/helpers/records';
import { startReview } from '../../src/intake/starter';
import { resolveTemporalCli } from '../../src/demo/tools/resolve';
import { decisionUpdate, statusQuery } from '../../workflows/messages';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import type { ReviewInput, ReviewStatus } from '../../src/core/types';
import { FakeVendors } from '../helpers/fake-vendors';
import { reviewInput as buildReviewInput } from '../helpers/review-input';
import { eventually } from '../helpers/temporal';

const ACCOUNT = '111122223333';
const RULE = `rule-${randomUUID().slice(0, 6)}`;
const taskQueue = `metrics-test-${randomUUID()}`;
const logLines: Record<string, unknown>[] = [];
const fake = new FakeVendors();

let env: TestWorkflowEnvironment;
let client: Client;
let worker: Worker;
let connection: NativeConnection;
let running: Promise<void>;
let metrics: VouchMetrics;
let server: MetricsServer;
let sdkUrl: string;

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function reviewInput(k: string, tier: 'confirm' | 'page' = 'confirm'): Omit<ReviewInput, 'reviewUrl'> {
  return buildReviewInput(k, {
    tier,
    account: ACCOUNT,
    change: { eventTime: new Date(Date.now() - 42_000).toISOString(), request: { groupId: 'sg-123' } },
    verdict: { score: 70, rules: [RULE, 'admin-port'], reasons: ['tcp/22 open to the world'], deadlineSeconds: 120 },
  });
}

/** The value of one series in a Prometheus text page (0 when absent). */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[4]);
  }
  return total;
}

async function scrape(): Promise<string> {
  const res = await fetch(server.url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

before(async () => {
  const sdkPort = await freePort();
  Runtime.install({
    logger: temporalLogger(
      createLogger({ level: 'debug', destination: { write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>) } }),
    ),
    telemetryOptions: sdkTelemetryOptions({ bindAddress: `127.0.0.1:${sdkPort}` }),
  });
  sdkUrl = `http://127.0.0.1:${sdkPort}/metrics`;
  const cli = resolveTemporalCli({ install: true });
  if (!cli) throw new Error('no Temporal CLI found or installable');
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      searchAttributes: [...ALL_SEARCH_ATTRIBUTES],
      extraArgs: ['--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF'],
    },
  });
  client = env.client;
  metrics = createMetrics({ defaultLabels: { process: 'worker' } });
  server = await startMetricsServer({ registry: metrics.registry, host: '127.0.0.1', port: 0, sdkMetricsUrl: sdkUrl });
  ({ worker, connection } = await createWorkerWith(
    { TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default', TEMPORAL_TASK_QUEUE: taskQueue },
    fake.activities(),
    metrics,
  ));
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await server?.close();
  await env?.teardown();
});

describe('worker metrics and logs', () => {
  test('one scrape serves vouch series and the SDK runtime series; both move when reviews run', async () => {
    const before = await scrape();
    assert.match(before, /^# HELP vouch_vendor_errors_total /m);
    assert.match(before, /^process_cpu_user_seconds_total\{process="worker"\} /m);
    assert.equal(value(before, 'vouch_reviews_started_total', { rule: RULE }), 0);

    // One review confirmed by the engineer with Duo, one escalated because nobody can be found (a Slack lookup
    // failure), one page-tier review denied.
    const ok = randomUUID().slice(0, 8);
    const unknown = randomUUID().slice(0, 8);
    const denied = randomUUID().slice(0, 8);
    fake.script(unknown, { person: 'unknown' });
    // The engineer's Duo answer takes 2 s: time to confirm is at least that, and at most the review's wall time.
    const DUO_MS = 2000;
    fake.script(ok, { duoDelayMs: DUO_MS });
    const startedAt = Date.now();
    const confirmed = await startReview(client, reviewInput(ok), { taskQueue, uiBaseUrl: 'http://127.0.0.1:8233' });
    const escalated = await startReview(client, reviewInput(unknown), { taskQueue, uiBaseUrl: 'http://127.0.0.1:8233' });
    const paged = await startReview(client, reviewInput(denied, 'page'), { taskQueue, uiBaseUrl: 'http://127.0.0.1:8233' });
    for (const [review, k, answer] of [
      [confirmed, ok, 'yes'],
      [paged, denied, 'no'],
    ] as const) {
      await eventually(async () => ((await review.handle.query(statusQuery)) as ReviewStatus).phase === 'AWAITING_ANSWER', 20_000);
      await review.handle.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer }] });
    }
    assert.equal((await confirmed.handle.result()).outcome, 'CONFIRMED');
    const confirmWallSeconds = (Date.now() - startedAt) / 1000;
    assert.equal((await escalated.handle.result()).outcome, 'ESCALATED');
    assert.equal((await paged.handle.result()).outcome, 'DENIED');

    const afterRuns = await eventually(async () => {
      const text = await scrape();
      return value(text, 'vouch_review_outcomes_total', { outcome: 'DENIED', tier: 'page' }) >= 1 ? text : undefined;
    }, 15_000, 'the outcome series');
    assert.equal(value(afterRuns, 'vouch_reviews_started_total', { rule: RULE, tier: 'confirm' }), 2);
    assert.equal(value(afterRuns, 'vouch_reviews_started_total', { rule: RULE, tier: 'page' }), 1);
    assert.equal(value(afterRuns, 'vouch_reviews_started_total', { rule: 'admin-port' }) - value(before, 'vouch_reviews_started_total', { rule: 'admin-port' }), 3);
    assert.equal(value(afterRuns, 'vouch_review_outcomes_total', { outcome: 'CONFIRMED', tier: 'confirm' }), 1);
    assert.equal(value(afterRuns, 'vouch_review_outcomes_total', { outcome: 'ESCALATED', tier: 'confirm' }), 1);
    assert.equal(value(afterRuns, 'vouch_time_to_confirm_seconds_count', { tier: 'confirm' }), 1);
    const ttc = value(afterRuns, 'vouch_time_to_confirm_seconds_sum', { tier: 'confirm' });
    assert.ok(ttc >= DUO_MS / 1000 && ttc <= confirmWallSeconds, `time to confirm ${ttc} s: from the review's start to its confirmation (${DUO_MS / 1000} s to ${confirmWallSeconds} s)`);
    assert.equal(value(afterRuns, 'vouch_time_to_confirm_seconds_bucket', { tier: 'confirm', le: '1' }), 0, 'not in the 1 s bucket');
    assert.equal(value(afterRuns, 'vouch_time_to_confirm_seconds_bucket', { tier: 'confirm', le: '60' }), 1);
    assert.equal(value(afterRuns, 'vouch_vendor_errors_total', { vendor: 'slack', type: 'UnknownPerson' }), 1);
    // The SDK's own runtime metrics, from Core's exporter, on the same page.
    assert.ok(value(afterRuns, 'temporal_workflow_completed_total') >= 3);
    assert.ok(value(afterRuns, 'temporal_activity_execution_failed_total') >= 1);

    // Querying closed reviews makes the worker replay them from history (a finished review leaves the worker's
    // cache, so each query is answered by a replay): nothing is counted again.
    const queriesAnswered = (text: string): number => value(text, 'temporal_request_total', { operation: 'RespondQueryTaskCompleted' });
    const beforeQueries = await scrape();
    assert.equal(value(beforeQueries, 'temporal_sticky_cache_size', { task_queue: taskQueue }), 0, 'no finished review is cached');
    for (const review of [confirmed, escalated, paged]) await review.handle.query(statusQuery);
    const afterReplay = await eventually(async () => {
      const text = await scrape();
      return queriesAnswered(text) >= queriesAnswered(beforeQueries) + 3 ? text : undefined;
    }, 15_000, 'the three queries answered by the worker');
    for (const [name, labels] of [
      ['vouch_reviews_started_total', { rule: RULE }],
      ['vouch_review_outcomes_total', { tier: 'confirm' }],
      ['vouch_time_to_confirm_seconds_count', {}],
    ] as const) {
      assert.equal(value(afterReplay, name, labels), value(afterRuns, name, labels), `${name} after replay`);
    }

    // Structured logs: every line about these reviews names the review; the failed activity's line too.
    const ids = new Set([confirmed.workflowId, escalated.workflowId, paged.workflowId]);
    const reviewLines = logLines.filter((l) => ids.has(String(l.workflowId)));
    assert.ok(reviewLines.length >= 6, `${reviewLines.length} log lines about the reviews`);
    for (const line of reviewLines) assert.equal(line.reviewId, line.workflowId, JSON.stringify(line));
    const failed = logLines.find((l) => l.reviewId === escalated.workflowId && l.activityType === 'resolvePerson' && l.level === 'warn');
    assert.ok(failed, 'the failed resolvePerson attempt is logged with its review id');
    assert.equal(failed.runId, (await escalated.handle.describe()).runId);
    assert.equal(failed.workflowId, escalated.workflowId);
    for (const line of logLines) assert.ok(typeof line.time === 'string' && typeof line.msg === 'string' && typeof line.level === 'string');
  });

  test('intake lag is observed in seconds from the CloudTrail event time', async () => {
    metrics.observeIntakeLag('2026-01-01T00:00:00Z', 'cloudtrail', Date.parse('2026-01-01T00:01:30Z'));
    metrics.observeIntakeLag('not a time');
    const text = await scrape();
    assert.equal(value(text, 'vouch_intake_lag_seconds_count', { source: 'cloudtrail' }), 1);
    assert.equal(value(text, 'vouch_intake_lag_seconds_sum', { source: 'cloudtrail' }), 90);
    assert.equal(value(text, 'vouch_intake_lag_seconds_bucket', { source: 'cloudtrail', le: '60' }), 0);
    assert.equal(value(text, 'vouch_intake_lag_seconds_bucket', { source: 'cloudtrail', le: '120' }), 1);
  });

  test("`vouch worker`'s /metrics carries the intake lag of the reviews its LookupEvents pollers start", async () => {
    // The real executable, wired as it wires itself (buildActivityDeps → the poller's intake → the lag histogram);
    // CloudTrail is the LookupEvents stand-in; the vendors point at closed loopback ports (the reviews it starts are
    // not this test's business).
    const account = randomAccount();
    const accessKeyId = `AKIALAG${randomBytes(6).toString('hex').toUpperCase()}`;
    const LAG_S = 60;
    const risky = retime(inAccount(pinnedRecords().reviewed, account), Date.now() - LAG_S * 1000);
    const region = String(risky[0]?.awsRegion);
    const cloudtrail = await startCloudTrailStandIn({ records: risky, accountOf: (key) => (key === accessKeyId ? account : undefined) });
    const closed = await freePort();
    const metricsPort = await freePort();
    const workerQueue = `metrics-lag-${randomUUID()}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-metrics-lag-'));
    const child = spawn(process.execPath, [path.resolve(__dirname, '../../src/bin/vouch.js'), 'worker'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        VOUCH_LOG_LEVEL: 'warn',
        TEMPORAL_ADDRESS: env.address,
        TEMPORAL_TASK_QUEUE: workerQueue,
        VOUCH_METRICS_PORT: String(metricsPort),
        VOUCH_METRICS_HOST: '127.0.0.1',
        VOUCH_SDK_METRICS_ADDRESS: `127.0.0.1:${await freePort()}`,
        SLACK_BOT_TOKEN: 'xoxb-0000-metrics',
        SLACK_API_URL: `http://127.0.0.1:${closed}/api/`,
        DUO_IKEY: 'DIABCDEFGHIJKLMNOPQR',
        DUO_SKEY: randomBytes(20).toString('hex'),
        DUO_API_HOST: 'api-closed.duosecurity.test',
        PAGERDUTY_ROUTING_KEY: randomBytes(16).toString('hex'),
        PAGERDUTY_EVENTS_SERVER: `127.0.0.1:${closed}`,
        VOUCH_BASELINE_STORE: path.join(dir, 'baseline'),
        VOUCH_DEAD_LETTER_DIR: path.join(dir, 'dead-letter'),
        AWS_ENDPOINT_URL_CLOUDTRAIL: cloudtrail.url,
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: 'test-secret',
        AWS_REGION: region,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const workerMetrics = `http://127.0.0.1:${metricsPort}/metrics`;
    try {
      // `vouch ingest --from lookup` starts the account's poller on the worker's task queue.
      const pollersFrom = Date.now();
      const accountsFile = path.join(dir, 'accounts.json');
      fs.writeFileSync(accountsFile, JSON.stringify({ accounts: [{ id: account, regions: [region] }] }));
      const out: string[] = [];
      const err: string[] = [];
      const io = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } };
      const config = loadIntakeConfig({ TEMPORAL_TASK_QUEUE: workerQueue, VOUCH_LOG_LEVEL: 'error' });
      const code = await runCommand(ingestCommand({ client, config, ...io }), ['--from', 'lookup', '--accounts', accountsFile, '--lookback', '3600', '--poll-interval', '1'], io);
      assert.equal(code, 0, err.join(''));

      const scraped = await eventually(async () => {
        if (child.exitCode !== null) throw new Error(`the worker exited:\n${stderr}`);
        const res = await fetch(workerMetrics).catch(() => undefined);
        const text = res?.ok ? await res.text() : '';
        return value(text, 'vouch_intake_lag_seconds_count', { source: 'lookup' }) >= risky.length ? text : undefined;
      }, 90_000, `${risky.length} lag observations on the worker's /metrics`);
      const seenBy = Date.now();
      assert.equal(value(scraped, 'vouch_intake_lag_seconds_count', { source: 'lookup', process: 'worker' }), risky.length, 'one per review started');
      // Each lag runs from the record's eventTime to its review's start, between the ingest command and this scrape.
      const sum = value(scraped, 'vouch_intake_lag_seconds_sum', { source: 'lookup' });
      const times = risky.map((r) => Date.parse(String(r.eventTime)));
      const low = times.reduce((n, t) => n + (pollersFrom - t) / 1000, 0);
      const high = times.reduce((n, t) => n + (seenBy - t) / 1000, 0);
      assert.ok(sum >= low && sum <= high, `lag sum ${sum} s, between ${low} and ${high}`);
      assert.equal(value(scraped, 'vouch_intake_lag_seconds_bucket', { source: 'lookup', le: '30' }), 0, `no lag under ${LAG_S} s`);
      const handle = client.workflow.getHandle(lookupPollerWorkflowId(account, region));
      await handle.terminate('test done');
    } finally {
      child.kill('SIGKILL');
      await cloudtrail.stop();
    }
  });

  test('when the SDK exporter is unreachable the page still serves vouch series, with a comment saying so', async () => {
    const text = await scrapeText({ registry: metrics.registry, sdkMetricsUrl: 'http://127.0.0.1:9/metrics', sdkTimeoutMs: 500 });
    assert.match(text, /^# HELP vouch_vendor_errors_total /m);
    assert.match(text, /^# vouch: Temporal SDK metrics unavailable/m);
  });

  test('the JSON logger masks secret-looking fields and survives bigints and errors', () => {
    const lines: string[] = [];
    const logger = temporalLogger(createLogger({ level: 'info', destination: { write: (l: string) => lines.push(l) } }));
    logger.debug('hidden');
    logger.warn('hello', { apiToken: 'xoxb-secret', count: 10n, error: new Error('boom'), workflowId: 'vouch-1-e', workflowType: 'reviewChangeWorkflow' });
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    assert.equal(line.apiToken, '<redacted>');
    assert.equal(line.count, '10');
    assert.deepEqual(line.error, { name: 'Error', message: 'boom' });
    assert.equal(line.reviewId, 'vouch-1-e');
    assert.ok(!lines[0]?.includes('xoxb-secret'));
  });
});
