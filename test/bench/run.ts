// `npm run bench -- <mode> [options]`: one benchmark per mode, each bounded in count and time.
import { benchClassify } from './classify';

const BENCHES: Record<string, (argv: string[]) => number | Promise<number>> = { classify: benchClassify };

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
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
