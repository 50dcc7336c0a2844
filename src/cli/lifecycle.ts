// The one process-level handler of a vouch process, for signals and for errors nobody caught (installed by
// src/bin/vouch.js before any command runs).
//
// - SIGINT / SIGTERM while a long-running command (worker, handler, socket-mode, SQS intake, the demo) runs: the
//   command's stop signal (gracefulStop) is aborted; the command stops taking new work, finishes what is in flight and
//   returns, and the process exits 0. A second signal stops at once (exit 130 / 143).
// - The same signals during a short command (report, classify, …): the process exits at once (130 / 143); whatever
//   was started is found again by a rerun (every review's workflow id is derived from its CloudTrail event).
// - An uncaught exception or unhandled rejection: one fatal log line with the error, exit 1.
import type { Logger } from 'pino';

const EXIT_ON: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

const controller = new AbortController();
let draining = false;
let installed = false;

/**
 * The stop signal of a long-running command: aborted by the first SIGINT or SIGTERM. Calling it tells the process
 * handler that this command drains in-flight work before it returns, so a signal no longer ends the process at once.
 */
export function gracefulStop(): AbortSignal {
  draining = true;
  return controller.signal;
}

/** Resolves when `signal` is aborted. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

export function installProcessHandlers(logger: () => Logger): void {
  if (installed) return;
  installed = true;
  const log = (level: 'info' | 'warn' | 'fatal', fields: Record<string, unknown>, msg: string): void => {
    try {
      logger()[level](fields, msg);
    } catch {
      // The logger itself cannot be built (a bad VOUCH_LOG_LEVEL): say it plainly.
      process.stderr.write(`vouch: ${msg}${fields.err instanceof Error ? `: ${fields.err.message}` : ''}\n`);
    }
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    const code = EXIT_ON[signal] ?? 1;
    if (!draining) process.exit(code);
    if (controller.signal.aborted) {
      log('warn', { signal }, 'second signal: stopping at once, without waiting for work in flight');
      process.exit(code);
    }
    log('info', { signal }, 'stopping: finishing the work in flight (send the signal again to stop at once)');
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const fatal = (what: string) => (err: unknown) => {
    log('fatal', { err: err instanceof Error ? err : new Error(String(err)) }, what);
    process.exit(1);
  };
  process.on('uncaughtException', fatal('uncaught exception'));
  process.on('unhandledRejection', fatal('unhandled promise rejection'));
}
