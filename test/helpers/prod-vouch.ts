// vouch's own processes on the production topology, wired as production wires them: the worker from
// src/cli/worker.ts (createWorker over buildActivityDeps from a validated config), the Slack interactivity handler
// (src/slack/http-receiver.ts), and the intake (IntakePipeline with the policy judge and the Temporal starter, fed
// from a file of records as `vouch ingest --from` does). The vendors are the loopback stand-ins from src/demo/sandbox
// (they check signatures, tokens and required fields), AWS is moto. Clicks are signed as Slack signs them.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import pino from 'pino';
import { createSlackClient } from '../../src/slack/client';
import { loadConfig, workerSchema } from '../../src/cli/config';
import { buildActivityDeps, createWorker } from '../../src/cli/worker';
import { createHandler, type HandlerServer } from '../../src/slack/http-receiver';
import { IntakePipeline, type RecordResult } from '../../src/intake/pipeline';
import { policyJudge } from '../../src/intake/judges';
import { temporalStarter } from '../../src/intake/starter';
import { FolderDeadLetterStore } from '../../src/intake/dead-letter';
import { ingestFiles, listDir, type FilesSummary } from '../../src/intake/files';
import { loadPolicy } from '../../src/policy';
import type { Verdict } from '../../src/core/types';
import { DEMO_PEOPLE_FILE, DEMO_SECURITY_RESPONDERS, DEMO_TEAM, DEMO_USERS } from '../../src/demo/stack';
import { DuoStandIn } from '../../src/demo/sandbox/duo';
import { installDuoLoopbackRedirect } from '../../src/demo/sandbox/duo-redirect';
import { PagerDutyStandIn } from '../../src/demo/sandbox/pagerduty';
import { SlackStandIn, type StoredMessage } from '../../src/demo/sandbox/slack';
import { buildBlockActionsPayload, postClick, type PostClickResult } from '../../src/demo/sandbox/slack-interactions';
import { startMoto, type MotoServer } from '../../src/demo/sandbox/moto';
import { createAwsClientFactory } from '../../src/revert';
import type { ProdTopology } from './prod-topology';

const AWS_TEST_CREDS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export interface VouchOnProd {
  client: Client;
  taskQueue: string;
  uiBaseUrl: string;
  slack: SlackStandIn;
  duo: DuoStandIn;
  pagerduty: PagerDutyStandIn;
  moto: MotoServer;
  /** The engineer's EC2 client in `account` (STS AssumeRole on moto): where the record's revert acts. */
  ec2(account: string, region: string): EC2Client;
  /** Every verdict the policy gave, by CloudTrail eventID (observed on its way to the production starter). */
  verdicts: Map<string, Verdict>;
  /** Runs records through the intake, from a `{"Records": [...]}` file (plus any raw lines), like `vouch ingest --from`. */
  ingest(records: unknown[], opts?: { extraLines?: string[] }): Promise<{ summary: FilesSummary; results: RecordResult[] }>;
  deadLetterDir: string;
  /** The review's DM (top-level message whose buttons carry the workflow id). */
  dmFor(workflowId: string): StoredMessage | undefined;
  /** Clicks a button of the review's DM as the engineer it was sent to, signed like Slack. */
  click(workflowId: string, actionId: 'vouch_yes' | 'vouch_no' | 'vouch_duo_retry'): Promise<PostClickResult>;
  /** Stops the worker (killed-worker style: no drain) for fault tests, and starts a new one. */
  restartWorker(): Promise<void>;
  stop(): Promise<void>;
}

/** The worker, the handler and the intake on `topo`, with stand-ins; `policyFile` is the intake's policy. */
export async function startVouchOnProd(
  topo: ProdTopology,
  opts: {
    policyFile?: string;
    dir: string;
    /** The Slack stand-in's rate-limit clock (benchmarks run it fast, so the stand-in answers at once). */
    slackNow?: () => number;
  },
): Promise<VouchOnProd> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const stop = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve().then(c).catch(() => undefined);
  };
  try {
    const users = DEMO_USERS.map((u) => ({ ...u }));
    const botToken = `xoxb-prod-${randomBytes(8).toString('hex')}`;
    const signingSecret = randomBytes(16).toString('hex');
    const slack = new SlackStandIn({ token: botToken, users, teamId: DEMO_TEAM, ...(opts.slackNow ? { now: opts.slackNow } : {}) });
    const { apiUrl } = await slack.start();
    cleanups.push(() => slack.stop());

    const ikey = `DI${randomBytes(9).toString('hex').toUpperCase()}`;
    const skey = randomBytes(20).toString('hex');
    const duo = new DuoStandIn({ ikey, skey, users: users.map((u) => ({ username: u.email, status: 'active' as const })), longPollMs: 2000 });
    const duoAddr = await duo.start();
    cleanups.push(() => duo.stop());
    cleanups.push(installDuoLoopbackRedirect({ host: duoAddr.host, port: duoAddr.port, ca: duoAddr.ca }));

    const routingKey = randomBytes(16).toString('hex');
    const pagerduty = new PagerDutyStandIn({ routingKey });
    const pdAddr = await pagerduty.start();
    cleanups.push(() => pagerduty.stop());

    const moto = await startMoto();
    cleanups.push(() => moto.stop());
    process.env.AWS_ACCESS_KEY_ID ??= AWS_TEST_CREDS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY ??= AWS_TEST_CREDS.secretAccessKey;

    const taskQueue = `vouch-prod-${randomUUID().slice(0, 8)}`;
    const uiBaseUrl = topo.uiUrl ?? 'http://127.0.0.1:8080';
    const config = loadConfig(workerSchema, {
      TEMPORAL_ADDRESS: topo.address,
      TEMPORAL_NAMESPACE: topo.namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      VOUCH_UI_BASE_URL: uiBaseUrl,
      SLACK_BOT_TOKEN: botToken,
      SLACK_API_URL: apiUrl,
      VOUCH_PEOPLE_FILE: DEMO_PEOPLE_FILE,
      DUO_IKEY: ikey,
      DUO_SKEY: skey,
      DUO_API_HOST: duoAddr.host,
      PAGERDUTY_ROUTING_KEY: routingKey,
      PAGERDUTY_EVENTS_SERVER: pdAddr.server,
      AWS_ENDPOINT_URL: moto.endpoint,
      VOUCH_BASELINE_STORE: path.join(opts.dir, 'baseline'),
      // Each revert acts as the revert role of the record's own account (moto hands out credentials for any role).
      VOUCH_REVERT_ROLE_ARN_TEMPLATE: 'arn:aws:iam::{account}:role/vouch-revert',
    });
    const deps = buildActivityDeps(config, { pagerdutyAgent: new https.Agent({ ca: pdAddr.ca }) });

    let current: { worker: Worker; connection: NativeConnection; running: Promise<void> } | null = null;
    const startWorker = async (): Promise<void> => {
      const { worker, connection } = await createWorker(config, deps);
      current = { worker, connection, running: worker.run() };
    };
    const stopWorker = async (): Promise<void> => {
      const w = current;
      current = null;
      if (!w) return;
      w.worker.shutdown();
      await w.running.catch(() => undefined);
      await w.connection.close().catch(() => undefined);
    };
    await startWorker();
    cleanups.push(stopWorker);

    const client = await topo.client();
    const handler: HandlerServer = createHandler({
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
    const interactionsUrl = `http://127.0.0.1:${(handler.address() as AddressInfo).port}/slack/interactions`;

    // ---- intake: the production judge and starter; the starter is only observed for the verdicts ----
    const verdicts = new Map<string, Verdict>();
    const deadLetterDir = path.join(opts.dir, 'dead-letter');
    const starter = temporalStarter(client, { taskQueue, uiBaseUrl });
    const pipeline = new IntakePipeline({
      judge: policyJudge(loadPolicy(opts.policyFile)),
      starter: async (input) => {
        verdicts.set(input.change.eventId, input.verdict);
        return starter(input);
      },
      deadLetters: new FolderDeadLetterStore(deadLetterDir),
      review: { securityResponders: DEMO_SECURITY_RESPONDERS },
    });
    let batch = 0;

    // Each review's DM by workflow id, kept as the stand-in posts them (a scan per lookup is quadratic under load).
    const dms = new Map<string, { channel: string; ts: string }>();
    slack.on('event', (e) => {
      if (e.type !== 'message.posted' || e.message.threadTs) return;
      const id = /"value":"([^"]+)"/.exec(JSON.stringify(e.message.blocks ?? []))?.[1];
      if (id && !dms.has(id)) dms.set(id, { channel: e.message.channel, ts: e.message.ts });
    });
    const indexed = (workflowId: string): StoredMessage | undefined => {
      const at = dms.get(workflowId);
      return at ? slack.message(at.channel, at.ts) : undefined;
    };
    const dmFor = (workflowId: string): StoredMessage | undefined =>
      indexed(workflowId) ?? slack.messages.find((m) => !m.threadTs && JSON.stringify(m.blocks ?? []).includes(`"value":"${workflowId}"`));

    const ec2Clients = new Map<string, EC2Client>();
    const engineers = createAwsClientFactory({ endpoint: moto.endpoint, credentials: AWS_TEST_CREDS, roleArnTemplate: 'arn:aws:iam::{account}:role/engineer' });
    return {
      client,
      taskQueue,
      uiBaseUrl,
      slack,
      duo,
      pagerduty,
      moto,
      verdicts,
      deadLetterDir,
      ec2(account, region) {
        const key = `${account}|${region}`;
        let c = ec2Clients.get(key);
        if (!c) {
          c = engineers.clientFor('ec2', account, region, 'prod-test-engineer');
          ec2Clients.set(key, c);
        }
        return c;
      },
      async ingest(records, o = {}) {
        const folder = path.join(opts.dir, `intake-${++batch}`);
        fs.mkdirSync(folder, { recursive: true });
        fs.writeFileSync(path.join(folder, 'records.json'), JSON.stringify({ Records: records }));
        if (o.extraLines?.length) fs.writeFileSync(path.join(folder, 'more.jsonl'), `${o.extraLines.join('\n')}\n`);
        const results: RecordResult[] = [];
        const summary = await ingestFiles(await listDir(folder), pipeline, { onFile: (_n, r) => results.push(...r) });
        return { summary, results };
      },
      dmFor,
      async click(workflowId, actionId) {
        const msg = dmFor(workflowId);
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
        return postClick(interactionsUrl, payload, signingSecret);
      },
      async restartWorker() {
        await stopWorker();
        await startWorker();
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
