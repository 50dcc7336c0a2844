// The demo's stack: its constants, and startDemoStack (Temporal dev server, vendor stand-ins, moto, worker, handler,
// sandbox page). stop() takes it down in the reverse order; the Temporal calls still waiting for a review's result
// are cancelled first, so none is retried on a connection already closed (the SDK's retry would throw from a timer).
import { setMaxListeners } from 'node:events';
import https from 'node:https';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { createSlackClient } from '../slack/client';
import { loadConfig, workerSchema, type WorkerConfig } from '../cli/config';
import { freePort, portFree, startDevServer, type DevServer } from './dev-server';
import { createHandler, type HandlerServer } from '../slack/http-receiver';
import { startReview, type StartResult } from '../intake/starter';
import { buildActivityDeps, createWorker } from '../cli/worker';
import { DuoStandIn, type DuoAutoAnswer } from './sandbox/duo';
import { installDuoLoopbackRedirect } from './sandbox/duo-redirect';
import { PagerDutyStandIn } from './sandbox/pagerduty';
import { SlackStandIn, type SlackUser } from './sandbox/slack';
import { startMoto, type MotoServer } from './sandbox/moto';
import { SandboxWeb } from './sandbox/web';
import { resolveMotoServer, PROJECT_ROOT } from './tools/resolve';
import type { ReviewInput, ReviewOutcome } from '../core/types';

export type AutoMode = 'confirm' | 'deny' | 'silent';

export const DEMO_TEAM = 'T0VOUCHDEMO';
export const DEMO_USERS: SlackUser[] = [
  { id: 'U0ALICE001', email: 'alice@example.com', name: 'alice' },
  { id: 'U0BOB00002', email: 'bob@example.com', name: 'bob' },
  { id: 'U0CAROL003', email: 'carol@example.com', name: 'carol' },
  { id: 'U0SECURITY', email: 'security@example.com', name: 'sec-oncall' },
];
export const DEMO_SECURITY_RESPONDERS = ['U0SECURITY'];
export const SAMPLE_EVENTS = path.join(__dirname, 'fixtures', 'sample-events.json');
export const DEMO_PEOPLE_FILE = path.join(__dirname, 'fixtures', 'demo-people.json');
export const SHARED_CLOUDTRAIL = path.resolve(PROJECT_ROOT, '..', 'shared', 'data', 'cloudtrail');
const AWS_TEST_CREDS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

// ---- the stack ----

export interface DemoStackOptions {
  /** Dev server ports and database; any free ports and in-memory by default. */
  devServer?: { port?: number; uiPort?: number; dbFile?: string };
  /** Use moto_server for reverts when it can be found or installed. Default true. */
  moto?: boolean;
  /** Answer every Duo push by script (the --auto modes); null (default): pushes wait for the sandbox page. */
  duoAutoAnswer?: DuoAutoAnswer | null;
  /** Port of the sandbox page; falls back to any free port when taken. Default: any free port. */
  sandboxPort?: number;
  /** Temporal Web UI base URL put in every Slack message and incident. Default: VOUCH_UI_BASE_URL or the dev server's UI. */
  uiBaseUrl?: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface DemoStack {
  server: DevServer;
  client: Client;
  namespace: string;
  config: WorkerConfig;
  slack: SlackStandIn;
  duo: DuoStandIn;
  pagerduty: PagerDutyStandIn;
  moto: MotoServer | null;
  web: SandboxWeb;
  sandboxUrl: string;
  handler: HandlerServer;
  handlerUrl: string;
  uiBaseUrl: string;
  signingSecret: string;
  users: SlackUser[];
  /** An EC2 client on moto (null without moto). */
  ec2(region: string): EC2Client | null;
  /** Start (or find) the review of one prepared input, and follow it on the sandbox page. */
  start(input: Omit<ReviewInput, 'reviewUrl' | 'securityResponders'>): Promise<StartResult>;
  /** The outcome of a review, once it ends; rejected (cancelled) when the stack stops first. */
  result(workflowId: string): Promise<ReviewOutcome>;
  stop(): Promise<void>;
}

export async function startDemoStack(opts: DemoStackOptions = {}): Promise<DemoStack> {
  const log = opts.log ?? (() => undefined);
  const cleanups: Array<() => Promise<void> | void> = [];
  // Long-polls for results, each under its own signal; stop() aborts them before anything closes.
  const waiting = new Set<AbortController>();
  const stop = async (): Promise<void> => {
    for (const call of waiting) call.abort();
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  try {
    // ---- Temporal dev server with its Web UI ----
    const server = await startDevServer({ ...opts.devServer, log });
    cleanups.push(() => server.stop());
    const uiBaseUrl = opts.uiBaseUrl ?? process.env.VOUCH_UI_BASE_URL ?? server.uiUrl;

    // ---- vendor stand-ins: Slack, Duo, PagerDuty; moto for AWS ----
    const users = DEMO_USERS.map((u) => ({ ...u }));
    const botToken = `xoxb-demo-${randomBytes(8).toString('hex')}`;
    const signingSecret = randomBytes(16).toString('hex');
    const slack = new SlackStandIn({ token: botToken, users, teamId: DEMO_TEAM });
    const { apiUrl } = await slack.start();
    cleanups.push(() => slack.stop());

    const ikey = `DI${randomBytes(9).toString('hex').toUpperCase()}`;
    const skey = randomBytes(20).toString('hex');
    const autoAnswer = opts.duoAutoAnswer ? { answer: opts.duoAutoAnswer, afterMs: 800 } : undefined;
    const duo = new DuoStandIn({
      ikey,
      skey,
      users: users.map((u) => ({ username: u.email, status: 'active' as const, ...(autoAnswer ? { autoAnswer } : {}) })),
      longPollMs: 2000,
    });
    const duoAddr = await duo.start();
    cleanups.push(() => duo.stop());
    cleanups.push(installDuoLoopbackRedirect({ host: duoAddr.host, port: duoAddr.port, ca: duoAddr.ca }));

    const routingKey = randomBytes(16).toString('hex');
    const pagerduty = new PagerDutyStandIn({ routingKey });
    const pdAddr = await pagerduty.start();
    cleanups.push(() => pagerduty.stop());

    let moto: MotoServer | null = null;
    if (opts.moto !== false && resolveMotoServer({ install: true })) {
      moto = await startMoto();
      cleanups.push(() => moto?.stop());
      log(`moto_server (AWS emulator) on ${moto.endpoint}: reverts run for real`);
    } else {
      log(`moto_server ${opts.moto === false ? 'not used' : 'not available'}: reverts are shown as dry-run plans and end REVERT_FAILED`);
    }
    process.env.AWS_ACCESS_KEY_ID ??= AWS_TEST_CREDS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY ??= AWS_TEST_CREDS.secretAccessKey;

    // ---- worker and handler: production code paths pointed at the sandbox ----
    const namespace = 'default';
    const config = loadConfig(workerSchema, {
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TASK_QUEUE: 'vouch-reviews',
      VOUCH_UI_BASE_URL: uiBaseUrl,
      SLACK_BOT_TOKEN: botToken,
      SLACK_API_URL: apiUrl,
      VOUCH_PEOPLE_FILE: DEMO_PEOPLE_FILE,
      DUO_IKEY: ikey,
      DUO_SKEY: skey,
      DUO_API_HOST: duoAddr.host,
      PAGERDUTY_ROUTING_KEY: routingKey,
      PAGERDUTY_EVENTS_SERVER: pdAddr.server,
      ...(moto ? { AWS_ENDPOINT_URL: moto.endpoint } : {}),
      VOUCH_BASELINE_STORE: path.join(PROJECT_ROOT, '.data', 'baseline'),
      // Each revert acts as the revert role of the record's own account (moto hands out credentials for any role).
      VOUCH_REVERT_ROLE_ARN_TEMPLATE: 'arn:aws:iam::{account}:role/vouch-revert',
    });
    const deps = buildActivityDeps(config, { pagerdutyAgent: new https.Agent({ ca: pdAddr.ca }) });
    if (!moto) {
      // No emulator: never touch a real account from the demo. The revert fails as forbidden; the page shows the plan.
      deps.clientFor = () => {
        throw new Error('dry run: no AWS emulator in this demo run');
      };
    }
    log('bundling the review workflow and starting the worker…');
    const { worker, connection: workerConnection } = await createWorker(config, deps);
    const workerRun = worker.run();
    cleanups.push(async () => {
      worker.shutdown();
      await workerRun.catch(() => undefined);
      await workerConnection.close();
    });

    const connection = await Connection.connect({ address: server.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace });
    const handler = createHandler({
      signingSecret,
      temporal: client,
      slack: createSlackClient({ token: botToken, apiUrl, logger: pino({ level: 'silent' }) }),
      logger: pino({ level: 'silent' }),
    });
    await new Promise<void>((r) => handler.listen(0, '127.0.0.1', r));
    cleanups.push(async () => {
      await handler.settled().catch(() => undefined);
      await new Promise<void>((r) => {
        handler.close(() => r());
        handler.closeAllConnections();
      });
    });
    const handlerUrl = `http://127.0.0.1:${(handler.address() as AddressInfo).port}/slack/interactions`;
    log(`Slack interactivity handler on ${handlerUrl}`);

    // ---- the sandbox page ----
    const sandboxPort = opts.sandboxPort && (await portFree(opts.sandboxPort)) ? opts.sandboxPort : await freePort();
    const web = new SandboxWeb({
      slack,
      duo,
      pagerduty,
      interactionsUrl: handlerUrl,
      signingSecret,
      teamId: DEMO_TEAM,
      users,
      temporal: { client, namespace },
      uiBaseUrl,
      aws: moto ? { mode: 'moto', endpoint: moto.endpoint } : { mode: 'dry-run' },
      port: sandboxPort,
    });
    const { url: sandboxUrl } = await web.start();
    cleanups.push(() => web.stop());

    const ec2Clients = new Map<string, EC2Client>();
    return {
      server,
      client,
      namespace,
      config,
      slack,
      duo,
      pagerduty,
      moto,
      web,
      sandboxUrl,
      handler,
      handlerUrl,
      uiBaseUrl,
      signingSecret,
      users,
      ec2(region: string): EC2Client | null {
        if (!moto) return null;
        let c = ec2Clients.get(region);
        if (!c) {
          c = new EC2Client({ region, endpoint: moto.endpoint, credentials: AWS_TEST_CREDS, maxAttempts: 2 });
          ec2Clients.set(region, c);
        }
        return c;
      },
      async start(input): Promise<StartResult> {
        const res = await startReview(
          client,
          { ...input, securityResponders: DEMO_SECURITY_RESPONDERS },
          { taskQueue: config.TEMPORAL_TASK_QUEUE, uiBaseUrl },
        );
        web.trackReview(res.workflowId);
        return res;
      },
      result(workflowId: string): Promise<ReviewOutcome> {
        const call = new AbortController();
        setMaxListeners(0, call.signal); // each long poll of the history adds one listener
        waiting.add(call);
        return client
          .withAbortSignal(call.signal, () => client.workflow.getHandle(workflowId).result() as Promise<ReviewOutcome>)
          .finally(() => waiting.delete(call));
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
