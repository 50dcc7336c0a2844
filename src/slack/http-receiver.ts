// Slack interactivity endpoint: a thin receiver. It reads the request, answers Slack's ssl_check, verifies the
// signature and timestamp, and hands the `payload` field to the click handler (click-handler.ts), which delivers the
// click as a workflow Update and acknowledges through this receiver's 200 (https://docs.slack.dev/interactivity/handling-user-interaction).
//
//   POST /slack/interactions  signed `payload=<json>` → click handler → 200 "" (within Slack's 3 s)
//   GET  /healthz             200 {"ok":true}
//
// Malformed requests get 4xx naming the problem: 401 signature or timestamp, 400 payload, 413 size.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySlackRequest } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import type { Logger } from 'pino';
import { createClickHandler, type ClickMetrics } from './click-handler';
import { ClickPayloadError } from './clicks';
import { createSlackClient } from './client';

const INTERACTIONS_PATH = '/slack/interactions';
const HEALTH_PATH = '/healthz';

/** Slack's and python-slack-sdk's window: a timestamp more than 5 minutes away, either way, is refused. */
const MAX_CLOCK_SKEW_SECONDS = 300;

export interface HandlerOptions {
  signingSecret: string;
  temporal: Client;
  /** Where the receiver and the click handler log: ids and reasons only, never bodies, headers or tokens. */
  logger: Logger;
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
  /** Clicks by outcome and time to acknowledge, when the process serves /metrics. */
  metrics?: ClickMetrics;
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

export function createHandler(opts: HandlerOptions): HandlerServer {
  if (!opts.signingSecret) throw new Error('createHandler: signingSecret is required');
  const clock = opts.clock ?? Date.now;
  const maxBodyBytes = opts.maxBodyBytes ?? 64 * 1024;
  const log = opts.logger;
  const clicks = createClickHandler({
    transport: 'http',
    temporal: opts.temporal,
    logger: log,
    ...(opts.slack ? { slack: opts.slack } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.ackTimeoutMs !== undefined ? { ackTimeoutMs: opts.ackTimeoutMs } : {}),
    ...(opts.updateTimeoutMs !== undefined ? { updateTimeoutMs: opts.updateTimeoutMs } : {}),
    ...(opts.confirmToClicker !== undefined ? { confirmToClicker: opts.confirmToClicker } : {}),
  });
  const inFlight = new Set<Promise<void>>();

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
    try {
      await clicks.handle(payload, () => void res.writeHead(200).end());
    } catch (err) {
      if (err instanceof ClickPayloadError) throw new HttpError(400, err.message);
      throw err;
    }
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
        log.error({ error: errorName(err), detail: errorMessage(err) }, 'interaction failed after the response');
        return;
      }
      if (err instanceof HttpError) {
        log[err.status === 401 ? 'warn' : 'info']({ status: err.status, reason: err.message }, 'interaction rejected');
        const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain' };
        if (err.status === 413) headers.connection = 'close';
        res.writeHead(err.status, headers).end(err.message);
        return;
      }
      log.error({ error: errorName(err), detail: errorMessage(err) }, 'interaction failed');
      res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
    });
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  }) as HandlerServer;
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.settled = async () => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    await clicks.settled();
  };
  return server;
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
  logger: Logger;
  /** Close cleanly on SIGTERM / SIGINT. Default true. */
  handleSignals?: boolean;
  metrics?: ClickMetrics;
}

export interface RunningHandler {
  server: HandlerServer;
  url: string;
  close(): Promise<void>;
}


/** Connects Temporal and Slack, listens, and closes cleanly on SIGTERM. */
export async function startHandler(config: HandlerStartConfig): Promise<RunningHandler> {
  const log = config.logger;
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
        logger: log,
      })
    : undefined;
  const server = createHandler({
    signingSecret: config.signingSecret,
    temporal,
    ...(slack ? { slack } : {}),
    ...(config.ackTimeoutMs !== undefined ? { ackTimeoutMs: config.ackTimeoutMs } : {}),
    ...(config.metrics ? { metrics: config.metrics } : {}),
    logger: log,
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
  log.info({ url: `${url}${INTERACTIONS_PATH}` }, 'slack handler listening');

  let closing: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'shutting down');
    void close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ error: errorName(err), detail: errorMessage(err) }, 'shutdown failed');
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
