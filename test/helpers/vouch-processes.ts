// vouch's own processes for fault tests: `node src/bin/vouch.js <command>` spawned as production runs it (worker,
// handler, ingest, review), each with its environment, its stderr (the JSON log lines) appended to a file that
// survives a kill -9, and its stdout kept. kill9() is the fault; stop() is SIGTERM with a bounded grace. Every process
// is registered to be SIGKILLed if the test process dies first.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { exited, forgetOnExit, killOnExit, tail } from './processes';

const BIN = path.resolve(__dirname, '../../src/bin/vouch.js');
const PRELOAD = path.resolve(__dirname, 'vendor-loopback-preload.ts');

export interface VouchProcess {
  name: string;
  child: ChildProcess;
  /** Where stderr goes (appended across restarts of the same name); stdout goes beside it (`.stdout.log`). */
  stderrFile: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null after a signal) once the process is gone. */
  exit: Promise<number | null>;
  running(): boolean;
  /** SIGKILL, and wait until the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

let seq = 0;

/** Spawns `vouch <args>` with exactly `env` (plus PATH and HOME), the Duo loopback preload, stderr to `logDir`. */
export function spawnVouch(name: string, args: string[], env: Record<string, string>, logDir: string): VouchProcess {
  const stderrFile = path.join(logDir, `${name}.stderr.log`);
  fs.mkdirSync(logDir, { recursive: true });
  const fd = fs.openSync(stderrFile, 'a');
  fs.writeSync(fd, `# ${new Date().toISOString()} spawn ${name}: vouch ${args.join(' ')}\n`);
  const stdoutFile = path.join(logDir, `${name}.stdout.log`);
  const outStart = fs.existsSync(stdoutFile) ? fs.statSync(stdoutFile).size : 0;
  const outFd = fs.openSync(stdoutFile, 'a');
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', '--require', PRELOAD, BIN, ...args], {
    cwd: path.resolve(__dirname, '../..'),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', outFd, fd],
  });
  fs.closeSync(fd);
  fs.closeSync(outFd);
  const key = `vouch-${name}-${++seq}`;
  killOnExit(key, () => (child.exitCode === null && child.signalCode === null ? (child.pid ?? null) : null));
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      forgetOnExit(key);
      resolve(code);
    }),
  );
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    name,
    child,
    stderrFile,
    stdout: () => fs.readFileSync(stdoutFile, 'utf8').slice(outStart),
    stderr: () => fs.readFileSync(stderrFile, 'utf8'),
    exit,
    running,
    async kill9() {
      if (!running()) return;
      const gone = exited(child);
      child.kill('SIGKILL');
      await gone;
    },
    async stop(graceMs = 15_000) {
      if (!running()) return;
      const gone = exited(child);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** JSON log lines of a stderr text (other lines skipped). */
export function logLines(text: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by a kill -9
    }
  }
  return out;
}

/** Waits (bounded) for a log line with `msg` written after `fromOffset` bytes; fails early when the process exits. */
export async function waitForLog(p: VouchProcess, msg: string, timeoutMs: number, fromOffset = 0): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = p.stderr().slice(fromOffset);
    if (logLines(text).some((l) => l.msg === msg)) return;
    if (!p.running()) throw new Error(`${p.name} exited (${String(p.child.exitCode ?? p.child.signalCode)}) before "${msg}":\n${tail(text, 30)}`);
    if (Date.now() > deadline) throw new Error(`${p.name}: no "${msg}" within ${timeoutMs} ms:\n${tail(text, 30)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits (bounded) for the process to exit; returns its exit code, or throws with its stderr tail. */
export async function exitWithin(p: VouchProcess, timeoutMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((r) => {
    timer = setTimeout(() => r('hung'), timeoutMs);
  });
  const code = await Promise.race([p.exit, hung]);
  clearTimeout(timer);
  if (code === 'hung') {
    await p.kill9();
    throw new Error(`${p.name} did not exit within ${timeoutMs} ms:\n${tail(p.stderr(), 30)}`);
  }
  return code;
}
