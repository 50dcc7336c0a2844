// `npm run demo`: vouch on an embedded default. It starts the official Temporal dev server (Web UI and vouch's search
// attributes), loopback stand-ins for Slack, Duo and PagerDuty (the same ones the tests use; they check signatures,
// tokens and required fields), moto_server for EC2 when it can be installed, the real worker, the real Slack
// interactivity handler, and the local vendor sandbox page (src/sandbox/web.ts) that shows the DMs, Duo pushes,
// incidents and reverts live, with working buttons. It makes the risky changes for real in moto, turns them into
// CloudTrail records (the project's fixtures, plus a few risky records from ../shared/data when present), routes them
// through the real intake pipeline and policy (src/intake/pipeline.ts, src/policy; `--tiers fixed` sets the tiers by
// hand instead), and prints the URLs.
//   --auto confirm|deny|silent  answers on its own (signed clicks through the sandbox, Duo allowed by script), prints a
//                               summary table and exits 1 if any review ends otherwise than expected.
//   no --auto                   people answer on the sandbox page; Duo pushes wait for Approve / Deny there; everything
//                               stays up until Ctrl-C.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { randomUUID, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { AddressInfo } from 'node:net';
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  RevokeSecurityGroupEgressCommand,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createSlackClient } from '../activities/slack';
import { ActionIds } from '../activities/slack-blocks';
import { createPeopleDirectory, parsePeopleDirectory } from '../activities/people';
import { loadConfig, workerSchema, type WorkerConfig } from './config';
import { freePort, portFree, startDevServer, type DevServer } from './dev-server';
import { createHandler, type HandlerServer } from './handler';
import { normalise, parseRecords } from './cloudtrail';
import { prepareReviews } from './review-command';
import { startReview, type StartResult } from './review-starter';
import { buildActivityDeps, createWorker } from './worker';
import { DuoStandIn, type DuoAutoAnswer } from './sandbox/duo';
import { installDuoLoopbackRedirect } from './sandbox/duo-redirect';
import { PagerDutyStandIn } from './sandbox/pagerduty';
import { SlackStandIn, type SlackUser } from './sandbox/slack';
import { startMoto, type MotoServer } from './sandbox/moto';
import { SandboxWeb } from './sandbox/web';
import { resolveMotoServer, PROJECT_ROOT } from './tools/resolve';
import { assess, loadPolicy, toVerdict, type Policy } from './policy';
import { IntakePipeline } from './intake/pipeline';
import { FolderDeadLetterStore } from './intake/dead-letter';
import type { Outcome, ReviewInput, ReviewOutcome, Verdict } from '../workflows/types';

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
  stop(): Promise<void>;
}

export async function startDemoStack(opts: DemoStackOptions = {}): Promise<DemoStack> {
  const log = opts.log ?? (() => undefined);
  const cleanups: Array<() => Promise<void> | void> = [];
  const stop = async (): Promise<void> => {
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
    });
    const deps = buildActivityDeps(config, { pagerdutyAgent: new https.Agent({ ca: pdAddr.ca }) });
    if (!moto) {
      // No emulator: never touch a real account from the demo. The revert fails as forbidden; the page shows the plan.
      deps.ec2For = () => {
        throw new Error('dry run: no AWS emulator in this demo run');
      };
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
      slack: createSlackClient({ token: botToken, apiUrl }),
      log: () => undefined,
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
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---- changes made for real in moto ----

const SG_EVENTS = new Set(['AuthorizeSecurityGroupIngress', 'AuthorizeSecurityGroupEgress']);

/** Make a security-group change for real in moto and rewrite the record's ids to match, as CloudTrail would. */
export async function enactInMoto(ec2: EC2Client, record: Record<string, unknown>): Promise<void> {
  const req = record.requestParameters as Record<string, unknown>;
  const egress = record.eventName === 'AuthorizeSecurityGroupEgress';
  const { GroupId } = await ec2.send(
    new CreateSecurityGroupCommand({ GroupName: `vouch-demo-${randomUUID().slice(0, 8)}`, Description: 'vouch demo' }),
  );
  if (!GroupId) throw new Error('moto created no security group');
  const perms: IpPermission[] = [];
  if (typeof req.cidrIp === 'string') {
    perms.push({
      IpProtocol: String(req.ipProtocol),
      FromPort: Number(req.fromPort),
      ToPort: Number(req.toPort),
      IpRanges: [{ CidrIp: req.cidrIp }],
    });
  }
  const items = (req.ipPermissions as { items?: Array<Record<string, unknown>> } | undefined)?.items ?? [];
  for (const p of items) {
    const ranges = ((p.ipRanges as { items?: Array<{ cidrIp: string }> } | undefined)?.items ?? []).map((r) => ({ CidrIp: r.cidrIp }));
    perms.push({
      IpProtocol: String(p.ipProtocol),
      ...(p.fromPort !== undefined ? { FromPort: Number(p.fromPort), ToPort: Number(p.toPort) } : {}),
      IpRanges: ranges,
    });
  }
  let ruleIds: string[];
  if (egress) {
    // A new group allows all egress; remove that first so the engineer's change is a real change.
    await ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
    const out = await ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId, IpPermissions: perms }));
    ruleIds = (out.SecurityGroupRules ?? []).map((r) => r.SecurityGroupRuleId ?? '');
  } else {
    const out = await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId, IpPermissions: perms }));
    ruleIds = (out.SecurityGroupRules ?? []).map((r) => r.SecurityGroupRuleId ?? '');
  }
  req.groupId = GroupId;
  const set = (record.responseElements as { securityGroupRuleSet?: { items: Array<Record<string, unknown>> } } | null)
    ?.securityGroupRuleSet;
  set?.items.forEach((item, i) => {
    item.groupId = GroupId;
    item.securityGroupRuleId = ruleIds[i] ?? item.securityGroupRuleId;
  });
}

/** Are the rules the record added gone from moto? */
export async function ruleGone(ec2: EC2Client, record: Record<string, unknown>): Promise<boolean> {
  const groupId = String((record.requestParameters as Record<string, unknown>).groupId);
  const ids = ((record.responseElements as { securityGroupRuleSet: { items: Array<{ securityGroupRuleId: string }> } })
    .securityGroupRuleSet.items).map((i) => i.securityGroupRuleId);
  const out = await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }] }));
  return !(out.SecurityGroupRules ?? []).some((r) => ids.includes(r.SecurityGroupRuleId ?? ''));
}

// ---- sample records ----

export interface Scenario {
  /** File the record comes from (relative to the repo for ../shared), and its index there. */
  source: string;
  index: number;
  /** What the demo changed in the record, if anything (fresh eventID aside). */
  note?: string;
  record: Record<string, unknown>;
  /** The tier used with --tiers fixed (before the policy engine existed). */
  fixedTier: Verdict['tier'];
  /** Make the change in moto first (the fixtures' security-group changes). */
  enact: boolean;
}

function readFixtures(): Array<Record<string, unknown>> {
  return (JSON.parse(fs.readFileSync(SAMPLE_EVENTS, 'utf8')) as { Records: Array<Record<string, unknown>> }).Records;
}

/** The project's own fixtures (alice, bob, carol), each with a fresh eventID. */
export function fixtureScenarios(): Scenario[] {
  const tiers: Verdict['tier'][] = ['confirm', 'page', 'revert'];
  return readFixtures().map((record, i) => ({
    source: path.relative(PROJECT_ROOT, SAMPLE_EVENTS),
    index: i,
    record: { ...structuredClone(record), eventID: randomUUID() },
    fixedTier: tiers[i] ?? 'confirm',
    enact: SG_EVENTS.has(String(record.eventName)),
  }));
}

/** A security-group record with its port(s) set to `port`, in the request (flat or nested) and the response. */
export function withPort(record: Record<string, unknown>, port: number): Record<string, unknown> {
  const r = structuredClone(record);
  const req = r.requestParameters as Record<string, unknown>;
  if (req.fromPort !== undefined) {
    req.fromPort = port;
    req.toPort = port;
  }
  for (const p of (req.ipPermissions as { items?: Array<Record<string, unknown>> } | undefined)?.items ?? []) {
    p.fromPort = port;
    p.toPort = port;
  }
  const set = (r.responseElements as { securityGroupRuleSet?: { items: Array<Record<string, unknown>> } } | null)?.securityGroupRuleSet;
  for (const item of set?.items ?? []) {
    item.fromPort = port;
    item.toPort = port;
  }
  return r;
}

/**
 * Under the policy, the fixtures' SSH / RDP openings are reverted at once and carol's egress change is a notice, so
 * nobody would be asked: alice and bob also open a web port (443, 8080), which the policy asks them about (confirm).
 */
export function confirmVariants(): Scenario[] {
  const [alice, bob] = readFixtures();
  const out: Scenario[] = [];
  for (const [index, record, port] of [[0, alice, 443], [1, bob, 8080]] as const) {
    if (!record) continue;
    out.push({
      source: path.relative(PROJECT_ROOT, SAMPLE_EVENTS),
      index,
      note: `port ${port}`,
      record: { ...withPort(record, port), eventID: randomUUID() },
      fixedTier: 'confirm',
      enact: true,
    });
  }
  return out;
}

/**
 * Risky records from ../shared/data (Stratus Red Team detonations), when that folder exists, kept as they are: their
 * actor has nobody to ask, and their accounts and (anonymised) regions are not in moto, so a revert cannot reach them.
 */
const SHARED_PICKS: Array<{ file: string; eventName: string }> = [
  { file: 'aws.defense-evasion.cloudtrail-stop.json', eventName: 'StopLogging' },
  { file: 'aws.persistence.iam-create-admin-user.json', eventName: 'AttachUserPolicy' },
];

export function sharedScenarios(dir: string = SHARED_CLOUDTRAIL, problems: string[] = []): Scenario[] {
  const stratus = path.join(dir, 'stratus-detonations');
  if (!fs.existsSync(stratus)) return [];
  const out: Scenario[] = [];
  for (const pick of SHARED_PICKS) {
    const file = path.join(stratus, pick.file);
    const source = path.relative(PROJECT_ROOT, file);
    try {
      const records = parseRecords(fs.readFileSync(file, 'utf8'), source);
      const index = records.findIndex((r) => (r as { eventName?: unknown } | null)?.eventName === pick.eventName);
      if (index < 0) throw new Error(`no ${pick.eventName} record`);
      const record = records[index] as Record<string, unknown>;
      out.push({ source, index, record: { ...structuredClone(record), eventID: randomUUID() }, fixedTier: 'page', enact: false });
    } catch (err) {
      problems.push(`${source}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** The outcomes a review may end with under an --auto mode (the demo's self-check). */
export function expectedOutcomes(
  tier: Verdict['tier'],
  mode: AutoMode,
  opts: { personKnown: boolean; moto: boolean; enacted: boolean },
): Outcome[] {
  if (tier === 'revert') {
    if (!opts.moto) return ['REVERT_FAILED'];
    // A change the demo did not make in moto (a record from ../shared) may be found already gone, or not revertable.
    return opts.enacted ? ['REVERTED'] : ['REVERTED', 'REVERT_FAILED'];
  }
  if (tier === 'notify') return ['NOTIFIED'];
  if (!opts.personKnown) return ['ESCALATED'];
  return [mode === 'confirm' ? 'CONFIRMED' : mode === 'deny' ? 'DENIED' : 'TIMED_OUT'];
}

// ---- routing: the real intake pipeline and policy, or fixed tiers ----

type Routed =
  | { status: 'started' | 'existing'; workflowId: string; verdict: Verdict }
  | { status: 'ignored' }
  | { status: 'dead-lettered'; reason: string; location: string };

type Router = (s: Scenario) => Promise<Routed>;

/** Records through the intake pipeline (normalise → policy → start; bad input to the dead-letter folder). */
function policyRouter(stack: DemoStack, policy: Policy, deadLetterDir: string, deadlineSeconds: number | undefined): Router {
  const verdicts = new Map<string, Verdict>();
  const pipeline = new IntakePipeline({
    judge: (change) => {
      const v = toVerdict(assess(change, policy));
      return v && deadlineSeconds !== undefined ? { ...v, deadlineSeconds } : v;
    },
    starter: async (input) => {
      const res = await stack.start(input);
      verdicts.set(res.workflowId, input.verdict);
      return { workflowId: res.workflowId, status: res.status };
    },
    deadLetters: new FolderDeadLetterStore(deadLetterDir),
    review: { securityResponders: DEMO_SECURITY_RESPONDERS },
  });
  return async (s) => {
    const result = await pipeline.process({ kind: 'files', source: s.source, index: s.index, record: s.record });
    if (result.status === 'ignored' || result.status === 'dead-lettered') return result;
    const verdict = verdicts.get(result.workflowId);
    if (!verdict) throw new Error(`no verdict recorded for ${result.workflowId}`);
    return { status: result.status, workflowId: result.workflowId, verdict };
  };
}

/** `--tiers fixed`: the tier set per record by the demo (as `vouch review --tier` does). */
function fixedRouter(stack: DemoStack, deadlineSeconds: number): Router {
  return async (s) => {
    const prepared = prepareReviews([{ source: s.source, text: JSON.stringify(s.record) }], {
      tier: s.fixedTier,
      deadline: String(deadlineSeconds),
    });
    const review = prepared.reviews[0];
    if (prepared.errors.length || !review) return { status: 'dead-lettered', reason: prepared.errors.join('; '), location: '-' };
    const res = await stack.start(review.input);
    return { status: res.status, workflowId: res.workflowId, verdict: review.input.verdict };
  };
}

// ---- the demo command ----

interface Row {
  workflowId: string;
  actor: string;
  tier: string;
  change: string;
  outcome: string;
  revertedInMoto: string;
  rules: string;
  reason: string;
}

function table(rows: Row[]): string {
  const cols: Array<keyof Row> = ['actor', 'tier', 'change', 'outcome', 'revertedInMoto', 'rules', 'reason'];
  const width = Object.fromEntries(cols.map((c) => [c, Math.min(60, Math.max(c.length, ...rows.map((r) => r[c].length)))]));
  const line = (r: Record<string, string>) => cols.map((c) => (r[c] ?? '').slice(0, 60).padEnd(width[c] ?? 0)).join('  ').trimEnd();
  return [line(Object.fromEntries(cols.map((c) => [c, c]))), ...rows.map((r) => line(r as unknown as Record<string, string>))].join('\n');
}

export async function runDemo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      auto: { type: 'string' },
      deadline: { type: 'string' },
      tiers: { type: 'string', default: 'policy' },
      policy: { type: 'string' },
      'no-moto': { type: 'boolean', default: false },
      'no-shared': { type: 'boolean', default: false },
    },
  });
  const auto = values.auto as AutoMode | undefined;
  if (auto !== undefined && !['confirm', 'deny', 'silent'].includes(auto)) {
    throw new Error(`--auto must be confirm, deny or silent, got "${auto}"`);
  }
  if (values.tiers !== 'policy' && values.tiers !== 'fixed') throw new Error(`--tiers must be policy or fixed, got "${values.tiers}"`);
  const deadlineOverride = values.deadline !== undefined ? Number(values.deadline) : auto === 'silent' ? 20 : undefined;
  if (deadlineOverride !== undefined && (!Number.isInteger(deadlineOverride) || deadlineOverride < 5)) {
    throw new Error(`--deadline must be a whole number of seconds (at least 5), got "${values.deadline}"`);
  }
  const say = (msg: string): void => {
    process.stdout.write(`[demo] ${msg}\n`);
  };
  // The policy first: a mistake in it is reported before anything starts.
  const policy = values.tiers === 'policy' ? loadPolicy(values.policy) : null;
  // Expected activity failures (e.g. an unknown person) are part of the story; keep the console for the story.
  Runtime.install({ logger: new DefaultLogger('ERROR') });

  const stack = await startDemoStack({
    devServer: { port: 7233, uiPort: 8233, dbFile: path.join(PROJECT_ROOT, '.data', 'temporal.db') },
    moto: !values['no-moto'],
    duoAutoAnswer: auto ? 'allow' : null,
    sandboxPort: 8234,
    log: say,
  });
  try {
    const listUrl = `${stack.uiBaseUrl.replace(/\/+$/, '')}/namespaces/${stack.namespace}/workflows`;
    say(`sandbox (Slack DMs, Duo pushes, PagerDuty incidents, reverts): ${stack.sandboxUrl}`);
    say(`Temporal Web UI: ${listUrl}`);

    // ---- progress, and the engineer's side under --auto ----
    const clicks: Array<Promise<unknown>> = [];
    stack.slack.on('event', (ev) => {
      if (ev.type !== 'message.posted' || !ev.to || ev.message.threadTs) return;
      const user = stack.users.find((u) => u.id === ev.to);
      const name = user?.name ?? ev.to;
      const asks = JSON.stringify(ev.message.blocks ?? []).includes(ActionIds.yes);
      say(`Slack DM to ${name}: "${ev.message.text.slice(0, 90)}"`);
      if (!asks || !auto || auto === 'silent') return;
      const actionId = auto === 'confirm' ? ActionIds.yes : ActionIds.no;
      clicks.push(
        new Promise((r) => setTimeout(r, 500)).then(async () => {
          const click = await stack.web.clickButton({ channel: ev.message.channel, ts: ev.message.ts, actionId });
          say(`${name} clicked "${click.label}" → handler ${click.status} in ${click.elapsedMs} ms${click.error ? ` (${click.error})` : ''}`);
        }),
      );
    });
    stack.duo.on('event', (ev) => {
      if (ev.type === 'push-sent') say(`Duo push to ${ev.username}${auto ? '' : ` — answer it on ${stack.sandboxUrl}`}`);
      if (ev.type === 'decided') say(`Duo push ${ev.answer} by ${ev.username}`);
      if (ev.type === 'expired') say(`Duo push to ${ev.username} expired`);
    });
    stack.pagerduty.on('event', (ev) => {
      if (ev.kind === 'trigger' && ev.incident) say(`PagerDuty ${ev.incident.severity}: ${ev.incident.summary.slice(0, 100)}`);
      if (ev.kind === 'resolve') say(`PagerDuty resolved ${ev.dedupKey}`);
    });

    // ---- the sample records: made for real in moto where they can be, then routed ----
    const problems: string[] = [];
    const scenarios = [
      ...fixtureScenarios(),
      ...(policy ? confirmVariants() : []),
      ...(values['no-shared'] ? [] : sharedScenarios(SHARED_CLOUDTRAIL, problems)),
    ];
    for (const p of problems) say(`skipped a record from ../shared/data: ${p}`);
    const deadLetterDir = path.join(PROJECT_ROOT, '.data', 'dead-letter');
    const route = policy
      ? policyRouter(stack, policy, deadLetterDir, deadlineOverride)
      : fixedRouter(stack, deadlineOverride ?? (auto ? 300 : 900));
    say(policy ? `tiers from the policy (${policy.source}) through the intake pipeline` : 'tiers fixed per record (--tiers fixed)');
    const people = createPeopleDirectory(parsePeopleDirectory(fs.readFileSync(DEMO_PEOPLE_FILE, 'utf8'), DEMO_PEOPLE_FILE));

    interface Started {
      scenario: Scenario;
      actor: string;
      personKnown: boolean;
      routed: Routed;
      result?: Promise<ReviewOutcome>;
    }
    const started: Started[] = [];
    for (const s of scenarios) {
      const ec2 = stack.ec2(String(s.record.awsRegion));
      const enacted = s.enact && ec2 !== null;
      if (enacted && ec2) await enactInMoto(ec2, s.record);
      let actor = '?';
      let personKnown = false;
      try {
        const change = normalise(s.record, s.source, s.index);
        const entry = people.lookup(change.actor);
        personKnown = Boolean(entry && stack.users.some((u) => u.email === entry.email));
        actor = stack.users.find((u) => u.email === entry?.email)?.name ?? change.actor.name;
      } catch {
        // the router reports it (dead letter)
      }
      const what = `${s.source}#${s.index}${s.note ? ` (${s.note})` : ''}`;
      const routed = await route(s);
      const entry: Started = { scenario: { ...s, enact: enacted }, actor, personKnown, routed };
      if (routed.status === 'ignored') say(`${what}: ignored by the policy`);
      else if (routed.status === 'dead-lettered') say(`${what}: dead-lettered (${routed.reason}) → ${routed.location}`);
      else {
        const v = routed.verdict;
        say(`review ${routed.status} for ${actor}: ${v.tier} (${v.rules.join(', ') || 'no rule'}, score ${v.score}) ← ${what}: ${routed.workflowId}`);
        entry.result = stack.client.workflow.getHandle(routed.workflowId).result() as Promise<ReviewOutcome>;
        entry.result.then(
          (o) => say(`${actor}: ${o.outcome} (${o.reason})`),
          () => undefined,
        );
      }
      started.push(entry);
    }

    if (!auto) {
      say(`open ${stack.sandboxUrl} to answer as the engineers (Slack buttons, Duo Approve / Deny)`);
      say(`and ${listUrl} to inspect the reviews; press Ctrl-C to stop`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      return 0;
    }

    const rows: Row[] = [];
    const wrong: string[] = [];
    for (const { scenario, actor, personKnown, routed, result } of started) {
      const change = String(scenario.record.eventName);
      if (routed.status === 'ignored' || routed.status === 'dead-lettered' || !result) {
        rows.push({ workflowId: '-', actor, tier: routed.status === 'ignored' ? 'ignore' : '-', change, outcome: routed.status, revertedInMoto: '-', rules: '', reason: routed.status === 'dead-lettered' ? routed.reason : '' });
        if (routed.status === 'dead-lettered') wrong.push(`${actor}: ${scenario.source}#${scenario.index} was dead-lettered`);
        continue;
      }
      const out = await result;
      const ec2 = stack.ec2(String(scenario.record.awsRegion));
      const gone = scenario.enact && ec2 ? await ruleGone(ec2, scenario.record) : false;
      const tier = routed.verdict.tier;
      rows.push({
        workflowId: routed.workflowId,
        actor,
        tier,
        change,
        outcome: out.outcome,
        revertedInMoto: scenario.enact ? (gone ? 'yes' : 'no') : stack.moto ? '-' : 'dry-run',
        rules: routed.verdict.rules.join(','),
        reason: out.reason,
      });
      const want = expectedOutcomes(tier, auto, { personKnown, moto: stack.moto !== null, enacted: scenario.enact });
      if (!want.includes(out.outcome)) wrong.push(`${actor} (${change}): expected ${want.join(' or ')}, got ${out.outcome}`);
      // Denied and reverted changes carry a plan: the rule must be gone from moto, whatever the workflow reported.
      if (scenario.enact && (out.outcome === 'REVERTED' || out.outcome === 'DENIED') && routed.verdict.revertPlan && !gone) {
        wrong.push(`${actor} (${change}): the rule is still open in moto`);
      }
    }
    await Promise.allSettled(clicks);
    await stack.handler.settled();

    process.stdout.write(`\n${table(rows)}\n\n`);
    process.stdout.write(
      `Slack DMs: ${stack.slack.messages.length}, Duo pushes: ${stack.duo.transactions().length}, PagerDuty incidents: ` +
        `${new Set(stack.pagerduty.incidents.map((i) => i.dedupKey)).size}\n`,
    );
    process.stdout.write(`Temporal Web UI: ${listUrl}\n`);
    process.stdout.write(`  try the query: VouchTier="revert" or VouchOutcome="DENIED"\n`);
    for (const r of rows) if (r.workflowId !== '-') process.stdout.write(`  ${r.actor}: ${listUrl}/${r.workflowId}\n`);
    for (const w of wrong) process.stderr.write(`[demo] ${w}\n`);
    say(wrong.length === 0 ? 'all outcomes as expected' : 'UNEXPECTED OUTCOMES');
    return wrong.length === 0 ? 0 : 1;
  } finally {
    await stack.stop();
  }
}
