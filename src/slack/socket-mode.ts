// Slack Socket Mode: the alternative to a public interactivity endpoint. vouch opens an outbound WebSocket to Slack
// (@slack/socket-mode: apps.connections.open with the app-level token, then the wss URL it returns) and receives
// button clicks over it, so no inbound port, TLS certificate or signing secret is needed.
//
// Click handling is the HTTP handler's (http-receiver.ts): the same `interpretClick` (clicks.ts) turns the
// `interactive` envelope's payload — the same JSON as the HTTP `payload` field — into a workflow Update; the same
// `describeUpdateError` turns a refusal into words for the clicker; the Update is raced against the ack deadline
// (2.5 s of Slack's 3) and the envelope is acknowledged then; the clicker learns the result by an ephemeral message.
// Envelopes vouch does not handle (other payload types, other apps' buttons, events, slash commands) are
// acknowledged at once so Slack does not retry them. A malformed vouch click is acknowledged and logged.
import type { Client } from '@temporalio/client';
import { SocketModeClient, type SocketModeDispatcher } from '@slack/socket-mode';
import type { WebClient } from '@slack/web-api';
import { LogLevel as SlackLogLevel } from '@slack/web-api';
import { createRedactingLogger, createSlackClient } from '../../activities/slack';
import {
  jsonLineLog,
  replyToClicker,
  runClickUpdate,
  type ClickDeliveryDeps,
  type HandlerLog,
  type UpdateOutcome,
} from './http-receiver';
import type { VouchMetrics, ClickOutcome } from '../cli/metrics';
import { ClickPayloadError, interpretClick, isIgnored, type ClickCommand } from './clicks';

export { replyToClicker, runClickUpdate, type ClickDeliveryDeps };

function ids(cmd: ClickCommand): Record<string, unknown> {
  return { workflowId: cmd.workflowId, updateId: cmd.updateId, update: cmd.update, user: cmd.clicker.id };
}

/** What became of one click, in terms the clicker can be told. */
export type ClickResult = UpdateOutcome;

// ---- the Socket Mode connection ----

export interface SocketModeOptions {
  /** App-level token (xapp-…) with the connections:write scope. */
  appToken: string;
  temporal: Client;
  /** Bot token (xoxb-…) for ephemeral replies; or pass `slack`. */
  botToken?: string;
  slack?: WebClient;
  /** Web API base for both tokens (default https://slack.com/api/; the sandbox passes its own). */
  slackApiUrl?: string;
  /** undici dispatcher for the WebSocket and apps.connections.open (proxies, a test CA). */
  dispatcher?: SocketModeDispatcher;
  /** Wait this long for the Update before acknowledging anyway. Default 2500 (Slack allows 3000). */
  ackTimeoutMs?: number;
  updateTimeoutMs?: number;
  confirmToClicker?: boolean;
  log?: HandlerLog;
  metrics?: Pick<VouchMetrics, 'clicks' | 'clickAck'>;
}

export interface RunningSocketMode {
  client: SocketModeClient;
  /** Resolves once every click in flight (Update and reply) has finished. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

interface SlackEventArgs {
  ack: (response?: Record<string, unknown>) => Promise<void>;
  envelope_id?: string;
  type: string;
  body: unknown;
}

export async function startSocketMode(opts: SocketModeOptions): Promise<RunningSocketMode> {
  if (!/^xapp-[A-Za-z0-9-]+$/.test(opts.appToken)) {
    // A bot token here would make Slack answer not_allowed_token_type, which the client retries for a long time.
    throw new Error('Socket Mode needs an app-level token (xapp-…, scope connections:write), not a bot or user token');
  }
  const log = opts.log ?? jsonLineLog;
  const ackTimeoutMs = opts.ackTimeoutMs ?? 2500;
  const apiUrl = opts.slackApiUrl ? (opts.slackApiUrl.endsWith('/') ? opts.slackApiUrl : `${opts.slackApiUrl}/`) : undefined;
  const slack =
    opts.slack ??
    (opts.botToken
      ? createSlackClient({
          token: opts.botToken,
          ...(apiUrl ? { apiUrl } : {}),
          timeoutMs: 5000,
          logSink: (level, line) => log(level, line),
        })
      : undefined);
  const deps: ClickDeliveryDeps = {
    temporal: opts.temporal,
    ...(slack ? { slack } : {}),
    log,
    ...(opts.updateTimeoutMs !== undefined ? { updateTimeoutMs: opts.updateTimeoutMs } : {}),
    ...(opts.confirmToClicker !== undefined ? { confirmToClicker: opts.confirmToClicker } : {}),
  };
  const client = new SocketModeClient({
    appToken: opts.appToken,
    // Token-scrubbing logger (the client would otherwise print to the console).
    logger: createRedactingLogger([opts.appToken, opts.botToken ?? ''], (level, line) => log(level, line), SlackLogLevel.WARN),
    ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    clientOptions: { ...(apiUrl ? { slackApiUrl: apiUrl } : {}) },
  });

  const inFlight = new Set<Promise<void>>();
  const track = (p: Promise<void>): void => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  const count = (outcome: ClickOutcome, receivedAt: number): void => {
    opts.metrics?.clicks.inc({ transport: 'socket', outcome });
    opts.metrics?.clickAck.observe({ transport: 'socket' }, (Date.now() - receivedAt) / 1000);
  };
  const ackQuietly = async (ack: SlackEventArgs['ack'], envelopeId: string | undefined): Promise<void> => {
    try {
      await ack();
    } catch (err) {
      log('error', 'socket mode ack failed', { envelopeId, detail: err instanceof Error ? err.message : String(err) });
    }
  };

  async function onEnvelope({ ack, envelope_id: envelopeId, type, body }: SlackEventArgs): Promise<void> {
    const receivedAt = Date.now();
    if (type !== 'interactive') {
      await ackQuietly(ack, envelopeId);
      log('debug', 'socket mode envelope ignored', { envelopeId, type });
      return;
    }
    let cmd: ClickCommand;
    try {
      const interpreted = interpretClick(body);
      if (isIgnored(interpreted)) {
        await ackQuietly(ack, envelopeId);
        count('ignored', receivedAt);
        log('debug', 'interaction ignored', { envelopeId, reason: interpreted.ignored });
        return;
      }
      cmd = interpreted;
    } catch (err) {
      await ackQuietly(ack, envelopeId);
      count('invalid', receivedAt);
      log('warn', 'interaction rejected', {
        envelopeId,
        reason: err instanceof ClickPayloadError ? err.message : err instanceof Error ? err.message : String(err),
      });
      return;
    }
    const update = runClickUpdate(cmd, deps);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'ack-timeout'>((resolve) => {
      timer = setTimeout(() => resolve('ack-timeout'), ackTimeoutMs);
    });
    const first = await Promise.race([update, deadline]);
    clearTimeout(timer);
    if (first === 'ack-timeout') log('warn', 'acknowledged before the update finished', { envelopeId, ...ids(cmd) });
    // Registered before the ack goes out, so settled() covers the reply to the clicker.
    track(
      update.then(async (result) => {
        opts.metrics?.clicks.inc({ transport: 'socket', outcome: result.kind });
        await replyToClicker(cmd, result, deps);
      }),
    );
    await ackQuietly(ack, envelopeId);
    opts.metrics?.clickAck.observe({ transport: 'socket' }, (Date.now() - receivedAt) / 1000);
  }

  client.on('slack_event', (args: SlackEventArgs) => {
    track(
      onEnvelope(args).catch((err: unknown) => {
        log('error', 'socket mode envelope failed', { detail: err instanceof Error ? err.message : String(err) });
      }),
    );
  });
  client.on('error', (err: unknown) => {
    log('warn', 'socket mode connection error', { detail: err instanceof Error ? err.message : String(err) });
  });

  await client.start();
  log('info', 'socket mode connected', {});
  const settled = async (): Promise<void> => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };
  return {
    client,
    settled,
    async stop() {
      await client.disconnect();
      await settled();
    },
  };
}
