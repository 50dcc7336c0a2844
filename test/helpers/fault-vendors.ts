// Vendor faults for one set of reviews: each review gets its own scripted failures on the stand-ins (keyed by what
// identifies it on the wire: the workflow id in Slack blocks, PagerDuty's dedup key and Duo's pushinfo; the Duo user
// for preauth; the security group for AWS), runs to its outcome, and must show each retry in its history: the
// activity's last attempt number and the failure before it, and the wait a Retry-After asked for.
import type { DuoFault } from '../../src/demo/sandbox/duo';
import type { PagerDutyFailure } from '../../src/demo/sandbox/pagerduty';
import type { SlackFault } from '../../src/demo/sandbox/slack';
import type { AwsFault } from '../standins/aws-fault-proxy';
import { activityRuns, type ActivityRun } from './history';
import type { Fleet, FleetReview } from './fault-fleet';
import type { FaultStack } from './fault-stack';

type Script = { slack: SlackFault; duo: DuoFault; pd: PagerDutyFailure; aws: AwsFault };

/** What a review's history must show for one scripted fault sequence. */
export interface RetryExpectation {
  what: string;
  /** Activity types that may carry it (the name changed when an activity was split). */
  activities: string[];
  minAttempt: number;
  lastFailure: RegExp;
  /** A Retry-After honoured: the last attempt started at least `seconds` after the vendor's 429 (when it was served). */
  retryAfter?: { seconds: number; servedAt: () => number | undefined };
}

export interface VendorScript {
  /** Faults queued per stand-in and key, served first-in first-out. */
  queue<K extends keyof Script>(target: K, key: string, faults: Array<Script[K]>): void;
  /** Faults not served (should be none once the reviews ran). */
  left(): string[];
}

/** Installs fault hooks on every stand-in that serve the queued faults by key. */
export function installScript(stack: FaultStack, fleet: Fleet): VendorScript {
  const queues = new Map<string, unknown[]>();
  const take = <T>(key: string): T | undefined => queues.get(key)?.shift() as T | undefined;
  const reviewIn = (text: string): FleetReview | undefined => fleet.reviews.find((r) => text.includes(r.workflowId));
  stack.slack.faultHook = (call) => {
    const r = reviewIn(call.params.blocks ?? '');
    return r ? take<SlackFault>(`slack:${call.method}:${r.workflowId}`) : undefined;
  };
  stack.duo.faultHook = (call) => {
    const one = (v: string | string[] | undefined): string => (Array.isArray(v) ? (v[0] ?? '') : (v ?? ''));
    if (call.path === '/auth/v2/preauth') return take<DuoFault>(`duo:preauth:${one(call.params.username)}`);
    if (call.path === '/auth/v2/auth_status') {
      const review = stack.duo.transaction(one(call.params.txid))?.pushinfo.review;
      return review ? take<DuoFault>(`duo:auth_status:${review}`) : undefined;
    }
    return undefined;
  };
  stack.pagerduty.faultHook = (call) => {
    const body = call.body as { dedup_key?: unknown; event_action?: unknown } | undefined;
    return typeof body?.dedup_key === 'string' ? take<PagerDutyFailure>(`pd:${String(body.event_action)}:${body.dedup_key}`) : undefined;
  };
  stack.aws.faultHook = (call) => take<AwsFault>(`aws:${call.action}:${call.params.get('GroupId') ?? ''}`);
  return {
    queue(target, key, faults) {
      queues.set(`${target}:${key}`, [...(queues.get(`${target}:${key}`) ?? []), ...faults]);
    },
    left() {
      return [...queues.entries()].filter(([, q]) => q.length > 0).map(([k, q]) => `${k}: ${q.length} not served`);
    },
  };
}

export function removeScript(stack: FaultStack): void {
  stack.slack.faultHook = undefined;
  stack.duo.faultHook = undefined;
  stack.pagerduty.faultHook = undefined;
  stack.aws.faultHook = undefined;
}

/** Where a review's history falls short of `expected`, one line each. */
export async function retryProblems(r: FleetReview, expected: RetryExpectation[]): Promise<{ problems: string[]; runs: ActivityRun[] }> {
  const runs = await activityRuns(r.handle);
  const problems: string[] = [];
  for (const e of expected) {
    const served = e.retryAfter?.servedAt();
    // Clocks: the server's event times and the stand-in's are the same host's; 150 ms covers millisecond rounding.
    const earliest = served === undefined ? undefined : served + (e.retryAfter?.seconds ?? 0) * 1000 - 150;
    const found = runs.find(
      (run) =>
        e.activities.includes(run.name) &&
        run.attempt >= e.minAttempt &&
        e.lastFailure.test(run.lastFailure ?? '') &&
        (e.retryAfter === undefined || (earliest !== undefined && (run.startedAt ?? 0) >= earliest)),
    );
    if (!found) {
      const seen = runs
        .filter((run) => e.activities.includes(run.name))
        .map((run) => `${run.name} attempt ${run.attempt} started ${served ? `${(run.startedAt ?? 0) - served} ms after the 429` : `at ${run.startedAt}`}, last failure: ${run.lastFailure ?? 'none'}`);
      const wait = e.retryAfter ? `, started ≥ ${e.retryAfter.seconds} s after the 429 (${served ? new Date(served).toISOString() : 'never served'})` : '';
      problems.push(`${r.kind}#${r.i} ${r.workflowId}: ${e.what}: no ${e.activities.join('/')} run with attempt ≥ ${e.minAttempt}, last failure ~ ${e.lastFailure}${wait}; history has [${seen.join(' | ') || 'none'}]`);
    }
  }
  return { problems, runs };
}
