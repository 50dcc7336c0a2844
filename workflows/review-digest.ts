// A notify-tier review's part in its person's digest (workflows/notify-digest.ts): join the digest, wait for its word
// that the DM went out, and say how the review ends. Deterministic workflow code, run from the review's notify path.
// Keyed by the account and the people directory's Slack user: a change by anyone else never joins this digest.
import { condition, isCancellation } from '@temporalio/workflow';
import { notifyDigestWorkflowId } from './messages';
import { digest, failureMessage, titled } from './review-activities';
import { notifyDigestLine } from '../src/core/notify-digest';
import type { Change, NotifyDigestSent, Person } from '../src/core/types';

/** How long past its window a notify-tier review waits for its digest before telling the engineer alone. */
export const DIGEST_GRACE_SECONDS = 900;

export interface ReviewDigestDeps {
  change: Change;
  reviewId: string;
  reviewUrl: string;
  notifyChannel?: string;
  note(step: string, result: string): void;
  /** Every report the review's notifyDigestSent handler received (filled in by the handler, read here by digest id). */
  reports: readonly NotifyDigestSent[];
}

/**
 * Join the person's digest and wait for it to report the DM. Resolves the outcome's reason, or undefined when the
 * engineer is to be told alone (joining failed, or no report came within the window and the grace period).
 */
export async function notifyThroughDigest(d: ReviewDigestDeps, p: Person, text: string, windowSeconds: number): Promise<string | undefined> {
  const { change } = d;
  const digestId = notifyDigestWorkflowId(change.account, p.slackUserId);
  try {
    await digest.joinNotifyDigest.executeWithOptions(titled(`Add this change to ${p.displayName}'s notify digest`), [
      {
        start: { account: change.account, person: p, windowSeconds, ...(d.notifyChannel ? { notifyChannel: d.notifyChannel } : {}) },
        entry: { reviewId: d.reviewId, text, line: notifyDigestLine(change, d.reviewUrl) },
      },
    ]);
  } catch (err) {
    if (isCancellation(err)) throw err;
    d.note('digest.failed', `${failureMessage(err)}: telling ${p.displayName} alone`);
    return undefined;
  }
  d.note('digest.joined', `${digestId}: one DM for ${p.displayName}'s notify-tier changes within ${windowSeconds} s`);
  const report = (): NotifyDigestSent | undefined => d.reports.find((r) => r.digestId === digestId);
  const came = await condition(() => report() !== undefined, (windowSeconds + DIGEST_GRACE_SECONDS) * 1000, titled(`Wait for ${p.displayName}'s notify digest`));
  const sent = report();
  if (!came || !sent) {
    d.note('digest.late', `no word from ${digestId} within ${windowSeconds + DIGEST_GRACE_SECONDS} s: telling ${p.displayName} alone`);
    return undefined;
  }
  d.note(sent.told ? 'slack.notified' : 'slack.failed', sent.detail);
  const n = sent.reviewIds.length;
  if (!sent.told) return `${sent.detail} (${digestId})`;
  return n === 1 ? `told ${p.displayName}` : `told ${p.displayName} in one digest DM of ${n} notify-tier changes (${digestId})`;
}
