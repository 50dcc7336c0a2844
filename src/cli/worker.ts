// `vouch worker`: wires config to vendor clients, and vendor clients to activities; runs the review workflows.
import fs from 'node:fs';
import type https from 'node:https';
import { Command } from 'commander';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities';
import { createSlackClient } from '../slack/client';
import { createPeopleDirectory, parsePeopleDirectory } from '../../activities/people';
import { awsClients, duoClient, pagerDutyClients } from '../../activities/clients';
import { createBaselineStore } from '../revert/baseline/store';
import { createLookupDepsFromEnv } from './lookup-wiring';
import { checkMaxAge, loadIntakeConfig } from './intake-settings';
import { ensureAuditSchedule } from './audit-schedule';
import { connectClient } from './temporal-client';
import { ConfigError, loadConfig, workerSchema, describeConfig, type WorkerConfig } from './config';
import { getLogger, temporalLogger } from './log';
import { gracefulStop, untilAborted } from './lifecycle';
import { act } from './program';
import {
  activityTelemetryInterceptors,
  createMetrics,
  REVIEW_METRICS_INTERCEPTOR_MODULE,
  sdkTelemetryOptions,
  startMetricsServer,
  type VouchMetrics,
} from './metrics';

export interface DepsOverrides {
  /** HTTPS agent for PagerDuty (the local sandbox trusts its own certificate). */
  pagerdutyAgent?: https.Agent;
  duoPolling?: ActivityDeps['duoPolling'];
  /** Bounds on Duo requests (tests shorten them). */
  duoTimeouts?: ActivityDeps['duoTimeouts'];
  /** Lag from eventTime to review start of records the LookupEvents pollers find (to Prometheus). */
  onIntakeLag?: (source: string, eventTime: string) => void;
  /** Reviews the pollers started later than the LookupEvents overlap after their event (to Prometheus). */
  onIntakeLate?: (source: string) => void;
}

/** Production clients from validated config. */
export function buildActivityDeps(config: WorkerConfig, overrides: DepsOverrides = {}): ActivityDeps {
  if (config.VOUCH_REVERTS !== 'off' && !config.VOUCH_REVERT_ROLE_ARN_TEMPLATE) {
    // The right account, proven: a revert acts only as the revert role of the record's own account.
    throw new ConfigError([
      'VOUCH_REVERT_ROLE_ARN_TEMPLATE is required while reverts are on (VOUCH_REVERTS=on, the default): set it to the revert role of each account, e.g. arn:aws:iam::{account}:role/vouch-revert, or set VOUCH_REVERTS=off',
    ]);
  }
  if (Boolean(config.PAGERDUTY_API_TOKEN) !== Boolean(config.PAGERDUTY_ESCALATION_POLICY_ID)) {
    throw new ConfigError([
      'PAGERDUTY_API_TOKEN and PAGERDUTY_ESCALATION_POLICY_ID go together: set both (to connect the on-call engineer) or neither',
    ]);
  }
  const entries = config.VOUCH_PEOPLE_FILE
    ? parsePeopleDirectory(fs.readFileSync(config.VOUCH_PEOPLE_FILE, 'utf8'), config.VOUCH_PEOPLE_FILE)
    : {};
  return {
    slack: createSlackClient({
      token: config.SLACK_BOT_TOKEN,
      ...(config.SLACK_API_URL ? { apiUrl: config.SLACK_API_URL } : {}),
      logger: getLogger(),
    }),
    directory: createPeopleDirectory(entries, { duoUsernameFrom: config.VOUCH_DUO_USERNAME_FROM }),
    duo: duoClient(config),
    ...(overrides.duoPolling ? { duoPolling: overrides.duoPolling } : {}),
    ...(overrides.duoTimeouts ? { duoTimeouts: overrides.duoTimeouts } : {}),
    ...pagerDutyClients(config, overrides.pagerdutyAgent),
    ...createLookupDepsFromEnv(process.env, {
      ...(overrides.onIntakeLag ? { onLag: (kind, t) => overrides.onIntakeLag?.(kind, t) } : {}),
      ...(overrides.onIntakeLate ? { onLate: (kind) => overrides.onIntakeLate?.(kind) } : {}),
    }),
    baselineStore: createBaselineStore(
      config.VOUCH_BASELINE_STORE,
      config.AWS_ENDPOINT_URL ? { endpoint: config.AWS_ENDPOINT_URL } : {},
    ),
    ...awsClients(config),
  };
}


export const SHUTDOWN_GRACE = '20 seconds';

/**
 * Reviews kept in the worker's workflow cache. A review waiting on its deadline needs no memory between events: one
 * evicted from the cache replays its (short) history when its next event comes. The SDK's default grows with the heap
 * limit (about 2,300 on a 4 GiB heap) at roughly 0.4 MiB each, so the worker's memory grew with the number of
 * waiting reviews; this bound keeps it under 1 GiB however many wait (README "Speed").
 */
export const WORKFLOW_CACHE_SIZE = 1000;

export async function createWorker(
  config: WorkerConfig,
  deps: ActivityDeps,
  metrics?: VouchMetrics,
): Promise<{ worker: Worker; connection: NativeConnection }> {
  return createWorkerWith(config, createActivities(deps), metrics);
}

/** The Temporal settings the worker itself needs. */
export type WorkerTemporalSettings = Pick<WorkerConfig, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'TEMPORAL_TASK_QUEUE' | 'TEMPORAL_API_KEY' | 'TEMPORAL_TLS'>;

/**
 * The production worker (connection, workflows, interceptors, shutdown grace) over the given activities. createWorker
 * hands in the vendor activities; tests hand in scripted ones and keep everything else as production wires it.
 */
export async function createWorkerWith(
  config: WorkerTemporalSettings,
  activities: object,
  metrics?: VouchMetrics,
  tuning: { maxCachedWorkflows?: number } = {},
): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({
    address: config.TEMPORAL_ADDRESS,
    ...(config.TEMPORAL_API_KEY ? { apiKey: config.TEMPORAL_API_KEY, tls: true } : {}),
    ...(config.TEMPORAL_TLS ? { tls: true } : {}),
  });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    // The SDK bundles workflows/ (and the metrics interceptor) at start-up.
    workflowsPath: require.resolve('../../workflows'),
    activities,
    // On stop, activities in flight get this long to finish before they are cancelled (and retried elsewhere); the
    // compose file's stop_grace_period leaves room for it.
    shutdownGraceTime: SHUTDOWN_GRACE,
    maxCachedWorkflows: tuning.maxCachedWorkflows ?? WORKFLOW_CACHE_SIZE,
    interceptors: {
      // Review metrics (started, outcomes, time to confirm) from inside the workflow, replay-safe.
      workflowModules: [REVIEW_METRICS_INTERCEPTOR_MODULE],
      // reviewId/workflowId/runId on every activity log line; vendor errors counted.
      ...(metrics ? { activity: [activityTelemetryInterceptors(metrics)] } : {}),
    },
  });
  return { worker, connection };
}

/** The audit of terminated reviews runs on this worker's task queue; every worker keeps its schedule current. */
export async function keepAuditSchedule(config: WorkerConfig): Promise<void> {
  const { client, connection } = await connectClient(config);
  try {
    const result = await ensureAuditSchedule(client, {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      everySeconds: config.VOUCH_AUDIT_INTERVAL_SECONDS,
      input: { uiBaseUrl: config.VOUCH_UI_BASE_URL, namespace: config.TEMPORAL_NAMESPACE },
    });
    getLogger().info({ schedule: 'vouch-terminated-audit', result, everySeconds: config.VOUCH_AUDIT_INTERVAL_SECONDS }, 'audit schedule ready');
  } finally {
    await connection.close();
  }
}

export function workerCommand(): Command {
  return act(
    new Command('worker').summary('run the Temporal worker: review workflows and vendor activities').description('run the Temporal worker: the review workflows and the vendor activities (stops on SIGINT/SIGTERM after the work in flight)'),
    () => runWorkerFromEnv(gracefulStop()),
  );
}

/** The worker from the environment, until `stop` is aborted; then it finishes the tasks in flight and returns 0. */
async function runWorkerFromEnv(stop: AbortSignal): Promise<number> {
  const config = loadConfig(workerSchema);
  const logger = getLogger();
  const metricsOn = config.VOUCH_METRICS_PORT !== undefined;
  // The SDK's, workflows' and activities' lines through vouch's logger (reviewId on every line about a review); the
  // process handler (src/cli/lifecycle.ts) owns the signals, so the Runtime installs none of its own.
  Runtime.install({
    logger: temporalLogger(logger),
    shutdownSignals: [],
    telemetryOptions: sdkTelemetryOptions(metricsOn ? { bindAddress: config.VOUCH_SDK_METRICS_ADDRESS } : {}),
  });
  logger.info({ config: describeConfig(config) }, 'worker starting');
  const metrics = createMetrics({ defaultLabels: { process: 'worker' } });
  const server = metricsOn
    ? await startMetricsServer({
        registry: metrics.registry,
        host: config.VOUCH_METRICS_HOST,
        port: config.VOUCH_METRICS_PORT ?? 0,
        sdkMetricsUrl: `http://${config.VOUCH_SDK_METRICS_ADDRESS}/metrics`,
      })
    : undefined;
  if (server) logger.info({ url: server.url }, 'metrics endpoint listening');
  const deps = buildActivityDeps(config, {
    onIntakeLag: (source, eventTime) => metrics.observeIntakeLag(eventTime, source),
    onIntakeLate: (source) => metrics.intakeLate.inc({ source }),
  });
  const { worker, connection } = await createWorker(config, deps, metrics);
  try {
    // The pollers' records older than the maximum age are never reviewed; it must not be longer than the retention.
    await checkMaxAge(connection.workflowService, loadIntakeConfig());
    await keepAuditSchedule(config);
    logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE }, 'worker ready');
    await worker.runUntil(untilAborted(stop));
    logger.info('worker stopped');
  } finally {
    await server?.close();
    await connection.close();
  }
  return 0;
}
