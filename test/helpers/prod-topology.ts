// The production topology of docker-compose.yml as plain loopback processes, for tests:
//
//   PostgreSQL (Debian's, its own data directory, socket dir and port; run as the `postgres` user when we are root)
//   → src/deploy/temporal-setup.sh schema      (compose's temporal-schema one-shot: same script, same variables)
//   → the Temporal server built from the Go module proxy, config from the module's development-postgres12.yaml,
//     SQL visibility, src/deploy/dynamicconfig/production.yaml, every service on a free loopback port
//   → src/deploy/temporal-setup.sh namespace   (compose's temporal-namespace one-shot, its VOUCH_SEARCH_ATTRIBUTES)
//   → optionally the Temporal Web UI server (temporalio/ui's ui-server) pointed at the frontend.
//
// Every wait is bounded and every failure names the step and shows the log tail. stop() kills everything, and an
// exit hook SIGKILLs what is left if the test process dies first. killServer / startServer / restartPostgres are
// the fault-injection handles.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { parse, stringify } from 'yaml';
import { Client, Connection } from '@temporalio/client';
import { resolveTemporalCli } from '../../src/demo/tools/resolve';
import { resolveTemporalServer, resolveTemporalUiServer, type TemporalServerTools } from '../../src/demo/tools/production-tools';
import { composeCommand, composeEnvironment, composeHostPath, composeScript } from './compose-env';
import { checkPrerequisites, postgresTools, type PostgresTools } from './prod-prerequisites';
import { exited, fileTail, forgetOnExit, freeLowPort, killOnExit, portOpen, run, tail, terminate } from './processes';

const SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;

export interface ProdTopologyOptions {
  /** Also start the Temporal Web UI server. */
  ui?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Bound on each start-up wait. Default 90 s. */
  stepTimeoutMs?: number;
}

export interface ProdTopology {
  /** The frontend, host:port. */
  address: string;
  namespace: string;
  /** The Web UI's base URL, when started. */
  uiUrl: string | null;
  dir: string;
  versions: { server: string; ui: string | null; postgres: string };
  postgres: { port: number; user: string; password: string; databases: string[] };
  /** Milliseconds each start-up step took. */
  timings: Record<string, number>;
  /** Runs one SQL statement with psql as the Temporal user; returns psql's unaligned output. */
  psql(database: string, sql: string): Promise<string>;
  /** A client on the namespace (closed by stop()). */
  client(): Promise<Client>;
  /** kill -9 the Temporal server (all its services: one process). */
  killServer(): Promise<void>;
  /** Start the server again (after killServer) and wait until the frontend serves. */
  startServer(): Promise<void>;
  /** Stop PostgreSQL (`fast`: clean shutdown; `immediate`: as after a crash) and start it again on the same port. */
  restartPostgres(opts?: { mode?: 'fast' | 'immediate' }): Promise<void>;
  logTail(which: 'server' | 'postgres' | 'ui' | 'setup', lines?: number): string;
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>, context: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== null) return v;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${timeoutMs} ms${last ? ` (${last})` : ''}\n${context()}`);
    await sleep(250);
  }
}

/** Runs commands as PostgreSQL's owner: the `postgres` user when we are root (initdb and postgres refuse root). */
function asOwner(pg: PostgresTools, bin: string, args: string[]): [string, string[]] {
  return pg.runAs ? [pg.runuser, ['-u', pg.runAs, '--', bin, ...args]] : [bin, args];
}

function chownToOwner(pg: PostgresTools, ...paths: string[]): void {
  if (!pg.owner) return;
  for (const p of paths) fs.chownSync(p, pg.owner.uid, pg.owner.gid);
}

export async function startProdTopology(opts: ProdTopologyOptions = {}): Promise<ProdTopology> {
  const say = opts.log ?? (() => undefined);
  const stepMs = opts.stepTimeoutMs ?? 90_000;
  checkPrerequisites({ ui: opts.ui ?? false });
  const pg = postgresTools();
  const tools = resolveTemporalServer() as TemporalServerTools;
  const ui = opts.ui ? resolveTemporalUiServer() : null;
  const cli = resolveTemporalCli() as string;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-prod-'));
  fs.chmodSync(dir, 0o755);
  const pgDir = path.join(dir, 'postgres');
  const dataDir = path.join(pgDir, 'data');
  const sockDir = path.join(pgDir, 'socket');
  const pgLog = path.join(pgDir, 'postgres.log');
  for (const d of [pgDir, sockDir]) fs.mkdirSync(d, { recursive: true });
  chownToOwner(pg, pgDir, sockDir);
  const serverLog = path.join(dir, 'temporal-server.log');
  const uiLog = path.join(dir, 'temporal-ui.log');
  const setupLog = path.join(dir, 'temporal-setup.log');

  // Shims, as the admin-tools image has them: temporal-sql-tool and the temporal CLI.
  const shimDir = path.join(dir, 'bin');
  fs.mkdirSync(shimDir);
  fs.symlinkSync(tools.sqlTool, path.join(shimDir, 'temporal-sql-tool'));
  fs.symlinkSync(cli, path.join(shimDir, 'temporal'));
  const scriptPath = `${shimDir}${path.delimiter}${process.env.PATH ?? ''}`;

  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const v = await fn();
    timings[name] = Date.now() - t0;
    say(`${name}: ${timings[name]} ms`);
    return v;
  };

  let server: ChildProcess | null = null;
  let uiProc: ChildProcess | null = null;
  const connections: Connection[] = [];
  const key = `prod-topology-${dir}`;
  const postmasterPid = (): number | null => {
    try {
      return Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
    } catch {
      return null;
    }
  };
  killOnExit(`${key}-server`, () => server?.pid ?? null);
  killOnExit(`${key}-ui`, () => uiProc?.pid ?? null);
  killOnExit(`${key}-postgres`, postmasterPid);

  const password = randomBytes(18).toString('base64url');
  const pgPort = await freeLowPort();
  const schemaEnv = composeEnvironment('temporal-schema', {
    SQL_HOST: '127.0.0.1',
    SQL_PORT: String(pgPort),
    SQL_PASSWORD: password,
    SCHEMA_DIR: path.join(tools.moduleDir, 'schema', 'postgresql', 'v12'),
  });
  const user = schemaEnv.SQL_USER as string;

  const pgCtl = async (args: string[], what: string): Promise<void> => {
    const [cmd, argv] = asOwner(pg, pg.pgCtl, ['-D', dataDir, ...args]);
    const r = await run(cmd, argv, { timeoutMs: stepMs });
    if (r.code !== 0) throw new Error(`PostgreSQL ${what} failed (exit ${r.code}):\n${tail(r.stdout + r.stderr)}\n${fileTail(pgLog)}`);
  };
  const startPostgres = (): Promise<void> =>
    pgCtl(
      ['-l', pgLog, '-w', '-t', String(Math.ceil(stepMs / 1000)), '-o', `-p ${pgPort} -k ${sockDir} -c listen_addresses=127.0.0.1`, 'start'],
      'start',
    );
  const stopPostgres = async (mode: 'fast' | 'immediate'): Promise<void> => {
    if (!fs.existsSync(path.join(dataDir, 'postmaster.pid'))) return;
    try {
      await pgCtl(['-m', mode, '-w', '-t', '30', 'stop'], `stop (${mode})`);
    } catch (err) {
      const pid = postmasterPid();
      if (pid) process.kill(pid, 'SIGKILL');
      throw err;
    }
  };

  // ---- the server's config: the module's development-postgres12.yaml, on our ports ----
  // The server's own variables in compose (for the image's config template): the same names, our values.
  const temporalEnv = composeEnvironment('temporal', { POSTGRES_SEEDS: '127.0.0.1', DB_PORT: String(pgPort), POSTGRES_PWD: password });
  if (temporalEnv.DBNAME !== schemaEnv.TEMPORAL_DBNAME || temporalEnv.VISIBILITY_DBNAME !== schemaEnv.VISIBILITY_DBNAME) {
    throw new Error('docker-compose.yml: the temporal service and the temporal-schema step name different databases');
  }
  if (temporalEnv.DB !== 'postgres12' || temporalEnv.POSTGRES_USER !== user) {
    throw new Error(`docker-compose.yml: the temporal service must use DB=postgres12 as ${user} (has ${temporalEnv.DB} as ${temporalEnv.POSTGRES_USER})`);
  }
  const ports = {
    frontend: { grpc: await freeLowPort(), membership: await freeLowPort(), http: await freeLowPort() },
    history: { grpc: await freeLowPort(), membership: await freeLowPort() },
    matching: { grpc: await freeLowPort(), membership: await freeLowPort() },
    worker: { grpc: await freeLowPort(), membership: await freeLowPort() },
    metrics: await freeLowPort(),
  };
  const address = `127.0.0.1:${ports.frontend.grpc}`;
  const configFile = path.join(dir, 'temporal-server.yaml');
  const template = path.join(tools.moduleDir, 'config', 'development-postgres12.yaml');
  const config = parse(fs.readFileSync(template, 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  config.log = { stdout: true, level: temporalEnv.LOG_LEVEL || 'info' };
  config.persistence.numHistoryShards = Number(temporalEnv.NUM_HISTORY_SHARDS);
  const dbNames = { 'postgres-default': temporalEnv.DBNAME, 'postgres-visibility': temporalEnv.VISIBILITY_DBNAME };
  for (const [store, db] of Object.entries(dbNames)) {
    const sql = config.persistence.datastores[store]?.sql;
    if (!sql || !db) throw new Error(`${template}: no SQL datastore ${store}, or docker-compose.yml names no database for it`);
    Object.assign(sql, { databaseName: db, connectAddr: `127.0.0.1:${pgPort}`, user, password });
  }
  for (const s of SERVICES) {
    const rpc = config.services[s].rpc;
    Object.assign(rpc, { grpcPort: ports[s].grpc, membershipPort: ports[s].membership, bindOnLocalHost: true });
  }
  config.services.frontend.rpc.httpPort = ports.frontend.http;
  config.global.pprof = { port: 0 };
  config.global.metrics.prometheus.listenAddress = `127.0.0.1:${ports.metrics}`;
  config.clusterMetadata.clusterInformation.active.rpcAddress = address;
  // compose mounts src/deploy/dynamicconfig and names the file with DYNAMIC_CONFIG_FILE_PATH.
  const dynamicConfig = composeHostPath('temporal', temporalEnv.DYNAMIC_CONFIG_FILE_PATH as string);
  if (!fs.existsSync(dynamicConfig)) throw new Error(`dynamic config ${dynamicConfig} (compose's DYNAMIC_CONFIG_FILE_PATH) is missing`);
  config.dynamicConfigClient = { filepath: dynamicConfig, pollInterval: '10s' };
  fs.writeFileSync(configFile, stringify(config));

  const waitForFrontend = async (): Promise<void> => {
    await until('Temporal frontend', stepMs, async () => {
      if (server && (server.exitCode !== null || server.signalCode !== null)) {
        throw new Error(`the Temporal server exited (${server.exitCode ?? server.signalCode})\n${fileTail(serverLog)}`);
      }
      if (!(await portOpen(ports.frontend.grpc))) return null;
      const conn = await Connection.connect({ address, connectTimeout: 2000 });
      try {
        const res = await conn.healthService.check({});
        return res.status === 1 ? true : null; // SERVING
      } finally {
        await conn.close();
      }
    }, () => fileTail(serverLog));
  };
  const startServer = async (): Promise<void> => {
    if (server && server.exitCode === null && server.signalCode === null) throw new Error('the Temporal server is already running');
    const out = fs.openSync(serverLog, 'a');
    server = spawn(tools.server, ['--config-file', configFile, 'start'], { cwd: dir, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    await waitForFrontend();
  };
  const killServer = async (): Promise<void> => {
    if (!server) return;
    const gone = exited(server);
    server.kill('SIGKILL');
    await gone;
  };

  const runSetup = async (service: string, env: Record<string, string>): Promise<void> => {
    const args = composeCommand(service);
    const r = await run('/bin/sh', [composeScript(service), ...args], { env: { ...process.env, ...env, PATH: scriptPath }, timeoutMs: stepMs * 2 });
    fs.appendFileSync(setupLog, `$ temporal-setup.sh ${args.join(' ')}\n${r.stdout}${r.stderr}\n`);
    if (r.code !== 0) throw new Error(`temporal-setup.sh ${args.join(' ')} (compose's ${service}) failed (exit ${r.code}):\n${tail(r.stdout + r.stderr, 40)}`);
  };

  const stopAll = async (): Promise<void> => {
    for (const c of connections.splice(0)) await c.close().catch(() => undefined);
    if (uiProc) await terminate(uiProc, 5_000);
    if (server) await terminate(server, 15_000);
    await stopPostgres('fast').catch(() => stopPostgres('immediate').catch(() => undefined));
    for (const k of ['server', 'ui', 'postgres']) forgetOnExit(`${key}-${k}`);
    if (!process.env.VOUCH_KEEP_PROD_DIR) fs.rmSync(dir, { recursive: true, force: true });
    else say(`kept ${dir}`);
  };

  try {
    // ---- PostgreSQL ----
    const pwFile = path.join(pgDir, 'password');
    fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    chownToOwner(pg, pwFile);
    await timed('initdb', async () => {
      const [cmd, argv] = asOwner(pg, pg.initdb, ['-D', dataDir, '-U', user, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--no-instructions']);
      const r = await run(cmd, argv, { timeoutMs: stepMs });
      if (r.code !== 0) throw new Error(`initdb failed (exit ${r.code}):\n${tail(r.stdout + r.stderr)}`);
    });
    fs.rmSync(pwFile);
    await timed('postgres start', startPostgres);

    // ---- schema: compose's temporal-schema one-shot ----
    await timed('schema', () => runSetup('temporal-schema', schemaEnv));

    // ---- the Temporal server ----
    await timed('server start', startServer);

    // ---- namespace and search attributes: compose's temporal-namespace one-shot ----
    const nsEnv = composeEnvironment('temporal-namespace', { TEMPORAL_ADDRESS: address });
    const namespace = nsEnv.TEMPORAL_NAMESPACE as string;
    await timed('namespace', () => runSetup('temporal-namespace', nsEnv));
    const attributes = (nsEnv.VOUCH_SEARCH_ATTRIBUTES ?? '').split(/\s+/).filter(Boolean).map((p) => p.split('=')[0] as string);
    await timed('search attributes queryable', async () => {
      const conn = await Connection.connect({ address });
      connections.push(conn);
      const client = new Client({ connection: conn, namespace });
      const probe = attributes.map((a) => `${a} IS NULL`).join(' OR ');
      await until('search attributes in SQL visibility', stepMs, async () => {
        await client.workflow.count(probe);
        return true;
      }, () => fileTail(serverLog));
    });

    // ---- the Web UI server (temporalio/ui), configured as the image does from compose's variables ----
    let uiUrl: string | null = null;
    if (ui) {
      const uiEnv = composeEnvironment('temporal-ui', { TEMPORAL_ADDRESS: address });
      const uiPort = await freeLowPort();
      const uiConfigDir = path.join(dir, 'ui-config');
      fs.mkdirSync(uiConfigDir);
      fs.writeFileSync(
        path.join(uiConfigDir, 'docker.yaml'),
        stringify({
          temporalGrpcAddress: uiEnv.TEMPORAL_ADDRESS,
          host: '127.0.0.1',
          port: uiPort,
          enableUi: true,
          defaultNamespace: uiEnv.TEMPORAL_DEFAULT_NAMESPACE,
          notifyOnNewVersion: false,
          refreshInterval: '0s',
          cors: { cookieInsecure: false, allowOrigins: [`http://127.0.0.1:${uiPort}`] },
        }),
      );
      uiUrl = `http://127.0.0.1:${uiPort}`;
      await timed('ui start', async () => {
        const out = fs.openSync(uiLog, 'a');
        uiProc = spawn(ui.bin, ['--root', dir, '--config', 'ui-config', '--env', 'docker', 'start'], { cwd: dir, stdio: ['ignore', out, out] });
        fs.closeSync(out);
        await until('Temporal Web UI', stepMs, async () => {
          if (uiProc && uiProc.exitCode !== null) throw new Error(`the UI server exited (${uiProc.exitCode})\n${fileTail(uiLog)}`);
          const res = await fetch(`${uiUrl}/api/v1/settings`, { signal: AbortSignal.timeout(2000) });
          return res.ok ? true : null;
        }, () => fileTail(uiLog));
      });
    }

    return {
      address,
      namespace,
      uiUrl,
      dir,
      versions: { server: tools.version, ui: ui?.version ?? null, postgres: pg.version },
      postgres: { port: pgPort, user, password, databases: Object.values(dbNames) as string[] },
      timings,
      async psql(database, sql) {
        const r = await run(path.join(pg.binDir, 'psql'), ['-h', '127.0.0.1', '-p', String(pgPort), '-U', user, '-d', database, '-Atc', sql], {
          env: { ...process.env, PGPASSWORD: password },
          timeoutMs: 30_000,
        });
        if (r.code !== 0) throw new Error(`psql ${database}: ${sql}: ${r.stderr.trim()}`);
        return r.stdout.trim();
      },
      async client() {
        const conn = await Connection.connect({ address });
        connections.push(conn);
        return new Client({ connection: conn, namespace });
      },
      killServer,
      startServer,
      async restartPostgres(o = {}) {
        await stopPostgres(o.mode ?? 'fast');
        await startPostgres();
      },
      logTail(which, lines = 25) {
        const file = { server: serverLog, postgres: pgLog, ui: uiLog, setup: setupLog }[which];
        return fileTail(file, lines);
      },
      stop: stopAll,
    };
  } catch (err) {
    const logs = `server log:\n${fileTail(serverLog, 15)}\npostgres log:\n${fileTail(pgLog, 10)}`;
    await stopAll().catch(() => undefined);
    (err as Error).message += `\n--- ${dir}\n${logs}`;
    throw err;
  }
}
