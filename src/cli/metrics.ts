// Numbers and logs every vouch process gives operators.
//
// Metrics. One scrape target per process, `GET /metrics` (startMetricsServer), serving two sources as one text page:
//   - vouch's own prom-client registry (createMetrics): intake lag, vendor errors by vendor and failure type, Slack
//     clicks by transport and outcome, click acknowledgement time, and Node's process metrics;
//   - in the worker, the Temporal SDK's Runtime metrics (workflow/activity task latencies, polls, slots, sticky cache,
//     `temporal_*`), exported by Core's Prometheus exporter on a loopback address (sdkTelemetryOptions) and fetched
//     per scrape. The review workflow's own metrics travel that way too: workflows/metrics-interceptor.ts counts
//     reviews started (tier, rule), outcomes (tier, outcome) and time to confirm through the workflow `metricMeter`,
//     which is silent during replay, so a replayed review is never counted twice.
//
// Logs. The worker's Runtime logger is log.ts's temporalLogger (pino, JSON lines on stderr), with `reviewId` on every
// line that belongs to a review: workflow logs and activity logs carry workflowId/runId from the SDK, and
// activityTelemetryInterceptors adds reviewId to every activity log line. Core's own (native) log lines are forwarded
// to it as well (sdkTelemetryOptions).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory, RuntimeOptions } from '@temporalio/worker';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { REVIEW_METRICS } from '../../workflows/messages';

/** The workflow interceptor module that emits the review metrics; pass it in WorkerOptions.interceptors.workflowModules. */
export const REVIEW_METRICS_INTERCEPTOR_MODULE = require.resolve('../../workflows/metrics-interceptor');

export type Vendor = 'slack' | 'duo' | 'pagerduty' | 'aws' | 'other';
export type ClickTransport = 'http' | 'socket';
export type ClickOutcome = 'accepted' | 'refused' | 'closed' | 'timeout' | 'failed' | 'ignored' | 'invalid';

export interface VouchMetrics {
  registry: Registry;
  /** Seconds from a CloudTrail event to the start of its review (intake). */
  intakeLag: Histogram<'source'>;
  /** Reviews started later after their event than the LookupEvents overlap (they nearly fell out of the window). */
  intakeLate: Counter<'source'>;
  /** Activity failures, by the vendor behind the activity and the failure type (ApplicationFailure.type). */
  vendorErrors: Counter<'vendor' | 'type'>;
  /** Button clicks handled, by transport (HTTP endpoint or Socket Mode) and what happened to them. */
  clicks: Counter<'transport' | 'outcome'>;
  /** Seconds from receiving a click to acknowledging it to Slack (Slack allows 3). */
  clickAck: Histogram<'transport'>;
  /** Record the lag of one CloudTrail event (ISO time) as of `now` (ms); ignores unreadable times. */
  observeIntakeLag(eventTime: string, source?: string, now?: number): void;
}

export interface CreateMetricsOptions {
  /** Node process metrics (CPU, memory, event loop lag, GC). Default true. */
  processMetrics?: boolean;
  /** Labels on every series of this registry, e.g. { process: 'worker' }. */
  defaultLabels?: Record<string, string>;
}

/** Buckets for lags and times in seconds: 1 s … 2 h. */
const SECONDS_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
/** Buckets for Slack's 3-second acknowledgement window. */
const ACK_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 5];

export function createMetrics(opts: CreateMetricsOptions = {}): VouchMetrics {
  const registry = new Registry();
  if (opts.defaultLabels) registry.setDefaultLabels(opts.defaultLabels);
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const intakeLag = new Histogram({
    name: 'vouch_intake_lag_seconds',
    help: 'Seconds from a CloudTrail event to the start of its review',
    labelNames: ['source'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });
  const intakeLate = new Counter({
    name: 'vouch_intake_late_total',
    help: 'Reviews started more than the LookupEvents overlap (VOUCH_LOOKUP_OVERLAP_SECONDS) after their CloudTrail event',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const vendorErrors = new Counter({
    name: 'vouch_vendor_errors_total',
    help: 'Activity failures by vendor and failure type (each failed attempt counts)',
    labelNames: ['vendor', 'type'] as const,
    registers: [registry],
  });
  const clicks = new Counter({
    name: 'vouch_clicks_total',
    help: 'Slack button clicks handled, by transport and outcome',
    labelNames: ['transport', 'outcome'] as const,
    registers: [registry],
  });
  const clickAck = new Histogram({
    name: 'vouch_click_ack_seconds',
    help: 'Seconds from receiving a Slack click to acknowledging it',
    labelNames: ['transport'] as const,
    buckets: ACK_BUCKETS,
    registers: [registry],
  });
  return {
    registry,
    intakeLag,
    intakeLate,
    vendorErrors,
    clicks,
    clickAck,
    observeIntakeLag(eventTime, source = 'cloudtrail', now = Date.now()) {
      const at = Date.parse(eventTime);
      if (Number.isNaN(at)) return;
      intakeLag.observe({ source }, Math.max(0, (now - at) / 1000));
    },
  };
}

// ---- Temporal SDK runtime telemetry ----

export interface SdkTelemetryOptions {
  /**
   * host:port for Core's Prometheus exporter; keep it on loopback: startMetricsServer re-serves it. Without it, Core
   * exports no metrics (and the review metrics of workflows/metrics-interceptor.ts go nowhere).
   */
  bindAddress?: string;
}

/**
 * `telemetryOptions` for Runtime.install: Core's Prometheus exporter (counters with `_total`, durations in seconds,
 * vouch's histogram buckets) and Core's native log lines forwarded to the Runtime logger.
 */
export function sdkTelemetryOptions(opts: SdkTelemetryOptions = {}): NonNullable<RuntimeOptions['telemetryOptions']> {
  return {
    ...(opts.bindAddress
      ? {
          metrics: {
            prometheus: {
              bindAddress: opts.bindAddress,
              countersTotalSuffix: true,
              useSecondsForDurations: true,
              histogramBucketOverrides: { [REVIEW_METRICS.timeToConfirm]: SECONDS_BUCKETS },
            },
          },
        }
      : {}),
    logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
  };
}

// ---- the /metrics endpoint ----

export interface MetricsServerOptions {
  registry: Registry;
  /** Default 127.0.0.1 (VOUCH_METRICS_HOST); set 0.0.0.0 for a scraper outside the host or container. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** Core's exporter, e.g. http://127.0.0.1:9465/metrics; its text is appended to every scrape. */
  sdkMetricsUrl?: string;
  /** Bound on fetching the SDK's metrics. Default 2000 ms. */
  sdkTimeoutMs?: number;
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** The text of one scrape: vouch's registry, then (if configured and reachable) the SDK's metrics. */
export async function scrapeText(opts: Pick<MetricsServerOptions, 'registry' | 'sdkMetricsUrl' | 'sdkTimeoutMs'>): Promise<string> {
  const own = await opts.registry.metrics();
  if (!opts.sdkMetricsUrl) return own;
  try {
    const res = await fetch(opts.sdkMetricsUrl, { signal: AbortSignal.timeout(opts.sdkTimeoutMs ?? 2000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const sdk = await res.text();
    return `${own.endsWith('\n') ? own : `${own}\n`}${sdk}`;
  } catch (err) {
    // The page stays valid (a comment line) and vouch's own series are still served.
    const why = err instanceof Error ? err.message : String(err);
    return `${own}# vouch: Temporal SDK metrics unavailable (${why.replace(/\s+/g, ' ')})\n`;
  }
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    scrapeText(opts).then(
      (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---- activity interceptor: review id on activity log lines, vendor error counts ----

const VENDOR_OF_ACTIVITY: Readonly<Record<string, Vendor>> = {
  resolvePerson: 'slack',
  postReviewMessage: 'slack',
  updateReviewMessage: 'slack',
  sendReminder: 'slack',
  notifyPerson: 'slack',
  notifyChannel: 'slack',
  sendDuoPush: 'duo',
  awaitDuoResult: 'duo',
  triggerIncident: 'pagerduty',
  resolveIncident: 'pagerduty',
  revertChange: 'aws',
  connectOnCall: 'pagerduty',
};

/** Which vendor an activity failure is about: by activity, refined by the failure message for mixed activities. */
function vendorOf(activityType: string, err: unknown): Vendor {
  const message = err instanceof Error ? err.message : '';
  if (/^Slack /.test(message)) return 'slack';
  if (/^PagerDuty /.test(message)) return 'pagerduty';
  return VENDOR_OF_ACTIVITY[activityType] ?? 'other';
}

function failureTypeOf(err: unknown): string {
  if (err instanceof ApplicationFailure && err.type) return err.type;
  if (err instanceof Error) return err.name || 'Error';
  return 'Unknown';
}

/**
 * WorkerOptions.interceptors.activity: every activity log line (the SDK's own "Activity failed" lines included)
 * carries `reviewId`, `workflowId` and `runId` (the SDK alone says `workflowRunId`), and each failed attempt counts in vouch_vendor_errors_total{vendor,type}. Cancellations are
 * not vendor errors.
 */
export function activityTelemetryInterceptors(metrics: Pick<VouchMetrics, 'vendorErrors'>): ActivityInterceptorsFactory {
  return (ctx) => {
    const { workflowExecution, workflowType, activityType } = ctx.info;
    const ids = workflowExecution ? { workflowId: workflowExecution.workflowId, runId: workflowExecution.runId } : {};
    const review = workflowType === 'reviewChangeWorkflow' && workflowExecution ? { reviewId: workflowExecution.workflowId } : {};
    return {
      inbound: {
        async execute(input, next) {
          try {
            return await next(input);
          } catch (err) {
            if (!(err instanceof CancelledFailure)) {
              metrics.vendorErrors.inc({ vendor: vendorOf(activityType, err), type: failureTypeOf(err) });
            }
            throw err;
          }
        },
      },
      outbound: {
        getLogAttributes: (attrs, next) => next({ ...attrs, ...ids, ...review }),
      },
    };
  };
}

/**
 * The metrics of one vouch process from its config: always the registry (so code can count), and `GET /metrics`
 * when VOUCH_METRICS_PORT is set. Used by the handler and intake; the worker also re-serves the SDK's series.
 */
export async function startProcessMetrics(
  processName: string,
  config: { VOUCH_METRICS_PORT?: number; VOUCH_METRICS_HOST: string },
): Promise<{ metrics: VouchMetrics; close(): Promise<void> }> {
  const metrics = createMetrics({ defaultLabels: { process: processName } });
  if (config.VOUCH_METRICS_PORT === undefined) return { metrics, close: async () => undefined };
  const server = await startMetricsServer({
    registry: metrics.registry,
    host: config.VOUCH_METRICS_HOST,
    port: config.VOUCH_METRICS_PORT,
  });
  return { metrics, close: () => server.close() };
}
