// The one way vouch builds a Slack Web API client: fail fast (no retry loop, 429s rejected at once, bounded request
// time; Temporal's retry policy or the clicker owns any retry), and logging through the process's pino logger with
// every token scrubbed from the lines @slack/web-api writes.
import { format } from 'node:util';
import { LogLevel, WebClient, type Logger as SlackLogger } from '@slack/web-api';
import type { Logger } from 'pino';

export interface SlackClientOptions {
  /** Bot token (xoxb-…). */
  token: string;
  /** Where @slack/web-api's own log lines go (at warn and above), tokens scrubbed. */
  logger: Logger;
  /** Web API base URL, ending in `/api/` (default https://slack.com/api/). */
  apiUrl?: string;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /** The lowest of the client's own levels that is passed on (default warn: the client is chatty). */
  logLevel?: LogLevel;
}

const DEFAULT_TIMEOUT_MS = 10_000;

const LEVEL_ORDER: Record<LogLevel, number> = {
  [LogLevel.DEBUG]: 0,
  [LogLevel.INFO]: 1,
  [LogLevel.WARN]: 2,
  [LogLevel.ERROR]: 3,
};

/** The Web API base with its trailing slash, as @slack/web-api expects it. */
export function slackApiBase(apiUrl: string): string {
  return apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`;
}

/**
 * A @slack/web-api (and @slack/socket-mode) Logger over pino. Slack's clients log preformatted strings, so each line
 * is scrubbed of the given secrets, any xox…/xapp- token and any bearer credential before pino writes it. Lines
 * below `level` (default warn: the clients are chatty) are dropped; pino's own level applies too.
 */
export function slackLogger(logger: Logger, secrets: string[], level?: LogLevel): SlackLogger {
  let threshold = level ?? LogLevel.WARN;
  let log = logger.child({ component: 'slack' });
  const known = secrets.filter((s) => s.length > 0);
  const scrub = (line: string): string => {
    let out = line;
    for (const secret of known) out = out.split(secret).join('<redacted>');
    return out
      .replace(/\bxox[a-z]-[A-Za-z0-9-]+/g, 'xox?-<redacted>')
      .replace(/\bxapp-[A-Za-z0-9-]+/g, 'xapp-<redacted>')
      .replace(/(Bearer\s+)[^\s"',}]+/gi, '$1<redacted>');
  };
  const at =
    (lvl: LogLevel) =>
    (...msg: unknown[]): void => {
      if (LEVEL_ORDER[lvl] < LEVEL_ORDER[threshold]) return;
      log[lvl](scrub(format(...msg)));
    };
  return {
    debug: at(LogLevel.DEBUG),
    info: at(LogLevel.INFO),
    warn: at(LogLevel.WARN),
    error: at(LogLevel.ERROR),
    setLevel: (l: LogLevel) => {
      threshold = l;
    },
    getLevel: () => threshold,
    setName: (name: string) => {
      log = logger.child({ component: name });
    },
  };
}

/** A WebClient that never sleeps on its own: 429s reject at once, no retries, bounded request time. */
export function createSlackClient(opts: SlackClientOptions): WebClient {
  if (!opts.token) throw new Error('createSlackClient: a Slack bot token is required');
  return new WebClient(opts.token, {
    ...(opts.apiUrl ? { slackApiUrl: slackApiBase(opts.apiUrl) } : {}),
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    logger: slackLogger(opts.logger, [opts.token], opts.logLevel),
  });
}
