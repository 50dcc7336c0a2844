// `npm run demo`: vouch's main job on an embedded default. It starts the official Temporal dev server (Web UI and
// vouch's search attributes), loopback stand-ins for Slack, Duo and PagerDuty (the same ones the tests use; they
// check signatures, tokens and required fields), moto_server for EC2 when it can be installed, the real worker and
// the real Slack interactivity handler. It makes the risky changes for real in moto, turns them into CloudTrail
// records, starts the reviews, answers the Slack buttons with signed clicks and the Duo pushes, and prints a summary.
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
import { loadConfig, workerSchema } from './config';
import { startDevServer, type DevServer } from './dev-server';
import { createHandler } from './handler';
import { prepareReviews } from './review-command';
import { startReview } from './review-starter';
import { buildActivityDeps, createWorker } from './worker';
import { DuoStandIn } from './sandbox/duo';
import { installDuoLoopbackRedirect } from './sandbox/duo-redirect';
import { PagerDutyStandIn } from './sandbox/pagerduty';
import { SlackStandIn } from './sandbox/slack';
import { buildBlockActionsPayload, postClick } from './sandbox/slack-interactions';
import { startMoto, type MotoServer } from './sandbox/moto';
import { resolveMotoServer, PROJECT_ROOT } from './tools/resolve';
import type { ReviewOutcome, Verdict } from '../workflows/types';

export type AutoMode = 'confirm' | 'deny' | 'silent';

interface Scenario {
  record: Record<string, unknown>;
  tier: Verdict['tier'];
  slackUser: { id: string; email: string; name: string };
}

interface Row {
  workflowId: string;
  actor: string;
  tier: string;
  change: string;
  outcome: string;
  reason: string;
  revertedInMoto: string;
}

const SAMPLE = path.join(__dirname, 'fixtures', 'sample-events.json');
const TEAM = 'T0VOUCHDEMO';

function say(msg: string): void {
  process.stdout.write(`[demo] ${msg}\n`);
}

function answerFor(mode: AutoMode | 'mixed', user: string): 'yes' | 'no' | null {
  if (mode === 'silent') return null;
  if (mode === 'deny') return 'no';
  if (mode === 'confirm') return 'yes';
  return user === 'bob' ? 'no' : 'yes';
}

/** Make the change for real in moto and rewrite the record's ids to match, as CloudTrail would have written them. */
async function enactInMoto(ec2: EC2Client, record: Record<string, unknown>): Promise<void> {
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
  const items = ((req.ipPermissions as { items?: Array<Record<string, unknown>> }).items ?? []);
  for (const p of items) {
    const ranges = ((p.ipRanges as { items?: Array<{ cidrIp: string }> }).items ?? []).map((r) => ({ CidrIp: r.cidrIp }));
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
  const set = (record.responseElements as { securityGroupRuleSet: { items: Array<Record<string, unknown>> } }).securityGroupRuleSet;
  set.items.forEach((item, i) => {
    item.groupId = GroupId;
    item.securityGroupRuleId = ruleIds[i] ?? item.securityGroupRuleId;
  });
}

async function ruleGone(ec2: EC2Client, record: Record<string, unknown>): Promise<boolean> {
  const groupId = String((record.requestParameters as Record<string, unknown>).groupId);
  const ids = ((record.responseElements as { securityGroupRuleSet: { items: Array<{ securityGroupRuleId: string }> } })
    .securityGroupRuleSet.items).map((i) => i.securityGroupRuleId);
  const out = await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }] }));
  return !(out.SecurityGroupRules ?? []).some((r) => ids.includes(r.SecurityGroupRuleId ?? ''));
}

function table(rows: Row[]): string {
  const cols: Array<keyof Row> = ['actor', 'tier', 'change', 'outcome', 'revertedInMoto', 'reason'];
  const width = Object.fromEntries(cols.map((c) => [c, Math.min(60, Math.max(c.length, ...rows.map((r) => r[c].length)))]));
  const line = (r: Record<string, string>) => cols.map((c) => (r[c] ?? '').slice(0, 60).padEnd(width[c] ?? 0)).join('  ');
  return [line(Object.fromEntries(cols.map((c) => [c, c]))), ...rows.map((r) => line(r as unknown as Record<string, string>))].join('\n');
}

export async function runDemo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      auto: { type: 'string' },
      deadline: { type: 'string' },
      'no-moto': { type: 'boolean', default: false },
    },
  });
  const auto = values.auto as AutoMode | undefined;
  if (auto !== undefined && !['confirm', 'deny', 'silent'].includes(auto)) {
    throw new Error(`--auto must be confirm, deny or silent, got "${auto}"`);
  }
  const mode: AutoMode | 'mixed' = auto ?? 'mixed';
  const deadlineSeconds = Number(values.deadline ?? (mode === 'silent' ? 20 : 300));
  // Expected activity failures (e.g. an unknown person) are part of the story; keep the console for the story.
  Runtime.install({ logger: new DefaultLogger('ERROR') });

  const cleanups: Array<() => Promise<void> | void> = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  try {
    // ---- Temporal dev server with its Web UI ----
    const dataDir = path.join(PROJECT_ROOT, '.data');
    const server: DevServer = await startDevServer({
      port: 7233,
      uiPort: 8233,
      dbFile: path.join(dataDir, 'temporal.db'),
      log: say,
    });
    cleanups.push(() => server.stop());

    // ---- vendor sandbox: Slack, Duo, PagerDuty stand-ins; moto for AWS ----
    const users = [
      { id: 'U0ALICE001', email: 'alice@example.com', name: 'alice' },
      { id: 'U0BOB00002', email: 'bob@example.com', name: 'bob' },
      { id: 'U0CAROL003', email: 'carol@example.com', name: 'carol' },
      { id: 'U0SECURITY', email: 'security@example.com', name: 'sec-oncall' },
    ];
    const botToken = `xoxb-demo-${randomBytes(8).toString('hex')}`;
    const signingSecret = randomBytes(16).toString('hex');
    const slack = new SlackStandIn({ token: botToken, users, teamId: TEAM });
    const { apiUrl } = await slack.start();
    cleanups.push(() => slack.stop());

    const ikey = `DI${randomBytes(9).toString('hex').toUpperCase()}`;
    const skey = randomBytes(20).toString('hex');
    const duo = new DuoStandIn({
      ikey,
      skey,
      users: users.map((u) => ({ username: u.email, status: 'active' as const, autoAnswer: { answer: 'allow' as const, afterMs: 800 } })),
      longPollMs: 2000,
    });
    const duoAddr = await duo.start();
    cleanups.push(() => duo.stop());
    cleanups.push(installDuoLoopbackRedirect({ host: duoAddr.host, port: duoAddr.port, ca: duoAddr.ca }));

    const routingKey = randomBytes(16).toString('hex');
    const pd = new PagerDutyStandIn({ routingKey });
    const pdAddr = await pd.start();
    cleanups.push(() => pd.stop());

    let moto: MotoServer | null = null;
    if (!values['no-moto'] && resolveMotoServer({ install: true })) {
      moto = await startMoto();
      cleanups.push(() => moto?.stop());
      say(`moto_server (AWS emulator) on ${moto.endpoint}: reverts run for real`);
    } else {
      say('moto_server not available: reverts are reported as dry-run plans');
    }
    const awsCreds = { accessKeyId: 'testing', secretAccessKey: 'testing' };
    process.env.AWS_ACCESS_KEY_ID ??= awsCreds.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY ??= awsCreds.secretAccessKey;

    // ---- worker and handler, with production code paths pointed at the sandbox ----
    const config = loadConfig(workerSchema, {
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'vouch-reviews',
      VOUCH_UI_BASE_URL: server.uiUrl,
      SLACK_BOT_TOKEN: botToken,
      SLACK_API_URL: apiUrl,
      VOUCH_PEOPLE_FILE: path.join(__dirname, 'fixtures', 'demo-people.json'),
      DUO_IKEY: ikey,
      DUO_SKEY: skey,
      DUO_API_HOST: duoAddr.host,
      PAGERDUTY_ROUTING_KEY: routingKey,
      PAGERDUTY_EVENTS_SERVER: pdAddr.server,
      ...(moto ? { AWS_ENDPOINT_URL: moto.endpoint } : {}),
    });
    const deps = buildActivityDeps(config, { pagerdutyAgent: new https.Agent({ ca: pdAddr.ca }) });
    if (!moto) {
      // No emulator: never touch a real account from the demo. Report the plan instead.
      deps.ec2For = () => {
        throw new Error('dry run: no AWS emulator in this demo run');
      };
    }
    say('bundling the review workflow and starting the worker…');
    const { worker, connection: workerConnection } = await createWorker(config, deps);
    const workerRun = worker.run();
    cleanups.push(async () => {
      worker.shutdown();
      await workerRun.catch(() => undefined);
      await workerConnection.close();
    });

    const connection = await Connection.connect({ address: server.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    const handler = createHandler({
      signingSecret,
      temporal: client,
      slack: createSlackClient({ token: botToken, apiUrl }),
      log: () => undefined,
    });
    await new Promise<void>((r) => handler.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => handler.close(() => r())));
    const handlerUrl = `http://127.0.0.1:${(handler.address() as AddressInfo).port}/slack/interactions`;
    say(`Slack interactivity handler on ${handlerUrl}`);

    // ---- the engineer's side: answer DMs with signed button clicks ----
    const clicks: Array<Promise<unknown>> = [];
    slack.on('event', (ev) => {
      if (ev.type !== 'message.posted' || !ev.to) return;
      const user = users.find((u) => u.id === ev.to);
      const blocks = JSON.stringify(ev.message.blocks ?? []);
      if (!user || !blocks.includes(ActionIds.yes)) return;
      const workflowId = /"value":"(vouch-[^"]+)"/.exec(blocks)?.[1];
      const answer = answerFor(mode, user.name);
      say(`Slack DM to ${user.name}: "${ev.message.text.slice(0, 90)}"`);
      if (!workflowId || !answer) return;
      const payload = buildBlockActionsPayload({
        userId: user.id,
        teamId: TEAM,
        workflowId,
        actionId: answer === 'yes' ? ActionIds.yes : ActionIds.no,
        channelId: ev.message.channel,
        messageTs: ev.message.ts,
        userName: user.name,
      });
      clicks.push(
        new Promise((r) => setTimeout(r, 500)).then(async () => {
          const res = await postClick(handlerUrl, payload, signingSecret);
          say(`${user.name} clicked "${answer === 'yes' ? 'Yes, this was me' : "No, this wasn't me"}" → handler ${res.status} in ${res.elapsedMs} ms`);
        }),
      );
    });
    duo.on('event', (ev) => {
      if (ev.type === 'push-sent') say(`Duo push to ${ev.username}`);
      if (ev.type === 'decided') say(`Duo push ${ev.answer} by ${ev.username}`);
    });
    pd.on('event', (ev) => {
      if (ev.kind === 'trigger' && ev.incident) say(`PagerDuty ${ev.incident.severity}: ${ev.incident.summary.slice(0, 100)}`);
      if (ev.kind === 'resolve') say(`PagerDuty resolved ${ev.dedupKey}`);
    });

    // ---- the changes: made for real (moto), recorded as CloudTrail would, reviewed ----
    const doc = JSON.parse(fs.readFileSync(SAMPLE, 'utf8')) as { Records: Array<Record<string, unknown>> };
    const tiers: Verdict['tier'][] = ['confirm', 'page', 'revert'];
    const scenarios: Scenario[] = doc.Records.map((record, i) => ({
      record: { ...structuredClone(record), eventID: randomUUID() },
      tier: tiers[i] ?? 'confirm',
      slackUser: users[i] ?? (users[0] as Scenario['slackUser']),
    }));
    const ec2For = (region: string) =>
      new EC2Client({ region, endpoint: moto?.endpoint, credentials: awsCreds, maxAttempts: 2 });
    const started: Array<{ scenario: Scenario; workflowId: string; result: Promise<ReviewOutcome> }> = [];
    for (const s of scenarios) {
      if (moto) await enactInMoto(ec2For(String(s.record.awsRegion)), s.record);
      const prepared = prepareReviews(
        [{ source: 'demo', text: JSON.stringify(s.record) }],
        { tier: s.tier, deadline: String(deadlineSeconds) },
      );
      if (prepared.errors.length) throw new Error(prepared.errors.join('\n'));
      const review = prepared.reviews[0];
      if (!review) throw new Error('no review prepared');
      const res = await startReview(
        client,
        { ...review.input, securityResponders: ['U0SECURITY'] },
        { taskQueue: config.TEMPORAL_TASK_QUEUE, uiBaseUrl: server.uiUrl },
      );
      say(`review started for ${review.input.change.actor.name} (${s.tier}): ${res.workflowId}`);
      started.push({ scenario: s, workflowId: res.workflowId, result: res.handle.result() });
    }

    const rows: Row[] = [];
    for (const { scenario, workflowId, result } of started) {
      const out = await result;
      const gone = moto ? await ruleGone(ec2For(String(scenario.record.awsRegion)), scenario.record) : false;
      rows.push({
        workflowId,
        actor: scenario.slackUser.name,
        tier: scenario.tier,
        change: String(scenario.record.eventName),
        outcome: out.outcome,
        reason: out.reason,
        revertedInMoto: moto ? (gone ? 'yes' : 'no') : 'dry-run',
      });
    }
    await Promise.allSettled(clicks);
    await handler.settled();

    process.stdout.write(`\n${table(rows)}\n\n`);
    process.stdout.write(
      `Slack DMs: ${slack.messages.length}, Duo pushes: ${duo.transactions().length}, PagerDuty incidents: ` +
        `${new Set(pd.incidents.map((i) => i.dedupKey)).size}\n`,
    );
    process.stdout.write(`Temporal Web UI: ${server.uiUrl}/namespaces/default/workflows\n`);
    process.stdout.write(`  try the query: VouchTier="page" or VouchOutcome="REVERTED"\n`);
    for (const r of rows) process.stdout.write(`  ${r.actor}: ${server.uiUrl}/namespaces/default/workflows/${r.workflowId}\n`);

    if (auto) {
      // Unattended runs check themselves: each scenario must end as the sandbox's answers imply.
      const expected: Record<AutoMode, string[]> = {
        confirm: ['CONFIRMED', 'CONFIRMED', 'REVERTED'],
        deny: ['DENIED', 'DENIED', 'REVERTED'],
        silent: ['TIMED_OUT', 'TIMED_OUT', 'REVERTED'],
      };
      const want = expected[auto];
      const wrong = rows.filter((r, i) => r.outcome !== want[i]);
      const revertsExpected = rows.filter((r) => r.outcome === 'REVERTED' || r.outcome === 'DENIED');
      const notReverted = moto ? revertsExpected.filter((r) => r.revertedInMoto !== 'yes') : [];
      for (const r of wrong) process.stderr.write(`[demo] ${r.actor}: expected ${want[rows.indexOf(r)]}, got ${r.outcome}\n`);
      for (const r of notReverted) process.stderr.write(`[demo] ${r.actor}: the rule is still open in moto\n`);
      say(wrong.length === 0 && notReverted.length === 0 ? 'all outcomes as expected' : 'UNEXPECTED OUTCOMES');
      return wrong.length === 0 && notReverted.length === 0 ? 0 : 1;
    }
    say('everything is still running: open the Web UI above; press Ctrl-C to stop');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    return 0;
  } finally {
    await cleanup();
  }
}
