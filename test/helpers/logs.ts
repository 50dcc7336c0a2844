// pino loggers for tests: one that keeps every line (parsed, and as written) to assert on, one that drops them.
import pino, { type Logger } from 'pino';

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface CapturedLogs {
  logger: Logger;
  /** Every line as an object: level (label), msg and the fields. */
  lines: LogLine[];
  /** Every line exactly as pino wrote it. */
  raw: string[];
}

export function captureLogs(level = 'debug'): CapturedLogs {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const logger = pino(
    { level, base: undefined, formatters: { level: (label) => ({ level: label }) } },
    {
      write(line: string) {
        raw.push(line);
        lines.push(JSON.parse(line) as LogLine);
      },
    },
  );
  return { logger, lines, raw };
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
