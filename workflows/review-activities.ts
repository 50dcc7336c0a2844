// The review workflow's view of its activities: one proxy per kind of side effect, each with its timeouts and retry
// policy, and the helpers that read an activity failure. Deterministic workflow code.
import { ActivityFailure, ApplicationFailure, proxyActivities, type ActivityOptions, type TimerOptions } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { Activities } from '../activities';
import { escapeMarkdown, fitUtf8, SUMMARY_MAX_BYTES } from '../src/core/review-summary';
import { FailureTypes } from '../src/core/types';

/** Failures no retry can mend: the workflow branches on them at once. */
const NON_RETRYABLE = [
  FailureTypes.UnknownPerson,
  FailureTypes.InvalidCredentials,
  FailureTypes.VendorRejected,
  FailureTypes.DuoNotEnrolled,
  FailureTypes.DuoDenied,
  FailureTypes.DuoBypass,
  FailureTypes.DuoPushUncertain,
  FailureTypes.RevertForbidden,
  FailureTypes.RevertNotVerified,
];

interface RetryShape {
  startToCloseTimeout: Duration;
  heartbeatTimeout?: Duration;
  /** First retry after this long, doubling each time up to maximumInterval. */
  initialInterval: Duration;
  maximumInterval: Duration;
  maximumAttempts: number;
}

/** Activities with exponential backoff (×2) that never retry NON_RETRYABLE failures. */
function withRetries(shape: RetryShape) {
  return proxyActivities<Activities>({
    startToCloseTimeout: shape.startToCloseTimeout,
    ...(shape.heartbeatTimeout !== undefined ? { heartbeatTimeout: shape.heartbeatTimeout } : {}),
    retry: {
      initialInterval: shape.initialInterval,
      backoffCoefficient: 2,
      maximumInterval: shape.maximumInterval,
      maximumAttempts: shape.maximumAttempts,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });
}

export const slack = withRetries({ startToCloseTimeout: '30 seconds', initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 });

export const duo = withRetries({ startToCloseTimeout: '30 seconds', initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 });

// The push itself: one attempt, never retried, so a push is sent at most once per scheduling (activities/duo.ts says
// what happens when the worker dies between /auth and the activity's completion). Its preauth and /auth are each
// bounded at 15 s inside the activity.
export const duoOnce = proxyActivities<Activities>({ startToCloseTimeout: '45 seconds', retry: { maximumAttempts: 1 } });

// One auth_status long-poll may hold until the push ends (about 60 s); the activity heartbeats each round.
export const duoWait = withRetries({
  startToCloseTimeout: '3 minutes',
  heartbeatTimeout: '90 seconds',
  initialInterval: '1 second',
  maximumInterval: '10 seconds',
  maximumAttempts: 5,
});

// Paging must get through: many attempts, bounded backoff.
export const pagerduty = withRetries({ startToCloseTimeout: '30 seconds', initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 30 });

export const aws = withRetries({ startToCloseTimeout: '1 minute', initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 5 });

// Connecting people after a page is best effort: a few tries, then the timeline says why it did not happen. The
// activity marks its own permanent failures (nobody on call, …) non-retryable.
export const oncall = withRetries({ startToCloseTimeout: '30 seconds', initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 5 });

// Who a security override comes from (the people directory): quick, and UnknownPerson is final.
export const security = withRetries({ startToCloseTimeout: '30 seconds', initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 });

// The terminated-review audit's listing (visibility API).
export const audit = withRetries({ startToCloseTimeout: '2 minutes', initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 5 });

// Joining a person's notify digest (signal-with-start on the Temporal server): quick; on failure the review tells the
// engineer alone, as without a digest.
export const digest = withRetries({ startToCloseTimeout: '30 seconds', initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 });

// Store errors come back non-retryable from the activity.
export const baseline = withRetries({ startToCloseTimeout: '1 minute', initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 5 });

/** Options that give one activity call or timer its line in the Web UI's timeline ("DM alice about sg-123 …"). */
export function titled(text: string): ActivityOptions & TimerOptions {
  return { summary: fitUtf8(escapeMarkdown(text), SUMMARY_MAX_BYTES) };
}

/** The failure type an activity failed with (ApplicationFailure.type), if any. */
export function failureType(err: unknown): string | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) return err.cause.type ?? undefined;
  if (err instanceof ApplicationFailure) return err.type ?? undefined;
  return undefined;
}

export function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}
