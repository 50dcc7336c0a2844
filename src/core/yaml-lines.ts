// YAML files people edit (the policy, the accounts file) read with line numbers, so that every mistake a schema finds
// at a path (`rules[3].score`) can be reported at its line.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';

export type DocPath = ReadonlyArray<PropertyKey>;

export interface YamlText {
  /** The document as plain data (undefined when it has syntax errors). */
  value: unknown;
  /** Syntax errors, each with its line (1-based). */
  errors: Array<{ line: number; message: string }>;
  /** Line of the node at `path`, or of the deepest part of it that exists (the key's line for a wrong value); 0 when unknown. */
  lineOf(path: DocPath): number;
}

/** Parses YAML (of which JSON is a subset) keeping the positions of its nodes. */
export function readYaml(text: string): YamlText {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  const errors = doc.errors.map((e) => ({ line: counter.linePos(e.pos[0]).line, message: e.message.split('\n')[0] ?? e.message }));
  const lineOf = (path: DocPath): number => {
    let node: unknown = doc.contents;
    let best: [number, number, number] | undefined = (doc.contents as Node | null)?.range ?? undefined;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === seg);
        if (!pair) break;
        const keyRange = isScalar(pair.key) ? pair.key.range : undefined;
        if (keyRange) best = keyRange;
        node = pair.value;
        const r = (node as Node | null)?.range;
        if (r && !(isMap(node) || isSeq(node))) best = keyRange ?? r;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
        const r = (node as Node | null)?.range;
        if (!r) break;
        best = r;
      } else break;
    }
    return best ? counter.linePos(best[0]).line : 0;
  };
  return { value: errors.length ? undefined : doc.toJS({ maxAliasCount: 100 }), errors, lineOf };
}

/** `["rules", 3, "score"]` → `rules[3].score`. */
export function pathText(path: DocPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}
