// The notify tier's texts: the FYI about one change, and the digest that lists a person's notify-tier changes of one
// window in one DM (README "How a review runs": Noise). Pure and deterministic: the review workflow and the digest
// workflow build them.
import { truncate } from './text';
import type { Change, NotifyDigestEntry, Verdict } from './types';

/** The FYI for one change, as vouch has always sent it. A digest of one change is exactly this text. */
export function notifyText(change: Change, verdict: Verdict, reviewUrl: string): string {
  return (
    `FYI from vouch: ${change.eventName} in ${change.account}/${change.region} by ${change.actor.name}: ` +
    `${change.summary}. ${verdict.reasons.join('; ')}. Review: ${reviewUrl}`
  );
}

/** One line of a digest: the change and its own review. */
export function notifyDigestLine(change: Change, reviewUrl: string): string {
  return `• ${change.eventName} in ${change.account}/${change.region} by ${change.actor.name}: ${truncate(change.summary, 160)}. Review: ${reviewUrl}`;
}

/**
 * Budget of the digest's raw text. Slack shows about 4,000 characters of a plain message and escaping can grow the
 * text, so lines past this are counted, not listed (each change keeps its own review in the Temporal Web UI).
 */
export const DIGEST_TEXT_BUDGET = 3500;

/** The one DM (and channel message) for every notify-tier change of one person in one window. */
export function notifyDigestText(who: string, entries: readonly NotifyDigestEntry[], windowSeconds: number): string {
  const [only] = entries;
  if (entries.length === 1 && only) return only.text;
  const head = `FYI from vouch: ${entries.length} notify-tier changes by ${who} within ${windowSeconds} s, in one message:`;
  let text = head;
  let listed = 0;
  for (const e of entries) {
    if (text.length + 1 + e.line.length > DIGEST_TEXT_BUDGET) break;
    text += `\n${e.line}`;
    listed += 1;
  }
  if (listed < entries.length) {
    text += `\n…and ${entries.length - listed} more; each change has its own review in the Temporal Web UI.`;
  }
  return text;
}
