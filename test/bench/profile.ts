// `npm run bench -- profile FILE.cpuprofile`: where a CPU profile (`node --cpu-prof`) spent its time, by self time:
// grouped by package (node_modules/<pkg>), vouch's own code (src/, workflows/, activities/, test/), Node internals, GC
// and idle; then the top functions. For the "where the time goes" notes in BENCHMARKS.md.
import fs from 'node:fs';
import { fmt, table } from './report';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

function groupOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return '(garbage collector)';
  if (fn === '(idle)') return '(idle)';
  if (fn === '(program)') return '(program: native, outside JS)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] as string;
  const own = /\/(src|workflows|activities|test)\/(.*)$/.exec(url);
  if (own) return `vouch ${own[1]}/${(own[2] as string).split('/')[0]}`;
  if (url.startsWith('node:') || url === '') return 'node internals';
  return url;
}

export function benchProfile(argv: string[]): number {
  const file = argv[0];
  if (!file || !fs.existsSync(file)) throw new Error('usage: npm run bench -- profile FILE.cpuprofile');
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const groups = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id) as Node;
    const g = groupOf(n.callFrame.url, n.callFrame.functionName);
    groups.set(g, (groups.get(g) ?? 0) + us);
    const f = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^.*\/(src|workflows|activities|test)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
    fns.set(f, (fns.get(f) ?? 0) + us);
  }
  const pct = (us: number): string => `${((us / total) * 100).toFixed(1)}%`;
  const top = (m: Map<string, number>, k: number) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, k);
  process.stdout.write(`${file}: ${fmt(total / 1e6, 1)} s sampled\n\n`);
  process.stdout.write(`${table(['group', 'self time', 'share'], top(groups, 15).map(([g, us]) => [g, `${fmt(us / 1e6, 1)} s`, pct(us)]))}\n\n`);
  process.stdout.write(`${table(['function', 'self time', 'share'], top(fns, 20).map(([f, us]) => [f.replace(/\|/g, '\\|'), `${fmt(us / 1e6, 2)} s`, pct(us)]))}\n`);
  return 0;
}
