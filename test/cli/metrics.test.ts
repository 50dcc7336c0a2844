// Metrics and logs of a worker process, on a real Temporal dev server: the Runtime installed with Core's Prometheus
// exporter and vouch's JSON logger, the review workflow with the metrics interceptor, FakeVendors activities wrapped
// by vouch's activity interceptor, and vouch's /metrics endpoint scraped before and after reviews run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, Worker, bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import {
  activityTelemetryInterceptors,
  createMetrics,
  REVIEW_METRICS_INTERCEPTOR_MODULE,
  scrapeText,
  sdkTelemetryOptions,
  startMetricsServer,
  type MetricsServer,
  type VouchMetrics,
} from '../../src/cli/metrics';
import { createLogger, temporalLogger } from '../../src/cli/log';
import { startReview } from '../../src/intake/starter';
import { resolveTemporalCli } from '../../src/demo/tools/resolve';
import { decisionUpdate, statusQuery } from '../../workflows/messages';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import type { ReviewInput, ReviewStatus } from '../../src/core/types';
import { FakeVendors, isAsked } from '../helpers/fake-vendors';
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
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    workflowInterceptorModules: [REVIEW_METRICS_INTERCEPTOR_MODULE],
    logger: new DefaultLogger('WARN'),
  });
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle,
    activities: fake.activities(),
    interceptors: { activity: [activityTelemetryInterceptors(metrics)] },
    // Replays of closed reviews (for queries) must not reuse the cache, so the test sees a real replay.
    maxCachedWorkflows: 0,
  });
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running;
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
    const confirmed = await startReview(client, reviewInput(ok), { taskQueue, uiBaseUrl: 'http://127.0.0.1:8233' });
    const escalated = await startReview(client, reviewInput(unknown), { taskQueue, uiBaseUrl: 'http://127.0.0.1:8233' });
    const paged = await startReview(client, reviewInput(denied, 'page'), { taskQueue, uiBaseUrl: 'http://127.0.0.1:8233' });
    for (const [review, k, answer] of [
      [confirmed, ok, 'yes'],
      [paged, denied, 'no'],
    ] as const) {
      await eventually(async () => isAsked((await review.handle.query(statusQuery)) as ReviewStatus), 20_000);
      await review.handle.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer, messageTs: `${k}.0001` }] });
    }
    assert.equal((await confirmed.handle.result()).outcome, 'CONFIRMED');
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
    assert.ok(ttc > 0 && ttc < 60, `time to confirm ${ttc} s`);
    assert.equal(value(afterRuns, 'vouch_vendor_errors_total', { vendor: 'slack', type: 'UnknownPerson' }), 1);
    // The SDK's own runtime metrics, from Core's exporter, on the same page.
    assert.ok(value(afterRuns, 'temporal_workflow_completed_total') >= 3);
    assert.ok(value(afterRuns, 'temporal_activity_execution_failed_total') >= 1);

    // Querying closed reviews makes the worker replay them from history (no cache): nothing is counted again.
    for (const review of [confirmed, escalated, paged]) await review.handle.query(statusQuery);
    await new Promise((r) => setTimeout(r, 1500));
    const afterReplay = await scrape();
    for (const [name, labels] of [
      ['vouch_reviews_started_total', { rule: RULE }],
      ['vouch_review_outcomes_total', { tier: 'confirm' }],
      ['vouch_time_to_confirm_seconds_count', {}],
    ] as const) {
      assert.equal(value(afterReplay, name, labels), value(afterRuns, name, labels), `${name} after replay`);
    }
    // Each query of a closed review was answered by replaying its whole history on the worker.
    const queriesAnswered = (text: string): number => value(text, 'temporal_request_total', { operation: 'RespondQueryTaskCompleted' });
    assert.ok(queriesAnswered(afterReplay) - queriesAnswered(afterRuns) >= 3, 'the queries were answered by replays');

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
