// The whole path an attack plays through, as production wires it: `vouch ingest` (ingestCommand with the intake
// config: accounts file, maximum age, trusted baseline), the policy, the review workflow on a real Temporal dev
// server, the worker built by buildActivityDeps from a validated worker config, the Slack interactivity handler, and
// the vendor stand-ins (Slack, Duo, PagerDuty) and moto_server for AWS (several accounts: moto hands out credentials
// for the account of any role assumed through STS).
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { NativeConnection, Worker } from '@temporalio/worker';
import pino from 'pino';
import { createSlackClient } from '../../../src/slack/client';
import { loadConfig, workerSchema } from '../../../src/cli/config';
import { buildActivityDeps, createWorker } from '../../../src/cli/worker';
import { ingestCommand } from '../../../src/cli/ingest';
import { runCommand } from '../../../src/cli/program';
import { loadIntakeConfig } from '../../../src/cli/intake-settings';
import { createHandler, type HandlerServer } from '../../../src/slack/http-receiver';
import { createAwsClientFactory, type AwsClients } from '../../../src/revert';
import type { AwsService, ReviewOutcome } from '../../../src/core/types';
import { FolderDeadLetterStore, type StoredDeadLetter } from '../../../src/intake/dead-letter';
import { DuoStandIn } from '../../../src/demo/sandbox/duo';
import { installDuoLoopbackRedirect } from '../../../src/demo/sandbox/duo-redirect';
import { PagerDutyStandIn } from '../../../src/demo/sandbox/pagerduty';
import { SlackStandIn, type StoredMessage } from '../../../src/demo/sandbox/slack';
import { buildBlockActionsPayload, postClick } from '../../../src/demo/sandbox/slack-interactions';
import { startMoto, type MotoServer } from '../../../src/demo/sandbox/moto';
import { startDevServer } from '../../helpers/temporal';

export const REGION = 'us-east-1';
/** moto's default account: the one vouch's own credentials (plain keys) act in: "production". */
export const HOME = '123456789012';
/** A second account, reached through STS AssumeRole on moto: "sandbox". */
export const SANDBOX = '111111111111';
export const REVERT_ROLE_TEMPLATE = 'arn:aws:iam::{account}:role/vouch-revert';
const TEAM = 'T0ATTACK';
const CREDS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** carol is a person in Slack and Duo; her IAM user in each watched account maps to her (one key per account). */
export const CAROL = { id: 'U0CAROL003', email: 'carol@example.com', name: 'carol' };

export function carolIn(account: string): Record<string, unknown> {
  return {
    type: 'IAMUser',
    principalId: 'AIDAEXAMPLECAROL0001',
    arn: `arn:aws:iam::${account}:user/carol`,
    accountId: account,
    accessKeyId: 'AKIAEXAMPLECAROL0001',
    userName: 'carol',
  };
}

/** A CloudTrail record as CloudTrail writes it, in `account`, made by carol, now (unless `eventTime`). */
export function cloudTrailRecord(
  account: string,
  eventSource: string,
  eventName: string,
  requestParameters: Record<string, unknown> | null,
  responseElements: Record<string, unknown> | null = null,
  o: { eventTime?: string } = {},
): Record<string, unknown> {
  return {
    eventVersion: '1.10',
    userIdentity: carolIn(account),
    eventTime: o.eventTime ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource,
    eventName,
    awsRegion: REGION,
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-cli/2 attack-test',
    requestParameters,
    responseElements,
    requestID: randomUUID(),
    eventID: randomUUID(),
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: 'Management',
  };
}

export interface IngestRun {
  code: number;
  summary: Record<string, unknown>;
  stderr: string;
}

export interface AttackStack {
  env: TestWorkflowEnvironment;
  dir: string;
  taskQueue: string;
  slack: SlackStandIn;
  pagerduty: PagerDutyStandIn;
  moto: MotoServer;
  /** The accounts file intake reads (VOUCH_ACCOUNTS_FILE): HOME and SANDBOX. */
  accountsFile: string;
  deadLetterDir: string;
  /** An admin client acting in `account` (the engineer's or the owner's hands, not vouch's). */
  admin<S extends AwsService>(service: S, account: string): AwsClients[S];
  /** The intake environment every `vouch ingest` here runs with (plus `extra`). */
  intakeEnv(extra?: Record<string, string>): Record<string, string>;
  /** `vouch ingest ARGS` in this process, with the intake config of `intakeEnv(extra)`. */
  ingest(args: string[], extra?: Record<string, string>): Promise<IngestRun>;
  /** Writes `{"Records": records}` into a fresh folder and ingests it. */
  ingestRecords(records: unknown[], extra?: Record<string, string>): Promise<IngestRun>;
  /** Starts the worker from a worker config with `extra` variables (throws what buildActivityDeps throws). */
  startWorker(extra?: Record<string, string>): Promise<void>;
  reviewId(account: string, eventId: string): string;
  dmFor(workflowId: string): StoredMessage | undefined;
  click(workflowId: string, actionId: 'vouch_yes' | 'vouch_no'): Promise<void>;
  /** The review's outcome; rejects when it has not finished within `timeoutMs` (default 60 s). */
  outcome(workflowId: string, timeoutMs?: number): Promise<ReviewOutcome>;
  deadLetters(): Promise<StoredDeadLetter[]>;
  stop(): Promise<void>;
}

export async function startAttackStack(): Promise<AttackStack> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const stop = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve().then(c).catch(() => undefined);
  };
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-attack-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    // moto loads the AWS managed policies (AdministratorAccess …) only when asked; startMoto passes the environment on.
    process.env.MOTO_IAM_LOAD_MANAGED_POLICIES = 'true';
    const [env, moto] = await Promise.all([startDevServer(), startMoto()]);
    cleanups.push(() => env.teardown());
    cleanups.push(() => moto.stop());
    process.env.AWS_ACCESS_KEY_ID = CREDS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = CREDS.secretAccessKey;
    process.env.AWS_REGION = REGION;
    process.env.VOUCH_LOG_LEVEL = 'error';

    const users = [CAROL, { id: 'U0SECURITY', email: 'security@example.com', name: 'sec-oncall' }];
    const botToken = `xoxb-attack-${randomBytes(8).toString('hex')}`;
    const signingSecret = randomBytes(16).toString('hex');
    const slack = new SlackStandIn({ token: botToken, users: users.map((u) => ({ ...u })), teamId: TEAM });
    const { apiUrl } = await slack.start();
    cleanups.push(() => slack.stop());
    const ikey = `DI${randomBytes(9).toString('hex').toUpperCase()}`;
    const skey = randomBytes(20).toString('hex');
    const duo = new DuoStandIn({ ikey, skey, users: users.map((u) => ({ username: u.email, status: 'active' as const })), longPollMs: 1000 });
    const duoAddr = await duo.start();
    cleanups.push(() => duo.stop());
    cleanups.push(installDuoLoopbackRedirect({ host: duoAddr.host, port: duoAddr.port, ca: duoAddr.ca }));
    const routingKey = randomBytes(16).toString('hex');
    const pagerduty = new PagerDutyStandIn({ routingKey });
    const pdAddr = await pagerduty.start();
    cleanups.push(() => pagerduty.stop());

    const peopleFile = path.join(dir, 'people.json');
    fs.writeFileSync(peopleFile, JSON.stringify(Object.fromEntries([HOME, SANDBOX].map((a) => [`arn:aws:iam::${a}:user/carol`, { email: CAROL.email, displayName: 'Carol' }]))));
    const accountsFile = path.join(dir, 'accounts.yaml');
    fs.writeFileSync(accountsFile, `defaults:\n  regions: [${REGION}]\naccounts:\n  - id: "${HOME}"\n    name: production\n  - id: "${SANDBOX}"\n    name: sandbox\n`);
    const deadLetterDir = path.join(dir, 'dead-letter');
    const baselineStore = path.join(dir, 'baseline');
    const taskQueue = `attack-${randomUUID().slice(0, 8)}`;
    const uiBaseUrl = 'http://127.0.0.1:8233';

    const startWorker = async (extra: Record<string, string> = {}): Promise<void> => {
      const config = loadConfig(workerSchema, {
        TEMPORAL_ADDRESS: env.address,
        TEMPORAL_NAMESPACE: 'default',
        TEMPORAL_TASK_QUEUE: taskQueue,
        VOUCH_UI_BASE_URL: uiBaseUrl,
        SLACK_BOT_TOKEN: botToken,
        SLACK_API_URL: apiUrl,
        VOUCH_PEOPLE_FILE: peopleFile,
        DUO_IKEY: ikey,
        DUO_SKEY: skey,
        DUO_API_HOST: duoAddr.host,
        PAGERDUTY_ROUTING_KEY: routingKey,
        PAGERDUTY_EVENTS_SERVER: pdAddr.server,
        AWS_ENDPOINT_URL: moto.endpoint,
        VOUCH_BASELINE_STORE: baselineStore,
        ...extra,
      });
      const deps = buildActivityDeps(config, { pagerdutyAgent: new https.Agent({ ca: pdAddr.ca }) });
      const { worker, connection }: { worker: Worker; connection: NativeConnection } = await createWorker(config, deps);
      const running = worker.run();
      cleanups.push(async () => {
        worker.shutdown();
        await running.catch(() => undefined);
        await connection.close().catch(() => undefined);
      });
    };

    const handler: HandlerServer = createHandler({
      signingSecret,
      temporal: env.client,
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
    const interactionsUrl = `http://127.0.0.1:${(handler.address() as AddressInfo).port}/slack/interactions`;

    const factory = createAwsClientFactory({ endpoint: moto.endpoint, credentials: CREDS, roleArnTemplate: 'arn:aws:iam::{account}:role/admin' });
    const intakeEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
      TEMPORAL_TASK_QUEUE: taskQueue,
      VOUCH_UI_BASE_URL: uiBaseUrl,
      VOUCH_ACCOUNTS_FILE: accountsFile,
      VOUCH_DEAD_LETTER_DIR: deadLetterDir,
      VOUCH_BASELINE_STORE: baselineStore,
      AWS_ENDPOINT_URL: moto.endpoint,
      // The dev server keeps closed workflows 24 h: the maximum age must be shorter.
      VOUCH_INTAKE_MAX_AGE_SECONDS: '3600',
      ...extra,
    });
    const ingest = async (args: string[], extra: Record<string, string> = {}): Promise<IngestRun> => {
      const out: string[] = [];
      const err: string[] = [];
      const deps = {
        client: env.client,
        config: loadIntakeConfig(intakeEnv(extra)),
        stdout: { write: (s: string) => out.push(s) },
        stderr: { write: (s: string) => err.push(s) },
        logger: pino({ level: 'silent' }),
      };
      const code = await runCommand(ingestCommand(deps), [...args, '--no-progress'], deps);
      const last = out.join('').trim().split('\n').at(-1);
      return { code, summary: last ? (JSON.parse(last) as Record<string, unknown>) : {}, stderr: err.join('') };
    };
    let batch = 0;

    const dmFor = (workflowId: string): StoredMessage | undefined =>
      slack.messages.find((m) => !m.threadTs && JSON.stringify(m.blocks ?? []).includes(`"value":"${workflowId}"`));

    return {
      env,
      dir,
      taskQueue,
      slack,
      pagerduty,
      moto,
      accountsFile,
      deadLetterDir,
      admin: (service, account) => factory.clientFor(service, account, REGION, 'attack-test-admin'),
      intakeEnv,
      ingest,
      async ingestRecords(records, extra) {
        const folder = path.join(dir, `intake-${++batch}`);
        fs.mkdirSync(folder, { recursive: true });
        fs.writeFileSync(path.join(folder, 'records.json'), JSON.stringify({ Records: records }));
        return ingest(['--from', folder], extra);
      },
      startWorker,
      reviewId: (account, eventId) => `vouch-${account}-${eventId}`,
      dmFor,
      async click(workflowId, actionId) {
        const deadline = Date.now() + 20_000;
        let msg = dmFor(workflowId);
        while (!msg && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
          msg = dmFor(workflowId);
        }
        if (!msg) throw new Error(`no DM for ${workflowId}`);
        const payload = buildBlockActionsPayload({
          userId: CAROL.id,
          teamId: TEAM,
          workflowId,
          actionId,
          channelId: msg.channel,
          messageTs: msg.ts,
          messageText: msg.text,
          userName: CAROL.name,
        });
        const res = await postClick(interactionsUrl, payload, signingSecret);
        if (res.status !== 200) throw new Error(`click refused: ${res.status}`);
      },
      async outcome(workflowId, timeoutMs = 60_000) {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`review ${workflowId} did not finish within ${timeoutMs} ms`)), timeoutMs);
        });
        try {
          return await Promise.race([env.client.workflow.getHandle(workflowId).result() as Promise<ReviewOutcome>, late]);
        } finally {
          clearTimeout(timer);
        }
      },
      deadLetters: () => new FolderDeadLetterStore(deadLetterDir).list(),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Does a review with this id exist on the server? */
export async function reviewExists(env: TestWorkflowEnvironment, workflowId: string): Promise<boolean> {
  try {
    await env.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return false;
    throw err;
  }
}
