// The audit of terminated reviews, run by the Temporal Schedule `vouch-terminated-audit` (every worker keeps it; see
// src/cli/audit-schedule.ts). Terminating a review (`temporal workflow terminate`, the Web UI's Terminate button) runs
// no workflow code, so the review cannot page; each audit run lists the reviews terminated in its window and pages
// once per review.
//
// Once is kept by Temporal itself: each page runs as a child workflow with the id `vouch-terminated-<runId>` and
// ALLOW_DUPLICATE_FAILED_ONLY, so a review already paged (by an earlier run, within the namespace's retention) is
// skipped, and only a page that failed is tried again. The
// window can therefore overlap freely: it starts an hour before where the last completed run ended (the schedule's
// last completion result; a day back when there is none), which also covers visibility showing a close late and runs
// that failed or were skipped.
import { executeChild, workflowInfo } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { audit, pagerduty, titled } from './review-activities';
import type { TerminatedReview } from '../activities/audit';

export interface TerminatedAuditInput {
  /** The Temporal Web UI base (VOUCH_UI_BASE_URL), for the link in each page. */
  uiBaseUrl: string;
  namespace: string;
  /** How far back a run looks when there is no earlier completed run. Default one day. */
  firstLookbackSeconds?: number;
}

export interface TerminatedAuditResult {
  /** The next run lists reviews closed from here (less the overlap). */
  through: string;
  /** Reviews found terminated in the window. */
  found: number;
  /** Pages sent by this run (the others had been paged already). */
  paged: number;
}

const OVERLAP_MS = 60 * 60_000;
const DEFAULT_FIRST_LOOKBACK_S = 24 * 3600;

export function terminatedReviewPageId(runId: string): string {
  return `vouch-terminated-${runId}`;
}

function lastThrough(): number | undefined {
  const last = workflowInfo().lastResult as Partial<TerminatedAuditResult> | undefined;
  const through = typeof last?.through === 'string' ? Date.parse(last.through) : NaN;
  return Number.isNaN(through) ? undefined : through;
}

export async function terminatedReviewsAuditWorkflow(input: TerminatedAuditInput): Promise<TerminatedAuditResult> {
  const now = Date.now();
  const through = lastThrough();
  const since = through !== undefined ? through - OVERLAP_MS : now - (input.firstLookbackSeconds ?? DEFAULT_FIRST_LOOKBACK_S) * 1000;
  const { reviews, more } = await audit.findTerminatedReviews.executeWithOptions(titled('List the reviews terminated since the last audit'), [
    { since: new Date(since).toISOString() },
  ]);
  let paged = 0;
  for (const review of reviews) {
    try {
      await executeChild(terminatedReviewPageWorkflow, {
        workflowId: terminatedReviewPageId(review.runId),
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        args: [{ review, uiBaseUrl: input.uiBaseUrl, namespace: input.namespace }],
        staticSummary: `Page: review ${review.workflowId} was terminated`,
      });
      paged += 1;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
  // When the listing was cut, the next run starts after the last review seen; otherwise at this run's start.
  const lastSeen = reviews.at(-1);
  const next = more && lastSeen ? Date.parse(lastSeen.closeTime) : now;
  return { through: new Date(next).toISOString(), found: reviews.length, paged };
}

export interface TerminatedReviewPageInput {
  review: TerminatedReview;
  uiBaseUrl: string;
  namespace: string;
}

/** One page about one terminated review (its id makes it happen once). */
export async function terminatedReviewPageWorkflow(input: TerminatedReviewPageInput): Promise<void> {
  const { review } = input;
  const url = `${input.uiBaseUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(input.namespace)}/workflows/${encodeURIComponent(review.workflowId)}`;
  await pagerduty.triggerAlert.executeWithOptions(titled(`Page: review ${review.workflowId} was terminated`), [
    {
      dedupKey: terminatedReviewPageId(review.runId),
      summary: `Review TERMINATED through Temporal (not by vouch, so nothing paged or reverted): ${review.summary ?? review.workflowId}`,
      severity: 'critical',
      kind: 'review-terminated',
      details: {
        workflowId: review.workflowId,
        runId: review.runId,
        terminatedAt: review.closeTime,
        ...(review.actor ? { actor: review.actor } : {}),
        ...(review.account ? { account: review.account } : {}),
        ...(review.tier ? { tier: review.tier } : {}),
        ...(review.summary ? { change: review.summary } : {}),
      },
      reviewUrl: url,
    },
  ]);
}
