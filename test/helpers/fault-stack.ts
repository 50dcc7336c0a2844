// The production topology with vouch's processes as separate OS processes, for fault tests: the Temporal server on
// PostgreSQL (prod-topology.ts), and `node src/bin/vouch.js worker` and `vouch handler` spawned with the environment
// production gives them, so each can be killed with SIGKILL; `vouch ingest` and `vouch review` run as processes too.
// The vendors are the loopback stand-ins (they stay in the test process, where their fault hooks are set): Slack,
// Duo, PagerDuty, CloudTrail LookupEvents; AWS is moto behind a fault proxy (test/standins/aws-fault-proxy.ts).
// Every secret is fresh and known to the test (`secrets`), so a test can look for it where it must not be.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { EC2Client } from '@aws-sdk/client-ec2';
import type { Client } from '@temporalio/client';
import { DEMO_PEOPLE_FILE, DEMO_SECURITY_RESPONDERS, DEMO_TEAM, DEMO_USERS } from '../../src/demo/stack';
import { DuoStandIn } from '../../src/demo/sandbox/duo';
import { PagerDutyStandIn } from '../../src/demo/sandbox/pagerduty';
import { SlackStandIn, type StoredMessage } from '../../src/demo/sandbox/slack';
import { buildBlockActionsPayload, postClick, type PostClickResult } from '../../src/demo/sandbox/slack-interactions';
import { startMoto, type MotoServer } from '../../src/demo/sandbox/moto';
import { startAwsFaultProxy, type AwsFaultProxy } from '../standins/aws-fault-proxy';
import { startCloudTrailStandIn, type CloudTrailStandIn } from '../standins/cloudtrail';
import { freeLowPort } from './processes';
import type { ProdTopology } from './prod-topology';
import { spawnVouch, waitForLog, type VouchProcess } from './vouch-processes';

/** moto's default account: resources made with plain test credentials live there, and so do the reverts. */
export const MOTO_ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
const AWS_CREDS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
export const SLACK_RATE_SCALE = 20;

export interface FaultSecrets {
  slackToken: string;
  signingSecret: string;
  duoSkey: string;
  routingKey: string;
}

/** Accounts vouch watches in these tests (all in the accounts file): one per intake path, so counts do not mix. */
export interface FaultAccounts {
  moto: string;
  sqs: string;
  files: string;
  lookup: string;
  duplicate: string;
}

export interface FaultStack {
  topo: ProdTopology;
  client: Client;
  /** The worker's task queue (reviews run here). */
  taskQueue: string;
  dir: string;
  logDir: string;
  secrets: FaultSecrets;
  accounts: FaultAccounts;
  accountsFile: string;
  slack: SlackStandIn;
  duo: DuoStandIn;
  pagerduty: PagerDutyStandIn;
  moto: MotoServer;
  aws: AwsFaultProxy;
  cloudtrail: CloudTrailStandIn;
  /** An EC2 client straight to moto (not through the fault proxy), in moto's default account. */
  ec2: EC2Client;
  worker(): VouchProcess;
  /** Starts a new worker process and waits for "worker ready" (the old one must be gone). Returns the ms it took. */
  startWorker(): Promise<number>;
  handler(): VouchProcess;
  /** Environment of `vouch ingest` / `vouch review`, starting reviews on `taskQueue` (default: the worker's). */
  intakeEnv(taskQueue?: string): Record<string, string>;
  /** Spawns a vouch command with the intake's environment (plus `env`). */
  vouch(name: string, args: string[], env?: Record<string, string>): VouchProcess;
  /** Every line every vouch process wrote to stderr so far. */
  allLogs(): string;
  /** The review's DMs: top-level messages whose blocks carry the workflow id. */
  dmsFor(workflowId: string): StoredMessage[];
  /** Clicks a button of the review's DM as the engineer it was sent to, signed like Slack. */
  click(workflowId: string, actionId: string): Promise<PostClickResult>;
  timings: Record<string, number>;
  stop(): Promise<void>;
}

function randomAccount(): string {
  return `7${String(randomInt(0, 10 ** 11)).padStart(11, '0')}`;
}

export async function startFaultStack(topo: ProdTopology, opts: { dir: string; logLevel?: string; say?: (l: string) => void }): Promise<FaultStack> {
  const say = opts.say ?? (() => undefined);
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const stop = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve().then(c).catch(() => undefined);
  };
  const timings: Record<string, number> = {};
  try {
    const dir = opts.dir;
    const logDir = path.join(dir, 'logs');
    fs.mkdirSync(logDir, { recursive: true });
    const secrets: FaultSecrets = {
      slackToken: `xoxb-${randomInt(10 ** 9, 10 ** 10)}-${randomBytes(12).toString('hex')}`,
      signingSecret: randomBytes(16).toString('hex'),
      duoSkey: randomBytes(20).toString('hex'),
      routingKey: randomBytes(16).toString('hex'),
    };

    const users = DEMO_USERS.map((u) => ({ ...u }));
    // Slack's rate limits (the stand-in's token buckets) run SLACK_RATE_SCALE times faster: at the real Tier 3 (50 calls
    // a minute per method) 200 reviews at once need minutes of users.lookupByEmail, conversations.open/history and
    // chat.update alone. These tests are about faults; what the limits do to a burst is a load figure.
    const slack = new SlackStandIn({ token: secrets.slackToken, users, teamId: DEMO_TEAM, now: () => Date.now() * SLACK_RATE_SCALE });
    const { apiUrl } = await slack.start();
    cleanups.push(() => slack.stop());

    const ikey = `DI${randomBytes(9).toString('hex').toUpperCase()}`;
    const duo = new DuoStandIn({ ikey, skey: secrets.duoSkey, users: users.map((u) => ({ username: u.email, status: 'active' as const })), longPollMs: 2000 });
    const duoAddr = await duo.start();
    cleanups.push(() => duo.stop());

    const pagerduty = new PagerDutyStandIn({ routingKey: secrets.routingKey });
    const pdAddr = await pagerduty.start();
    cleanups.push(() => pagerduty.stop());
    // Both stand-ins serve the same loopback certificate (src/demo/sandbox/tls.ts): trusted by file, as an extra CA.
    const caFile = path.join(dir, 'stand-in-ca.pem');
    fs.writeFileSync(caFile, duoAddr.ca);

    let t = Date.now();
    const moto = await startMoto();
    cleanups.push(() => moto.stop());
    timings['moto start'] = Date.now() - t;
    const aws = await startAwsFaultProxy(moto.endpoint);
    cleanups.push(() => aws.stop());

    const accounts: FaultAccounts = { moto: MOTO_ACCOUNT, sqs: randomAccount(), files: randomAccount(), lookup: randomAccount(), duplicate: randomAccount() };
    const cloudtrail = await startCloudTrailStandIn({ defaultAccount: accounts.lookup, ratePerSecond: 2, secretAccessKey: AWS_CREDS.secretAccessKey });
    cleanups.push(() => cloudtrail.stop());
    const accountsFile = path.join(dir, 'accounts.yaml');
    fs.writeFileSync(
      accountsFile,
      `defaults:\n  regions: [${REGION}]\naccounts:\n${Object.values(accounts).map((a) => `  - id: "${a}"\n`).join('')}`,
    );

    const client = await topo.client();
    const taskQueue = `vouch-faults-${randomUUID().slice(0, 8)}`;
    const uiBaseUrl = 'http://127.0.0.1:8080';
    const level = opts.logLevel ?? 'info';
    const temporalEnv = { TEMPORAL_ADDRESS: topo.address, TEMPORAL_NAMESPACE: topo.namespace, VOUCH_UI_BASE_URL: uiBaseUrl, VOUCH_LOG_LEVEL: level };
    const awsEnv = { AWS_ACCESS_KEY_ID: AWS_CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: AWS_CREDS.secretAccessKey, AWS_REGION: REGION };
    const deadLetterDir = path.join(dir, 'dead-letter');
    const intakeSettings = {
      VOUCH_ACCOUNTS_FILE: accountsFile,
      VOUCH_DEAD_LETTER_DIR: deadLetterDir,
      VOUCH_SECURITY_SLACK_USERS: DEMO_SECURITY_RESPONDERS.join(','),
    };
    const workerEnv: Record<string, string> = {
      ...temporalEnv,
      ...awsEnv,
      ...intakeSettings,
      TEMPORAL_TASK_QUEUE: taskQueue,
      SLACK_BOT_TOKEN: secrets.slackToken,
      SLACK_API_URL: apiUrl,
      VOUCH_PEOPLE_FILE: DEMO_PEOPLE_FILE,
      DUO_IKEY: ikey,
      DUO_SKEY: secrets.duoSkey,
      DUO_API_HOST: duoAddr.host,
      PAGERDUTY_ROUTING_KEY: secrets.routingKey,
      PAGERDUTY_EVENTS_SERVER: pdAddr.server,
      // Every AWS call of the worker goes through the fault proxy to moto; LookupEvents goes to its stand-in.
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_ENDPOINT_URL_CLOUDTRAIL: cloudtrail.url,
      VOUCH_REVERT_ROLE_ARN_TEMPLATE: 'arn:aws:iam::{account}:role/vouch-revert',
      VOUCH_BASELINE_STORE: path.join(dir, 'baseline'),
      VOUCH_TEST_DUO_REDIRECT: `${duoAddr.host}=${duoAddr.port}`,
      VOUCH_TEST_DUO_CA_FILE: caFile,
      NODE_EXTRA_CA_CERTS: caFile,
    };

    let worker: VouchProcess | undefined;
    const startWorker = async (): Promise<number> => {
      if (worker?.running()) throw new Error('a worker is still running');
      const t0 = Date.now();
      worker = spawnVouch('worker', ['worker'], workerEnv, logDir);
      const offset = fs.statSync(worker.stderrFile).size;
      await waitForLog(worker, 'worker ready', 180_000, Math.max(0, offset - 200));
      return Date.now() - t0;
    };
    cleanups.push(() => worker?.stop(25_000));
    t = Date.now();
    await startWorker();
    timings['worker start'] = Date.now() - t;
    say(`worker ready in ${timings['worker start']} ms`);

    const handlerPort = await freeLowPort();
    const handler = spawnVouch(
      'handler',
      ['handler'],
      {
        ...temporalEnv,
        SLACK_SIGNING_SECRET: secrets.signingSecret,
        SLACK_BOT_TOKEN: secrets.slackToken,
        SLACK_API_URL: apiUrl,
        VOUCH_HANDLER_HOST: '127.0.0.1',
        VOUCH_HANDLER_PORT: String(handlerPort),
      },
      logDir,
    );
    cleanups.push(() => handler.stop());
    await waitForLog(handler, 'slack handler listening', 60_000);
    const interactionsUrl = `http://127.0.0.1:${handlerPort}/slack/interactions`;

    const ec2 = new EC2Client({ region: REGION, endpoint: moto.endpoint, credentials: AWS_CREDS, maxAttempts: 3 });
    const spawned: VouchProcess[] = [];
    cleanups.push(async () => {
      for (const p of spawned) await p.kill9();
    });

    const intakeEnv = (queue = taskQueue): Record<string, string> => ({ ...temporalEnv, ...awsEnv, ...intakeSettings, TEMPORAL_TASK_QUEUE: queue });
    const dmsFor = (workflowId: string): StoredMessage[] =>
      slack.messages.filter((m) => !m.threadTs && m.blocks !== undefined && JSON.stringify(m.blocks).includes(workflowId));

    return {
      topo,
      client,
      taskQueue,
      dir,
      logDir,
      secrets,
      accounts,
      accountsFile,
      slack,
      duo,
      pagerduty,
      moto,
      aws,
      cloudtrail,
      ec2,
      worker: () => worker as VouchProcess,
      startWorker,
      handler: () => handler,
      intakeEnv,
      vouch(name, args, env = {}) {
        const p = spawnVouch(name, args, { ...intakeEnv(), ...env }, logDir);
        spawned.push(p);
        return p;
      },
      allLogs() {
        return fs
          .readdirSync(logDir)
          .map((f) => fs.readFileSync(path.join(logDir, f), 'utf8'))
          .join('\n');
      },
      dmsFor,
      async click(workflowId, actionId) {
        const msg = dmsFor(workflowId)[0];
        if (!msg) throw new Error(`no DM for ${workflowId}`);
        const userId = slack.conversation(msg.channel)?.users[0];
        if (!userId) throw new Error(`no engineer in ${msg.channel}`);
        const payload = buildBlockActionsPayload({
          userId,
          teamId: DEMO_TEAM,
          workflowId,
          actionId,
          channelId: msg.channel,
          messageTs: msg.ts,
          messageText: msg.text,
          userName: users.find((u) => u.id === userId)?.name ?? 'engineer',
        });
        return postClick(interactionsUrl, payload, secrets.signingSecret);
      },
      timings,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
