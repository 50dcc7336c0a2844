// Pure: how to undo a change, as the exact AWS SDK v3 command(s) (the README's "Reverting to a trusted state" lists
// them).
//
// Two kinds of plan:
// - From the event alone (source 'event'): the CloudTrail record holds everything needed, e.g. a security-group rule
//   id, a snapshot's added account, a trail name. Security groups: the rule ids AWS returned
//   (`responseElements.securityGroupRuleSet.items[].securityGroupRuleId`) name exactly what was added and are
//   preferred; without them the request's permissions are replayed as `IpPermissions` (values must match exactly),
//   from either request shape (flat CLI form or nested `ipPermissions.items[]`).
// - From the trusted baseline (source 'baseline'): changes that overwrite state (trail settings, event selectors,
//   bucket policies, trust policies, inline policies) are undone by putting back the last configuration vouch trusted
//   before the change (baseline/). Without a baseline the plan is null and the review pages instead of guessing.
//
// Safety: never a failed call (errorCode), never vouch's own revert sessions (`vouch-revert-*`).
// planRevert never throws and does no I/O: `vouch classify` and the policy engine call it for every record.
//
// The table of planners (event name → planner) is in catalogue.ts, beside the table of handlers; this file holds the
// dispatch.
import type { Change } from '../core/types';
import {
  canonicalEventName,
  isRevertPrincipal,
  none,
  type PlanContext,
  type PlanDecision,
} from './plan-common';
import { isRecord } from '../core/text';
import { PLANNERS } from './catalogue';

/** Decides the revert for a change, or says why there is none. Never throws on odd input; no I/O. */
export function planRevert(change: Change, ctx: PlanContext = {}): PlanDecision {
  const name = canonicalEventName(String(change.eventName ?? ''));
  const planner = PLANNERS.get(name);
  if (!planner) return none(`no automatic revert for ${change.eventName}`);
  if (change.eventSource && !planner.eventSources.includes(change.eventSource)) {
    return none(`${change.eventName} from ${change.eventSource} is not the ${planner.eventSources[0]} call vouch reverts`);
  }
  if (change.errorCode) {
    return none(`the call failed (${change.errorCode}): nothing was changed, nothing to revert`);
  }
  if (change.actor && isRevertPrincipal(change.actor, ctx.revertRoleName)) {
    return none(`made by vouch's own revert session (${change.actor.name}): never reverted again`);
  }
  const req = isRecord(change.request) ? change.request : {};
  const res = isRecord(change.response) ? change.response : null;
  try {
    return planner.plan({ change, req, res, ctx });
  } catch (err) {
    return none(`could not plan a revert for ${change.eventName}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The revert role's name from VOUCH_REVERT_ROLE_ARN_TEMPLATE (`arn:aws:iam::{account}:role/path/NAME` → NAME). */
export function revertRoleNameFrom(template: string | undefined): string | undefined {
  const m = /:role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(template ?? '');
  return m ? m[1] : undefined;
}
