// Duo Auth API v2 activities: check that a user can be asked with a real push, send the push about an AWS change,
// then wait for the answer. Uses the vendor's own client (`@duosecurity/duo_api`), with its 429 backoff turned off so
// Temporal owns retries. API: https://duo.com/docs/authapi (preauth, auth with async=1, then auth_status).
//
// What vouch trusts: only a push the person answered. A bypass user (preauth `allow`, auth_status `bypass`) is never a
// confirmation: checkDuoUser and sendDuoPush fail with DuoBypass, awaitDuoResult answers `bypass`.
// A push is sent at most once per sendDuoPush scheduling: the workflow schedules it with one attempt, and a retried
// attempt (attempt > 1, e.g. after a worker died between /auth and the activity's completion) refuses with
// DuoPushUncertain instead of calling /auth again. Once /auth has been called, every failure is non-retryable
// DuoPushUncertain (a push may be on the phone): the workflow treats it as a failed push, which the engineer may retry
// (counted against the review's push limit); the unknown push is never polled, so answering it confirms nothing.
// Every request is bounded (the client has no timeout of its own): preauth and /auth by requestTimeoutMs, each
// auth_status long-poll by statusTimeoutMs; a bound that passes is DuoTimeout (retryable) for preauth and auth_status.
import { createRequire } from 'node:module';
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import { redact } from '../src/core/redact';
import { isRecord, truncate } from '../src/core/text';
import {
  FailureTypes,
  type DuoPushInput,
  type DuoPushStarted,
  type DuoResult,
  type DuoStatus,
  type DuoUserCheck,
} from '../src/core/types';

export type DuoParams = Record<string, string>;

/** The part of `duo_api.Client` vouch uses. `callback` receives the raw response body (or a `{stat:'ERROR'}` JSON). */
export interface DuoClientLike {
  apiCall(method: 'GET' | 'POST', path: string, params: DuoParams, callback: (body: string) => void): void;
}

export interface DuoDeps {
  duo: DuoClientLike;
  /** Tuning for `awaitDuoResult`; production leaves it unset. */
  duoPolling?: DuoPollingOptions;
  /** Request bounds; production leaves it unset (the defaults). */
  duoTimeouts?: DuoTimeouts;
}

export interface DuoTimeouts {
  /** Bound on preauth and /auth. Default 15 s. */
  requestTimeoutMs?: number;
  /** Bound on one auth_status long-poll (Duo answers when the push changes, or after a while). Default 70 s. */
  statusTimeoutMs?: number;
}

export interface DuoPollingOptions {
  /** Total time `awaitDuoResult` waits for an answer before returning `timeout`. Default 90 s (a push lives 60 s). */
  maxWaitMs?: number;
  /** Minimum length of one polling round, so a server that answers at once is not hammered. Default 1 s. */
  minRoundMs?: number;
}

export interface DuoClientConfig {
  ikey: string;
  skey: string;
  /** API host name only, e.g. `api-xxxxxxxx.duosecurity.com` (the client always uses https on port 443). */
  host: string;
}

interface DuoApiModule {
  Client: new (ikey: string, skey: string, host: string, sigVersion?: number) => DuoClientLike;
}
interface DuoConstantsModule {
  _MAX_BACKOFF_WAIT_SECS: number;
}

// The package ships no type declarations; load it through a typed require.
const requireCjs = createRequire(__filename);

/**
 * A Duo Auth API client with the library's own 429 backoff disabled. `_request_with_backoff` in lib/main.js retries
 * while `waitSecs <= constants._MAX_BACKOFF_WAIT_SECS`, starting at waitSecs = 1, reading the constant from the
 * shared module object on every response; with it at 0 a 429 comes straight back to the callback.
 * (Process-wide for this package, which is what we want: Temporal activity retries own the backoff.)
 */
export function createDuoClient(config: DuoClientConfig): DuoClientLike {
  const constants = requireCjs('@duosecurity/duo_api/lib/constants') as DuoConstantsModule;
  constants._MAX_BACKOFF_WAIT_SECS = 0;
  const duoApi = requireCjs('@duosecurity/duo_api') as DuoApiModule;
  return new duoApi.Client(config.ikey, config.skey, config.host);
}

const PUSH_TYPE = 'AWS change';
const PUSHINFO_MAX_BYTES = 19_000; // Duo's limit is 20,000 bytes
const RATE_LIMIT_RETRY_DELAY = '5 seconds';
const DEFAULT_MAX_WAIT_MS = 90_000;
const DEFAULT_MIN_ROUND_MS = 1_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
const DEFAULT_STATUS_TIMEOUT_MS = 70_000;

interface DuoDevice {
  device?: string;
  capabilities?: string[];
}
interface PreauthResponse {
  result?: string;
  status_msg?: string;
  devices?: DuoDevice[];
}
interface AuthAsyncResponse {
  txid?: string;
}
interface AuthStatusResponse {
  result?: string;
  status?: string;
  status_msg?: string;
}


/** Thrown by `call` when Duo did not answer within its bound. */
class DuoRequestTimeout extends Error {}

/**
 * One client call, bounded by `timeoutMs`. The client takes no signal and keeps no handle on its request, so a call
 * that passes its bound is abandoned (its late answer is ignored) and reported as DuoRequestTimeout.
 */
function call(duo: DuoClientLike, method: 'GET' | 'POST', path: string, params: DuoParams, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new DuoRequestTimeout(`no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    const done = (body: string): void => {
      clearTimeout(timer);
      resolve(body);
    };
    try {
      duo.apiCall(method, path, params, done);
    } catch (err) {
      clearTimeout(timer);
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}

/** Parses a Duo reply, returning `response` on `stat: OK` and throwing the right ApplicationFailure otherwise. */
function parseDuoReply(body: string, what: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    const head = body.replace(/\s+/g, ' ').trim().slice(0, 80);
    throw ApplicationFailure.create({
      type: 'DuoUnexpectedResponse',
      message: `Duo ${what}: the response body was not JSON (first 80 characters: ${JSON.stringify(head)})`,
    });
  }
  if (!isRecord(parsed)) {
    throw ApplicationFailure.create({ type: 'DuoUnexpectedResponse', message: `Duo ${what}: response is not an object` });
  }
  if (parsed.stat === 'OK') return parsed.response;
  if (parsed.stat === 'ERROR') {
    // The client reports network errors (ECONNREFUSED, resets, TLS failures) this way instead of throwing.
    throw ApplicationFailure.create({
      type: 'DuoUnavailable',
      message: `Duo ${what}: request failed: ${String(parsed.message ?? 'unknown network error')}`,
    });
  }
  if (parsed.stat !== 'FAIL') {
    throw ApplicationFailure.create({
      type: 'DuoUnexpectedResponse',
      message: `Duo ${what}: unexpected stat ${JSON.stringify(parsed.stat)}`,
    });
  }
  const code = typeof parsed.code === 'number' ? parsed.code : Number(parsed.code);
  const detail = [parsed.message, parsed.message_detail].filter((s) => typeof s === 'string' && s !== '').join(': ');
  const text = `Duo ${what} failed with ${Number.isFinite(code) ? code : 'no code'}${detail ? ` (${detail})` : ''}`;
  const status = Number.isFinite(code) ? Math.floor(code / 100) : 0;
  if (status === 401) {
    throw ApplicationFailure.create({ type: FailureTypes.InvalidCredentials, message: text, nonRetryable: true });
  }
  if (status === 429) {
    throw ApplicationFailure.create({ type: FailureTypes.RateLimited, message: text, nextRetryDelay: RATE_LIMIT_RETRY_DELAY });
  }
  if (status >= 400 && status < 500) {
    throw ApplicationFailure.create({ type: FailureTypes.VendorRejected, message: text, nonRetryable: true });
  }
  throw ApplicationFailure.create({ type: 'DuoUnavailable', message: text });
}

async function duoRequest(duo: DuoClientLike, method: 'GET' | 'POST', path: string, params: DuoParams, timeoutMs: number): Promise<unknown> {
  let body: string;
  try {
    body = await call(duo, method, path, params, timeoutMs);
  } catch (err) {
    if (err instanceof DuoRequestTimeout) {
      throw ApplicationFailure.create({ type: FailureTypes.DuoTimeout, message: `Duo ${method} ${path}: ${err.message}` });
    }
    throw err;
  }
  return parseDuoReply(body, `${method} ${path}`);
}


function encodePair(key: string, value: string): string {
  return `${encodeURIComponent(key)}=${encodeURIComponent(value)}`;
}

/**
 * The push context shown in Duo Mobile: a URL-encoded `key=value&…` string under 20,000 bytes.
 * Only the change's outline (never its request parameters), redacted again as defence in depth.
 */
export function buildPushInfo(input: DuoPushInput): string {
  const { change } = input;
  const fields = redact({
    event: change.eventName,
    account: change.account,
    region: change.region,
    actor: change.actor.name,
    summary: change.summary,
    review: input.reviewId,
  }) as Record<string, unknown>;
  // The purpose goes first, so it survives when the pairs are cut to fit.
  const pairs = [...(input.purpose ? [['purpose', input.purpose] as const] : []), ...Object.entries(fields)]
    .filter(([, v]) => typeof v === 'string' && v !== '')
    .map(([k, v]) => encodePair(k, truncate(v as string, k === 'summary' ? 1000 : 256)));
  let info = pairs.join('&');
  while (Buffer.byteLength(info, 'utf8') > PUSHINFO_MAX_BYTES && pairs.length > 1) {
    pairs.pop();
    info = pairs.join('&');
  }
  return info;
}

function mapStatus(reply: AuthStatusResponse): DuoResult | null {
  const status = reply.status ?? '';
  if (status === 'fraud') return 'fraud';
  // A bypass user is let through with result allow, status bypass: nobody answered a push.
  if (status === 'bypass') return 'bypass';
  if (reply.result === 'allow') return 'allow';
  if (reply.result === 'deny') return 'deny';
  if (status === 'timeout') return 'timeout';
  if (status === 'push_failed') return 'failed';
  return null;
}

function asAuthStatus(response: unknown): AuthStatusResponse {
  if (!isRecord(response)) return {};
  const pick = (k: string): string | undefined => (typeof response[k] === 'string' ? (response[k] as string) : undefined);
  return { result: pick('result'), status: pick('status'), status_msg: pick('status_msg') };
}

interface PollCheckpoint {
  txid: string;
  startedAt: number;
}

function checkpointFrom(details: unknown, txid: string): PollCheckpoint | undefined {
  if (!isRecord(details) || details.txid !== txid || typeof details.startedAt !== 'number') return undefined;
  return { txid, startedAt: details.startedAt };
}

/** The activity attempt (1-based), or 1 outside an activity (plain calls in tests). */
function currentAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}

function delay(ms: number): { promise: Promise<'elapsed'>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<'elapsed'>((resolve) => {
    timer = setTimeout(() => resolve('elapsed'), Math.max(0, ms));
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

export function createDuoActivities(deps: DuoDeps) {
  const { duo } = deps;
  const maxWaitMs = deps.duoPolling?.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const minRoundMs = deps.duoPolling?.minRoundMs ?? DEFAULT_MIN_ROUND_MS;
  const requestTimeoutMs = deps.duoTimeouts?.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const statusTimeoutMs = deps.duoTimeouts?.statusTimeoutMs ?? DEFAULT_STATUS_TIMEOUT_MS;

  /** preauth: resolves when the user can be asked with a push; DuoNotEnrolled / DuoDenied / DuoBypass otherwise. */
  async function preauth(username: string): Promise<void> {
    const pre = (await duoRequest(duo, 'POST', '/auth/v2/preauth', { username }, requestTimeoutMs)) as PreauthResponse | undefined;
    const result = pre?.result;
    const statusMsg = pre?.status_msg ? `: ${pre.status_msg}` : '';
    if (result === 'enroll') {
      throw ApplicationFailure.create({
        type: FailureTypes.DuoNotEnrolled,
        message: `Duo user ${username} is not enrolled${statusMsg}`,
        nonRetryable: true,
      });
    }
    if (result === 'deny') {
      throw ApplicationFailure.create({
        type: FailureTypes.DuoDenied,
        message: `Duo denies user ${username}${statusMsg}`,
        nonRetryable: true,
      });
    }
    if (result === 'allow') {
      throw ApplicationFailure.create({
        type: FailureTypes.DuoBypass,
        message: `Duo lets ${username} through without a push (bypass user${statusMsg}): a push cannot verify them`,
        nonRetryable: true,
      });
    }
    if (result !== 'auth') {
      throw ApplicationFailure.create({
        type: 'DuoUnexpectedResponse',
        message: `Duo preauth for ${username} returned unexpected result ${JSON.stringify(result)}`,
      });
    }
    const devices = Array.isArray(pre?.devices) ? pre.devices : [];
    const pushable = devices.some((d) => Array.isArray(d.capabilities) && d.capabilities.includes('push'));
    if (!pushable) {
      throw ApplicationFailure.create({
        type: FailureTypes.DuoNotEnrolled,
        message: `Duo user ${username} has no push-capable device`,
        nonRetryable: true,
      });
    }
  }

  /** Whether the user can be asked with a real push (preauth only; retried freely: it sends nothing). */
  async function checkDuoUser(input: DuoUserCheck): Promise<void> {
    await preauth(input.duoUsername);
  }

  /**
   * Checks the user again, then starts one async Duo Push describing the change. Returns the transaction id.
   * At most one /auth per scheduling: a retried attempt refuses, and a failure once /auth was called is final.
   */
  async function sendDuoPush(input: DuoPushInput): Promise<DuoPushStarted> {
    const username = input.duoUsername;
    const attempt = currentAttempt();
    if (attempt > 1) {
      throw ApplicationFailure.create({
        type: FailureTypes.DuoPushUncertain,
        message: `not sending another Duo push to ${username}: attempt ${attempt} of this push, and an earlier attempt may have sent one`,
        nonRetryable: true,
      });
    }
    await preauth(username);

    let auth: AuthAsyncResponse | undefined;
    try {
      auth = (await duoRequest(
        duo,
        'POST',
        '/auth/v2/auth',
        {
          username,
          factor: 'push',
          device: 'auto',
          async: '1',
          type: PUSH_TYPE,
          display_username: username,
          pushinfo: buildPushInfo(input),
        },
        requestTimeoutMs,
      )) as AuthAsyncResponse | undefined;
    } catch (err) {
      if (err instanceof ApplicationFailure && err.nonRetryable) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      throw ApplicationFailure.create({
        type: FailureTypes.DuoPushUncertain,
        message: `Duo push to ${username} may or may not have been sent (${reason}); not sending it again`,
        nonRetryable: true,
      });
    }
    if (!auth || typeof auth.txid !== 'string' || auth.txid === '') {
      throw ApplicationFailure.create({
        type: FailureTypes.DuoPushUncertain,
        message: 'Duo /auth (async) returned no txid',
        nonRetryable: true,
      });
    }
    return { txid: auth.txid };
  }

  /**
   * Long-polls /auth/v2/auth_status until the push is answered, fails or times out, heartbeating every round.
   * Give the activity a heartbeatTimeout longer than one long-poll (Duo holds each request open for a while).
   * A retry after a worker crash resumes with the same overall deadline (kept in the heartbeat details).
   */
  async function awaitDuoResult(input: DuoPushStarted): Promise<DuoStatus> {
    const ctx = Context.current();
    const { txid } = input;
    const checkpoint = checkpointFrom(ctx.info.heartbeatDetails, txid) ?? { txid, startedAt: Date.now() };
    const deadline = checkpoint.startedAt + maxWaitMs;
    let last: AuthStatusResponse = { status: 'pushed', status_msg: '' };

    for (;;) {
      if (ctx.cancellationSignal.aborted) await ctx.cancelled;
      heartbeat(checkpoint);
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;

      const roundStarted = Date.now();
      const timer = delay(remaining);
      let outcome: unknown;
      try {
        // One long-poll, bounded on its own (DuoTimeout: the activity is retried and resumes from its checkpoint).
        const poll = duoRequest(duo, 'GET', '/auth/v2/auth_status', { txid }, statusTimeoutMs);
        poll.catch(() => undefined); // when the overall deadline wins, a late failure of the abandoned poll is moot
        outcome = await Promise.race([poll, timer.promise, ctx.cancelled]);
      } finally {
        timer.cancel();
      }
      if (outcome === 'elapsed') break;

      last = asAuthStatus(outcome);
      const result = mapStatus(last);
      if (result) return { result, status: last.status ?? '', statusMessage: last.status_msg ?? '' };

      const pause = Math.min(minRoundMs - (Date.now() - roundStarted), deadline - Date.now());
      if (pause > 0) {
        const wait = delay(pause);
        try {
          await Promise.race([wait.promise, ctx.cancelled]);
        } finally {
          wait.cancel();
        }
      }
    }
    return {
      result: 'timeout',
      status: last.status ?? 'timeout',
      statusMessage: `no answer from Duo within ${Math.round(maxWaitMs / 1000)} s`,
    };
  }

  return { checkDuoUser, sendDuoPush, awaitDuoResult };
}
