// The Web UI queries README.md gives security ("Finding reviews in the Temporal Web UI"), read from the README itself,
// and a small evaluator of that query subset (AND of `Name op value` and `Name IN (...)`) over what the test knows
// each review should carry. The server answers the query; this evaluator says what it should answer. Anything
// outside the subset is an error, so a README query the evaluator cannot judge fails loudly instead of passing.
import fs from 'node:fs';
import path from 'node:path';

export const README = path.resolve(__dirname, '..', '..', 'README.md');
const SECTION = /^#+\s+Finding reviews in the Temporal Web UI\s*$/m;

/** The README's queries, one per line of the section's first code block, comments stripped. */
export function readmeQueries(file = README): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const at = text.search(SECTION);
  if (at < 0) throw new Error(`${file}: no "Finding reviews in the Temporal Web UI" section`);
  const block = /```[^\n]*\n([\s\S]*?)```/.exec(text.slice(at));
  if (!block?.[1]) throw new Error(`${file}: the Web UI section has no code block of queries`);
  const queries = block[1]
    .split('\n')
    .map((l) => l.replace(/\s+#\s.*$/, '').trim())
    .filter(Boolean);
  if (queries.length === 0) throw new Error(`${file}: the Web UI section's code block is empty`);
  return queries;
}

export type AttrValue = string | number | string[];
/** A review's search attributes and system fields as the test expects them. */
export type ExpectedAttrs = Record<string, AttrValue>;

type Value = string | number;
interface Term {
  name: string;
  op: '=' | '!=' | '>' | '>=' | '<' | '<=' | 'IN';
  values: Value[];
}

const TOKEN = /\s*(?:("(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?)\b|(>=|<=|!=|=|>|<|\(|\)|,)|([A-Za-z_][A-Za-z0-9_]*))/y;

function tokenize(query: string): Array<{ kind: 'str' | 'num' | 'sym' | 'word'; text: string }> {
  const out: Array<{ kind: 'str' | 'num' | 'sym' | 'word'; text: string }> = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < query.length) {
    if (/^\s*$/.test(query.slice(TOKEN.lastIndex))) break;
    const m = TOKEN.exec(query);
    if (!m) throw new Error(`query ${JSON.stringify(query)}: cannot read at "${query.slice(TOKEN.lastIndex)}"`);
    if (m[1]) out.push({ kind: 'str', text: JSON.parse(m[1]) as string });
    else if (m[2]) out.push({ kind: 'num', text: m[2] });
    else if (m[3]) out.push({ kind: 'sym', text: m[3] });
    else out.push({ kind: 'word', text: m[4] as string });
  }
  return out;
}

export function parseQuery(query: string): Term[] {
  const toks = tokenize(query);
  const terms: Term[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`query ${JSON.stringify(query)}: ${why} (this test reads only AND of comparisons and IN lists)`);
  };
  const value = (): Value => {
    const t = toks[i++];
    if (t?.kind === 'str') return t.text;
    if (t?.kind === 'num') return Number(t.text);
    return fail(`expected a value, got ${t?.text ?? 'the end'}`);
  };
  for (;;) {
    const name = toks[i++];
    if (name?.kind !== 'word') fail(`expected an attribute name, got ${name?.text ?? 'the end'}`);
    const op = toks[i++];
    if (op?.kind === 'word' && op.text.toUpperCase() === 'IN') {
      if (toks[i++]?.text !== '(') fail('expected ( after IN');
      const values = [value()];
      while (toks[i]?.text === ',') {
        i++;
        values.push(value());
      }
      if (toks[i++]?.text !== ')') fail('expected ) closing IN');
      terms.push({ name: (name as { text: string }).text, op: 'IN', values });
    } else if (op?.kind === 'sym' && ['=', '!=', '>', '>=', '<', '<='].includes(op.text)) {
      terms.push({ name: (name as { text: string }).text, op: op.text as Term['op'], values: [value()] });
    } else {
      fail(`unsupported operator ${op?.text ?? '(none)'}`);
    }
    if (i >= toks.length) return terms;
    const and = toks[i++];
    if (and?.kind !== 'word' || and.text.toUpperCase() !== 'AND') fail(`expected AND, got ${and?.text}`);
  }
}

function compare(have: string | number, want: Value, name: string): number {
  if (typeof have === 'number' && typeof want === 'number') return have - want;
  if (/Time$/.test(name)) return Date.parse(String(have)) - Date.parse(String(want));
  return String(have) < String(want) ? -1 : String(have) > String(want) ? 1 : 0;
}

function holds(term: Term, attrs: ExpectedAttrs): boolean {
  if (!(term.name in attrs)) throw new Error(`the test knows no expected ${term.name} for its reviews`);
  const have = attrs[term.name] as AttrValue;
  const list = Array.isArray(have) ? have : [have];
  const eq = (v: Value): boolean => list.some((h) => compare(h, v, term.name) === 0);
  switch (term.op) {
    case '=':
      return eq(term.values[0] as Value);
    case '!=':
      return !eq(term.values[0] as Value);
    case 'IN':
      return term.values.some(eq);
    default: {
      const c = compare(list[0] as string | number, term.values[0] as Value, term.name);
      return term.op === '>' ? c > 0 : term.op === '>=' ? c >= 0 : term.op === '<' ? c < 0 : c <= 0;
    }
  }
}

/** Does a review with these attributes match the query? */
export function matches(query: string, attrs: ExpectedAttrs): boolean {
  return parseQuery(query).every((t) => holds(t, attrs));
}
