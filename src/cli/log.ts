// The one logger of every vouch process: pino, one JSON object per line on stderr
// ({"level":"info","time":"…","msg":"…",…fields}), the level from VOUCH_LOG_LEVEL (default info).
//
// Secrets never reach a line: pino's `redact` paths mask the secret-looking keys (tokens, keys, passwords,
// authorization, the secret configuration variables) at the top level and one level down, and every line also passes
// through vouch's own sensitive-key rule (src/core/redact.ts, the rule that guards Slack, PagerDuty and workflow
// history), at any depth.
//
// The Temporal SDK logs through it too (temporalLogger, installed as the Runtime logger): workflow, activity and Core
// lines carry workflowId/runId from the SDK, and every line about a review also carries reviewId.
// Lower rooms (src/intake, src/slack) take a `Logger` from pino as an option; the commands in src/cli hand them this one.
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel as TemporalLogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { REDACTED, redact } from '../core/redact';
import { ConfigError, SECRET_VARS } from './config';
import { beforeLogLine } from './progress';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
type LogLevelName = (typeof LOG_LEVELS)[number];

/** Keys whose values are masked by pino's redaction, wherever they appear at the top level or one level down. */
const SECRET_KEYS = [
  'token',
  'apiToken',
  'botToken',
  'appToken',
  'accessToken',
  'secret',
  'signingSecret',
  'clientSecret',
  'skey',
  'password',
  'routingKey',
  'routing_key',
  'apiKey',
  'api_key',
  'authorization',
  'Authorization',
  'cookie',
  ...SECRET_VARS,
];

const REDACT_PATHS = [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`), '*.headers.authorization', '*.headers.cookie'];

export interface LoggerOptions {
  /** Lowest level written. Default VOUCH_LOG_LEVEL, else info. */
  level?: string;
  /** Where lines go. Default stderr (clearing a progress line first, when one is drawn). */
  destination?: DestinationStream;
}

/** Lines to stderr; a progress line drawn on the terminal is cleared first, so the two never share a line. */
const stderr: DestinationStream = {
  write(line: string) {
    beforeLogLine();
    process.stderr.write(line);
  },
};

function levelOf(value: string | undefined): LogLevelName {
  const level = (value ?? 'info').trim().toLowerCase() || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError([`VOUCH_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`]);
  }
  return level as LogLevelName;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: levelOf(opts.level ?? process.env.VOUCH_LOG_LEVEL),
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      // Errors are already plain objects (plain() below), so pino's own err serializer has nothing left to do.
      serializers: { err: (value: unknown) => value },
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) => redact(plain(fields, 0) as Record<string, unknown>),
      },
    },
    opts.destination ?? stderr,
  );
}

let processLogger: Logger | undefined;

/** The process's logger (created on first use, at VOUCH_LOG_LEVEL). */
export function getLogger(): Logger {
  processLogger ??= createLogger();
  return processLogger;
}

/**
 * Fields as plain JSON values: errors become {name, message} (`err` keeps pino's serialisation with the stack, for
 * failures nobody expected), bigints strings, dates ISO text; so the sensitive-key rule sees every key.
 */
function plain(value: unknown, depth: number, key?: string): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) {
    return key === 'err' && depth === 1 ? pino.stdSerializers.err(value) : { name: value.name, message: value.message };
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[deep]';
  if (Array.isArray(value)) return value.map((v) => plain(v, depth + 1));
  const json = (value as { toJSON?: () => unknown }).toJSON;
  if (typeof json === 'function') return plain(json.call(value), depth + 1);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = plain(v, depth + 1, k);
  return out;
}

// ---- the Temporal SDK's logger ----

/** workflowId of a log line about a review (the review workflow's type, or a vouch review id when the type is absent). */
function reviewIdOf(meta: LogMetadata): string | undefined {
  const workflowId = typeof meta.workflowId === 'string' ? meta.workflowId : undefined;
  if (!workflowId) return undefined;
  const isReview = meta.workflowType === 'reviewChangeWorkflow' || (meta.workflowType === undefined && workflowId.startsWith('vouch-'));
  return isReview ? workflowId : undefined;
}

/** A Temporal Runtime logger over pino: the SDK's lines in vouch's format, reviewId on every line about a review. */
export function temporalLogger(logger: Logger): TemporalLogger {
  const log = (level: TemporalLogLevel, message: string, meta: LogMetadata = {}): void => {
    const reviewId = reviewIdOf(meta);
    const fields = reviewId ? { reviewId, ...meta } : meta;
    switch (level) {
      case 'TRACE':
        return logger.trace(fields, message);
      case 'DEBUG':
        return logger.debug(fields, message);
      case 'WARN':
        return logger.warn(fields, message);
      case 'ERROR':
        return logger.error(fields, message);
      default:
        return logger.info(fields, message);
    }
  };
  return {
    log,
    trace: (m, meta) => log('TRACE', m, meta),
    debug: (m, meta) => log('DEBUG', m, meta),
    info: (m, meta) => log('INFO', m, meta),
    warn: (m, meta) => log('WARN', m, meta),
    error: (m, meta) => log('ERROR', m, meta),
  };
}
