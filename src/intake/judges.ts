// Judges: what the pipeline asks about each change. The policy (every source), or a fixed verdict (`vouch review
// --tier`, for drills and replays: the tier chosen on the command line, the revert plan still from the planner).
import { assess, loadPolicy, toVerdict, type Policy } from '../policy';
import { planRevert } from '../revert/plan';
import { baselineTarget, type PlanDecision } from '../revert/plan-common';
import type { Change, Verdict } from '../core/types';

/** The policy, as the pipeline sees it: a verdict for a change, or null to ignore it. */
export type Judge = (change: Change) => Verdict | null;

/** The judge cannot judge this change (e.g. `--tier revert` for a change with no revert plan): the record is unusable. */
export class JudgeRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JudgeRefusal';
  }
}

/** vouch's policy (`assess` then `toVerdict`); the shipped default when no policy is given. */
export function policyJudge(policy: Policy = loadPolicy(), opts: { deadlineSeconds?: number } = {}): Judge {
  return (change) => {
    const verdict = toVerdict(assess(change, policy));
    if (verdict && opts.deadlineSeconds !== undefined) verdict.deadlineSeconds = opts.deadlineSeconds;
    return verdict;
  };
}

export interface FixedVerdict {
  tier: Verdict['tier'];
  score: number;
  deadlineSeconds: number;
}

/** Every change gets this tier; the revert plan comes from the planner, and tier revert needs one. */
export function fixedJudge(fixed: FixedVerdict): Judge {
  return (change) => {
    const { plan, reason } = planRevert(change);
    if (fixed.tier === 'revert' && !plan) {
      throw new JudgeRefusal(`--tier revert, but ${change.eventName} ${change.eventId} has no revert plan (${reason})`);
    }
    return {
      tier: fixed.tier,
      score: fixed.score,
      rules: [`manual-${fixed.tier}`],
      reasons: [`${change.summary} (tier ${fixed.tier} set on the command line)`],
      deadlineSeconds: fixed.deadlineSeconds,
      revertPlan: plan,
      ...(plan ? {} : { revertReason: reason }),
    };
  };
}

/** What re-plans a change with the trusted baseline (src/revert/baseline: createBaselinePlanner). */
export interface BaselinePlanner {
  plan(change: Change): Promise<PlanDecision>;
}

/** The planner's answer when it was asked without a baseline for a change that needs one (plan-common.ts `trusted`). */
const NO_BASELINE = /^no trusted baseline for /;
/** The reason the policy engine adds when it demoted a revert tier for want of a plan. */
const DEMOTED = /^no automatic revert: no trusted baseline for /;

/**
 * The baseline really decides: the policy plans without the trusted baseline (its planner does no I/O), so a change
 * that overwrites state (bucket policy, trust policy, trail selectors…) comes back without a plan ("no trusted
 * baseline … paging instead") even when a rule allows the revert. This refines such a verdict with the baseline of the
 * change's account: the plan from the baseline, `revertOnTimeout` (a timed-out change goes back to the trusted state),
 * and the revert tier the policy chose, if it had demoted it to page only for want of a plan. Verdicts where no rule
 * allowed a revert (the planner was never asked) are left as they are.
 */
export function baselineReplanner(planner: BaselinePlanner): (change: Change, verdict: Verdict) => Promise<Verdict> {
  return async (change, verdict) => {
    if (verdict.revertPlan || !baselineTarget(change) || !NO_BASELINE.test(verdict.revertReason ?? '')) return verdict;
    const decision = await planner.plan(change);
    if (!decision.plan) return { ...verdict, revertReason: decision.reason };
    const demoted = verdict.reasons.some((r) => DEMOTED.test(r));
    return {
      ...verdict,
      tier: demoted ? 'revert' : verdict.tier,
      reasons: verdict.reasons.filter((r) => !DEMOTED.test(r)),
      revertPlan: decision.plan,
      revertReason: decision.reason,
      revertOnTimeout: true,
    };
  };
}
