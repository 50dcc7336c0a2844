// Security's override (approve / revert now / escalate) is authenticated inside the workflow, as an engineer's "yes"
// is: the override names a member of the security group (a Slack user id anyone can type), so it takes effect only
// once that member confirms it with a Duo push to their own Duo user, found through the people directory by their
// Slack user id. Only `allow` from a real push confirms; a bypass user, a deny or a fraud report pages security (an
// override in someone's name that they refuse is an attack); an expired or failed push applies nothing.
// Deterministic workflow code, run from the override Update's handler beside the review (which goes on meanwhile).
import { isCancellation } from '@temporalio/workflow';
import { duoWait, failureMessage, failureType, security, titled } from './review-activities';
import { FailureTypes, type DuoStatus, type Person, type SecurityDecisionRequest, type Severity } from '../src/core/types';

export interface OverrideDeps {
  /** "change summary (account/region)". */
  where: string;
  note(step: string, result: string): void;
  /** Page without moving the review's stage (the override runs beside the review). Resolves false when it failed. */
  pageAside(summary: string, severity: Severity, extra: Record<string, unknown>): Promise<boolean>;
  /** Check the Duo user, then send one push; resolves with its txid. */
  pushDuo(to: Person, title: string, purpose: string): Promise<string>;
}

export type OverrideCheck = { ok: true; member: Person } | { ok: false; why: string };

function isBypass(status: DuoStatus): boolean {
  return status.result === 'bypass' || status.status === 'bypass';
}

/** Resolve the member, push, wait for the answer. Throws only cancellations. */
export async function confirmOverrideWithDuo(d: OverrideDeps, req: SecurityDecisionRequest): Promise<OverrideCheck> {
  const named = `<@${req.slackUserId}>`;
  let member: Person;
  try {
    member = await security.resolveSecurityMember.executeWithOptions(titled(`Find the Duo user of security member ${req.slackUserId}`), [
      { slackUserId: req.slackUserId },
    ]);
  } catch (err) {
    if (isCancellation(err)) throw err;
    const why = `the override "${req.action}" by ${named} cannot be confirmed with Duo: ${failureMessage(err)}`;
    d.note('security.unconfirmed', why);
    return { ok: false, why };
  }

  const refused = async (how: string): Promise<OverrideCheck> => {
    const why = `${member.displayName} (${named}) ${how}: the override "${req.action}" in their name was not applied`;
    d.note('security.refused', why);
    await d.pageAside(`Security override "${req.action}" in the name of ${member.displayName} refused in Duo (${how}): ${d.where}`, 'critical', {
      override: req.action,
      overrideBy: req.slackUserId,
      duo: how,
    });
    return { ok: false, why };
  };

  let status: DuoStatus;
  try {
    const txid = await d.pushDuo(member, `Duo push to ${member.displayName} to confirm the override "${req.action}"`, `security override: ${req.action}`);
    d.note('security.duo-pushed', `to ${member.duoUsername}, to confirm "${req.action}"`);
    status = await duoWait.awaitDuoResult.executeWithOptions(titled(`Wait for ${member.displayName}'s Duo answer to the override`), [{ txid }]);
  } catch (err) {
    if (isCancellation(err)) throw err;
    const type = failureType(err);
    if (type === FailureTypes.DuoBypass) return refused('is a Duo bypass user: no push can confirm them');
    if (type === FailureTypes.DuoDenied) return refused(`is denied by Duo (${failureMessage(err)})`);
    const why = `Duo could not confirm the override "${req.action}" by ${named}: ${failureMessage(err)}`;
    d.note('security.unconfirmed', why);
    return { ok: false, why };
  }
  d.note('security.duo-answered', `${status.result} (${status.status})`);
  if (isBypass(status)) return refused('is a Duo bypass user: Duo answered without a push');
  if (status.result === 'allow') return { ok: true, member };
  if (status.result === 'deny') return refused('denied the Duo push');
  if (status.result === 'fraud') return refused('reported the Duo push as fraud');
  const why = `the Duo push to ${member.displayName} ${status.result === 'timeout' ? 'expired' : `failed (${status.statusMessage})`}: the override "${req.action}" was not applied`;
  d.note('security.unconfirmed', why);
  return { ok: false, why };
}
