// Mutation score per module from the mutation run's JSON report (reports/mutation/mutation.json, written by
// `npm run test:mutation`): killed (and timed out) over all mutants that are not ignored or broken, per module and
// per file. `--survivors` also lists each surviving or uncovered mutant (file:line, mutator, replacement), to kill or
// to explain as equivalent. The schema is the mutation-testing-elements report, v2.
import fs from 'node:fs';
import path from 'node:path';

interface Mutant {
  mutatorName: string;
  replacement?: string;
  status: 'Killed' | 'Survived' | 'NoCoverage' | 'Timeout' | 'CompileError' | 'RuntimeError' | 'Ignored' | 'Pending';
  location: { start: { line: number; column: number } };
}
interface Report {
  files: Record<string, { mutants: Mutant[] }>;
}

/** The modules the README reports a score for, by path prefix (first match). */
const MODULES: Array<[string, string]> = [
  ['policy engine and conditions', 'src/policy/'],
  ['normalising', 'src/intake/normalise.ts'],
  ['revert planning', 'src/revert/'],
  ['Block Kit', 'src/slack/blocks.ts'],
  ['redaction and core helpers', 'src/core/'],
];

interface Tally {
  detected: number;
  undetected: number;
}

export function score(mutants: Mutant[]): Tally {
  let detected = 0;
  let undetected = 0;
  for (const m of mutants) {
    if (m.status === 'Killed' || m.status === 'Timeout') detected += 1;
    else if (m.status === 'Survived' || m.status === 'NoCoverage') undetected += 1;
  }
  return { detected, undetected };
}

const pct = (t: Tally): string => (t.detected + t.undetected === 0 ? 'n/a' : `${((100 * t.detected) / (t.detected + t.undetected)).toFixed(1)}%`);

function main(): void {
  const file = path.resolve(__dirname, '../../reports/mutation/mutation.json');
  if (!fs.existsSync(file)) throw new Error(`no mutation report at ${file}: run npm run test:mutation first`);
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as Report;
  const names = Object.keys(report.files).sort();
  const rows: string[] = [];
  for (const [label, prefix] of MODULES) {
    const inModule = names.filter((n) => n.split(path.sep).join('/').startsWith(prefix));
    if (inModule.length === 0) continue;
    const total = score(inModule.flatMap((n) => report.files[n]?.mutants ?? []));
    rows.push(`${label.padEnd(30)} ${pct(total).padStart(6)}  (${total.detected} of ${total.detected + total.undetected} mutants killed)`);
    for (const n of inModule) {
      const t = score(report.files[n]?.mutants ?? []);
      rows.push(`  ${n.padEnd(28)} ${pct(t).padStart(6)}  (${t.detected} of ${t.detected + t.undetected})`);
    }
  }
  process.stdout.write(`Mutation score per module (killed / all valid mutants):\n${rows.join('\n')}\n`);
  if (process.argv.includes('--survivors')) {
    for (const n of names) {
      for (const m of report.files[n]?.mutants ?? []) {
        if (m.status !== 'Survived' && m.status !== 'NoCoverage') continue;
        const repl = (m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 100);
        process.stdout.write(`${m.status === 'NoCoverage' ? 'uncovered' : 'survived '} ${n}:${m.location.start.line} ${m.mutatorName}: ${repl}\n`);
      }
    }
  }
}

if (require.main === module) main();
