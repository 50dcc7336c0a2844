// AWS errors (any service, or STS) → the ApplicationFailure the workflow branches on, and the small helpers that
// turn "not found" answers into "already reverted" / "gone".
import { ApplicationFailure } from '@temporalio/activity';
import { isRecord } from '../core/text';
import { FailureTypes } from '../core/types';

// ---- failures ----

export function forbidden(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: FailureTypes.RevertForbidden, nonRetryable: true });
}

export { isRecord };

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

/** Maps an SDK error (any service, or STS) to the failure the workflow branches on. */
export function toFailure(err: unknown, step: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = awsError(err);
  const text = `${step}: ${e.code}: ${e.message}`;
  if (e.code === 'UnauthorizedOperation' || e.code.startsWith('AccessDenied') || e.code === 'UnauthorizedAccess') {
    return ApplicationFailure.create({ message: text, type: FailureTypes.RevertForbidden, nonRetryable: true });
  }
  if (CREDENTIAL_ERRORS.has(e.code)) {
    return ApplicationFailure.create({ message: text, type: FailureTypes.InvalidCredentials, nonRetryable: true });
  }
  if (THROTTLING.has(e.code) || e.status === 429) {
    return ApplicationFailure.create({ message: text, type: FailureTypes.RateLimited, nextRetryDelay: '5 seconds' });
  }
  const cause = err instanceof Error ? err : undefined;
  if ((e.status !== undefined && e.status >= 500) || e.fault === 'server' || e.network) {
    // 5xx, or no HTTP answer at all (connection refused, reset, timeout): worth another attempt.
    const message = e.network ? `${step}: ${e.network}: ${e.message}` : text;
    return ApplicationFailure.create({ message, type: 'AwsUnavailable', nonRetryable: false, cause });
  }
  if (e.status === undefined) {
    // Not an AWS answer (a bug or an unexpected runtime error): retryable, bounded by the activity retry policy.
    return ApplicationFailure.create({ message: text, type: e.code, nonRetryable: false, cause });
  }
  return ApplicationFailure.create({ message: text, type: FailureTypes.VendorRejected, nonRetryable: true });
}

/** Runs `fn`; an AWS error whose code is in `codes` becomes `fallback` instead. */
export async function unless<T>(codes: readonly string[], fallback: T, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
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
