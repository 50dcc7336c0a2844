// Policy documents (IAM, S3, KMS, SQS, SNS, ECR, Secrets Manager, Lambda statements) as the policy language reads them.
import { globToRegExp, type Facts } from './paths';

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface Statement {
  allow: boolean;
  actions: string[];
  notAction: boolean;
  resources: string[];
  principals: { kind: string; value: string }[];
  conditionKeys: string[];
}
export interface PolicyDoc {
  statements: Statement[];
}

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

/** A policy document given as a JSON string (IAM, URL-encoded in some responses) or an object (S3). */
export function parsePolicyDoc(v: unknown): PolicyDoc | null {
  let doc: unknown = v;
  if (typeof v === 'string') {
    let text = v.trim();
    if (text.startsWith('%7B') || text.startsWith('%7b')) {
      try {
        text = decodeURIComponent(text);
      } catch {
        return null;
      }
    }
    if (!text.startsWith('{')) return null;
    try {
      doc = JSON.parse(text);
    } catch {
      return null;
    }
  }
  if (!isObj(doc)) return null;
  // A single Lambda statement ({"Sid","Effect","Principal",…}) is a one-statement document.
  const raw = doc.Statement !== undefined ? doc.Statement : doc.Effect !== undefined ? doc : undefined;
  const list = Array.isArray(raw) ? raw : raw !== undefined ? [raw] : [];
  const statements: Statement[] = [];
  for (const s of list) {
    if (!isObj(s)) continue;
    const principals: Statement['principals'] = [];
    const p = s.Principal;
    if (typeof p === 'string') principals.push({ kind: 'AWS', value: p });
    else if (isObj(p)) {
      for (const [kind, val] of Object.entries(p)) for (const x of strings(val)) principals.push({ kind, value: x });
    }
    const conditionKeys: string[] = [];
    if (isObj(s.Condition)) {
      for (const block of Object.values(s.Condition)) if (isObj(block)) conditionKeys.push(...Object.keys(block).map((k) => k.toLowerCase()));
    }
    statements.push({
      allow: s.Effect === 'Allow',
      actions: strings(s.Action ?? s.NotAction),
      notAction: s.NotAction !== undefined && s.Action === undefined,
      resources: s.Resource === undefined && s.NotResource === undefined ? ['*'] : s.NotResource !== undefined ? ['*'] : strings(s.Resource),
      principals,
      conditionKeys,
    });
  }
  return { statements };
}

const globCache = new Map<string, RegExp>();
function globMatch(pattern: string, text: string): boolean {
  let re = globCache.get(pattern);
  if (!re) {
    if (globCache.size > 10_000) globCache.clear();
    re = new RegExp(globToRegExp(pattern).source, 'is'); // IAM actions are case-insensitive
    globCache.set(pattern, re);
  }
  return re.test(text);
}

/** Does an Allow statement grant `action` (e.g. "*" or "iam:*") on every resource ("*")? */
export function grants(doc: PolicyDoc, action: string): boolean {
  return doc.statements.some(
    (s) =>
      s.allow &&
      (s.notAction || s.actions.some((a) => globMatch(a, action))) &&
      s.resources.some((r) => r === '*'),
  );
}

/** Condition keys that tie a public principal down to an organisation, account, source or network. */
const NARROWING_KEYS = new Set(
  [
    'aws:SourceArn',
    'aws:SourceAccount',
    'aws:SourceOwner',
    'aws:SourceOrgID',
    'aws:SourceOrgPaths',
    'aws:PrincipalOrgID',
    'aws:PrincipalOrgPaths',
    'aws:PrincipalAccount',
    'aws:PrincipalArn',
    'aws:SourceVpc',
    'aws:SourceVpce',
    'aws:SourceIp',
    'aws:userid',
    'aws:username',
    'kms:CallerAccount',
    'kms:ViaService',
    'lambda:FunctionUrlAuthType',
  ].map((k) => k.toLowerCase()),
);

export function isPublic(doc: PolicyDoc): boolean {
  return doc.statements.some(
    (s) =>
      s.allow &&
      s.principals.some((p) => (p.kind === 'AWS' || p.kind === '*') && p.value === '*') &&
      !s.conditionKeys.some((k) => NARROWING_KEYS.has(k)),
  );
}

export function hasForeignPrincipal(doc: PolicyDoc, f: Facts): boolean {
  return doc.statements.some((s) => s.allow && s.principals.some((p) => p.kind === 'AWS' && f.isForeignAccount(p.value)));
}

export function isFederated(doc: PolicyDoc): boolean {
  return doc.statements.some(
    (s) =>
      s.allow &&
      (s.principals.some((p) => p.kind === 'Federated') ||
        s.actions.some((a) => /^sts:AssumeRoleWith(WebIdentity|SAML)$/i.test(a))),
  );
}
