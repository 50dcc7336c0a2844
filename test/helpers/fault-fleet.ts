// A fleet of reviews for the process-fault tests: each made for a known outcome, brought to a known step (its DM
// sent; its Duo push waiting on the phone; its revert's reply held at the AWS proxy after moto made the change; its
// DM's reply held after Slack stored it), then a fault, then driven to the end the way people would (signed clicks
// through `vouch handler`, Duo pushes approved on the stand-in), and checked on the vendors' side: one Slack thread
// per review, the PagerDuty incidents it should have and no more, at most one revert call that changed something.
import fs from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import type { WorkflowHandle } from '@temporalio/client';
import type { Outcome, ReviewOutcome } from '../../src/core/types';
import { reviewWorkflowId, statusQuery } from '../../workflows/messages';
import { engineer, openedToWorld, openInMoto, PEOPLE, rulePresent, userDataReplaced, type PersonName, type Rec, type SgChange } from './fault-records';
import { MOTO_ACCOUNT, REGION, type FaultStack } from './fault-stack';
import { exitWithin } from './vouch-processes';

/**
 * confirm: DM sent → "yes" → Duo allow → CONFIRMED.      deny: DM sent → "no" → DENIED, paged, reverted.
 * duo: "yes" given, push waiting → allow → CONFIRMED.      page: paged at once, DM sent → "no" → DENIED.
 * revert: revert tier, the revoke's reply held → REVERTED, paged (info).
 * dmLost: DM stored by Slack, its reply held (lost if the worker dies) → "yes" → Duo allow → CONFIRMED.
 */
export type Kind = 'confirm' | 'deny' | 'duo' | 'page' | 'revert' | 'dmLost';

const EXPECT: Record<Kind, { outcome: Outcome; incidents: number; revoked: number; rulePresent: boolean | null; click: 'vouch_yes' | 'vouch_no' | null }> = {
  confirm: { outcome: 'CONFIRMED', incidents: 0, revoked: 0, rulePresent: true, click: 'vouch_yes' },
  deny: { outcome: 'DENIED', incidents: 1, revoked: 1, rulePresent: false, click: 'vouch_no' },
  duo: { outcome: 'CONFIRMED', incidents: 0, revoked: 0, rulePresent: true, click: 'vouch_yes' },
  page: { outcome: 'DENIED', incidents: 1, revoked: 0, rulePresent: null, click: 'vouch_no' },
  revert: { outcome: 'REVERTED', incidents: 1, revoked: 1, rulePresent: false, click: null },
  dmLost: { outcome: 'CONFIRMED', incidents: 0, revoked: 0, rulePresent: true, click: 'vouch_yes' },
};

export interface FleetReview {
  i: number;
  kind: Kind;
  person: PersonName;
  record: Rec;
  workflowId: string;
  sg?: SgChange;
  handle: WorkflowHandle;
  result?: ReviewOutcome;
  error?: string;
  lastClick: number;
}

export interface Fleet {
  name: string;
  reviews: FleetReview[];
  /** Groups whose revoke replies the proxy holds; DMs whose replies Slack holds (by workflow id). */
  holdRevokes: Set<string>;
  holdDms: Set<string>;
}

export type FleetCounts = Partial<Record<Kind, number>>;

/** Builds the records (enacting the security-group changes in moto) and installs the holds on the stand-ins. */
export async function prepareFleet(
  stack: FaultStack,
  name: string,
  counts: FleetCounts,
  opts: { personOf?: (kind: Kind, nth: number) => PersonName } = {},
): Promise<Fleet> {
  const kinds = (Object.entries(counts) as Array<[Kind, number]>).flatMap(([k, n]) => Array.from({ length: n }, () => k));
  // Interleave kinds so each step is spread over the whole run.
  kinds.sort((a, b) => (a < b ? -1 : 1));
  const order = kinds.map((k, i) => ({ k, key: (i * 7919) % kinds.length })).sort((a, b) => a.key - b.key).map((x) => x.k);
  const limit = pLimit(6);
  const nth = new Map<Kind, number>();
  const persons = order.map((kind, i) => {
    const n = nth.get(kind) ?? 0;
    nth.set(kind, n + 1);
    return opts.personOf?.(kind, n) ?? (PEOPLE[i % PEOPLE.length] as PersonName);
  });
  const reviews = await Promise.all(
    order.map((kind, i) =>
      limit(async (): Promise<FleetReview> => {
        const person = persons[i] as PersonName;
        const actor = engineer(person, MOTO_ACCOUNT);
        let record: Rec;
        let sg: SgChange | undefined;
        if (kind === 'page') {
          record = userDataReplaced({ account: MOTO_ACCOUNT, region: REGION, actor });
        } else {
          sg = await openInMoto(stack.ec2, kind === 'revert' ? 22 : 443);
          record = openedToWorld({ account: MOTO_ACCOUNT, region: REGION, actor, sg });
        }
        const workflowId = reviewWorkflowId(MOTO_ACCOUNT, String(record.eventID));
        return { i, kind, person, record, workflowId, ...(sg ? { sg } : {}), handle: stack.client.workflow.getHandle(workflowId), lastClick: 0 };
      }),
    ),
  );
  const fleet: Fleet = { name, reviews, holdRevokes: new Set(), holdDms: new Set() };
  for (const r of reviews) {
    if (r.kind === 'revert' && r.sg) fleet.holdRevokes.add(r.sg.groupId);
    if (r.kind === 'dmLost') fleet.holdDms.add(r.workflowId);
  }
  stack.aws.faultHook = (call) =>
    call.action === 'RevokeSecurityGroupIngress' && fleet.holdRevokes.has(call.params.get('GroupId') ?? '') ? { holdReply: true } : undefined;
  stack.slack.faultHook = (call) => {
    if (call.method !== 'chat.postMessage' || call.params.thread_ts) return undefined;
    const id = [...fleet.holdDms].find((w) => (call.params.blocks ?? '').includes(w));
    return id ? { replyAfterMs: 10 * 60_000 } : undefined;
  };
  return fleet;
}

/** Stops holding anything new (held replies stay held until released or their caller is gone). */
export function liftHolds(stack: FaultStack, fleet: Fleet): void {
  fleet.holdRevokes.clear();
  fleet.holdDms.clear();
  stack.aws.faultHook = undefined;
  stack.slack.faultHook = undefined;
}

/** `vouch ingest --from DIR` over the fleet's records (one CloudTrail file), onto the worker's queue. */
export async function ingestFleet(stack: FaultStack, fleet: Fleet): Promise<void> {
  const dir = path.join(stack.dir, `fleet-${fleet.name}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'records.json'), JSON.stringify({ Records: fleet.reviews.map((r) => r.record) }));
  const p = stack.vouch(`ingest-${fleet.name}`, ['ingest', '--from', dir, '--no-progress', '--concurrency', '16']);
  const code = await exitWithin(p, 180_000);
  if (code !== 0) throw new Error(`vouch ingest exited ${code}:\n${p.stdout()}\n${p.stderr().slice(-3000)}`);
  const summary = JSON.parse(p.stdout().trim().split('\n').pop() ?? '{}') as { started?: number };
  if (summary.started !== fleet.reviews.length) throw new Error(`vouch ingest started ${summary.started} of ${fleet.reviews.length} reviews: ${p.stdout()}`);
}

function pushesFor(stack: FaultStack, workflowId: string) {
  return stack.duo.transactions().filter((t) => t.pushinfo.review === workflowId);
}

function heldRevoke(stack: FaultStack, r: FleetReview): boolean {
  return stack.aws.held().some((h) => h.action === 'RevokeSecurityGroupIngress' && h.params.get('GroupId') === r.sg?.groupId);
}

/** Waits (bounded) until every review is at its step; clicks "yes" for the `duo` kind on the way. */
export async function stageFleet(stack: FaultStack, fleet: Fleet, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const limit = pLimit(8);
  const clicked = new Set<string>();
  for (;;) {
    const waiting: string[] = [];
    const clicks: Array<Promise<unknown>> = [];
    for (const r of fleet.reviews) {
      const dm = stack.dmsFor(r.workflowId)[0];
      if (r.kind === 'revert') {
        if (!heldRevoke(stack, r)) waiting.push(`${r.kind}#${r.i}: revoke not yet held`);
      } else if (!dm) {
        waiting.push(`${r.kind}#${r.i}: no DM`);
      } else if (r.kind === 'duo') {
        if (!pushesFor(stack, r.workflowId).some((t) => t.result === 'waiting' && t.status !== 'timeout')) {
          waiting.push(`${r.kind}#${r.i}: no push waiting`);
          if (!clicked.has(r.workflowId) || Date.now() - r.lastClick > 8_000) {
            clicked.add(r.workflowId);
            r.lastClick = Date.now();
            clicks.push(limit(() => stack.click(r.workflowId, 'vouch_yes').catch(() => undefined)));
          }
        }
      }
    }
    await Promise.all(clicks);
    if (waiting.length === 0) return;
    if (Date.now() > deadline) throw new Error(`fleet ${fleet.name}: ${waiting.length} reviews not at their step within ${timeoutMs} ms: ${waiting.slice(0, 10).join('; ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function actionIds(blocks: unknown[] | undefined): Set<string> {
  const ids = new Set<string>();
  for (const m of JSON.stringify(blocks ?? []).matchAll(/"action_id":"([^"]+)"/g)) ids.add(m[1] as string);
  return ids;
}

/**
 * Plays the people until stopped: answers each DM as the review's kind says, approves every Duo push of the fleet
 * on the phone, and asks for another push when one expired. Clicks refused or lost (worker or server down) are
 * simply made again a few seconds later, as a person would.
 */
export function driveFleet(stack: FaultStack, fleet: Fleet): { stop(): Promise<void> } {
  let stopped = false;
  const limit = pLimit(8);
  const decided = new Set<string>();
  const inFlight = new Set<Promise<unknown>>();
  const fire = (fn: () => Promise<unknown>): void => {
    const p = limit(fn).catch(() => undefined);
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  const loop = (async () => {
    while (!stopped) {
      for (const r of fleet.reviews) {
        if (r.result || r.error) continue;
        for (const tx of pushesFor(stack, r.workflowId)) {
          if (tx.result !== 'waiting' || tx.status === 'timeout' || decided.has(tx.txid)) continue;
          decided.add(tx.txid);
          try {
            stack.duo.decide(tx.txid, 'allow');
          } catch {
            // expired meanwhile: the review offers another push
          }
        }
        const want = EXPECT[r.kind].click;
        const dm = stack.dmsFor(r.workflowId)[0];
        if (!want || !dm || Date.now() - r.lastClick < 4_000) continue;
        const ids = actionIds(dm.blocks);
        // The retry button names the Duo attempt it was drawn for (vouch_duo_retry:<n>).
        const retry = [...ids].find((id) => id === 'vouch_duo_retry' || id.startsWith('vouch_duo_retry:'));
        const action = ids.has(want) ? want : (retry ?? null);
        if (!action) continue;
        r.lastClick = Date.now();
        fire(() => stack.click(r.workflowId, action));
      }
      await new Promise((res) => setTimeout(res, 500));
    }
    await Promise.all([...inFlight]);
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** Waits (bounded) for every review's result, riding out a server that is down or restarting. */
export async function awaitOutcomes(fleet: Fleet, timeoutMs: number, progress?: (line: string) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const limit = pLimit(32);
  const ticker = setInterval(() => {
    const done = fleet.reviews.filter((r) => r.result || r.error).length;
    progress?.(`${fleet.name}: ${done} of ${fleet.reviews.length} reviews finished`);
  }, 30_000);
  try {
    await Promise.all(
      fleet.reviews.map((r) =>
        limit(async () => {
          while (!r.result && !r.error) {
            const left = deadline - Date.now();
            let timer: NodeJS.Timeout | undefined;
            const late = new Promise<'late'>((res) => {
              timer = setTimeout(() => res('late'), Math.max(0, left));
            });
            const result = r.handle.result() as Promise<ReviewOutcome>;
            result.catch(() => undefined); // when the deadline wins, a later failure is moot
            try {
              const got = await Promise.race([result, late]);
              if (got === 'late') r.error = `no result within ${timeoutMs} ms (${await phaseOf(r)})`;
              else r.result = got;
            } catch (err) {
              const name = (err as Error).name;
              if (name === 'WorkflowFailedError') r.error = `${name}: ${(err as Error).message}`;
              else if (Date.now() > deadline) r.error = `no result within ${timeoutMs} ms (${name}: ${(err as Error).message})`;
              else await new Promise((res) => setTimeout(res, 1000));
            } finally {
              clearTimeout(timer);
            }
          }
        }),
      ),
    );
  } finally {
    clearInterval(ticker);
  }
}

/** Where a review stands (its status query, bounded), for a failure message. */
async function phaseOf(r: FleetReview): Promise<string> {
  try {
    const status = await Promise.race([
      r.handle.query(statusQuery),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer in 5 s')), 5_000).unref()),
    ]);
    const last = status.timeline.slice(-3).map((t) => `${t.step}: ${t.result}`).join('; ');
    return `phase ${status.phase}, ${status.duoPushes} Duo pushes, last steps: ${last}`;
  } catch (err) {
    return `status unknown: ${(err as Error).message}`;
  }
}

/** Every way a review went wrong, one line each (empty when the fleet is right). */
export async function fleetProblems(stack: FaultStack, fleet: Fleet): Promise<string[]> {
  const problems: string[] = [];
  for (const r of fleet.reviews) {
    const want = EXPECT[r.kind];
    const who = `${fleet.name} ${r.kind}#${r.i} ${r.workflowId}`;
    if (r.error) problems.push(`${who}: ${r.error}`);
    else if (r.result?.outcome !== want.outcome) problems.push(`${who}: outcome ${r.result?.outcome} (${r.result?.reason}), want ${want.outcome}`);
    const threads = stack.slack.messages.filter((m) => !m.threadTs && (m.text.includes(r.workflowId) || JSON.stringify(m.blocks ?? []).includes(r.workflowId)));
    if (threads.length !== 1) problems.push(`${who}: ${threads.length} Slack threads, want 1`);
    const incidents = stack.pagerduty.incidents.filter((i) => i.dedupKey === r.workflowId).length;
    if (incidents !== want.incidents) problems.push(`${who}: ${incidents} PagerDuty incidents, want ${want.incidents}`);
    const pushes = pushesFor(stack, r.workflowId).length;
    if (pushes > 3) problems.push(`${who}: ${pushes} Duo pushes (the limit is 3)`);
    if (r.sg) {
      const changed = stack.aws.requests.filter((q) => q.action === 'RevokeSecurityGroupIngress' && q.params.get('GroupId') === r.sg?.groupId && q.motoStatus === 200).length;
      if (changed !== want.revoked) problems.push(`${who}: ${changed} revokes that changed something in moto, want ${want.revoked}`);
      if (want.rulePresent !== null && (await rulePresent(stack.ec2, r.sg)) !== want.rulePresent) {
        problems.push(`${who}: rule ${r.sg.ruleId} ${want.rulePresent ? 'gone' : 'still present'} in moto`);
      }
    }
  }
  return problems;
}
