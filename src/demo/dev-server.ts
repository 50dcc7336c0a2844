// The official Temporal dev server (`temporal server start-dev`, Web UI included) as a child process, with vouch's
// search attributes registered on the command line. Used by the demo; tests use @temporalio/testing's createLocal
// with the same binary.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { devServerSearchAttributeArgs } from '../../workflows/search-attributes';
import { resolveTemporalCli } from './tools/resolve';

export interface DevServer {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}

export function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startDevServer(opts: {
  port?: number;
  uiPort?: number;
  dbFile?: string;
  log?: (line: string) => void;
}): Promise<DevServer> {
  const cli = resolveTemporalCli({ install: true });
  if (!cli) throw new Error('no Temporal CLI: run `npm run tools` (see README)');
  const port = opts.port && (await portFree(opts.port)) ? opts.port : await freePort();
  const uiPort = opts.uiPort && (await portFree(opts.uiPort)) ? opts.uiPort : await freePort();
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort)];
  if (opts.dbFile) {
    fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile, '--sqlite-pragma', 'journal_mode=WAL');
  }
  args.push(...devServerSearchAttributeArgs(), '--log-level', 'error');
  const child: ChildProcess = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer): void => {
    output = (output + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const address = `127.0.0.1:${port}`;
  const until = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`temporal server start-dev exited (${child.exitCode}):\n${output}`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: '1 second' });
      await conn.healthService.check({});
      await conn.close();
      break;
    } catch {
      if (Date.now() > until) {
        child.kill('SIGKILL');
        throw new Error(`temporal dev server did not answer on ${address} within 30 s:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  opts.log?.(`Temporal dev server on ${address}, Web UI on http://127.0.0.1:${uiPort}`);
  return {
    address,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}
