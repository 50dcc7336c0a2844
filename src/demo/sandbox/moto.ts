// moto_server (the AWS emulator from PyPI) as a child process on a loopback port, for the EC2/STS side of tests and
// the demo sandbox: `moto_server -H 127.0.0.1 -p PORT`, `POST /moto-api/reset` clears its state
// (https://docs.getmoto.org/en/latest/docs/server_mode.html).
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { resolveMotoServer } from '../tools/resolve';
import { freePort } from '../dev-server';

export interface MotoServer {
  /** Base URL for AWS SDK clients, e.g. http://127.0.0.1:53123 */
  endpoint: string;
  /** Stops the server (its whole process group) and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
  /** Clears every resource moto holds (`POST /moto-api/reset`). */
  reset(): Promise<void>;
}

export interface StartMotoOptions {
  /** Milliseconds to wait for the server to answer. Default 30 000 (the first start imports a lot of Python). */
  startTimeoutMs?: number;
}

const HOST = '127.0.0.1';
const MAX_PORT_ATTEMPTS = 3;


function request(method: 'GET' | 'POST', url: string, timeoutMs = 2_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.once('error', reject);
    req.end();
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal); // the child leads its own process group (detached: true)
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function launch(bin: string, port: number, timeoutMs: number): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(bin, ['-H', HOST, '-p', String(port)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  let out = '';
  const keep = (chunk: Buffer): void => {
    out = (out + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (spawnError) throw new Error(`could not run ${bin}: ${spawnError.message}`);
    if (exited(child)) {
      throw new Error(`moto_server exited (code ${String(child.exitCode)}) before answering:\n${out.trim()}`);
    }
    try {
      await request('GET', `http://${HOST}:${port}/moto-api/`);
      return { child, output: () => out };
    } catch {
      await sleep(100);
    }
  }
  killGroup(child, 'SIGKILL');
  throw new Error(`moto_server did not answer on ${HOST}:${port} within ${timeoutMs} ms:\n${out.trim()}`);
}

/** Starts moto_server on 127.0.0.1 and a free port, and resolves once it answers HTTP. */
export async function startMoto(opts: StartMotoOptions = {}): Promise<MotoServer> {
  const bin = resolveMotoServer();
  if (!bin) {
    throw new Error('moto_server not found (looked at $MOTO_SERVER, .tools/bin and PATH): run `npm run tools`');
  }
  const timeoutMs = opts.startTimeoutMs ?? 30_000;

  let launched: { child: ChildProcess; output: () => string } | undefined;
  let port = 0;
  let lastError: unknown;
  // The port is free when picked but could be taken before moto binds it: try a few.
  for (let attempt = 0; attempt < MAX_PORT_ATTEMPTS && !launched; attempt++) {
    port = await freePort();
    try {
      launched = await launch(bin, port, timeoutMs);
    } catch (err) {
      lastError = err;
    }
  }
  if (!launched) throw lastError instanceof Error ? lastError : new Error(String(lastError));

  const { child } = launched;
  // Never outlive the test process, even when a test forgets stop().
  const onExit = (): void => killGroup(child, 'SIGKILL');
  process.once('exit', onExit);
  child.unref();
  for (const stream of [child.stdout, child.stderr]) {
    if (stream instanceof net.Socket) stream.unref();
  }

  const endpoint = `http://${HOST}:${port}`;
  let stopping: Promise<void> | undefined;

  return {
    endpoint,
    stop(): Promise<void> {
      stopping ??= (async () => {
        process.removeListener('exit', onExit);
        if (exited(child)) return;
        killGroup(child, 'SIGTERM');
        if (!(await waitForExit(child, 5_000))) {
          killGroup(child, 'SIGKILL');
          await waitForExit(child, 5_000);
        }
      })();
      return stopping;
    },
    async reset(): Promise<void> {
      const status = await request('POST', `${endpoint}/moto-api/reset`);
      if (status !== 200) throw new Error(`moto reset answered HTTP ${status}`);
    },
  };
}
