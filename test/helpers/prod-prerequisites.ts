// What the production-topology harness needs from the machine, checked up front and reported all at once with the
// fix for each (Debian package names; .ci/run installs them). A missing part is an error, in CI and locally alike.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isExecutable, onPath, resolveTemporalCli } from '../../src/demo/tools/resolve';
import { composePins, goBinary, resolveTemporalServer, resolveTemporalUiServer } from '../../src/demo/tools/production-tools';

export interface PostgresTools {
  binDir: string;
  initdb: string;
  pgCtl: string;
  version: string;
  /** Who runs PostgreSQL: `postgres` when we are root (initdb and postgres refuse root), else ourselves (null). */
  runAs: string | null;
  owner: { uid: number; gid: number } | null;
  runuser: string;
}

/** PostgreSQL's server binaries: VOUCH_PG_BIN, else the newest /usr/lib/postgresql/N/bin (Debian's layout). */
function pgBinDir(): string | null {
  if (process.env.VOUCH_PG_BIN) return process.env.VOUCH_PG_BIN;
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return null;
  const versions = fs
    .readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const dir = path.join(root, v, 'bin');
    if (isExecutable(path.join(dir, 'initdb'))) return dir;
  }
  return null;
}

function idOf(user: string): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : null;
  } catch {
    return null;
  }
}

/** The PostgreSQL tools, or a clear error. */
export function postgresTools(): PostgresTools {
  const binDir = pgBinDir();
  if (!binDir) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql, or set VOUCH_PG_BIN)');
  const initdb = path.join(binDir, 'initdb');
  const pgCtl = path.join(binDir, 'pg_ctl');
  for (const bin of [initdb, pgCtl, path.join(binDir, 'postgres'), path.join(binDir, 'psql')]) {
    if (!isExecutable(bin)) throw new Error(`${bin} is missing (apt-get install postgresql)`);
  }
  const version = execFileSync(path.join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' }).trim();
  const root = process.getuid?.() === 0;
  const owner = root ? idOf('postgres') : null;
  if (root && !owner) throw new Error('running as root, and there is no `postgres` user to run PostgreSQL as (apt-get install postgresql creates it)');
  const runuser = onPath('runuser') ?? '/usr/sbin/runuser';
  if (root && !isExecutable(runuser)) throw new Error('running as root without runuser (apt-get install util-linux)');
  return { binDir, initdb, pgCtl, version, runAs: root ? 'postgres' : null, owner, runuser };
}

/** Every missing part, with its fix, in one error. */
export function checkPrerequisites(opts: { ui: boolean }): void {
  const problems: string[] = [];
  try {
    postgresTools();
  } catch (err) {
    problems.push((err as Error).message);
  }
  // temporal-setup.sh waits for PostgreSQL with `nc -z` (the admin-tools image has busybox's).
  if (!onPath('nc')) problems.push('nc not found on PATH: src/deploy/temporal-setup.sh needs it (apt-get install netcat-openbsd)');
  if (!isExecutable('/bin/sh')) problems.push('/bin/sh is missing');
  try {
    if (!resolveTemporalCli()) problems.push('no Temporal CLI: run `npm run tools`');
  } catch (err) {
    problems.push((err as Error).message);
  }
  const pins = composePins();
  if (!goBinary()) {
    problems.push(`no Go toolchain to build the Temporal server ${pins.server}${opts.ui ? ` and UI server ${pins.ui}` : ''} (install Go: https://go.dev/doc/install)`);
  } else {
    // Built by `npm run tools` (the pretest hook), not here: a first build takes minutes, longer than a test's timeout.
    try {
      if (!resolveTemporalServer()) problems.push(`temporal-server-${pins.server} and temporal-sql-tool-${pins.server} are not built: run \`npm run tools\``);
      if (opts.ui && !resolveTemporalUiServer()) problems.push(`temporal-ui-server-${pins.ui} is not built: run \`npm run tools\``);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length === 0) return;
  const ci = process.env.CI === 'true' ? ' (CI must provide these: see .ci/run)' : '';
  throw new Error(`the production topology cannot start${ci}:\n- ${problems.join('\n- ')}`);
}
