// The audit of reviews ended from outside: someone with access to the Temporal namespace can terminate a review
// (`temporal workflow terminate`), which runs no workflow code, so the review itself cannot page. The scheduled
// audit (workflows/terminated-audit.ts) lists them through Temporal's visibility API and pages once per review.
// https://docs.temporal.io/list-filter: ExecutionStatus, WorkflowType and CloseTime are default search attributes.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { WORKFLOW_TYPE } from '../workflows/messages';
import { VouchAccount, VouchActor, VouchTier } from '../workflows/search-attributes';

export interface AuditDeps {
  /** The client to list with; default the activity context's client (the worker's own connection). */
  auditClient?: Client;
}

export interface FindTerminatedInput {
  /** ISO time: reviews closed at or after it. */
  since: string;
  /** At most this many (the oldest first are kept). Default 500. */
  limit?: number;
}

export interface TerminatedReview {
  workflowId: string;
  runId: string;
  closeTime: string;
  /** The review's one-line summary (memo), when it has one. */
  summary?: string;
  actor?: string;
  account?: string;
  tier?: string;
}

const DEFAULT_LIMIT = 500;

/** A visibility query literal: the value in double quotes, with quotes and backslashes escaped. */
function literal(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function terminatedReviewsQuery(since: string): string {
  return `WorkflowType = ${literal(WORKFLOW_TYPE)} AND ExecutionStatus = "Terminated" AND CloseTime >= ${literal(since)}`;
}

export interface TerminatedReviews {
  /** Oldest first, at most `limit`. */
  reviews: TerminatedReview[];
  /** More matched than `limit`: the next run starts after the last one returned. */
  more: boolean;
}

export function createAuditActivities(deps: AuditDeps) {
  return {
    /** Reviews whose execution was terminated (closed with status Terminated) since `since`, oldest first. */
    async findTerminatedReviews(input: FindTerminatedInput): Promise<TerminatedReviews> {
      if (Number.isNaN(Date.parse(input.since))) throw new Error(`findTerminatedReviews: since is not a time: ${input.since}`);
      const client = deps.auditClient ?? Context.current().client;
      const limit = input.limit ?? DEFAULT_LIMIT;
      const found: TerminatedReview[] = [];
      for await (const wf of client.workflow.list({ query: terminatedReviewsQuery(new Date(input.since).toISOString()) })) {
        const memo = wf.memo as Record<string, unknown> | undefined;
        const sa = wf.typedSearchAttributes;
        const actor = sa.get(VouchActor);
        const account = sa.get(VouchAccount);
        const tier = sa.get(VouchTier);
        found.push({
          workflowId: wf.workflowId,
          runId: wf.runId,
          closeTime: (wf.closeTime ?? new Date()).toISOString(),
          ...(typeof memo?.summary === 'string' ? { summary: memo.summary } : {}),
          ...(actor ? { actor } : {}),
          ...(account ? { account } : {}),
          ...(tier ? { tier } : {}),
        });
      }
      found.sort((a, b) => a.closeTime.localeCompare(b.closeTime));
      return { reviews: found.slice(0, limit), more: found.length > limit };
    },
  };
}
