// Structured JSON logs on stderr, one object per line. Never pass secrets in `fields`: values of keys that look
// like secrets are masked anyway.
import { isSensitiveKey } from '../workflows/redact';

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRETISH = /(token|secret|skey|password|routing_?key|api_?key|authorization)/i;

function threshold(): number {
  const l = (process.env.VOUCH_LOG_LEVEL ?? 'info').toLowerCase() as Level;
  return ORDER[l] ?? ORDER.info;
}

function clean(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(fields).map(([k, v]) => [k, SECRETISH.test(k) || isSensitiveKey(k) ? '<redacted>' : v]),
  );
}

function emit(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < threshold()) return;
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...clean(fields) })}\n`);
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => emit('debug', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => emit('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => emit('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => emit('error', msg, fields),
};
