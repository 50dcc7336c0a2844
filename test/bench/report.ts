// Where the benchmarks write their figures: test/bench/BENCHMARKS.md, one section per mode between markers
// (`<!-- bench:mode -->` … `<!-- /bench:mode -->`), replaced by the mode's latest run; text outside the markers (the
// notes on where the time goes) is kept. Every section says on what machine, with what command and when.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const BENCHMARKS_FILE = path.resolve(__dirname, 'BENCHMARKS.md');

export interface Machine {
  cpus: number;
  model: string;
  ramGiB: number;
  node: string;
  os: string;
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpus: os.availableParallelism(),
    model: cpus[0]?.model.trim() ?? 'unknown',
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A Markdown table. */
export function table(head: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>): string => `| ${cells.map(String).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Percentile (nearest rank) of `values` in ms; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

const HEADER =
  '# vouch benchmarks\n\n' +
  'Written by `npm run bench -- <e2e|scale|intake|classify>` (test/bench/run.ts); each section is replaced by its ' +
  "mode's latest run. Figures from a shared 2-core machine are noisy: compare the rows of one run with each other " +
  '(they are measured side by side), not runs with runs.\n';

/** Replaces (or appends) the section of `mode` in BENCHMARKS.md with `body`, stamped with machine, command and date. */
export function writeSection(mode: string, body: string, argv: string[]): string {
  const m = machine();
  const stamp =
    `Run ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}: \`npm run bench -- ${[mode.split(' ')[0], ...argv].join(' ')}\` on ` +
    `${m.cpus} CPUs (${m.model}), ${fmt(m.ramGiB, 1)} GiB RAM, Node ${m.node}, ${m.os}; load average at the end ` +
    `${os.loadavg().map((l) => l.toFixed(1)).join(' / ')} (1 / 5 / 15 min: the machine is shared).`;
  const section = `<!-- bench:${mode} -->\n## ${mode}\n\n${stamp}\n\n${body.trim()}\n<!-- /bench:${mode} -->`;
  const text = fs.existsSync(BENCHMARKS_FILE) ? fs.readFileSync(BENCHMARKS_FILE, 'utf8') : HEADER;
  const re = new RegExp(`<!-- bench:${mode} -->[\\s\\S]*?<!-- /bench:${mode} -->`);
  const next = re.test(text) ? text.replace(re, () => section) : `${text.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(BENCHMARKS_FILE, next);
  return BENCHMARKS_FILE;
}
