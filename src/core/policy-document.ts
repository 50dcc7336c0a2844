// AWS policy documents (IAM, S3, KMS, SQS, SNS, ECR, Secrets Manager, Lambda statements), read from wherever they
// come: an object (S3 in CloudTrail), a JSON string (IAM in CloudTrail, S3 GetBucketPolicy) or URL-encoded JSON (IAM
// GetRole / GetRolePolicy answers). The policy's conditions read their statements; the trusted baseline and the
// revert handlers compare whole documents.
import { canonicalJson, isRecord } from './records';

/** Can JSON.parse succeed on this text at all? (Skips the exception for the common non-JSON strings.) */
function mayBeJson(text: string): boolean {
  const c = text.trimStart().charAt(0);
  return c === '{' || c === '[' || c === '"' || c === '-' || c === 't' || c === 'f' || c === 'n' || (c >= '0' && c <= '9');
}

function tryJson(text: string): unknown {
  if (!mayBeJson(text)) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The parsed document (object, JSON string or URL-encoded JSON); undefined when it is none of these. */
export function parsePolicyDocument(v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'object') return v;
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const direct = tryJson(v);
  if (direct !== undefined) return direct;
  let decoded: string;
  try {
    decoded = decodeURIComponent(v);
  } catch {
    return undefined;
  }
  return decoded === v ? undefined : tryJson(decoded);
}

/** Do two documents (in any of the forms above) say the same thing, key order aside? */
export function samePolicy(a: unknown, b: unknown): boolean {
  const pa = parsePolicyDocument(a);
  const pb = parsePolicyDocument(b);
  if (pa === undefined || pb === undefined) return pa === pb;
  return canonicalJson(pa) === canonicalJson(pb);
}

export interface Statement {
  allow: boolean;
  actions: string[];
  notAction: boolean;
  /** `["*"]` for NotResource and for a statement without Resource (Lambda's). */
  resources: string[];
  principals: { kind: string; value: string }[];
  /** Condition keys, lower-cased. */
  conditionKeys: string[];
}

export interface PolicyStatements {
  statements: Statement[];
}

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

/** The statements of a document; null when the value is not a policy document (an object once parsed). */
export function policyStatements(v: unknown): PolicyStatements | null {
  const doc = parsePolicyDocument(v);
  if (!isRecord(doc)) return null;
  // A single Lambda statement ({"Sid","Effect","Principal",…}) is a one-statement document.
  const raw = doc.Statement !== undefined ? doc.Statement : doc.Effect !== undefined ? doc : undefined;
  const list = Array.isArray(raw) ? raw : raw !== undefined ? [raw] : [];
  const statements: Statement[] = [];
  for (const s of list) {
    if (!isRecord(s)) continue;
    const principals: Statement['principals'] = [];
    const p = s.Principal;
    if (typeof p === 'string') principals.push({ kind: 'AWS', value: p });
    else if (isRecord(p)) {
      for (const [kind, val] of Object.entries(p)) for (const x of strings(val)) principals.push({ kind, value: x });
    }
    const conditionKeys: string[] = [];
    if (isRecord(s.Condition)) {
      for (const block of Object.values(s.Condition)) if (isRecord(block)) conditionKeys.push(...Object.keys(block).map((k) => k.toLowerCase()));
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
