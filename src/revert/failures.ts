// Why a revert stopped, as a RevertFailure whose `type` the review workflow branches on (activities/aws-revert.ts
// turns it into a Temporal ApplicationFailure), and the small helpers that turn AWS "not found" answers into
// "already reverted" / "gone".
import { isRecord } from '../core/text';
import { FailureTypes } from '../core/types';

// ---- failures ----

export interface RevertFailureOptions {
  message: string;
  /** FailureTypes.* or another stable string the workflow can branch on. */
  type: string;
  nonRetryable: boolean;
  /** When retrying is worth it only after a pause (throttling), in milliseconds. */
  nextRetryDelayMs?: number;
  /** Evidence for the humans reading the failure (the state before and after). */
  details?: unknown[];
  cause?: Error;
}

/** A revert that did not happen or could not be proven. Thrown by everything in src/revert that runs a revert. */
export class RevertFailure extends Error {
  readonly type: string;
  readonly nonRetryable: boolean;
  readonly nextRetryDelayMs?: number;
  readonly details?: unknown[];

  constructor(o: RevertFailureOptions) {
    super(o.message, o.cause ? { cause: o.cause } : undefined);
    this.name = 'RevertFailure';
    this.type = o.type;
    this.nonRetryable = o.nonRetryable;
    if (o.nextRetryDelayMs !== undefined) this.nextRetryDelayMs = o.nextRetryDelayMs;
    if (o.details !== undefined) this.details = o.details;
  }
}

export function forbidden(message: string): RevertFailure {
  return new RevertFailure({ message, type: FailureTypes.RevertForbidden, nonRetryable: true });
}

interface AwsErrorShape {
  code: string;
  message: string;
  status?: number;
  fault?: string;
  /** Node's errno code (ECONNREFUSED, ECONNRESET, ETIMEDOUT…) when no HTTP answer came back. */
  network?: string;
}

export function awsError(err: unknown): AwsErrorShape {
  const e = isRecord(err) || err instanceof Error ? (err as unknown as Record<string, unknown>) : {};
  const raw = typeof e.Code === 'string' ? e.Code : typeof e.name === 'string' ? e.name : 'Error';
  const meta = isRecord(e.$metadata) ? e.$metadata : undefined;
  return {
    // CloudTrail writes "Client.InvalidPermission.NotFound"; the API answers without the prefix.
    code: raw.replace(/^(Client|Server)\./, ''),
    message: typeof e.message === 'string' ? e.message : String(err),
    status: typeof meta?.httpStatusCode === 'number' ? meta.httpStatusCode : undefined,
    fault: typeof e.$fault === 'string' ? e.$fault : undefined,
    network:
      typeof e.code === 'string' && /^E[A-Z_]+$/.test(e.code)
        ? e.code
        : raw === 'TimeoutError' || raw === 'AbortError'
          ? raw
          : undefined,
  };
}

const CREDENTIAL_ERRORS = new Set([
  'AuthFailure',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'ExpiredToken',
  'ExpiredTokenException',
  'MissingAuthenticationToken',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'InvalidSignatureException',
  'CredentialsProviderError',
]);
const THROTTLING = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'SlowDown',
  'PriorRequestNotComplete',
]);

/** Maps an SDK error (any service, or STS) at `step` to the failure the workflow branches on. */
export function revertFailure(err: unknown, step: string): RevertFailure {
  if (err instanceof RevertFailure) return err;
  const e = awsError(err);
  const text = `${step}: ${e.code}: ${e.message}`;
  if (e.code === 'UnauthorizedOperation' || e.code.startsWith('AccessDenied') || e.code === 'UnauthorizedAccess') {
    return new RevertFailure({ message: text, type: FailureTypes.RevertForbidden, nonRetryable: true });
  }
  if (CREDENTIAL_ERRORS.has(e.code)) {
    return new RevertFailure({ message: text, type: FailureTypes.InvalidCredentials, nonRetryable: true });
  }
  if (THROTTLING.has(e.code) || e.status === 429) {
    return new RevertFailure({ message: text, type: FailureTypes.RateLimited, nonRetryable: false, nextRetryDelayMs: 5_000 });
  }
  const cause = err instanceof Error ? err : undefined;
  if ((e.status !== undefined && e.status >= 500) || e.fault === 'server' || e.network) {
    // 5xx, or no HTTP answer at all (connection refused, reset, timeout): worth another attempt.
    const message = e.network ? `${step}: ${e.network}: ${e.message}` : text;
    return new RevertFailure({ message, type: 'AwsUnavailable', nonRetryable: false, cause });
  }
  if (e.status === undefined) {
    // Not an AWS answer (a bug or an unexpected runtime error): retryable, bounded by the activity retry policy.
    return new RevertFailure({ message: text, type: e.code, nonRetryable: false, cause });
  }
  return new RevertFailure({ message: text, type: FailureTypes.VendorRejected, nonRetryable: true });
}

/** Runs `fn`; an AWS error whose code is in `codes` becomes `fallback` instead. */
export async function unless<T>(codes: readonly string[], fallback: T, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RevertFailure) throw err;
    if (codes.includes(awsError(err).code)) return fallback;
    throw err;
  }
}

/** The resource the revert is about no longer exists: nothing left to revert. */
export class Gone extends Error {
  constructor(
    readonly what: string,
    readonly code: string,
  ) {
    super(`${what} no longer exists (${code})`);
  }
}

export async function orGone<T>(codes: readonly string[], what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const { code } = awsError(err);
    if (codes.includes(code)) throw new Gone(what, code);
    throw err;
  }
}
