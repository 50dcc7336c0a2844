// Starts (or finds) the review workflow for one change. The workflow id comes from (account, eventID), and the
// conflict policy returns the running review, so the same event twice never makes two reviews.
import {
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { reviewWorkflowId, TASK_QUEUE, WORKFLOW_TYPE } from '../../workflows/messages';
import { reviewSearchAttributes, VouchSummary } from '../../workflows/search-attributes';
import { reviewDetails, reviewSummary, reviewSummaryMarkdown, reviewSummarySearchText } from '../core/review-summary';
import type { ReviewInput } from '../core/types';
import type { reviewChangeWorkflow } from '../../workflows/review-change';
import type { Starter } from './pipeline';

export interface StartResult {
  workflowId: string;
  runId: string | undefined;
  /** 'started' for a new review, 'existing' when this event already has one (running or finished; runId unknown). */
  status: 'started' | 'existing';
  handle: WorkflowHandle<typeof reviewChangeWorkflow>;
  /** Set when the review started without something cosmetic (the VouchSummary column): worth a log line. */
  warning?: string;
}

/** The server refused the start because VouchSummary is not registered (a server set up before it existed). */
function summaryColumnMissing(err: unknown): boolean {
  if (!(err instanceof ServiceError)) return false;
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  const INVALID_ARGUMENT = 3;
  return cause?.code === INVALID_ARGUMENT && String(cause.message).includes(VouchSummary.name);
}

/** Link to a review in the Temporal Web UI. */
export function reviewUrlFor(uiBaseUrl: string, namespace: string, workflowId: string): string {
  const base = uiBaseUrl.replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

export async function startReview(
  client: Client,
  input: Omit<ReviewInput, 'reviewUrl'>,
  opts: { taskQueue?: string; uiBaseUrl: string },
): Promise<StartResult> {
  const workflowId = reviewWorkflowId(input.change.account, input.change.eventId);
  const full: ReviewInput = {
    ...input,
    reviewUrl: reviewUrlFor(opts.uiBaseUrl, client.options.namespace, workflowId),
  };
  // One call to the server per review: the start itself. The conflict and reuse policies below make the server the
  // judge of "already has a review" (running or finished), atomically, so racing starters still make one review and
  // the others learn it is `existing` from WorkflowExecutionAlreadyStarted.
  const summary = reviewSummary(input.change);
  const begin = (summaryColumn: boolean) =>
    client.workflow.start<typeof reviewChangeWorkflow>(WORKFLOW_TYPE, {
      taskQueue: opts.taskQueue ?? TASK_QUEUE,
      workflowId,
      args: [full],
      // A running review for the same event is refused (FAIL, not USE_EXISTING: USE_EXISTING hands the running
      // review back as if this call had started it, so racing starters would all say "started"); a finished one is
      // never started again. Both come back as WorkflowExecutionAlreadyStartedError: 'existing'.
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        ...reviewSearchAttributes(input.change, input.verdict, 'PENDING'),
        // The summary as a column of the Web UI's Workflows list (which shows search attributes, not summaries).
        ...(summaryColumn ? [{ key: VouchSummary, value: reviewSummarySearchText(input.change) }] : []),
      ],
      memo: { summary },
      // What the Web UI shows on the review's page (src/core/review-summary.ts).
      staticSummary: reviewSummaryMarkdown(input.change),
      staticDetails: reviewDetails(input),
    });
  try {
    try {
      const handle = await begin(true);
      return { workflowId, runId: handle.firstExecutionRunId, status: 'started', handle };
    } catch (err) {
      // A review matters more than its list column: start it without, and say why.
      if (!summaryColumnMissing(err)) throw err;
      const handle = await begin(false);
      const warning = `search attribute ${VouchSummary.name} is not registered on namespace ${client.options.namespace}: run \`vouch setup\``;
      return { workflowId, runId: handle.firstExecutionRunId, status: 'started', handle, warning };
    }
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      const handle = client.workflow.getHandle<typeof reviewChangeWorkflow>(workflowId);
      return { workflowId, runId: undefined, status: 'existing', handle };
    }
    throw err;
  }
}


/** The pipeline's starter: `startReview` on a Temporal client. */
export function temporalStarter(client: Client, opts: { taskQueue?: string; uiBaseUrl: string }): Starter {
  return async (input) => {
    const res = await startReview(client, input, opts);
    return { workflowId: res.workflowId, status: res.status };
  };
}
