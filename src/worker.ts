// `vouch worker`: wires config to vendor clients, and vendor clients to activities; runs the review workflows.
import fs from 'node:fs';
import type https from 'node:https';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { createSlackClient } from '../activities/slack';
import { createPeopleDirectory, parsePeopleDirectory } from '../activities/people';
import { createDuoClient } from '../activities/duo';
import { createEc2ClientFactory } from '../activities/aws-revert';
import { loadConfig, workerSchema, describeConfig, type WorkerConfig } from './config';
import { log } from './log';

export interface DepsOverrides {
  /** HTTPS agent for PagerDuty (the local sandbox trusts its own certificate). */
  pagerdutyAgent?: https.Agent;
  duoPolling?: ActivityDeps['duoPolling'];
}

/** Production clients from validated config. */
export function buildActivityDeps(config: WorkerConfig, overrides: DepsOverrides = {}): ActivityDeps {
  const entries = config.VOUCH_PEOPLE_FILE
    ? parsePeopleDirectory(fs.readFileSync(config.VOUCH_PEOPLE_FILE, 'utf8'), config.VOUCH_PEOPLE_FILE)
    : {};
  return {
    slack: createSlackClient({
      token: config.SLACK_BOT_TOKEN,
      ...(config.SLACK_API_URL ? { apiUrl: config.SLACK_API_URL } : {}),
      logSink: (level, line) => log[level === 'debug' ? 'debug' : level](line),
    }),
    directory: createPeopleDirectory(entries, { duoUsernameFrom: config.VOUCH_DUO_USERNAME_FROM }),
    duo: createDuoClient({ ikey: config.DUO_IKEY, skey: config.DUO_SKEY, host: config.DUO_API_HOST }),
    ...(overrides.duoPolling ? { duoPolling: overrides.duoPolling } : {}),
    pagerduty: {
      routingKey: config.PAGERDUTY_ROUTING_KEY,
      server: config.PAGERDUTY_EVENTS_SERVER,
      ...(overrides.pagerdutyAgent ? { agent: overrides.pagerdutyAgent } : {}),
    },
    ...createEc2ClientFactory({
      ...(config.VOUCH_REVERT_ROLE_ARN_TEMPLATE ? { roleArnTemplate: config.VOUCH_REVERT_ROLE_ARN_TEMPLATE } : {}),
      ...(config.AWS_ENDPOINT_URL ? { endpoint: config.AWS_ENDPOINT_URL } : {}),
    }),
  };
}

/** Worker options shared by production and the demo: the workflow code and the activities. */
export function workflowSource(): Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle'> {
  const prebuilt = process.env.VOUCH_WORKFLOW_BUNDLE;
  if (prebuilt && fs.existsSync(prebuilt)) return { workflowBundle: { codePath: prebuilt } };
  return { workflowsPath: require.resolve('../workflows') };
}

export async function createWorker(config: WorkerConfig, deps: ActivityDeps): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({
    address: config.TEMPORAL_ADDRESS,
    ...(config.TEMPORAL_API_KEY ? { apiKey: config.TEMPORAL_API_KEY, tls: true } : {}),
    ...(config.TEMPORAL_TLS ? { tls: true } : {}),
  });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    ...workflowSource(),
    activities: createActivities(deps),
  });
  return { worker, connection };
}

export async function runWorkerFromEnv(): Promise<void> {
  const config = loadConfig(workerSchema);
  log.info('worker starting', { config: describeConfig(config) });
  const { worker, connection } = await createWorker(config, buildActivityDeps(config));
  try {
    await worker.run(); // stops on SIGINT/SIGTERM (the SDK's default shutdown signals)
  } finally {
    await connection.close();
  }
}
