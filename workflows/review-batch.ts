// A confirm-tier review's part in its person's batch (workflows/confirm-batch.ts): join the batch; the review then
// waits (in review-change.ts, alongside its own deadline and security's override) for the batch's word. Deterministic
// workflow code. Keyed by the account and the people directory's Slack user: a change by anyone else never joins.
import { isCancellation } from '@temporalio/workflow';
import { confirmBatchWorkflowId } from './messages';
import { digest, failureMessage, titled } from './review-activities';
import type { Change, ConfirmBatchResult, Person } from '../src/core/types';

export interface ReviewBatchDeps {
  change: Change;
  reviewId: string;
  reviewUrl: string;
  note(step: string, result: string): void;
}

/** Join the person's batch; resolves its id, or undefined when joining failed (the review then asks on its own). */
export async function joinConfirmBatch(d: ReviewBatchDeps, p: Person, windowSeconds: number, deadlineMs: number): Promise<string | undefined> {
  const { change } = d;
  const batchId = confirmBatchWorkflowId(change.account, p.slackUserId);
  try {
    await digest.joinConfirmBatch.executeWithOptions(titled(`Add this change to ${p.displayName}'s confirm batch`), [
      {
        start: { account: change.account, person: p, windowSeconds },
        entry: {
          reviewId: d.reviewId,
          reviewUrl: d.reviewUrl,
          deadlineMs,
          what: `${change.eventName} in ${change.account}/${change.region}: ${change.summary}`,
          change,
        },
      },
    ]);
  } catch (err) {
    if (isCancellation(err)) throw err;
    d.note('batch.failed', `${failureMessage(err)}: asking ${p.displayName} on its own`);
    return undefined;
  }
  d.note('batch.joined', `${batchId}: one ask for ${p.displayName}'s confirm-tier changes within ${windowSeconds} s`);
  return batchId;
}

/**
 * The batch's word for this review: only from the batch it joined (the batch signals only the reviews a message
 * listed). Not matched on the review's own id: a replay runs the history under another workflow id.
 */
export function batchResultFor(results: readonly ConfirmBatchResult[], batchId: string): ConfirmBatchResult | undefined {
  return results.find((r) => r.batchId === batchId);
}
