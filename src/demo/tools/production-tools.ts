// The production Temporal service as plain processes (the parts docker-compose.yml runs in containers), built from
// the Go module proxy at the versions docker-compose.yml pins, and cached under .tools/bin:
//
//   temporal-server-X.Y.Z     go install go.temporal.io/server/cmd/server@vX.Y.Z        (temporalio/server)
//   temporal-sql-tool-X.Y.Z   go install go.temporal.io/server/cmd/tools/sql@vX.Y.Z     (admin-tools' temporal-sql-tool)
//   temporal-ui-server-A.B.C  go build ./cmd/server in github.com/temporalio/ui-server/v2@vA.B.C (temporalio/ui)
//
// The server's config template (config/development-postgres12.yaml) and its PostgreSQL schema
// (schema/postgresql/v12/{temporal,visibility}/versioned) come from the same module's source in the Go module cache.
// The UI server's go.mod has a replace directive, which `go install pkg@version` refuses ("The go.mod file for the
// module providing named packages contains one or more replace directives"); it is built the way its own Dockerfile
// builds it: as the main module, from the downloaded module source (which carries the built UI assets).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { PROJECT_ROOT, VENV_BIN, isExecutable, onPath } from './resolve';

export const COMPOSE_FILE = path.join(PROJECT_ROOT, 'docker-compose.yml');
export const SERVER_MODULE = 'go.temporal.io/server';
export const UI_SERVER_MODULE = 'github.com/temporalio/ui-server/v2';

export interface ComposePins {
  /** temporalio/server's tag (TEMPORAL_VERSION's default). */
  server: string;
  /** temporalio/admin-tools' tag: kept in step with the server. */
  adminTools: string;
  /** temporalio/ui's tag (TEMPORAL_UI_VERSION's default). */
  ui: string;
}

function log(msg: string): void {
  process.stderr.write(`[vouch tools] ${msg}\n`);
}

/** The compose file as Compose reads it (merge keys on), as plain data. */
export function readCompose(file = COMPOSE_FILE): Record<string, unknown> {
  const doc = parseDocument(fs.readFileSync(file, 'utf8'), { merge: true });
  if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
  return doc.toJS({ maxAliasCount: 200 }) as Record<string, unknown>;
}

/** A compose service's block, or a clear error naming what is missing. */
export function composeService(compose: Record<string, unknown>, name: string): Record<string, unknown> {
  const services = compose.services as Record<string, Record<string, unknown>> | undefined;
  const service = services?.[name];
  if (!service) throw new Error(`${COMPOSE_FILE}: no service "${name}"`);
  return service;
}

/** `${VAR:-1.2.3}` in an image reference → 1.2.3 (the default an empty .env gives). */
function imageTag(compose: Record<string, unknown>, service: string, repo: string): string {
  const image = String(composeService(compose, service).image ?? '');
  const m = new RegExp(`^${repo.replace(/[/.]/g, '\\$&')}:\\$\\{[A-Z_]+:-(\\d+\\.\\d+\\.\\d+)\\}$`).exec(image);
  if (!m?.[1]) throw new Error(`${COMPOSE_FILE}: service ${service} image "${image}" is not ${repo}:\${VERSION_VAR:-X.Y.Z}`);
  return m[1];
}

/** The Temporal versions docker-compose.yml pins. Throws when the server and admin-tools are out of step. */
export function composePins(file = COMPOSE_FILE): ComposePins {
  const compose = readCompose(file);
  const pins: ComposePins = {
    server: imageTag(compose, 'temporal', 'temporalio/server'),
    adminTools: imageTag(compose, 'temporal-schema', 'temporalio/admin-tools'),
    ui: imageTag(compose, 'temporal-ui', 'temporalio/ui'),
  };
  const namespaceTools = imageTag(compose, 'temporal-namespace', 'temporalio/admin-tools');
  if (pins.adminTools !== pins.server || namespaceTools !== pins.server) {
    throw new Error(
      `${file}: temporalio/server ${pins.server} and temporalio/admin-tools ${pins.adminTools}/${namespaceTools} ` +
        'must be the same version (the schema tool migrates to the schema its server expects)',
    );
  }
  return pins;
}

/** The Go toolchain: `go` on PATH, else the official tarball's /usr/local/go/bin/go. */
export function goBinary(): string | null {
  return onPath('go') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : null);
}

function goEnv(go: string, name: string): string {
  return execFileSync(go, ['env', name], { encoding: 'utf8' }).trim();
}

/** `go mod download -json module@version` → the module's source directory in the module cache. */
function goModDownload(go: string, module: string, version: string): string {
  const r = spawnSync(go, ['mod', 'download', '-json', `${module}@v${version}`], { encoding: 'utf8', cwd: os.tmpdir() });
  let info: { Dir?: string; Error?: string } = {};
  try {
    info = JSON.parse(r.stdout || '{}') as typeof info;
  } catch {
    // reported below
  }
  if (r.status !== 0 || !info.Dir) {
    throw new Error(`go mod download ${module}@v${version} failed: ${info.Error ?? (r.stderr || r.stdout).trim()}`);
  }
  return info.Dir;
}

export interface TemporalServerTools {
  version: string;
  /** The server binary (`--config-file FILE start`). */
  server: string;
  /** temporal-sql-tool. */
  sqlTool: string;
  /** The module's source: config/ (templates, dynamic config) and schema/. */
  moduleDir: string;
}

export function serverBinaryPaths(version: string): { server: string; sqlTool: string } {
  return {
    server: path.join(VENV_BIN, `temporal-server-${version}`),
    sqlTool: path.join(VENV_BIN, `temporal-sql-tool-${version}`),
  };
}

/** Does `bin --version` name `version`? (A cached binary of another version is rebuilt.) */
function reportsVersion(bin: string, version: string): boolean {
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 20_000 }).includes(version);
  } catch {
    return false;
  }
}

/** Moves a freshly built binary into place atomically (a concurrent run never sees half a file). */
function place(built: string, target: string): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  fs.copyFileSync(built, tmp);
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, target);
}

function buildError(what: string, r: ReturnType<typeof spawnSync>): Error {
  const out = `${String(r.stderr ?? '')}\n${String(r.stdout ?? '')}`.trim().split('\n').slice(-15).join('\n');
  return new Error(`${what} failed (exit ${r.status ?? r.signal}):\n${out}`);
}

/**
 * The Temporal server and schema tool at the version docker-compose.yml pins, or null when they are missing and
 * `install` is false. With `install`, builds them with `go install` (a few minutes the first time). Throws when they
 * cannot be had, saying why.
 */
export function resolveTemporalServer(opts: { install?: boolean; version?: string } = {}): TemporalServerTools | null {
  const version = opts.version ?? composePins().server;
  const bins = serverBinaryPaths(version);
  const go = goBinary();
  const cached = isExecutable(bins.server) && isExecutable(bins.sqlTool) && reportsVersion(bins.server, version);
  if (!cached && !opts.install) return null;
  if (!go) {
    throw new Error(
      `the Temporal server ${version} is ${cached ? 'built, but its module source is needed and' : 'not built and'} there is no Go ` +
        'toolchain: install Go (https://go.dev/doc/install) so that `go` is on PATH or at /usr/local/go/bin/go',
    );
  }
  if (!cached) {
    const gobin = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-gobin-'));
    try {
      const pkgs = [`${SERVER_MODULE}/cmd/server@v${version}`, `${SERVER_MODULE}/cmd/tools/sql@v${version}`];
      log(`go install ${pkgs.join(' ')} (several minutes the first time)`);
      const started = Date.now();
      const r = spawnSync(go, ['install', ...pkgs], {
        stdio: ['ignore', 'inherit', 'pipe'],
        encoding: 'utf8',
        cwd: os.tmpdir(),
        env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0' },
      });
      if (r.status !== 0) throw buildError(`go install ${pkgs.join(' ')}`, r);
      place(path.join(gobin, 'server'), bins.server);
      place(path.join(gobin, 'sql'), bins.sqlTool);
      log(`built temporal-server-${version} and temporal-sql-tool-${version} in ${Math.round((Date.now() - started) / 1000)} s`);
    } finally {
      fs.rmSync(gobin, { recursive: true, force: true });
    }
    if (!reportsVersion(bins.server, version)) throw new Error(`${bins.server} does not report version ${version}`);
  }
  const moduleDir = path.join(goEnv(go, 'GOMODCACHE'), `${SERVER_MODULE}@v${version}`);
  const source = fs.existsSync(path.join(moduleDir, 'config')) ? moduleDir : goModDownload(go, SERVER_MODULE, version);
  return { version, ...bins, moduleDir: source };
}

export interface TemporalUiTools {
  version: string;
  bin: string;
}

export function uiServerBinaryPath(version: string): string {
  return path.join(VENV_BIN, `temporal-ui-server-${version}`);
}

/** The Temporal Web UI server at the version docker-compose.yml pins (temporalio/ui's ui-server), built with Go. */
export function resolveTemporalUiServer(opts: { install?: boolean; version?: string } = {}): TemporalUiTools | null {
  const version = opts.version ?? composePins().ui;
  const bin = uiServerBinaryPath(version);
  if (isExecutable(bin) && reportsVersion(bin, version)) return { version, bin };
  if (!opts.install) return null;
  const go = goBinary();
  if (!go) throw new Error(`the Temporal UI server ${version} is not built and there is no Go toolchain (https://go.dev/doc/install)`);
  const started = Date.now();
  const source = goModDownload(go, UI_SERVER_MODULE, version);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-ui-server-'));
  try {
    // The module cache is read-only; the build needs the module as the main module (its replace directive applies).
    fs.cpSync(source, work, { recursive: true });
    fs.chmodSync(work, 0o755);
    spawnSync('chmod', ['-R', 'u+w', work]);
    log(`go build ${UI_SERVER_MODULE}/cmd/server@v${version} (as the main module)`);
    const out = path.join(work, 'ui-server');
    const r = spawnSync(go, ['build', '-o', out, './cmd/server'], {
      stdio: ['ignore', 'inherit', 'pipe'],
      encoding: 'utf8',
      cwd: work,
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=readonly -buildvcs=false`.trim() },
    });
    if (r.status !== 0) throw buildError(`go build ${UI_SERVER_MODULE}/cmd/server@v${version}`, r);
    place(out, bin);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  if (!reportsVersion(bin, version)) throw new Error(`${bin} does not report version ${version}`);
  log(`built temporal-ui-server-${version} in ${Math.round((Date.now() - started) / 1000)} s`);
  return { version, bin };
}
