// Conditions of the policy language, compiled once into closures. Pure: no I/O.
//
// A condition is a leaf `{field: PATH | [PATH…], <op>: ARG, …}` (every op must hold; the leaf holds when SOME value
// the path yields satisfies them, or EVERY value with `every: true`), or a combinator: `{any: [...]}`,
// `{all: [...]}`, `{not: COND}`, `{some: PATH, where: [...]}` (an element of the list satisfies all of `where`, whose
// fields are relative to that element; the first such element can be named `$` in reasons). Paths: paths.ts;
// operators: operators.ts.
import { isRecord } from '../core/records';
import { compilePath, type Facts, type PathFn, type Problem } from './paths';
import { OP_NAMES, OPS, same, type CompileEnv, type Pred, type ValuePred } from './operators';


const FIELD_OPS_WITH_PATH = new Set(['equalsField', 'notEqualsField']);

function describe(v: unknown): string {
  return Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v;
}

/** Compile one condition; problems are collected (never thrown) so `vouch policy check` reports all of them. */
function compileCondition(raw: unknown, at: (string | number)[], problems: Problem[], env: CompileEnv, relative = false): Pred | null {
  if (!isRecord(raw)) {
    problems.push({ path: at, message: `a condition must be a mapping, got ${describe(raw)}` });
    return null;
  }
  const keys = Object.keys(raw);
  if ('any' in raw || 'all' in raw) {
    const kind = 'any' in raw ? 'any' : 'all';
    if (keys.length !== 1) problems.push({ path: at, message: `"${kind}" stands alone; found also ${keys.filter((k) => k !== kind).join(', ')}` });
    const list = compileList(raw[kind], [...at, kind], problems, env, relative);
    if (!list) return null;
    return kind === 'any' ? (f, s, c) => list.some((p) => p(f, s, c)) : (f, s, c) => list.every((p) => p(f, s, c));
  }
  if ('not' in raw) {
    if (keys.length !== 1) problems.push({ path: at, message: `"not" stands alone; found also ${keys.filter((k) => k !== 'not').join(', ')}` });
    const inner = compileCondition(raw.not, [...at, 'not'], problems, env, relative);
    return inner && ((f, s, c) => !inner(f, s, c));
  }
  if ('some' in raw) {
    const extra = keys.filter((k) => k !== 'some' && k !== 'where');
    if (extra.length) problems.push({ path: [...at, extra[0] as string], message: `unknown key "${extra[0]}" in a "some" condition (some, where)` });
    const path = compilePath(raw.some, relative, [...at, 'some'], problems);
    if (!('where' in raw)) problems.push({ path: at, message: '"some" needs "where": the conditions an element must meet' });
    const where = compileList(raw.where, [...at, 'where'], problems, env, true);
    if (!path || !where) return null;
    return (f, s, c) => {
      for (const el of path(f, s)) {
        const inner: { $?: unknown } = {};
        if (where.every((p) => p(f, el, inner))) {
          c.$ ??= el;
          return true;
        }
      }
      return false;
    };
  }
  // A leaf.
  const fieldRaw = raw.field;
  const fields = Array.isArray(fieldRaw) ? fieldRaw : fieldRaw === undefined && relative ? ['@'] : [fieldRaw];
  if (fieldRaw === undefined && !relative) {
    problems.push({ path: at, message: 'a condition needs "field" (or is any/all/not/some)' });
    return null;
  }
  const paths: PathFn[] = [];
  fields.forEach((fl, i) => {
    const p = compilePath(fl, relative, Array.isArray(fieldRaw) ? [...at, 'field', i] : [...at, 'field'], problems);
    if (p) paths.push(p);
  });
  const valuePreds: ValuePred[] = [];
  let exists: boolean | undefined;
  const fieldCmp: { path: PathFn; negate: boolean }[] = [];
  let ok = paths.length === fields.length;
  for (const k of keys) {
    if (k === 'field' || k === 'every') continue;
    if (k === 'exists') {
      if (typeof raw.exists !== 'boolean') {
        problems.push({ path: [...at, k], message: 'must be true or false' });
        ok = false;
      } else exists = raw.exists;
      continue;
    }
    if (FIELD_OPS_WITH_PATH.has(k)) {
      const p = compilePath(raw[k], false, [...at, k], problems);
      if (p) fieldCmp.push({ path: p, negate: k === 'notEqualsField' });
      else ok = false;
      continue;
    }
    const op = OPS[k];
    if (!op) {
      problems.push({ path: [...at, k], message: `unknown operator "${k}" (known: exists, equalsField, notEqualsField, ${OP_NAMES.join(', ')})` });
      ok = false;
      continue;
    }
    const pred = op(raw[k], [...at, k], problems, env, relative);
    if (pred) valuePreds.push(pred);
    else ok = false;
  }
  if (raw.every !== undefined && typeof raw.every !== 'boolean') {
    problems.push({ path: [...at, 'every'], message: 'must be true or false' });
    ok = false;
  }
  if (exists === undefined && valuePreds.length === 0 && fieldCmp.length === 0 && ok) {
    problems.push({ path: at, message: `the condition on ${JSON.stringify(fieldRaw ?? '@')} has no operator` });
    return null;
  }
  if (!ok) return null;
  const every = raw.every === true;
  const valueOk = (v: unknown, f: Facts): boolean => {
    for (const p of valuePreds) if (!p(v, f)) return false;
    for (const c of fieldCmp) {
      const others = c.path(f, undefined);
      const eq = others.some((o) => same(o, v));
      if (c.negate ? eq || others.length === 0 : !eq) return false;
    }
    return true;
  };
  const hasValueTests = valuePreds.length > 0 || fieldCmp.length > 0;
  return (f, scope) => {
    const values: unknown[] = [];
    for (const p of paths) for (const v of p(f, scope)) if (v !== null && v !== undefined) values.push(v);
    if (exists !== undefined && values.some((v) => v !== '') !== exists) return false;
    if (!hasValueTests) return true;
    if (values.length === 0) return false;
    return every ? values.every((v) => valueOk(v, f)) : values.some((v) => valueOk(v, f));
  };
}

function compileList(raw: unknown, at: (string | number)[], problems: Problem[], env: CompileEnv, relative: boolean): Pred[] | null {
  if (!Array.isArray(raw)) {
    problems.push({ path: at, message: `must be a list of conditions, got ${describe(raw)}` });
    return null;
  }
  const out: Pred[] = [];
  let ok = true;
  raw.forEach((c, i) => {
    const p = compileCondition(c, [...at, i], problems, env, relative);
    if (p) out.push(p);
    else ok = false;
  });
  return ok ? out : null;
}

export function compileConditions(raw: unknown, at: (string | number)[], problems: Problem[], env: CompileEnv): Pred | null {
  const list = compileList(raw, at, problems, env, false);
  if (!list) return null;
  if (list.length === 0) return () => true;
  if (list.length === 1) return list[0] as Pred;
  return (f, s, c) => list.every((p) => p(f, s, c));
}
