// The map in README "Architecture" is the code's: every folder is a room of the map, every import goes from a room to
// one the map allows, and no file imports itself back through others. Imports are read with the TypeScript parser
// (type-only imports marked), so the check sees exactly what tsc and the bundler see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..');

/** Rooms, and the rooms each may import (besides itself). `contract`: workflows/messages and search-attributes. */
const ROOMS = {
  'src/core': [],
  'src/policy': ['src/core', 'src/revert'],
  'src/revert': ['src/core', 'contract'],
  'src/intake': ['src/core', 'src/policy', 'src/revert', 'contract'],
  'src/slack': ['src/core', 'contract'],
  activities: ['src/core', 'src/policy', 'src/revert', 'src/intake', 'src/slack', 'contract'],
  workflows: ['src/core'],
  'src/cli': ['src/core', 'src/policy', 'src/revert', 'src/intake', 'src/slack', 'activities', 'contract'],
  'src/demo': ['src/core', 'src/policy', 'src/revert', 'src/intake', 'src/slack', 'activities', 'contract', 'src/cli'],
  'src/bin': ['src/cli'],
} as const satisfies Record<string, readonly string[]>;
type Room = keyof typeof ROOMS;

const CONTRACT = new Set(['workflows/messages.ts', 'workflows/search-attributes.ts']);

function roomOf(file: string): Room | undefined {
  const rel = path.relative(ROOT, file).split(path.sep).join('/');
  return (Object.keys(ROOMS) as Room[]).find((r) => rel === r || rel.startsWith(`${r}/`));
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|js)$/.test(e.name) && !e.name.endsWith('.d.ts') && !full.includes(`${path.sep}web${path.sep}`)) out.push(full);
  }
  return out;
}

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
  lazy: boolean;
}

function resolveSpec(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [base, `${base}.ts`, `${base}.js`, path.join(base, 'index.ts')]) {
    if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  }
  return undefined;
}

/** Relative imports of one file: static imports and re-exports (with their type-only flag) and require() calls. */
function edgesOf(file: string): Edge[] {
  const text = fs.readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const edges: Edge[] = [];
  const add = (spec: string, typeOnly: boolean, lazy: boolean): void => {
    if (!spec.startsWith('.')) return;
    const to = resolveSpec(file, spec);
    assert.ok(to, `${path.relative(ROOT, file)} imports ${spec}, which does not resolve`);
    edges.push({ from: file, to, typeOnly, lazy });
  };
  const visit = (node: ts.Node, depth: number): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const allTypes =
        clause?.isTypeOnly === true ||
        (clause !== undefined &&
          clause.name === undefined &&
          clause.namedBindings !== undefined &&
          ts.isNamedImports(clause.namedBindings) &&
          clause.namedBindings.elements.length > 0 &&
          clause.namedBindings.elements.every((e) => e.isTypeOnly));
      add(node.moduleSpecifier.text, allTypes, false);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.isTypeOnly, false);
    } else if (
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'require' &&
      node.arguments.length === 1 &&
      ts.isStringLiteral(node.arguments[0] as ts.Expression)
    ) {
      add((node.arguments[0] as ts.StringLiteral).text, false, depth > 1);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, true, false);
    }
    ts.forEachChild(node, (child) => visit(child, ts.isFunctionLike(node) ? depth + 1 : depth));
  };
  visit(sf, 0);
  return edges;
}

const FILES = ['src', 'workflows', 'activities'].flatMap((d) => sourceFiles(path.join(ROOT, d)));
const EDGES = FILES.flatMap(edgesOf);
const rel = (f: string): string => path.relative(ROOT, f).split(path.sep).join('/');

test('every folder under src/ is a room of the map, and the README names every room', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Architecture'));
  assert.ok(readme.includes('## Architecture'), 'README has an Architecture section');
  const folders = fs
    .readdirSync(path.join(ROOT, 'src'), { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'deploy')
    .map((e) => `src/${e.name}`);
  for (const f of folders) assert.ok(f in ROOMS, `${f} is a room of the map`);
  for (const room of Object.keys(ROOMS)) assert.ok(section.includes(`\`${room}/\``), `README's Architecture section names ${room}/`);
  const loose = fs.readdirSync(path.join(ROOT, 'src'), { withFileTypes: true }).filter((e) => e.isFile());
  assert.deepEqual(loose.map((e) => e.name), [], 'no loose files at the root of src/');
});

test('every import goes to the room itself or a room the map allows', () => {
  const wrong: string[] = [];
  for (const e of EDGES) {
    const from = roomOf(e.from);
    const to = roomOf(e.to);
    assert.ok(from && to, `${rel(e.from)} → ${rel(e.to)}: both files belong to a room`);
    if (from === to) continue;
    const allowed: readonly string[] = ROOMS[from];
    if (to === 'workflows') {
      // Outside workflows/, the workflow contract is imported; other workflow files only as types.
      if (CONTRACT.has(rel(e.to)) ? allowed.includes('contract') : e.typeOnly) continue;
    } else if (to === 'src/demo' && from === 'src/cli' && (e.typeOnly || e.lazy)) {
      continue; // `vouch demo` loads the demo lazily, so the production image can leave src/demo out
    } else if (to === 'activities' && from === 'workflows' && e.typeOnly) {
      continue;
    } else if (allowed.includes(to)) continue;
    wrong.push(`${rel(e.from)} → ${rel(e.to)}${e.typeOnly ? ' (type)' : ''}`);
  }
  assert.deepEqual(wrong, []);
});

test('no import circles between files', () => {
  const next = new Map<string, string[]>();
  for (const e of EDGES) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const state = new Map<string, 'open' | 'done'>();
  const circles: string[] = [];
  const walk = (f: string, stack: string[]): void => {
    state.set(f, 'open');
    for (const t of next.get(f) ?? []) {
      if (state.get(t) === 'open') circles.push([...stack.slice(stack.indexOf(t)), t].map(rel).join(' → '));
      else if (!state.has(t)) walk(t, [...stack, t]);
    }
    state.set(f, 'done');
  };
  for (const f of FILES) if (!state.has(f)) walk(f, [f]);
  assert.deepEqual(circles, []);
});

test('the checks above see the imports (a wrong arrow is caught)', () => {
  // Guard against a parser that reads nothing: the graph has the arrows every reader of the code sees.
  const has = (from: string, to: string): boolean => EDGES.some((e) => rel(e.from) === from && rel(e.to) === to);
  assert.ok(has('src/intake/pipeline.ts', 'src/intake/normalise.ts'));
  assert.ok(has('workflows/review-change.ts', 'src/core/types.ts'));
  assert.ok(EDGES.some((e) => rel(e.from) === 'workflows/review-activities.ts' && rel(e.to) === 'activities/index.ts' && e.typeOnly));
  assert.ok(EDGES.some((e) => rel(e.from) === 'src/cli/demo.ts' && rel(e.to).startsWith('src/demo/') && e.lazy));
  assert.ok(EDGES.length > 300, `${EDGES.length} imports read`);
});
