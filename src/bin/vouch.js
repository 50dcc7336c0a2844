#!/usr/bin/env node
// The `vouch` command. TypeScript runs through tsx's CommonJS hook: no build step, one source of truth.
// One process-level handler for signals and uncaught errors (src/cli/lifecycle.ts), then the command; the process
// exits with the command's status once its output is flushed.
require('tsx/cjs');
const cli = require('../cli/index.ts');

cli.installProcessHandlers(cli.getLogger);
cli.main(process.argv.slice(2)).then((code) => {
  // Exit once stdout has taken everything written to it (a pipe may still be draining).
  process.stdout.write('', () => process.exit(code));
});
