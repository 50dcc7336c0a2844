// `vouch worker`: wires config to vendor clients, and vendor clients to activities; runs the review workflows.
import fs from 'node:fs';
import type https from 'node:https';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities';
import { createSlackClient } from '../slack/client';
import { createPeopleDirectory, parsePeopleDirectory } from '../../activities/people';
import { createDuoClient } from '../../activities/duo';
import { createEc2ClientFactory } from '../../activities/aws-revert';
import { createBaselineStore } from '../revert/baseline/store';
import { createLookupDepsFromEnv } from '../intake/lookup';
import { ConfigError, loadConfig, workerSchema, describeConfig, type WorkerConfig } from './config';
import { getLogger, log } from './log';
import {
  activityTelemetryInterceptors,
  createJsonLogger,
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
  /** Lag from eventTime to review start of records the LookupEvents pollers find (to Prometheus). */
  onIntakeLag?: (source: string, eventTime: string) => void;
}

/** Production clients from validated config. */
export function buildActivityDeps(config: WorkerConfig, overrides: DepsOverrides = {}): ActivityDeps {
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
    duo: createDuoClient({ ikey: config.DUO_IKEY, skey: config.DUO_SKEY, host: config.DUO_API_HOST }),
    ...(overrides.duoPolling ? { duoPolling: overrides.duoPolling } : {}),
    pagerduty: {
      routingKey: config.PAGERDUTY_ROUTING_KEY,
      server: config.PAGERDUTY_EVENTS_SERVER,
      ...(overrides.pagerdutyAgent ? { agent: overrides.pagerdutyAgent } : {}),
    },
    ...(config.PAGERDUTY_API_TOKEN && config.PAGERDUTY_ESCALATION_POLICY_ID
      ? {
          oncall: {
            apiToken: config.PAGERDUTY_API_TOKEN,
            escalationPolicyId: config.PAGERDUTY_ESCALATION_POLICY_ID,
            server: config.PAGERDUTY_API_SERVER,
            ...(overrides.pagerdutyAgent ? { agent: overrides.pagerdutyAgent } : {}),
          },
        }
      : {}),
    ...createLookupDepsFromEnv(process.env, overrides.onIntakeLag ? { onLag: (kind, t) => overrides.onIntakeLag?.(kind, t) } : {}),
    baselineStore: createBaselineStore(
      config.VOUCH_BASELINE_STORE,
      config.AWS_ENDPOINT_URL ? { endpoint: config.AWS_ENDPOINT_URL } : {},
    ),
    ...createEc2ClientFactory({
      ...(config.VOUCH_REVERT_ROLE_ARN_TEMPLATE ? { roleArnTemplate: config.VOUCH_REVERT_ROLE_ARN_TEMPLATE } : {}),
      ...(config.AWS_ENDPOINT_URL ? { endpoint: config.AWS_ENDPOINT_URL } : {}),
    }),
  };
}


export async function createWorker(
  config: WorkerConfig,
  deps: ActivityDeps,
  metrics?: VouchMetrics,
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
    activities: createActivities(deps),
    interceptors: {
      // Review metrics (started, outcomes, time to confirm) from inside the workflow, replay-safe.
      workflowModules: [REVIEW_METRICS_INTERCEPTOR_MODULE],
      // reviewId/workflowId/runId on every activity log line; vendor errors counted.
      ...(metrics ? { activity: [activityTelemetryInterceptors(metrics)] } : {}),
    },
  });
  return { worker, connection };
}

export async function runWorkerFromEnv(): Promise<void> {
  const config = loadConfig(workerSchema);
  const metricsOn = config.VOUCH_METRICS_PORT !== undefined;
  // JSON log lines (reviewId on every line about a review) for the SDK's, workflows' and activities' logs.
  Runtime.install({
    logger: createJsonLogger(),
    telemetryOptions: sdkTelemetryOptions(metricsOn ? { bindAddress: config.VOUCH_SDK_METRICS_ADDRESS } : {}),
  });
  log.info('worker starting', { config: describeConfig(config) });
  const metrics = createMetrics({ defaultLabels: { process: 'worker' } });
  const server = metricsOn
    ? await startMetricsServer({
        registry: metrics.registry,
        host: config.VOUCH_METRICS_HOST,
        port: config.VOUCH_METRICS_PORT ?? 0,
        sdkMetricsUrl: `http://${config.VOUCH_SDK_METRICS_ADDRESS}/metrics`,
      })
    : undefined;
  if (server) log.info('metrics endpoint listening', { url: server.url });
  const deps = buildActivityDeps(config, { onIntakeLag: (source, eventTime) => metrics.observeIntakeLag(eventTime, source) });
  const { worker, connection } = await createWorker(config, deps, metrics);
  try {
    await worker.run(); // stops on SIGINT/SIGTERM (the SDK's default shutdown signals)
  } finally {
    await server?.close();
    await connection.close();
  }
}
