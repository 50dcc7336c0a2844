// Slack interactivity endpoint: verifies a button click, turns it into a workflow Update and acknowledges Slack
// within 3 seconds (vendors.md §1.3–1.5). Plain node:http; the click logic itself is in clicks.ts.
//
//   POST /slack/interactions  signed `payload=<json>` → executeUpdate (raced against the ack deadline) → 200 ""
//   GET  /healthz             200 {"ok":true}
//
// A refused click (the workflow's validator: not the actor, already decided, past the deadline) or one on a closed
// review is explained to the clicker alone with chat.postEphemeral, after Slack has been acknowledged.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySlackRequest } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import {
  Client,
  Connection,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type ConnectionOptions,
} from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { createSlackClient } from '../../activities/slack';
import { decisionUpdate, duoRetryUpdate } from '../../workflows/messages';
import type { UpdateResult } from '../core/types';
import type { VouchMetrics } from '../cli/metrics';
import { ClickPayloadError, interpretClick, isIgnored, type ClickCommand } from './clicks';

export const INTERACTIONS_PATH = '/slack/interactions';
export const HEALTH_PATH = '/healthz';

/** Slack's and python-slack-sdk's window: a timestamp more than 5 minutes away, either way, is refused. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type HandlerLog = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** One JSON object per line on stderr. Callers pass only ids and reasons: never bodies, headers or tokens. */
export const jsonLineLog: HandlerLog = (level, msg, fields = {}) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
};

export interface HandlerOptions {
  signingSecret: string;
  temporal: Client;
  /** For ephemeral replies to the clicker; without it refusals are only logged. */
  slack?: WebClient;
  /** Milliseconds since the epoch; injectable for timestamp tests. */
  clock?: () => number;
  /** How long to wait for the Update before acknowledging Slack anyway. Default 2500 (Slack allows 3000). */
  ackTimeoutMs?: number;
  /** How long to keep waiting for the Update in the background after the ack. Default 30000. */
  updateTimeoutMs?: number;
  /** Largest accepted body in bytes. Default 64 KiB. */
  maxBodyBytes?: number;
  /** Tell the clicker the workflow's own "accepted" text (UpdateResult.message) too. Default true. */
  confirmToClicker?: boolean;
  log?: HandlerLog;
  /** Clicks by outcome and time to acknowledge (src/cli/metrics.ts), when the process serves /metrics. */
  metrics?: Pick<VouchMetrics, 'clicks' | 'clickAck'>;
}

export interface HandlerServer extends http.Server {
  /** Resolves once every click in flight (Update and ephemeral reply) has finished. */
  settled(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What happened to an Update, in terms the clicker can be told. */
export type UpdateOutcome =
  | { kind: 'accepted'; message: string }
  | { kind: 'refused'; message: string }
  | { kind: 'closed'; message: string }
  | { kind: 'timeout'; message: string }
  | { kind: 'failed'; message: string };

const TEXT = {
  closed: 'This review is closed or no longer exists, so your click changed nothing.',
  timeout: 'vouch could not record your click in time. If the message does not change within a minute, click again.',
  failed: 'vouch could not record your click just now. Please try again in a minute.',
} as const;

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new HttpError(413, `body larger than ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.pause();
        reject(new HttpError(413, `body larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (done) return;
      done = true;
      reject(err);
    });
  });
}

function singleHeader(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Slack's signature and timestamp checks. Bolt's verifySlackRequest covers the signature and stale timestamps;
 * a timestamp from the future is refused here as well (bolt only looks backwards).
 */
function verifySignature(req: http.IncomingMessage, rawBody: string, signingSecret: string, nowMs: number): void {
  const signature = singleHeader(req, 'x-slack-signature');
  const tsHeader = singleHeader(req, 'x-slack-request-timestamp');
  if (!signature) throw new HttpError(401, 'missing X-Slack-Signature header');
  if (!tsHeader) throw new HttpError(401, 'missing X-Slack-Request-Timestamp header');
  if (!/^\d{1,12}$/.test(tsHeader)) throw new HttpError(401, 'malformed X-Slack-Request-Timestamp header');
  const ts = Number(tsHeader);
  const nowSec = Math.floor(nowMs / 1000);
  if (ts > nowSec + MAX_CLOCK_SKEW_SECONDS) throw new HttpError(401, 'timestamp is in the future');
  if (ts < nowSec - MAX_CLOCK_SKEW_SECONDS) throw new HttpError(401, 'timestamp is stale');
  try {
    verifySlackRequest({
      signingSecret,
      body: rawBody,
      headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': ts },
      nowMilliseconds: nowMs,
    });
  } catch (err) {
    const detail = err instanceof Error ? err.message : '';
    throw new HttpError(401, /stale/.test(detail) ? 'timestamp is stale' : 'signature mismatch');
  }
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Maps what the Temporal client threw to what the clicker should read. */
export function describeUpdateError(err: unknown): UpdateOutcome {
  if (err instanceof WorkflowUpdateFailedError) {
    // The validator's (or handler's) Error message travels as the ApplicationFailure cause's message.
    const reason = err.cause?.message || err.message;
    return { kind: 'refused', message: reason };
  }
  if (err instanceof WorkflowNotFoundError) return { kind: 'closed', message: TEXT.closed };
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return { kind: 'timeout', message: TEXT.timeout };
  return { kind: 'failed', message: TEXT.failed };
}

function delay(ms: number): { promise: Promise<'ack-timeout'>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<'ack-timeout'>((resolve) => {
    timer = setTimeout(() => resolve('ack-timeout'), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

export interface ClickDeliveryDeps {
  temporal: Client;
  /** For the ephemeral reply to the clicker; without it the result is only logged. */
  slack?: WebClient;
  log: HandlerLog;
  /** How long to keep waiting for the Update. Default 30000. */
  updateTimeoutMs?: number;
  /** Tell the clicker the workflow's own "accepted" text too. Default true. */
  confirmToClicker?: boolean;
}

/** Deliver a click as its workflow Update (the Update id makes double clicks harmless). Never throws. */
export async function runClickUpdate(cmd: ClickCommand, deps: ClickDeliveryDeps): Promise<UpdateOutcome> {
  const handle = deps.temporal.workflow.getHandle(cmd.workflowId);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), deps.updateTimeoutMs ?? 30_000);
  try {
    const result: UpdateResult = await deps.temporal.withAbortSignal(abort.signal, () =>
      cmd.update === 'decision'
        ? handle.executeUpdate(decisionUpdate, { args: cmd.args, updateId: cmd.updateId })
        : handle.executeUpdate(duoRetryUpdate, { args: cmd.args, updateId: cmd.updateId }),
    );
    deps.log('info', 'click accepted', ids(cmd));
    return { kind: 'accepted', message: result.message };
  } catch (err) {
    const outcome = describeUpdateError(abort.signal.aborted ? new WorkflowUpdateRPCTimeoutOrCancelledError('') : err);
    const level: LogLevel = outcome.kind === 'refused' || outcome.kind === 'closed' ? 'info' : 'error';
    deps.log(level, `click ${outcome.kind}`, {
      ...ids(cmd),
      reason: outcome.message,
      error: errorName(err),
      detail: errorMessage(err),
    });
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}

/** Tell the clicker alone (chat.postEphemeral) what became of their click. Never throws. */
export async function replyToClicker(cmd: ClickCommand, outcome: UpdateOutcome, deps: ClickDeliveryDeps): Promise<void> {
  if (outcome.kind === 'accepted' && (!(deps.confirmToClicker ?? true) || !outcome.message)) return;
  if (!deps.slack) return;
  if (!cmd.channelId) {
    deps.log('warn', 'no channel to reply in', ids(cmd));
    return;
  }
  try {
    await deps.slack.chat.postEphemeral({ channel: cmd.channelId, user: cmd.clicker.id, text: outcome.message });
  } catch (err) {
    // web-api errors carry the API error code in the message (e.g. channel_not_found), never the token.
    deps.log('error', 'ephemeral reply failed', { ...ids(cmd), error: errorName(err), detail: errorMessage(err) });
  }
}

export function createHandler(opts: HandlerOptions): HandlerServer {
  if (!opts.signingSecret) throw new Error('createHandler: signingSecret is required');
  const clock = opts.clock ?? Date.now;
  const ackTimeoutMs = opts.ackTimeoutMs ?? 2500;
  const updateTimeoutMs = opts.updateTimeoutMs ?? 30_000;
  const maxBodyBytes = opts.maxBodyBytes ?? 64 * 1024;
  const confirmToClicker = opts.confirmToClicker ?? true;
  const log = opts.log ?? jsonLineLog;
  const inFlight = new Set<Promise<void>>();

  function track(p: Promise<void>): void {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }

  const delivery: ClickDeliveryDeps = {
    temporal: opts.temporal,
    ...(opts.slack ? { slack: opts.slack } : {}),
    log,
    updateTimeoutMs,
    confirmToClicker,
  };

  async function handleInteraction(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const raw = (await readBody(req, maxBodyBytes)).toString('utf8');
    const form = new URLSearchParams(raw);
    if (form.get('ssl_check') === '1') {
      res.writeHead(200).end();
      return;
    }
    verifySignature(req, raw, opts.signingSecret, clock());

    const payloadText = form.get('payload');
    if (payloadText === null) throw new HttpError(400, 'missing payload field');
    let payload: unknown;
    try {
      payload = JSON.parse(payloadText);
    } catch {
      throw new HttpError(400, 'payload is not JSON');
    }
    let cmd: ClickCommand;
    try {
      const interpreted = interpretClick(payload);
      if (isIgnored(interpreted)) {
        log('debug', 'interaction ignored', { reason: interpreted.ignored });
        res.writeHead(200).end();
        return;
      }
      cmd = interpreted;
    } catch (err) {
      if (err instanceof ClickPayloadError) throw new HttpError(400, err.message);
      throw err;
    }

    const receivedAt = Date.now();
    const update = runClickUpdate(cmd, delivery);
    const ackTimer = delay(ackTimeoutMs);
    const first = await Promise.race([update, ackTimer.promise]);
    ackTimer.cancel();
    if (first === 'ack-timeout') log('warn', 'acknowledged before the update finished', ids(cmd));
    // Registered before the ack goes out, so settled() covers the reply to the clicker.
    track(
      update.then((outcome) => {
        opts.metrics?.clicks.inc({ transport: 'http', outcome: outcome.kind });
        return replyToClicker(cmd, outcome, delivery);
      }),
    );
    res.writeHead(200).end();
    opts.metrics?.clickAck.observe({ transport: 'http' }, (Date.now() - receivedAt) / 1000);
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === HEALTH_PATH) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
      return;
    }
    if (req.method !== 'POST' || url.pathname !== INTERACTIONS_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      req.resume();
      return;
    }
    const work = handleInteraction(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        log('error', 'interaction failed after the response', { error: errorName(err), detail: errorMessage(err) });
        return;
      }
      if (err instanceof HttpError) {
        log(err.status === 401 ? 'warn' : 'info', 'interaction rejected', { status: err.status, reason: err.message });
        const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain' };
        if (err.status === 413) headers.connection = 'close';
        res.writeHead(err.status, headers).end(err.message);
        return;
      }
      log('error', 'interaction failed', { error: errorName(err), detail: errorMessage(err) });
      res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
    });
    track(work);
  }) as HandlerServer;
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.settled = async () => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };
  return server;
}

function ids(cmd: ClickCommand): Record<string, unknown> {
  return { workflowId: cmd.workflowId, updateId: cmd.updateId, update: cmd.update, user: cmd.clicker.id };
}

// ---- Process entry point (used by the CLI) ----

export interface HandlerStartConfig {
  signingSecret: string;
  slackBotToken?: string;
  /** Default https://slack.com/api/. */
  slackApiUrl?: string;
  temporal: { address: string; namespace?: string } & Pick<ConnectionOptions, 'tls' | 'apiKey' | 'metadata'>;
  /** Default 3000. */
  port?: number;
  /** Default 127.0.0.1; put a TLS-terminating proxy in front for Slack. */
  host?: string;
  ackTimeoutMs?: number;
  log?: HandlerLog;
  /** Close cleanly on SIGTERM / SIGINT. Default true. */
  handleSignals?: boolean;
  metrics?: Pick<VouchMetrics, 'clicks' | 'clickAck'>;
}

export interface RunningHandler {
  server: HandlerServer;
  url: string;
  close(): Promise<void>;
}


/** Connects Temporal and Slack, listens, and closes cleanly on SIGTERM. */
export async function startHandler(config: HandlerStartConfig): Promise<RunningHandler> {
  const log = config.log ?? jsonLineLog;
  const connection = await Connection.connect({
    address: config.temporal.address,
    ...(config.temporal.tls !== undefined ? { tls: config.temporal.tls } : {}),
    ...(config.temporal.apiKey !== undefined ? { apiKey: config.temporal.apiKey } : {}),
    ...(config.temporal.metadata !== undefined ? { metadata: config.temporal.metadata } : {}),
  });
  const temporal = new Client({ connection, namespace: config.temporal.namespace ?? 'default' });
  // Fail-fast client (no retry loop, 429 rejected at once, bounded timeout); its log lines are token-scrubbed.
  const slack = config.slackBotToken
    ? createSlackClient({
        token: config.slackBotToken,
        ...(config.slackApiUrl ? { apiUrl: config.slackApiUrl } : {}),
        timeoutMs: 5000,
        logSink: (level, line) => log(level, line),
      })
    : undefined;
  const server = createHandler({
    signingSecret: config.signingSecret,
    temporal,
    ...(slack ? { slack } : {}),
    ...(config.ackTimeoutMs !== undefined ? { ackTimeoutMs: config.ackTimeoutMs } : {}),
    ...(config.metrics ? { metrics: config.metrics } : {}),
    log,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port ?? 3000, config.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  log('info', 'slack handler listening', { url: `${url}${INTERACTIONS_PATH}` });

  let closing: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    log('info', 'shutting down', { signal });
    void close().then(
      () => process.exit(0),
      (err: unknown) => {
        log('error', 'shutdown failed', { error: errorName(err), detail: errorMessage(err) });
        process.exit(1);
      },
    );
  };
  function close(): Promise<void> {
    closing ??= (async () => {
      if (config.handleSignals ?? true) {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await server.settled();
      await connection.close();
    })();
    return closing;
  }
  if (config.handleSignals ?? true) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return { server, url, close };
}
