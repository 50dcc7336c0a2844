// Message definitions for the review workflow: updates (with validators in the workflow), queries.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  BatchDecisionRequest,
  ConfirmBatchEntry,
  ConfirmBatchResult,
  DecisionRequest,
  DuoRetryRequest,
  NotifyDigestEntry,
  NotifyDigestSent,
  ReviewStatus,
  SecurityDecisionRequest,
  UpdateResult,
} from '../src/core/types';

/** The engineer's answer from the Slack buttons. Only the actor's Slack user may answer, once, before the deadline. */
export const decisionUpdate = defineUpdate<UpdateResult, [DecisionRequest]>('decision');

/** "Send another Duo push" after a push expired or failed (at most maxDuoPushes per review). */
export const duoRetryUpdate = defineUpdate<UpdateResult, [DuoRetryRequest]>('duoRetry');

/** Security's own decision (approve / revert now / escalate), from a configured security responder, at any time. */
export const securityDecisionUpdate = defineUpdate<UpdateResult, [SecurityDecisionRequest]>('securityDecision');

/** The review's state and timeline. */
export const statusQuery = defineQuery<ReviewStatus>('status');

export const TASK_QUEUE = 'vouch-reviews';
export const WORKFLOW_TYPE = 'reviewChangeWorkflow';

/** Workflow id from the change's account and CloudTrail eventID: the same event never makes two reviews. */
export function reviewWorkflowId(account: string, eventId: string): string {
  return `vouch-${account}-${eventId}`;
}

/** Metric names, as scraped (counters get `_total` from the exporter's countersTotalSuffix). */
export const REVIEW_METRICS = {
  started: 'vouch_reviews_started',
  outcomes: 'vouch_review_outcomes',
  timeToConfirm: 'vouch_time_to_confirm_seconds',
} as const;

// ---- the notify tier's digest: one DM per person per window (README "How a review runs": Noise) ----

export const NOTIFY_DIGEST_WORKFLOW_TYPE = 'notifyDigestWorkflow';

/** A notify-tier review joins its person's digest (sent with signal-with-start by the joinNotifyDigest activity). */
export const joinNotifyDigestSignal = defineSignal<[NotifyDigestEntry]>('joinNotifyDigest');

/** The digest tells each member review that the DM listing it went out (or could not). */
export const notifyDigestSentSignal = defineSignal<[NotifyDigestSent]>('notifyDigestSent');

/**
 * `vouch-digest-<account>-<Slack user>`: one digest per account and person, the person as the people directory maps the
 * change's principal (never a session name or anything else the record's author chooses).
 */
export function notifyDigestWorkflowId(account: string, slackUserId: string): string {
  return `vouch-digest-${account}-${slackUserId}`;
}

// ---- the confirm tier's batch: one ask and one Duo push per person per window (README "How a review runs": Noise) ----

export const CONFIRM_BATCH_WORKFLOW_TYPE = 'confirmBatchWorkflow';

/** A confirm-tier review joins its person's batch (sent with signal-with-start by the joinConfirmBatch activity). */
export const joinConfirmBatchSignal = defineSignal<[ConfirmBatchEntry]>('joinConfirmBatch');

/** The batch tells each review it listed what became of it (released to ask alone, or the person's answer). */
export const confirmBatchResultSignal = defineSignal<[ConfirmBatchResult]>('confirmBatchResult');

/** The person's click on a batch message: only that person, only that message, before its earliest deadline. */
export const batchDecisionUpdate = defineUpdate<UpdateResult, [BatchDecisionRequest]>('batchDecision');

/**
 * `vouch-batch-<account>-<Slack user>`: one batch per account and person, the person as the people directory maps the
 * change's principal (never a session name or anything else the record's author chooses).
 */
export function confirmBatchWorkflowId(account: string, slackUserId: string): string {
  return `vouch-batch-${account}-${slackUserId}`;
}

// ---- the LookupEvents pollers ----

export const LOOKUP_POLLER_WORKFLOW_TYPE = 'lookupPollerWorkflow';

/** `vouch-lookup-<account>-<region>`: one poller per account and Region. */
export function lookupPollerWorkflowId(account: string, region: string): string {
  return `vouch-lookup-${account}-${region}`;
}

// ---- the audit of terminated reviews ----

export const TERMINATED_AUDIT_WORKFLOW_TYPE = 'terminatedReviewsAuditWorkflow';
/** The Temporal Schedule the worker keeps (src/cli/audit-schedule.ts). */
export const TERMINATED_AUDIT_SCHEDULE_ID = 'vouch-terminated-audit';
