// What both PagerDuty APIs vouch calls (Events v2 and REST) share: turning an HTTP status into an activity failure
// (Temporal owns the backoff), Retry-After, timeouts tied to activity cancellation, and keeping keys out of messages.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { REDACTED } from '../src/core/redact';
import { FailureTypes } from '../src/core/types';
import { isRecord } from '../src/core/text';

export { isRecord };

const RATE_LIMIT_BASE_S = 5;
const RATE_LIMIT_CAP_S = 30;
const RETRY_AFTER_MIN_S = 1;
const RETRY_AFTER_MAX_S = 300;

export interface StatusFailureInput {
  /** "PagerDuty trigger for <key>", "PagerDuty GET /oncalls". */
  what: string;
  status: number;
  /** PagerDuty's own words (message and errors), already joined. */
  said: string;
  retryAfter: string | null;
  /** The key or token of the call: never in a message. */
  secret: string;
  /** Which setting to check on 401/403, e.g. "the routing key". */
  credentialHint: string;
  /** Failure type of retryable 5xx answers. */
  unavailableType: string;
}

/** 401/403 → InvalidCredentials; 429 → RateLimited (Retry-After or backoff); other 4xx → VendorRejected; else retry. */
export function statusFailure(f: StatusFailureInput): ApplicationFailure {
  const message = (text: string): string => scrub(text, f.secret);
  if (f.status === 401 || f.status === 403) {
    return ApplicationFailure.create({
      type: FailureTypes.InvalidCredentials,
      nonRetryable: true,
      message: message(`${f.what} refused (${f.status}): check ${f.credentialHint}; ${f.said}`),
    });
  }
  if (f.status === 429) {
    const seconds = retryAfterSeconds(f.retryAfter) ?? backoffSeconds(currentAttempt());
    return ApplicationFailure.create({
      type: FailureTypes.RateLimited,
      nextRetryDelay: seconds * 1000,
      message: message(`${f.what} rate limited (429); retrying in ${seconds} s`),
    });
  }
  if (f.status >= 400 && f.status < 500) {
    // 404/405/413/415…: the request or the configuration is wrong, repeating it will not help.
    return ApplicationFailure.create({
      type: FailureTypes.VendorRejected,
      nonRetryable: true,
      message: message(`${f.what} rejected (${f.status}): ${f.said}`),
    });
  }
  return ApplicationFailure.create({
    type: f.unavailableType,
    message: message(`${f.what} failed (${f.status}): ${f.said}`),
  });
}

/** Retry-After as seconds (delta or HTTP date), clamped; undefined when absent or unreadable. */
export function retryAfterSeconds(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const trimmed = header.trim();
  let seconds: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) seconds = Number(trimmed);
  else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    seconds = (at - now) / 1000;
  }
  return Math.min(RETRY_AFTER_MAX_S, Math.max(RETRY_AFTER_MIN_S, Math.ceil(seconds)));
}

function backoffSeconds(attempt: number): number {
  return Math.min(RATE_LIMIT_CAP_S, RATE_LIMIT_BASE_S * 2 ** Math.max(0, attempt - 1));
}

/** Aborts after `timeoutMs`, or earlier when Temporal cancels the activity (if running in one). */
export function abortSignal(timeoutMs: number): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    return AbortSignal.any([timeout, Context.current().cancellationSignal]);
  } catch {
    return timeout;
  }
}

/** The activity attempt (1-based), or 1 when called outside an activity (plain calls in tests, scripts). */
function currentAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}

export function scrub(text: string, secret: string): string {
  return secret === '' ? text : text.split(secret).join(REDACTED);
}

