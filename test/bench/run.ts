// `npm run bench -- <mode> [options]`: one benchmark per mode, each bounded in count and time.
import { benchClassify } from './classify';
import { benchIntake } from './intake';
import { benchE2e } from './e2e';
import { benchScale } from './scale';
import { benchProfile } from './profile';

const BENCHES: Record<string, (argv: string[]) => number | Promise<number>> = { e2e: benchE2e, scale: benchScale, intake: benchIntake, classify: benchClassify, profile: benchProfile };

async function main(): Promise<number> {
  const [name, ...rest] = process.argv.slice(2);
  const bench = name ? BENCHES[name] : undefined;
  if (!bench) {
    process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [options]\n`);
    return 2;
  }
  return bench(rest);
}

main().then(
  // Exit once stdout is flushed: clients, servers and workers the modes used must not keep the process up.
  (code) => process.stdout.write('', () => process.exit(code)),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
