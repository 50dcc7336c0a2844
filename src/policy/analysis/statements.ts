// AWS policy documents read for analysis: every element IAM evaluates (Principal/NotPrincipal, Action/NotAction,
// Resource/NotResource, Condition with its operators), from any of the forms CloudTrail carries them in
// (src/core/policy-document.ts parses the text). Pure.
import { parsePolicyDocument } from '../../core/policy-document';
import { isRecord } from '../../core/records';

export interface Principal {
  /** AWS, Service, Federated, CanonicalUser, or * for `"Principal": "*"`. */
  kind: string;
  value: string;
}

export interface Condition {
  /** The operator as written, e.g. `ForAnyValue:StringLike`, `IpAddressIfExists`. */
  op: string;
  /** Lower-cased key, e.g. `aws:sourceip`. */
  key: string;
  values: string[];
}

export interface AnalysisStatement {
  sid?: string;
  allow: boolean;
  /** Principal or NotPrincipal; null when the statement has neither (identity policies). */
  principals: Principal[] | null;
  notPrincipal: boolean;
  actions: string[];
  notAction: boolean;
  resources: string[];
  notResource: boolean;
  conditions: Condition[];
}

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (typeof v === 'number' || typeof v === 'boolean') return [String(v)];
  if (Array.isArray(v)) return v.flatMap((x) => (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean' ? [String(x)] : []));
  return [];
}

function principalsOf(p: unknown): Principal[] {
  if (typeof p === 'string') return [{ kind: p === '*' ? '*' : 'AWS', value: p }];
  if (!isRecord(p)) return [];
  const out: Principal[] = [];
  for (const [kind, val] of Object.entries(p)) for (const x of strings(val)) out.push({ kind, value: x });
  return out;
}

function conditionsOf(c: unknown): Condition[] {
  if (!isRecord(c)) return [];
  const out: Condition[] = [];
  for (const [op, block] of Object.entries(c)) {
    if (!isRecord(block)) continue;
    for (const [key, val] of Object.entries(block)) out.push({ op, key: key.toLowerCase(), values: strings(val) });
  }
  return out;
}

/** The statements of a policy document; null when the value is not one. A lone Lambda statement is a document. */
export function analysisStatements(v: unknown): AnalysisStatement[] | null {
  const doc = parsePolicyDocument(v);
  if (!isRecord(doc)) return null;
  const raw = doc.Statement !== undefined ? doc.Statement : doc.Effect !== undefined ? doc : undefined;
  if (raw === undefined) return null;
  const list = Array.isArray(raw) ? raw : [raw];
  const out: AnalysisStatement[] = [];
  for (const s of list) {
    if (!isRecord(s)) continue;
    const notPrincipal = s.NotPrincipal !== undefined && s.Principal === undefined;
    const pr = notPrincipal ? s.NotPrincipal : s.Principal;
    out.push({
      ...(typeof s.Sid === 'string' && s.Sid !== '' ? { sid: s.Sid } : {}),
      allow: s.Effect === 'Allow',
      principals: pr === undefined ? null : principalsOf(pr),
      notPrincipal,
      actions: strings(s.Action ?? s.NotAction),
      notAction: s.NotAction !== undefined && s.Action === undefined,
      resources: s.Resource === undefined && s.NotResource === undefined ? ['*'] : strings(s.Resource ?? s.NotResource),
      notResource: s.NotResource !== undefined && s.Resource === undefined,
      conditions: conditionsOf(s.Condition),
    });
  }
  return out;
}

/** A stable text for a document (the cache key of its analyses). */
export function documentKey(v: unknown): string | null {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v);
  } catch {
    return null;
  }
}
