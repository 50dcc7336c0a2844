// Field paths of the policy language and the facts they read. Pure: no I/O.
//
// Paths: dotted keys from a root (`request.groupId`, `actor.type`, `additionalEventData.MFAUsed`). A key applied to a
// list applies to each element, and a key missing on a CloudTrail `{items:[…]}` wrapper applies to its items, so
// `request.ipPermissions.ipRanges.cidrIp` reads the nested shape; `[]` spells the iteration out. A missing field has no
// values: every op is false on it except `exists: false`.
import type { Change } from '../core/types';
import { policyStatements, type PolicyStatements } from '../core/policy-document';
import { isRecord } from '../core/records';
import { securityGroupRules, type SecurityGroupRule } from '../core/security-group-rules';
import { baseEventName } from '../core/iam-action-names';
import { exposureOfRules, prefixListExposure, type ExposureSpan, type PrefixListEntries } from './exposure';

/** What the caller knows beyond the record (e.g. from the trusted baseline). */
export interface AssessContext {
  /** Entries of managed prefix lists, by id; a list not known here is reported as unknown. */
  prefixListEntries?: PrefixListEntries;
}

export interface Problem {
  path: (string | number)[];
  message: string;
}

/** Everything a condition can read for one change; derived views are computed once, on first use. */
export class Facts {
  private perms?: SecurityGroupRule[];
  private exposed?: ExposureSpan[];
  private docs?: Map<unknown, PolicyStatements | null>;
  private base?: string;
  /** What analysis operators found while a rule's conditions ran (the engine adds them to that rule's reason). */
  readonly notes: string[] = [];
  constructor(
    readonly change: Change,
    readonly trustedAccounts: ReadonlySet<string>,
    readonly lists: ReadonlyMap<string, ReadonlySet<string>>,
    readonly context: AssessContext = {},
  ) {}

  get baseEventName(): string {
    return (this.base ??= baseEventName(this.change.eventName));
  }

  permissions(): SecurityGroupRule[] {
    return (this.perms ??= securityGroupRules(this.change));
  }

  /** What the record opens to the internet, per port span (exposure.ts). */
  exposure(): ExposureSpan[] {
    return (this.exposed ??= [...exposureOfRules(this.permissions(), this.context.prefixListEntries), ...prefixListExposure(this.change.eventName, this.change.request)]);
  }

  policyDoc(v: unknown): PolicyStatements | null {
    this.docs ??= new Map();
    if (this.docs.has(v)) return this.docs.get(v) as PolicyStatements | null;
    const doc = policyStatements(v);
    this.docs.set(v, doc);
    return doc;
  }

  /** A 12-digit account named in the value (an id or an ARN) that is neither this account nor a trusted one. */
  isForeignAccount(v: unknown): boolean {
    const acct = accountIn(v);
    return acct !== undefined && acct !== this.change.account && !this.trustedAccounts.has(acct);
  }
}

/** `AddPermission20150331v2` → `AddPermission`: Lambda (and CloudFront) event names carry the API version. */
export { baseEventName } from '../core/iam-action-names';

// ---------- roots and paths ----------

type Getter = (f: Facts) => unknown;
const ROOTS: Record<string, Getter> = {
  eventName: (f) => f.change.eventName,
  baseEventName: (f) => f.baseEventName,
  eventSource: (f) => f.change.eventSource,
  eventTime: (f) => f.change.eventTime,
  account: (f) => f.change.account,
  region: (f) => f.change.region,
  actor: (f) => f.change.actor,
  userAgent: (f) => f.change.userAgent,
  sourceIp: (f) => f.change.sourceIp,
  errorCode: (f) => f.change.errorCode,
  request: (f) => f.change.request,
  response: (f) => f.change.response,
  readOnly: (f) => (f.change as { readOnly?: boolean }).readOnly,
  eventType: (f) => (f.change as { eventType?: string }).eventType,
  additionalEventData: (f) => (f.change as { additionalEventData?: unknown }).additionalEventData,
  /** Security-group rules from every request and response shape (see `securityGroupRules`). */
  permissions: (f) => f.permissions(),
  /** Per port span: the union of every range that reaches it and its share of the internet (see exposure.ts). */
  exposure: (f) => f.exposure(),
};
const ROOT_NAMES = Object.keys(ROOTS);

export type PathFn = (f: Facts, scope: unknown) => unknown[];

function step(values: unknown[], key: string, out: unknown[], depth = 0): void {
  for (const v of values) {
    if (v === null || v === undefined) continue;
    if (key === '[]') {
      if (Array.isArray(v)) out.push(...v);
      else if (isRecord(v)) {
        if (Array.isArray(v.items)) out.push(...v.items);
      } else out.push(v);
    } else if (Array.isArray(v)) {
      if (depth < 4) step(v, key, out, depth + 1);
    } else if (isRecord(v)) {
      const x = v[key];
      if (x !== undefined) out.push(x);
      else if (Array.isArray(v.items) && depth < 4) step(v.items, key, out, depth + 1);
    }
  }
}

const SEGMENT = /^([A-Za-z0-9_$@:-]+|\[\])$/;

/** Compile a path; `relative` paths (inside `where`) start at the element, `@` being the element itself. */
export function compilePath(text: unknown, relative: boolean, at: (string | number)[], problems: Problem[]): PathFn | null {
  if (typeof text !== 'string' || text.trim() === '') {
    problems.push({ path: at, message: 'must be a field path such as request.groupId' });
    return null;
  }
  const segs = text.replace(/\[\]/g, '.[]').split('.').filter((s) => s !== '');
  for (const s of segs) {
    if (!SEGMENT.test(s)) {
      problems.push({ path: at, message: `"${text}" has an invalid segment "${s}"` });
      return null;
    }
  }
  if (relative) {
    const rest = segs[0] === '@' ? segs.slice(1) : segs;
    return (_f, scope) => walk([scope], rest);
  }
  const head = segs[0] as string;
  const root = ROOTS[head];
  if (!root) {
    problems.push({ path: at, message: `"${text}" must start with one of ${ROOT_NAMES.join(', ')}` });
    return null;
  }
  const rest = segs.slice(1);
  if (rest.length === 0) return (f) => single(root(f));
  if (rest.includes('[]')) return (f) => walk([root(f)], rest);
  // Fast path: a chain of plain objects (the common case) needs no intermediate lists; lists and {items:[…]}
  // wrappers met on the way fall back to the general walk.
  const n = rest.length;
  return (f) => {
    let v: unknown = root(f);
    for (let i = 0; i < n; i++) {
      if (v === null || v === undefined) return EMPTY;
      if (typeof v !== 'object') return EMPTY;
      if (Array.isArray(v)) return walk([v], rest.slice(i));
      const next = (v as Record<string, unknown>)[rest[i] as string];
      if (next === undefined) {
        return Array.isArray((v as { items?: unknown }).items) ? walk([v], rest.slice(i)) : EMPTY;
      }
      v = next;
    }
    return single(v);
  };
}

const EMPTY: unknown[] = [];

function single(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

function walk(start: unknown[], segs: string[]): unknown[] {
  let cur = start;
  for (const s of segs) {
    const next: unknown[] = [];
    step(cur, s, next);
    if (next.length === 0) return next;
    cur = next;
  }
  // A path that ends on a list yields its elements.
  const out: unknown[] = [];
  for (const v of cur) {
    if (Array.isArray(v)) out.push(...v);
    else if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

/** The 12-digit account of an id or an ARN. */
function accountIn(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) v = String(v).padStart(12, '0');
  if (typeof v !== 'string') return undefined;
  if (/^\d{12}$/.test(v)) return v;
  const m = /^arn:[^:]*:[^:]*:[^:]*:(\d{12}):/.exec(v);
  return m ? m[1] : undefined;
}
