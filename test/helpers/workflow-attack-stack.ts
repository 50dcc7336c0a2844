// The real path for the workflow-side attack tests (test/attack/workflow-*.test.ts): CloudTrail records through the
// intake pipeline and the shipped policy, reviews on a Temporal dev server, run by the production worker
// (createWorker + buildActivityDeps from src/cli/worker.ts, so the production activities, retry policies and
// interceptors) against the Slack, Duo and PagerDuty stand-ins, and moto for reverts when asked for.
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { EC2Client } from '@aws-sdk/client-ec2';
import { buildActivityDeps, createWorker } from '../../src/cli/worker';
import { loadConfig, workerSchema, type WorkerConfig } from '../../src/cli/config';
import { createMetrics, type VouchMetrics } from '../../src/cli/metrics';
import { FolderDeadLetterStore } from '../../src/intake/dead-letter';
import { policyJudge } from '../../src/intake/judges';
import { IntakePipeline, type RecordResult } from '../../src/intake/pipeline';
import { temporalStarter } from '../../src/intake/starter';
import { loadPolicy } from '../../src/policy';
import { DuoStandIn, type DuoStandInUser } from '../../src/demo/sandbox/duo';
import { installDuoLoopbackRedirect } from '../../src/demo/sandbox/duo-redirect';
import { PagerDutyStandIn } from '../../src/demo/sandbox/pagerduty';
import { SlackStandIn, type SlackChannel, type SlackUser, type StoredMessage } from '../../src/demo/sandbox/slack';
import { startMoto, type MotoServer } from '../../src/demo/sandbox/moto';
import type { DirectoryEntry } from '../../activities/people';
import type { DuoTimeouts } from '../../activities/duo';
import { statusQuery } from '../../workflows/messages';
import type { ReviewStatus } from '../../src/core/types';
import type { reviewChangeWorkflow } from '../../workflows/review-change';
import { eventually, startDevServer } from './temporal';

/** moto's account for plain credentials: records of it can be reverted in moto. */
export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

export interface AttackStackOptions {
  /** The people directory (VOUCH_PEOPLE_FILE), keyed by principal ARN. */
  people: Record<string, DirectoryEntry>;
  slackUsers: SlackUser[];
  duoUsers: DuoStandInUser[];
  /** Security's Slack channel (VOUCH_NOTIFY_CHANNEL). */
  securityChannel?: SlackChannel;
  /** VOUCH_SECURITY_SLACK_USERS. */
  securityResponders?: string[];
  /** Every review's deadline. Default 60 s. */
  deadlineSeconds?: number;
  /** Run moto_server for reverts. */
  moto?: boolean;
  duoTimeouts?: DuoTimeouts;
  /** Extra worker settings (e.g. VOUCH_AUDIT_INTERVAL_SECONDS). */
  env?: Record<string, string>;
}

export interface AttackStack {
  env: TestWorkflowEnvironment;
  client: Client;
  config: WorkerConfig;
  slack: SlackStandIn;
  duo: DuoStandIn;
  pagerduty: PagerDutyStandIn;
  moto: MotoServer | null;
  metrics: VouchMetrics;
  /** An EC2 client on moto (throws without moto). */
  ec2(): EC2Client;
  /** One CloudTrail record through the intake pipeline (the shipped policy); the review it started. */
  ingest(record: Record<string, unknown>): Promise<{ result: RecordResult; handle: WorkflowHandle<typeof reviewChangeWorkflow> }>;
  /** Until the review is in `phase` (for AWAITING_ANSWER: and its DM has been posted, so clicks can be matched). */
  waitPhase(handle: WorkflowHandle, phase: ReviewStatus['phase']): Promise<ReviewStatus>;
  /** The review message DMed for a review (the one whose buttons carry its workflow id). */
  reviewMessage(workflowId: string): StoredMessage | undefined;
  stop(): Promise<void>;
}

const AWS_TEST_CREDS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export async function startAttackStack(opts: AttackStackOptions): Promise<AttackStack> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const stop = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  try {
    const env = await startDevServer();
    cleanups.push(() => env.teardown());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-attack-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));

    const botToken = `xoxb-attack-${randomBytes(6).toString('hex')}`;
    const slack = new SlackStandIn({ token: botToken, users: opts.slackUsers, channels: opts.securityChannel ? [opts.securityChannel] : [] });
    const { apiUrl } = await slack.start();
    cleanups.push(() => slack.stop());

    const ikey = `DI${randomBytes(9).toString('hex').toUpperCase()}`;
    const skey = randomBytes(20).toString('hex');
    const duo = new DuoStandIn({ ikey, skey, users: opts.duoUsers, longPollMs: 500, pushTimeoutMs: 20_000 });
    const duoAddr = await duo.start();
    cleanups.push(() => duo.stop());
    cleanups.push(installDuoLoopbackRedirect({ host: duoAddr.host, port: duoAddr.port, ca: duoAddr.ca }));

    const routingKey = randomBytes(16).toString('hex');
    const pagerduty = new PagerDutyStandIn({ routingKey });
    const pdAddr = await pagerduty.start();
    cleanups.push(() => pagerduty.stop());
    const pdAgent = new https.Agent({ ca: pdAddr.ca });
    cleanups.push(() => pdAgent.destroy());

    let moto: MotoServer | null = null;
    if (opts.moto) {
      moto = await startMoto();
      cleanups.push(() => moto?.stop());
      process.env.AWS_ACCESS_KEY_ID ??= AWS_TEST_CREDS.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY ??= AWS_TEST_CREDS.secretAccessKey;
    }

    const peopleFile = path.join(dir, 'people.json');
    fs.writeFileSync(peopleFile, JSON.stringify(opts.people));
    const taskQueue = `attack-${randomUUID()}`;
    const config = loadConfig(workerSchema, {
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: taskQueue,
      VOUCH_UI_BASE_URL: 'http://127.0.0.1:8233',
      SLACK_BOT_TOKEN: botToken,
      SLACK_API_URL: apiUrl,
      VOUCH_PEOPLE_FILE: peopleFile,
      DUO_IKEY: ikey,
      DUO_SKEY: skey,
      DUO_API_HOST: duoAddr.host,
      PAGERDUTY_ROUTING_KEY: routingKey,
      PAGERDUTY_EVENTS_SERVER: pdAddr.server,
      VOUCH_BASELINE_STORE: path.join(dir, 'baseline'),
      // Never a real AWS account: moto, or no AWS at all (reverts off: a verdict with a plan fails RevertsDisabled and pages).
      ...(moto
        ? { AWS_ENDPOINT_URL: moto.endpoint, VOUCH_REVERT_ROLE_ARN_TEMPLATE: 'arn:aws:iam::{account}:role/vouch-revert' }
        : { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', VOUCH_REVERTS: 'off' }),
      ...opts.env,
    });
    const deps = buildActivityDeps(config, {
      pagerdutyAgent: pdAgent,
      duoPolling: { minRoundMs: 100 },
      ...(opts.duoTimeouts ? { duoTimeouts: opts.duoTimeouts } : {}),
    });
    const metrics = createMetrics({ processMetrics: false });
    const { worker, connection: workerConnection } = await createWorker(config, deps, metrics);
    const running = worker.run();
    cleanups.push(async () => {
      await stopWorker(worker, running, workerConnection);
    });

    const connection = await Connection.connect({ address: env.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    const pipeline = new IntakePipeline({
      judge: policyJudge(loadPolicy(), { deadlineSeconds: opts.deadlineSeconds ?? 60 }),
      starter: temporalStarter(client, { taskQueue, uiBaseUrl: config.VOUCH_UI_BASE_URL }),
      deadLetters: new FolderDeadLetterStore(path.join(dir, 'dead-letter')),
      review: {
        securityResponders: opts.securityResponders ?? [],
        ...(opts.securityChannel ? { notifyChannel: opts.securityChannel.id } : {}),
      },
    });

    let ec2: EC2Client | undefined;
    return {
      env,
      client,
      config,
      slack,
      duo,
      pagerduty,
      moto,
      metrics,
      ec2() {
        if (!moto) throw new Error('this stack runs without moto');
        ec2 ??= new EC2Client({ region: REGION, endpoint: moto.endpoint, credentials: AWS_TEST_CREDS, maxAttempts: 2 });
        return ec2;
      },
      async ingest(record) {
        const result = await pipeline.process({ kind: 'lookup', source: 'attack://test', index: 0, record });
        if (result.status !== 'started' && result.status !== 'existing') throw new Error(`intake did not start a review: ${JSON.stringify(result)}`);
        return { result, handle: client.workflow.getHandle<typeof reviewChangeWorkflow>(result.workflowId) };
      },
      waitPhase(handle, phase) {
        return eventually(async () => {
          const s = await handle.query(statusQuery);
          const posted = phase !== 'AWAITING_ANSWER' || s.timeline.some((t) => t.step === 'slack.posted');
          return s.phase === phase && posted ? s : undefined;
        }, 20_000, `phase ${phase}`);
      },
      reviewMessage(workflowId) {
        return slack.messages.find((m) => JSON.stringify(m.blocks ?? []).includes(workflowId));
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function stopWorker(worker: Worker, running: Promise<void>, connection: NativeConnection): Promise<void> {
  if (worker.getState() === 'RUNNING') worker.shutdown();
  await running.catch(() => undefined);
  await connection.close();
}

/** A CloudTrail management-event record, as CloudTrail writes one, with a fresh eventID. */
export function cloudTrailRecord(r: {
  userIdentity: Record<string, unknown>;
  eventSource: string;
  eventName: string;
  requestParameters: Record<string, unknown> | null;
  responseElements?: Record<string, unknown> | null;
}): Record<string, unknown> {
  const id = randomUUID();
  return {
    eventVersion: '1.09',
    userIdentity: r.userIdentity,
    eventTime: new Date().toISOString(),
    eventSource: r.eventSource,
    eventName: r.eventName,
    awsRegion: REGION,
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-cli/2.17.0',
    requestParameters: r.requestParameters,
    responseElements: r.responseElements ?? null,
    requestID: id,
    eventID: id,
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
  };
}

/** An IAM user of the test account, as CloudTrail's userIdentity names one. */
export function iamUser(name: string): Record<string, unknown> {
  return {
    type: 'IAMUser',
    principalId: `AIDA${name.toUpperCase().padEnd(17, '0').slice(0, 17)}`,
    arn: `arn:aws:iam::${ACCOUNT}:user/${name}`,
    accountId: ACCOUNT,
    userName: name,
    accessKeyId: `AKIA${name.toUpperCase().padEnd(16, '0').slice(0, 16)}`,
  };
}

export function iamUserArn(name: string): string {
  return `arn:aws:iam::${ACCOUNT}:user/${name}`;
}

/** DeleteTrail: the shipped policy pages it (tier page). */
export function deleteTrail(actor: Record<string, unknown>, name = 'management-events'): Record<string, unknown> {
  return cloudTrailRecord({ userIdentity: actor, eventSource: 'cloudtrail.amazonaws.com', eventName: 'DeleteTrail', requestParameters: { name } });
}

/** A security group opened to the world on tcp/80: tier confirm, with a revert plan (revoke the rule). */
export function openSecurityGroup(actor: Record<string, unknown>, groupId = 'sg-0attack000000001', ruleId = 'sgr-0attack00000001'): Record<string, unknown> {
  return cloudTrailRecord({
    userIdentity: actor,
    eventSource: 'ec2.amazonaws.com',
    eventName: 'AuthorizeSecurityGroupIngress',
    requestParameters: {
      groupId,
      ipPermissions: { items: [{ ipProtocol: 'tcp', fromPort: 80, toPort: 80, ipRanges: { items: [{ cidrIp: '0.0.0.0/0' }] } }] },
    },
    responseElements: {
      _return: true,
      securityGroupRuleSet: {
        items: [
          { groupOwnerId: ACCOUNT, groupId, securityGroupRuleId: ruleId, isEgress: false, ipProtocol: 'tcp', fromPort: 80, toPort: 80, cidrIpv4: '0.0.0.0/0' },
        ],
      },
    },
  });
}
