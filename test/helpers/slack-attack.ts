// The real path for the Slack and identity attack tests (test/attack/slack-*.test.ts, identity-*.test.ts): CloudTrail
// records through the intake (IntakePipeline with the default policy's judge and the Temporal starter), the review
// workflow on a Temporal dev server, the production worker (src/cli/worker.ts: createWorker over buildActivityDeps
// from a validated config, people directory file included) and the Slack interactivity handler, against the vendor
// stand-ins (Slack, Duo, PagerDuty with its REST on-call API). Clicks are built from the stored message's own buttons
// and signed as Slack signs them.
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { WebClient } from '@slack/web-api';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import pino from 'pino';
import { createSlackClient } from '../../src/slack/client';
import { loadConfig, workerSchema } from '../../src/cli/config';
import { buildActivityDeps, createWorker } from '../../src/cli/worker';
import { createHandler, type HandlerServer } from '../../src/slack/http-receiver';
import { IntakePipeline, type RecordResult } from '../../src/intake/pipeline';
import { policyJudge } from '../../src/intake/judges';
import { temporalStarter } from '../../src/intake/starter';
import { FolderDeadLetterStore } from '../../src/intake/dead-letter';
import type { DirectoryEntry } from '../../activities/people';
import type { ReviewOutcome, ReviewStatus } from '../../src/core/types';
import { statusQuery } from '../../workflows/messages';
import { DuoStandIn, type DuoStandInUser } from '../../src/demo/sandbox/duo';
import { installDuoLoopbackRedirect } from '../../src/demo/sandbox/duo-redirect';
import { PagerDutyStandIn } from '../../src/demo/sandbox/pagerduty';
import { SlackStandIn, type SlackUser, type StoredMessage } from '../../src/demo/sandbox/slack';
import { buildBlockActionsPayload, postClick, type BlockActionsPayloadJson, type PostClickResult } from '../../src/demo/sandbox/slack-interactions';
import { startDevServer } from './temporal';

export const ACCOUNT = '111122223333';
export const TEAM = 'T0VOUCHATK';
export const NOTIFY_CHANNEL = 'C0SECNOTIFY';
export const SECURITY = 'U0SECURITY';
const ESCALATION_POLICY = 'PSECPOL';

/** The people in the Slack workspace (Duo usernames are their e-mails). mallory is the insider. */
export const USERS: SlackUser[] = [
  { id: 'U0ALICE001', email: 'alice@example.com', name: 'alice' },
  { id: 'U0BOB00002', email: 'bob@example.com', name: 'bob' },
  { id: 'U0CAROL003', email: 'carol@example.com', name: 'carol' },
  { id: 'U0MALLORY4', email: 'mallory@example.com', name: 'mallory' },
  { id: SECURITY, email: 'security@example.com', name: 'sec-oncall' },
];

export interface AttackStackOptions {
  /** The people directory file's content (VOUCH_PEOPLE_FILE). */
  people?: Record<string, DirectoryEntry>;
  /** Duo users (default: every USERS e-mail, active, answering by hand through `duo.decide`). */
  duoUsers?: DuoStandInUser[];
  /** Answer deadline the judge sets on every verdict (seconds). */
  deadlineSeconds?: number;
  /** Notify-tier digest window (VOUCH_NOTIFY_DIGEST_SECONDS); default none: one DM per change. */
  notifyDigestSeconds?: number;
  /** Confirm-tier batch window (VOUCH_CONFIRM_BATCH_SECONDS); default none: one ask per change. */
  confirmBatchSeconds?: number;
}

export interface AttackStack {
  env: TestWorkflowEnvironment;
  client: Client;
  slack: SlackStandIn;
  /** A Web API client with vouch's bot token (to play what the bot posted in the past). */
  bot: WebClient;
  duo: DuoStandIn;
  pagerduty: PagerDutyStandIn;
  /** One CloudTrail record through the intake, as `vouch ingest` feeds it. */
  ingest(record: unknown): Promise<RecordResult>;
  result(workflowId: string): Promise<ReviewOutcome>;
  status(workflowId: string): Promise<ReviewStatus>;
  /** Top-level messages whose buttons carry the review id (the review's DMs with live or spent buttons). */
  reviewMessages(workflowId: string): StoredMessage[];
  /** Every top-level message and thread reply the stand-in holds, with its conversation. */
  allMessages(): StoredMessage[];
  /** The block_actions payload of a click on `message`'s button `actionId` by the DM's person, as Slack builds it. */
  clickPayload(message: StoredMessage, actionId: string | RegExp): BlockActionsPayloadJson;
  /** Signs and posts a payload to the handler, as Slack does. */
  post(payload: BlockActionsPayloadJson): Promise<PostClickResult>;
  /** Every workflow Update the handler sent, in order, as it left for the Temporal server (observed, not altered). */
  sentUpdates: Array<{ workflowId: string; updateName: string; args: unknown[] }>;
  /** Waits until every click in flight has had its Update and its reply. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

function buttonsOf(message: StoredMessage): Array<{ action_id: string; value: string; block_id: string }> {
  const out: Array<{ action_id: string; value: string; block_id: string }> = [];
  for (const block of (message.blocks ?? []) as Array<{ type?: string; block_id?: string; elements?: unknown[] }>) {
    if (block.type !== 'actions') continue;
    for (const el of (block.elements ?? []) as Array<{ action_id?: string; value?: string }>) {
      if (el.action_id) out.push({ action_id: el.action_id, value: el.value ?? '', block_id: block.block_id ?? '' });
    }
  }
  return out;
}

export async function startAttackStack(opts: AttackStackOptions = {}): Promise<AttackStack> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const stop = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve().then(c).catch(() => undefined);
  };
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-attack-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const env = await startDevServer();
    cleanups.push(() => env.teardown());

    const botToken = `xoxb-attack-${randomBytes(8).toString('hex')}`;
    const signingSecret = randomBytes(16).toString('hex');
    const slack = new SlackStandIn({
      token: botToken,
      users: USERS.map((u) => ({ ...u })),
      teamId: TEAM,
      channels: [{ id: NOTIFY_CHANNEL, name: 'security-notify' }],
    });
    const { apiUrl } = await slack.start();
    cleanups.push(() => slack.stop());

    const ikey = `DI${randomBytes(9).toString('hex').toUpperCase()}`;
    const skey = randomBytes(20).toString('hex');
    const duo = new DuoStandIn({
      ikey,
      skey,
      users: opts.duoUsers ?? USERS.map((u) => ({ username: u.email, status: 'active' as const })),
      longPollMs: 1000,
    });
    const duoAddr = await duo.start();
    cleanups.push(() => duo.stop());
    cleanups.push(installDuoLoopbackRedirect({ host: duoAddr.host, port: duoAddr.port, ca: duoAddr.ca }));

    const routingKey = randomBytes(16).toString('hex');
    const restToken = randomBytes(12).toString('hex');
    const pagerduty = new PagerDutyStandIn({ routingKey, restToken });
    pagerduty.addRestUser({ id: 'PSEC001', name: 'Sec On-call', email: 'security@example.com' });
    pagerduty.setOnCall(ESCALATION_POLICY, [{ userId: 'PSEC001', level: 1 }]);
    const pdAddr = await pagerduty.start();
    cleanups.push(() => pagerduty.stop());

    const peopleFile = path.join(dir, 'people.json');
    fs.writeFileSync(peopleFile, JSON.stringify(opts.people ?? {}));
    const taskQueue = `vouch-attack-${randomUUID().slice(0, 8)}`;
    const uiBaseUrl = 'http://127.0.0.1:8233';
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
      PAGERDUTY_API_TOKEN: restToken,
      PAGERDUTY_ESCALATION_POLICY_ID: ESCALATION_POLICY,
      PAGERDUTY_API_SERVER: pdAddr.server,
      VOUCH_BASELINE_STORE: path.join(dir, 'baseline'),
      // This stack has no AWS: reverts are off, so a verdict with a revert plan fails RevertsDisabled and pages.
      VOUCH_REVERTS: 'off',
    });
    const deps = buildActivityDeps(config, { pagerdutyAgent: new https.Agent({ ca: pdAddr.ca }) });
    // No AWS here: a revert is refused before any call (the attacks under test are about who is asked and what Slack shows).
    deps.clientFor = () => {
      throw new Error('no AWS in the Slack attack tests');
    };
    const { worker, connection } = await createWorker(config, deps);
    const running = worker.run();
    cleanups.push(async () => {
      worker.shutdown();
      await running.catch(() => undefined);
      await connection.close().catch(() => undefined);
    });
    // Before the worker stops: end every push still waiting, so no activity holds its Duo long poll open.
    cleanups.push(() => {
      for (const tx of duo.transactions()) {
        if (tx.result === 'waiting' && tx.status !== 'timeout' && tx.status !== 'push_failed') duo.decide(tx.txid, 'deny');
      }
    });

    const client = env.client;
    // The handler's own client, with an interceptor that records each Update it sends (what the click carried).
    const sentUpdates: AttackStack['sentUpdates'] = [];
    const handlerClient = new Client({
      connection: env.connection,
      namespace: 'default',
      interceptors: {
        workflow: [
          {
            startUpdate: (input, next) => {
              sentUpdates.push({ workflowId: input.workflowExecution.workflowId, updateName: input.updateName, args: structuredClone(input.args) });
              return next(input);
            },
          },
        ],
      },
    });
    const bot = createSlackClient({ token: botToken, apiUrl, logger: pino({ level: 'silent' }) });
    const handler: HandlerServer = createHandler({
      signingSecret,
      temporal: handlerClient,
      slack: bot,
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

    const starter = temporalStarter(client, { taskQueue, uiBaseUrl });
    const pipeline = new IntakePipeline({
      judge: policyJudge(undefined, opts.deadlineSeconds !== undefined ? { deadlineSeconds: opts.deadlineSeconds } : {}),
      starter,
      deadLetters: new FolderDeadLetterStore(path.join(dir, 'dead-letter')),
      review: {
        securityResponders: [SECURITY],
        notifyChannel: NOTIFY_CHANNEL,
        ...(opts.notifyDigestSeconds ? { notifyDigestSeconds: opts.notifyDigestSeconds } : {}),
        ...(opts.confirmBatchSeconds ? { confirmBatchSeconds: opts.confirmBatchSeconds } : {}),
      },
    });
    let index = 0;

    const allMessages = (): StoredMessage[] => slack.messages.flatMap((m) => [m, ...m.replies]);

    return {
      env,
      client,
      slack,
      bot,
      duo,
      pagerduty,
      ingest: (record) => pipeline.process({ kind: 'files', source: `attack-${index}.json`, index: index++, record }),
      result: (workflowId) => client.workflow.getHandle(workflowId).result() as Promise<ReviewOutcome>,
      status: (workflowId) => client.workflow.getHandle(workflowId).query(statusQuery),
      reviewMessages: (workflowId) => slack.messages.filter((m) => buttonsOf(m).some((b) => b.value === workflowId) || m.metadata?.event_payload.reviewId === workflowId),
      allMessages,
      clickPayload(message, actionId) {
        const button = buttonsOf(message).find((b) => (typeof actionId === 'string' ? b.action_id === actionId : actionId.test(b.action_id)));
        if (!button) throw new Error(`message ${message.ts} has no button ${String(actionId)}: ${buttonsOf(message).map((b) => b.action_id).join(', ')}`);
        const userId = slack.conversation(message.channel)?.users[0];
        if (!userId) throw new Error(`nobody in ${message.channel}`);
        return buildBlockActionsPayload({
          userId,
          teamId: TEAM,
          workflowId: button.value,
          actionId: button.action_id,
          blockId: button.block_id,
          channelId: message.channel,
          messageTs: message.ts,
          messageText: message.text,
          userName: USERS.find((u) => u.id === userId)?.name ?? 'engineer',
        });
      },
      post: (payload) => postClick(interactionsUrl, payload, signingSecret),
      sentUpdates,
      settled: () => handler.settled(),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---- CloudTrail records ----

export interface RecordSpec {
  eventId: string;
  /** userIdentity as CloudTrail writes it. */
  identity: Record<string, unknown>;
  eventName?: 'AuthorizeSecurityGroupIngress' | 'AuthorizeSecurityGroupEgress';
  groupId?: string;
  port?: number;
  region?: string;
  /** Minutes ago (default 1). */
  ageMinutes?: number;
}

/** A security group opened to 0.0.0.0/0: ingress on `port` (default 443: confirm tier), or all egress (notify tier). */
export function sgRecord(spec: RecordSpec): Record<string, unknown> {
  const eventName = spec.eventName ?? 'AuthorizeSecurityGroupIngress';
  const groupId = spec.groupId ?? 'sg-0a1b2c3d4e5f60001';
  const egress = eventName === 'AuthorizeSecurityGroupEgress';
  const port = spec.port ?? 443;
  const permission = egress
    ? { ipProtocol: '-1', groups: {}, ipRanges: { items: [{ cidrIp: '0.0.0.0/0' }] }, ipv6Ranges: {}, prefixListIds: {} }
    : { ipProtocol: 'tcp', fromPort: port, toPort: port, groups: {}, ipRanges: { items: [{ cidrIp: '0.0.0.0/0' }] }, ipv6Ranges: {}, prefixListIds: {} };
  return {
    eventVersion: '1.10',
    userIdentity: spec.identity,
    eventTime: new Date(Date.now() - (spec.ageMinutes ?? 1) * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'ec2.amazonaws.com',
    eventName,
    awsRegion: spec.region ?? 'eu-west-1',
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-cli/2.17.0',
    requestParameters: { groupId, ipPermissions: { items: [permission] } },
    responseElements: {
      requestId: randomUUID(),
      _return: true,
      securityGroupRuleSet: {
        items: [
          {
            groupOwnerId: ACCOUNT,
            groupId,
            securityGroupRuleId: `sgr-0${spec.eventId.replace(/[^a-f0-9]/g, '').slice(0, 16).padEnd(16, '0')}`,
            isEgress: egress,
            ipProtocol: egress ? '-1' : 'tcp',
            ...(egress ? {} : { fromPort: port, toPort: port }),
            cidrIpv4: '0.0.0.0/0',
          },
        ],
      },
    },
    requestID: randomUUID(),
    eventID: spec.eventId,
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
  };
}

/** userIdentity of a session of `role` named `session` (the name its caller chose), in ACCOUNT. */
export function roleSession(role: string, session: string, extra: Record<string, unknown> = {}, issuerPath = ''): Record<string, unknown> {
  return {
    type: 'AssumedRole',
    principalId: `AROAEXAMPLE${role.length}:${session}`,
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${session}`,
    accountId: ACCOUNT,
    accessKeyId: 'ASIAEXAMPLEKEY000009',
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: `AROAEXAMPLE${role.length}`,
        arn: `arn:aws:iam::${ACCOUNT}:role/${issuerPath}${role}`,
        accountId: ACCOUNT,
        userName: role,
      },
      attributes: { creationDate: new Date().toISOString(), mfaAuthenticated: 'false' },
    },
    ...extra,
  };
}

export const SSO_ROLE = 'AWSReservedSSO_Developer_0123456789abcdef';

/** userIdentity of an IAM Identity Center session of `userName` (Identity Center names the session). */
export function ssoSession(userName: string): Record<string, unknown> {
  return roleSession(SSO_ROLE, userName, {}, 'aws-reserved/sso.amazonaws.com/eu-west-1/');
}

export function iamUser(name: string): Record<string, unknown> {
  return {
    type: 'IAMUser',
    principalId: 'AIDAEXAMPLEUSER00009',
    arn: `arn:aws:iam::${ACCOUNT}:user/${name}`,
    accountId: ACCOUNT,
    accessKeyId: 'AKIAEXAMPLEKEY000009',
    userName: name,
  };
}

/** Polls until `fn` returns a truthy value. */
export async function until<T>(fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
