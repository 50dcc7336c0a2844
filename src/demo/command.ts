// `npm run demo`: vouch on an embedded default. It starts the official Temporal dev server (Web UI and vouch's search
// attributes), loopback stand-ins for Slack, Duo and PagerDuty (the same ones the tests use; they check signatures,
// tokens and required fields), moto_server for EC2 when it can be installed, the real worker, the real Slack
// interactivity handler, and the local vendor sandbox page (src/demo/sandbox/web.ts) that shows the DMs, Duo pushes,
// incidents and reverts live, with working buttons. It makes the risky changes for real in moto, turns them into
// CloudTrail records (the project's fixtures, plus a few risky records from ../shared/data when present), routes them
// through the real intake pipeline and policy (src/intake/pipeline.ts, src/policy; `--tiers fixed` sets the tiers by
// hand instead), and prints the URLs.
//   --auto confirm|deny|silent  answers on its own (signed clicks through the sandbox, Duo allowed by script), prints a
//                               summary table and exits 1 if any review ends otherwise than expected.
//   no --auto                   people answer on the sandbox page; Duo pushes wait for Approve / Deny there; everything
//                               stays up until Ctrl-C.
import fs from 'node:fs';
import path from 'node:path';
import { Runtime } from '@temporalio/worker';
import { ActionIds } from '../slack/blocks';
import { createPeopleDirectory, parsePeopleDirectory } from '../../activities/people';
import { normalise } from '../intake/normalise';
import { prepareReviews } from '../cli/review';
import { untilAborted } from '../cli/lifecycle';
import { createLogger, temporalLogger } from '../cli/log';
import { PROJECT_ROOT } from './tools/resolve';
import { assess, loadPolicy, toVerdict, type Policy } from '../policy';
import { IntakePipeline } from '../intake/pipeline';
import { FolderDeadLetterStore } from '../intake/dead-letter';
import type { ReviewOutcome, Verdict } from '../core/types';
import {
  DEMO_PEOPLE_FILE,
  DEMO_SECURITY_RESPONDERS,
  SHARED_CLOUDTRAIL,
  startDemoStack,
  type AutoMode,
  type DemoStack,
} from './stack';
import {
  confirmVariants,
  enactInMoto,
  expectedOutcomes,
  fixtureScenarios,
  ruleGone,
  sharedScenarios,
  type Scenario,
} from './scenarios';

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

export interface DemoOptions {
  auto?: AutoMode;
  /** Answer deadline in seconds (at least 5); default 20 with --auto silent, else the policy's. */
  deadline?: number;
  tiers: 'policy' | 'fixed';
  policy?: string;
  /** false: no moto_server (reverts are shown as dry-run plans). */
  moto: boolean;
  /** false: leave out the records from ../shared/data. */
  shared: boolean;
}

/**
 * Runs the demo until its reviews end (--auto) or `stop` is aborted (Ctrl-C): 0 when it ran as expected or was
 * stopped while people answered on the sandbox page; 1 when an --auto review ended otherwise than expected; 130 when
 * an --auto run was stopped before its reviews ended.
 */
export async function runDemo(values: DemoOptions, stop: AbortSignal): Promise<number> {
  const auto = values.auto;
  const deadlineOverride = values.deadline ?? (auto === 'silent' ? 20 : undefined);
  const say = (msg: string): void => {
    process.stdout.write(`[demo] ${msg}\n`);
  };
  // The policy first: a mistake in it is reported before anything starts.
  const policy = values.tiers === 'policy' ? loadPolicy(values.policy) : null;
  // Expected activity failures (e.g. an unknown person) are part of the story: the SDK's lines only from errors up
  // (unless VOUCH_LOG_LEVEL asks for more), so the console keeps the story. Signals are the process handler's.
  Runtime.install({ logger: temporalLogger(createLogger({ level: process.env.VOUCH_LOG_LEVEL ?? 'error' })), shutdownSignals: [] });

  const stack = await startDemoStack({
    devServer: { port: 7233, uiPort: 8233, dbFile: path.join(PROJECT_ROOT, '.data', 'temporal.db') },
    moto: values.moto,
    duoAutoAnswer: auto ? 'allow' : null,
    sandboxPort: 8234,
    log: say,
  });
  try {
    if (stop.aborted) {
      say('stopped');
      return 0;
    }
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
      ...(values.shared ? sharedScenarios(SHARED_CLOUDTRAIL, problems) : []),
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
        entry.result = stack.result(routed.workflowId);
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
      await untilAborted(stop);
      say('stopping: the worker finishes its tasks in flight, then everything shuts down');
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
      const out = await Promise.race([result, untilAborted(stop)]);
      if (!out) {
        say('stopped before every review finished');
        return 130;
      }
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
      const want = expectedOutcomes(tier, auto, {
        personKnown,
        moto: stack.moto !== null,
        enacted: scenario.enact,
        hasPlan: routed.verdict.revertPlan !== null,
      });
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
