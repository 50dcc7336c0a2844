// `vouch ingest …` as its own process (the kill-and-restart test SIGKILLs it): the real ingestCommand, real policy.
import { ingestCommand } from '../../../src/cli/ingest';
import { runCommand } from '../../../src/cli/program';

runCommand(ingestCommand(), process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`ingest-child: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
