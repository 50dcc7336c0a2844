#!/usr/bin/env node
// The `vouch` command. TypeScript runs through tsx's CommonJS hook: no build step, one source of truth.
require('tsx/cjs');
require('../cli/index.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
