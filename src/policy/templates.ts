// Reason templates: "security group {request.groupId} opened to {$.cidr} on {$.ports}".
import { compilePath, type Facts, type Problem } from './paths';
import { scalar } from './operators';

export type Template = (f: Facts, capture: { $?: unknown }) => string;

function show(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (Array.isArray(v)) {
    const parts = [...new Set(v.map(show).filter((x): x is string => x !== undefined))];
    if (parts.length === 0) return undefined;
    return parts.length > 5 ? `${parts.slice(0, 5).join(', ')} and ${parts.length - 5} more` : parts.join(', ');
  }
  const s = typeof v === 'string' ? v : scalar(v) ? String(v) : JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** "security group {request.groupId|response.securityGroupRuleSet.groupId} opened to {$.cidr} on {$.ports}" */
export function compileTemplate(text: unknown, at: (string | number)[], problems: Problem[]): Template | null {
  if (typeof text !== 'string' || text.trim() === '') {
    problems.push({ path: at, message: 'must be a text with {field} placeholders' });
    return null;
  }
  const parts: (string | ((f: Facts, c: { $?: unknown }) => string))[] = [];
  let last = 0;
  let ok = true;
  for (const m of text.matchAll(/\{([^{}]*)\}/g)) {
    parts.push(text.slice(last, m.index));
    last = (m.index as number) + m[0].length;
    const alts: ((f: Facts, c: { $?: unknown }) => unknown[])[] = [];
    for (const alt of (m[1] as string).split('|').map((s) => s.trim())) {
      if (alt.startsWith('=')) {
        const literal = alt.slice(1);
        alts.push(() => [literal === '' ? '\u0000' : literal]);
      } else if (alt === '$' || alt.startsWith('$.')) {
        const rel = compilePath(alt === '$' ? '@' : alt.slice(2), true, at, problems);
        if (rel) alts.push((f, c) => (c.$ === undefined ? [] : rel(f, c.$)));
        else ok = false;
      } else {
        const abs = compilePath(alt, false, at, problems);
        if (abs) alts.push((f) => abs(f, undefined));
        else ok = false;
      }
    }
    parts.push((f, c) => {
      for (const a of alts) {
        const s = show(a(f, c));
        if (s !== undefined) return s === '\u0000' ? '' : s;
      }
      return '?';
    });
  }
  parts.push(text.slice(last));
  if (!ok) return null;
  return (f, c) => parts.map((p) => (typeof p === 'string' ? p : p(f, c))).join('');
}
