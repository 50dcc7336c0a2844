// Structured JSON logs on stderr, one object per line, for vouch's own code and (as the Temporal Runtime logger) for
// the SDK, workflows and activities: every line about a review carries reviewId. Values of secret-looking keys are
// masked. The level is VOUCH_LOG_LEVEL (debug, info, warn, error; default info).
import type { LogLevel as TemporalLogLevel, LogMetadata, Logger } from '@temporalio/common';
import pino, { type Logger as PinoLogger } from 'pino';
import { isSensitiveKey } from '../core/redact';

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { trace: 0, debug: 10, info: 20, warn: 30, error: 40 };
const SECRETISH = /(token|secret|skey|password|routing_?key|api_?key|authorization)/i;

export interface JsonLoggerOptions {
  /** Lowest level written. Default VOUCH_LOG_LEVEL or info. */
  level?: string;
  /** Where lines go. Default process.stderr. */
  write?: (line: string) => void;
}

/**
 * A Temporal Runtime logger that writes JSON lines: {time, level, msg, reviewId?, workflowId?, runId?, …meta}.
 * Secret-looking keys are masked; errors become {name, message}; bigint values become strings.
 */
export function createJsonLogger(opts: JsonLoggerOptions = {}): Logger {
  const wanted = (opts.level ?? process.env.VOUCH_LOG_LEVEL ?? 'info').toLowerCase() as Level;
  const threshold = ORDER[wanted] ?? ORDER.info;
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const log = (level: TemporalLogLevel, message: string, meta: LogMetadata = {}): void => {
    const lvl = level.toLowerCase() as Level;
    if ((ORDER[lvl] ?? ORDER.info) < threshold) return;
    write(`${JSON.stringify(jsonLine(lvl, message, meta), jsonReplacer)}\n`);
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

function jsonLine(level: Level, msg: string, meta: LogMetadata): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta)) {
    fields[key] = SECRETISH.test(key) || isSensitiveKey(key) ? '<redacted>' : value;
  }
  const workflowId = typeof meta.workflowId === 'string' ? meta.workflowId : undefined;
  const isReview =
    meta.workflowType === 'reviewChangeWorkflow' || (meta.workflowType === undefined && workflowId?.startsWith('vouch-'));
  return {
    time: new Date().toISOString(),
    level,
    msg,
    ...(workflowId && isReview ? { reviewId: workflowId } : {}),
    ...fields,
  };
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

const app = createJsonLogger();

type Fields = Record<string, unknown>;

export const log = {
  debug: (msg: string, fields?: Fields) => app.debug(msg, fields),
  info: (msg: string, fields?: Fields) => app.info(msg, fields),
  warn: (msg: string, fields?: Fields) => app.warn(msg, fields),
  error: (msg: string, fields?: Fields) => app.error(msg, fields),
};

let processLogger: PinoLogger | undefined;

/** VOUCH_LOG_LEVEL as pino spells it; anything else is info, as for the JSON logger above. */
function wantedLevel(): string {
  const level = (process.env.VOUCH_LOG_LEVEL ?? 'info').toLowerCase();
  return ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(level) ? level : 'info';
}

/** The process's pino logger (JSON lines on stderr at VOUCH_LOG_LEVEL), for the rooms that take one (src/slack). */
export function getLogger(): PinoLogger {
  processLogger ??= pino(
    {
      level: wantedLevel(),
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination(2),
  );
  return processLogger;
}
