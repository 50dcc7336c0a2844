// Slack Socket Mode: the alternative to a public interactivity endpoint, as a thin receiver. vouch opens an outbound
// WebSocket to Slack (@slack/socket-mode: apps.connections.open with the app-level token, then the wss URL it
// returns), so no inbound port, TLS certificate or signing secret is needed
// (https://docs.slack.dev/apis/events-api/using-socket-mode).
//
// An `interactive` envelope carries the same JSON as the HTTP `payload` field; it goes to the click handler
// (click-handler.ts), which acknowledges the envelope when the Update has an answer or the ack timeout passed.
// Envelopes vouch does not handle (other payload types, other apps' buttons, events, slash commands) are acknowledged
// at once so Slack does not send them again; so is a malformed vouch click, which is logged.
import type { Client } from '@temporalio/client';
import { SocketModeClient, type SocketModeDispatcher } from '@slack/socket-mode';
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { createClickHandler, type ClickMetrics } from './click-handler';
import { ClickPayloadError } from './clicks';
import { createSlackClient, slackApiBase, slackLogger } from './client';

export interface SocketModeOptions {
  /** App-level token (xapp-…) with the connections:write scope. */
  appToken: string;
  temporal: Client;
  logger: Logger;
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
  metrics?: ClickMetrics;
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

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function startSocketMode(opts: SocketModeOptions): Promise<RunningSocketMode> {
  if (!/^xapp-[A-Za-z0-9-]+$/.test(opts.appToken)) {
    // A bot token here would make Slack answer not_allowed_token_type, which the client retries for a long time.
    throw new Error('Socket Mode needs an app-level token (xapp-…, scope connections:write), not a bot or user token');
  }
  const log = opts.logger;
  const apiUrl = opts.slackApiUrl ? slackApiBase(opts.slackApiUrl) : undefined;
  const slack =
    opts.slack ??
    (opts.botToken
      ? createSlackClient({ token: opts.botToken, ...(apiUrl ? { apiUrl } : {}), timeoutMs: 5000, logger: log })
      : undefined);
  const clicks = createClickHandler({
    transport: 'socket',
    temporal: opts.temporal,
    logger: log,
    ...(slack ? { slack } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.ackTimeoutMs !== undefined ? { ackTimeoutMs: opts.ackTimeoutMs } : {}),
    ...(opts.updateTimeoutMs !== undefined ? { updateTimeoutMs: opts.updateTimeoutMs } : {}),
    ...(opts.confirmToClicker !== undefined ? { confirmToClicker: opts.confirmToClicker } : {}),
  });
  const client = new SocketModeClient({
    appToken: opts.appToken,
    logger: slackLogger(log, [opts.appToken, opts.botToken ?? '']),
    ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    clientOptions: { ...(apiUrl ? { slackApiUrl: apiUrl } : {}) },
  });

  const inFlight = new Set<Promise<void>>();
  async function onEnvelope({ ack, envelope_id: envelopeId, type, body }: SlackEventArgs): Promise<void> {
    const ackQuietly = async (): Promise<void> => {
      try {
        await ack();
      } catch (err) {
        log.error({ envelopeId, detail: errorMessage(err) }, 'socket mode ack failed');
      }
    };
    if (type !== 'interactive') {
      await ackQuietly();
      log.debug({ envelopeId, type }, 'socket mode envelope ignored');
      return;
    }
    try {
      await clicks.handle(body, ackQuietly, { envelopeId });
    } catch (err) {
      if (!(err instanceof ClickPayloadError)) throw err;
      await ackQuietly();
      log.warn({ envelopeId, reason: err.message }, 'interaction rejected');
    }
  }

  client.on('slack_event', (args: SlackEventArgs) => {
    const work = onEnvelope(args).catch((err: unknown) => {
      log.error({ detail: errorMessage(err) }, 'socket mode envelope failed');
    });
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  });
  client.on('error', (err: unknown) => {
    log.warn({ detail: errorMessage(err) }, 'socket mode connection error');
  });

  await client.start();
  log.info('socket mode connected');
  const settled = async (): Promise<void> => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    await clicks.settled();
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
