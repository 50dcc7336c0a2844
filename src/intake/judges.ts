// Judges: what the pipeline asks about each change. The policy (every source), or a fixed verdict (`vouch review
// --tier`, for drills and replays: the tier chosen on the command line, the revert plan still from the planner).
import { assess, loadPolicy, toVerdict, type Policy } from '../policy';
import { planRevert } from '../revert/plan';
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
