// Conditions of the policy language, compiled once into closures (issue 3 §1). Pure: no I/O.
//
// A condition is a leaf `{field: PATH | [PATH…], <op>: ARG, …}` (every op must hold; the leaf holds when SOME value
// the path yields satisfies them, or EVERY value with `every: true`), or a combinator: `{any: [...]}`,
// `{all: [...]}`, `{not: COND}`, `{some: PATH, where: [...]}` (an element of the list satisfies all of `where`, whose
// fields are relative to that element; the first such element can be named `$` in reasons).
//
// Paths: dotted keys from a root (`request.groupId`, `actor.type`, `additionalEventData.MFAUsed`). A key applied to a
// list applies to each element, and a key missing on a CloudTrail `{items:[…]}` wrapper applies to its items, so
// `request.ipPermissions.ipRanges.cidrIp` reads the nested shape; `[]` spells the iteration out. A missing field has no
// values: every op is false on it except `exists: false`.
import type { Change } from '../core/types';

export interface Problem {
  path: (string | number)[];
  message: string;
}

/** Everything a condition can read for one change; derived views are computed once, on first use. */
export class Facts {
  private perms?: Permission[];
  private docs?: Map<unknown, PolicyDoc | null>;
  private base?: string;
  constructor(
    readonly change: Change,
    readonly trustedAccounts: ReadonlySet<string>,
    readonly lists: ReadonlyMap<string, ReadonlySet<string>>,
  ) {}

  get baseEventName(): string {
    return (this.base ??= baseEventName(this.change.eventName));
  }

  permissions(): Permission[] {
    return (this.perms ??= securityGroupRules(this.change));
  }

  policyDoc(v: unknown): PolicyDoc | null {
    this.docs ??= new Map();
    if (this.docs.has(v)) return this.docs.get(v) as PolicyDoc | null;
    const doc = parsePolicyDoc(v);
    this.docs.set(v, doc);
    return doc;
  }

  /** A 12-digit account named in the value (an id or an ARN) that is neither this account nor a trusted one. */
  isForeignAccount(v: unknown): boolean {
    const acct = accountIn(v);
    return acct !== undefined && acct !== this.change.account && !this.trustedAccounts.has(acct);
  }
}

/** `AddPermission20150331v2` → `AddPermission`: Lambda (and a few other) event names carry the API version. */
export function baseEventName(name: string): string {
  const m = /^([A-Za-z]+?)(\d{8})(v\d+)?$/.exec(name);
  return m ? (m[1] as string) : name;
}

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
};
export const ROOT_NAMES = Object.keys(ROOTS);

export type PathFn = (f: Facts, scope: unknown) => unknown[];

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function step(values: unknown[], key: string, out: unknown[], depth = 0): void {
  for (const v of values) {
    if (v === null || v === undefined) continue;
    if (key === '[]') {
      if (Array.isArray(v)) out.push(...v);
      else if (isObj(v)) {
        if (Array.isArray(v.items)) out.push(...v.items);
      } else out.push(v);
    } else if (Array.isArray(v)) {
      if (depth < 4) step(v, key, out, depth + 1);
    } else if (isObj(v)) {
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

// ---------- globs, CIDRs, ports, accounts ----------

export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

export function prefixLength(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /\/(\d{1,3})$/.exec(v.trim());
  return m ? Number(m[1]) : undefined;
}

export function accountIn(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) v = String(v).padStart(12, '0');
  if (typeof v !== 'string') return undefined;
  if (/^\d{12}$/.test(v)) return v;
  const m = /^arn:[^:]*:[^:]*:[^:]*:(\d{12}):/.exec(v);
  return m ? m[1] : undefined;
}

/** One security-group rule, whatever shape it came in. `from`/`to` span 0–65535 for "all traffic". */
export interface Permission {
  direction: 'ingress' | 'egress';
  protocol: string;
  fromPort: number;
  toPort: number;
  allPorts: boolean;
  cidr?: string;
  prefixLength?: number;
  groupId?: string;
  ports: string;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return undefined;
}

function protoName(p: unknown): string {
  const s = typeof p === 'number' ? String(p) : typeof p === 'string' ? p.toLowerCase() : '-1';
  return ({ '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6', all: '-1' } as Record<string, string>)[s] ?? s;
}

function portsText(protocol: string, from: number, to: number, all: boolean): string {
  if (all) return 'all ports';
  if (protocol === 'icmp' || protocol === 'icmpv6') return protocol;
  const prefix = protocol === 'tcp' ? '' : `${protocol} `;
  return from === to ? `${prefix}port ${from}` : `${prefix}ports ${from}-${to}`;
}

function makePermission(
  direction: Permission['direction'],
  raw: { protocol: unknown; from: unknown; to: unknown; cidr?: unknown; groupId?: unknown },
): Permission {
  const protocol = protoName(raw.protocol ?? '-1');
  let from = num(raw.from);
  let to = num(raw.to);
  const all = protocol === '-1' || ((from === undefined || from === -1) && (to === undefined || to === -1) && protocol !== 'icmp' && protocol !== 'icmpv6');
  if (all || from === undefined || from < 0) from = 0;
  if (all || to === undefined || to < 0) to = 65535;
  const cidr = typeof raw.cidr === 'string' && raw.cidr !== '' ? raw.cidr : undefined;
  return {
    direction,
    protocol,
    fromPort: from,
    toPort: to,
    allPorts: all || (from === 0 && to === 65535),
    ...(cidr ? { cidr, prefixLength: prefixLength(cidr) } : {}),
    ...(typeof raw.groupId === 'string' ? { groupId: raw.groupId } : {}),
    ports: portsText(protocol, from, to, all),
  };
}

function listOf(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isObj(v) && Array.isArray(v.items)) return v.items;
  if (isObj(v) && Object.keys(v).length > 0 && !('items' in v)) return [v];
  return [];
}

/**
 * Every security-group rule the record names: the flat request (`cidrIp`, `fromPort` … at the top, CLI style), the
 * nested request (`ipPermissions.items[].ipRanges.items[].cidrIp`, SDK/console style), ModifySecurityGroupRules'
 * request, and the response's `securityGroupRuleSet` (the most reliable: one entry per rule AWS created).
 */
export function securityGroupRules(change: Change): Permission[] {
  const out: Permission[] = [];
  const name = change.eventName;
  const direction: Permission['direction'] = /Egress/.test(name) ? 'egress' : 'ingress';
  const req = isObj(change.request) ? change.request : {};
  const groupId = typeof req.groupId === 'string' ? req.groupId : undefined;
  for (const key of ['cidrIp', 'cidrIpv6'] as const) {
    if (typeof req[key] === 'string') {
      out.push(makePermission(direction, { protocol: req.ipProtocol, from: req.fromPort, to: req.toPort, cidr: req[key], groupId }));
    }
  }
  for (const p of listOf(req.ipPermissions)) {
    if (!isObj(p)) continue;
    const cidrs = [
      ...listOf(p.ipRanges).map((r) => (isObj(r) ? r.cidrIp : undefined)),
      ...listOf(p.ipv6Ranges).map((r) => (isObj(r) ? r.cidrIpv6 : undefined)),
    ].filter((c) => typeof c === 'string');
    if (cidrs.length === 0) out.push(makePermission(direction, { protocol: p.ipProtocol, from: p.fromPort, to: p.toPort, groupId }));
    for (const cidr of cidrs) out.push(makePermission(direction, { protocol: p.ipProtocol, from: p.fromPort, to: p.toPort, cidr, groupId }));
  }
  // ModifySecurityGroupRules: {ModifySecurityGroupRulesRequest:{GroupId, SecurityGroupRule:{SecurityGroupRule:{…}}}}
  const modify = isObj(req.ModifySecurityGroupRulesRequest) ? req.ModifySecurityGroupRulesRequest : undefined;
  if (modify) {
    for (const wrapper of listOf(modify.SecurityGroupRule)) {
      const r = isObj(wrapper) && isObj(wrapper.SecurityGroupRule) ? wrapper.SecurityGroupRule : wrapper;
      if (!isObj(r)) continue;
      const isEgress = r.IsEgress === true || r.IsEgress === 'true';
      out.push(
        makePermission(isEgress ? 'egress' : 'ingress', {
          protocol: r.IpProtocol,
          from: r.FromPort,
          to: r.ToPort,
          cidr: r.CidrIpv4 ?? r.CidrIpv6,
          groupId: modify.GroupId,
        }),
      );
    }
  }
  const res = isObj(change.response) ? change.response : {};
  for (const item of listOf(res.securityGroupRuleSet)) {
    if (!isObj(item)) continue;
    out.push(
      makePermission(item.isEgress === true ? 'egress' : 'ingress', {
        protocol: item.ipProtocol,
        from: item.fromPort,
        to: item.toPort,
        cidr: item.cidrIpv4 ?? item.cidrIpv6,
        groupId: item.groupId,
      }),
    );
  }
  return out;
}

type PortSpec = { from: number; to: number } | 'all';

function compilePorts(arg: unknown, at: (string | number)[], problems: Problem[]): PortSpec[] | null {
  const list = Array.isArray(arg) ? arg : [arg];
  const out: PortSpec[] = [];
  for (const [i, p] of list.entries()) {
    if (p === 'all') out.push('all');
    else if (typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= 65535) out.push({ from: p, to: p });
    else if (typeof p === 'string' && /^\d{1,5}-\d{1,5}$/.test(p)) {
      const [a, b] = p.split('-').map(Number) as [number, number];
      if (a > b || b > 65535) problems.push({ path: [...at, i], message: `port range "${p}" is not low-high within 0-65535` });
      out.push({ from: a, to: b });
    } else problems.push({ path: [...at, i], message: `must be a port (0-65535), a range "low-high" or "all", got ${JSON.stringify(p)}` });
  }
  return out;
}

// ---------- policy documents (IAM, S3, KMS, SQS, SNS, ECR, Secrets Manager, Lambda statements) ----------

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
function grants(doc: PolicyDoc, action: string): boolean {
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

function isPublic(doc: PolicyDoc): boolean {
  return doc.statements.some(
    (s) =>
      s.allow &&
      s.principals.some((p) => (p.kind === 'AWS' || p.kind === '*') && p.value === '*') &&
      !s.conditionKeys.some((k) => NARROWING_KEYS.has(k)),
  );
}

function hasForeignPrincipal(doc: PolicyDoc, f: Facts): boolean {
  return doc.statements.some((s) => s.allow && s.principals.some((p) => p.kind === 'AWS' && f.isForeignAccount(p.value)));
}

function isFederated(doc: PolicyDoc): boolean {
  return doc.statements.some(
    (s) =>
      s.allow &&
      (s.principals.some((p) => p.kind === 'Federated') ||
        s.actions.some((a) => /^sts:AssumeRoleWith(WebIdentity|SAML)$/i.test(a))),
  );
}

// ---------- leaves and combinators ----------

export type Pred = (f: Facts, scope: unknown, capture: { $?: unknown }) => boolean;
type ValuePred = (v: unknown, f: Facts) => boolean;

function scalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}
/** Equality that lets CloudTrail's stringly booleans and numbers ("false", "22") meet YAML's typed ones. */
function same(a: unknown, b: unknown): boolean {
  return a === b || (scalar(a) && scalar(b) && String(a) === String(b));
}

type Cmp = { lt?: number; lte?: number; gt?: number; gte?: number; eq?: number };
function compileCmp(arg: unknown, at: (string | number)[], problems: Problem[]): ((n: number) => boolean) | null {
  const spec: Cmp = typeof arg === 'number' ? { eq: arg } : isObj(arg) ? (arg as Cmp) : {};
  const keys = isObj(arg) ? Object.keys(arg) : typeof arg === 'number' ? ['eq'] : [];
  if (keys.length === 0 || keys.some((k) => !['lt', 'lte', 'gt', 'gte', 'eq'].includes(k) || typeof (spec as Record<string, unknown>)[k] !== 'number')) {
    problems.push({ path: at, message: 'must be a number or {lt|lte|gt|gte|eq: number}' });
    return null;
  }
  return (n) =>
    (spec.eq === undefined || n === spec.eq) &&
    (spec.lt === undefined || n < spec.lt) &&
    (spec.lte === undefined || n <= spec.lte) &&
    (spec.gt === undefined || n > spec.gt) &&
    (spec.gte === undefined || n >= spec.gte);
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

export interface CompileEnv {
  lists: ReadonlyMap<string, unknown>;
}

type OpCompiler = (arg: unknown, at: (string | number)[], problems: Problem[], env: CompileEnv, relative: boolean) => ValuePred | null;

function needScalarList(arg: unknown, at: (string | number)[], problems: Problem[]): unknown[] | null {
  const list = Array.isArray(arg) ? arg : null;
  if (!list || list.length === 0 || !list.every(scalar)) {
    problems.push({ path: at, message: 'must be a non-empty list of strings, numbers or booleans' });
    return null;
  }
  return list;
}

function needTrue(arg: unknown, at: (string | number)[], problems: Problem[]): boolean {
  if (arg !== true) {
    problems.push({ path: at, message: 'must be true' });
    return false;
  }
  return true;
}

function needPolicyDoc(test: (d: PolicyDoc, f: Facts) => boolean): ValuePred {
  return (v, f) => {
    const d = f.policyDoc(v);
    return d !== null && test(d, f);
  };
}

const OPS: Record<string, OpCompiler> = {
  equals: (arg, at, p) => {
    if (!scalar(arg)) return p.push({ path: at, message: 'must be a string, number or boolean' }), null;
    return (v) => same(v, arg);
  },
  notEquals: (arg, at, p) => {
    if (!scalar(arg)) return p.push({ path: at, message: 'must be a string, number or boolean' }), null;
    return (v) => !same(v, arg);
  },
  in: (arg, at, p) => {
    const list = needScalarList(arg, at, p);
    return list && ((v) => list.some((x) => same(v, x)));
  },
  notIn: (arg, at, p) => {
    const list = needScalarList(arg, at, p);
    return list && ((v) => !list.some((x) => same(v, x)));
  },
  matches: (arg, at, p) => {
    const list = typeof arg === 'string' ? [arg] : Array.isArray(arg) && arg.length && arg.every((x) => typeof x === 'string') ? (arg as string[]) : null;
    if (!list) return p.push({ path: at, message: 'must be a glob ("*" any text, "?" one character) or a list of globs' }), null;
    const res = list.map(globToRegExp);
    return (v) => typeof v === 'string' && res.some((r) => r.test(v));
  },
  regex: (arg, at, p) => {
    if (typeof arg !== 'string') return p.push({ path: at, message: 'must be a regular expression' }), null;
    try {
      const re = new RegExp(arg);
      return (v) => typeof v === 'string' && re.test(v);
    } catch (err) {
      return p.push({ path: at, message: `is not a valid regular expression: ${(err as Error).message}` }), null;
    }
  },
  contains: (arg, at, p) => {
    if (typeof arg !== 'string' || arg === '') return p.push({ path: at, message: 'must be a non-empty string' }), null;
    return (v) => typeof v === 'string' && v.includes(arg);
  },
  gt: (arg, at, p) => (typeof arg === 'number' ? (v) => (toNumber(v) ?? NaN) > arg : (p.push({ path: at, message: 'must be a number' }), null)),
  gte: (arg, at, p) => (typeof arg === 'number' ? (v) => (toNumber(v) ?? NaN) >= arg : (p.push({ path: at, message: 'must be a number' }), null)),
  lt: (arg, at, p) => (typeof arg === 'number' ? (v) => (toNumber(v) ?? NaN) < arg : (p.push({ path: at, message: 'must be a number' }), null)),
  lte: (arg, at, p) => (typeof arg === 'number' ? (v) => (toNumber(v) ?? NaN) <= arg : (p.push({ path: at, message: 'must be a number' }), null)),
  prefixLength: (arg, at, p) => {
    const cmp = compileCmp(arg, at, p);
    return (
      cmp &&
      ((v) => {
        const n = isObj(v) && typeof v.cidr === 'string' ? prefixLength(v.cidr) : prefixLength(v);
        return n !== undefined && cmp(n);
      })
    );
  },
  portsInclude: (arg, at, p) => {
    const specs = compilePorts(arg, at, p);
    return (
      specs &&
      ((v) => {
        if (!isObj(v) || typeof v.fromPort !== 'number' || typeof v.toPort !== 'number') return false;
        const from = v.fromPort;
        const to = v.toPort;
        return specs.some((s) => (s === 'all' ? v.allPorts === true : from <= s.to && to >= s.from));
      })
    );
  },
  foreignAccount: (arg, at, p) => (needTrue(arg, at, p) ? (v, f) => f.isForeignAccount(v) : null),
  inList: (arg, at, p, env) => {
    if (typeof arg !== 'string' || !env.lists.has(arg)) {
      return p.push({ path: at, message: `must name a list under "lists" (${[...env.lists.keys()].join(', ') || 'none defined'})` }), null;
    }
    return (v, f) => scalar(v) && (f.lists.get(arg)?.has(String(v)) ?? false);
  },
  policyGrants: (arg, at, p) => {
    const list = typeof arg === 'string' ? [arg] : Array.isArray(arg) && arg.length && arg.every((x) => typeof x === 'string') ? (arg as string[]) : null;
    if (!list) return p.push({ path: at, message: 'must be an action such as "*" or "iam:*", or a list of them' }), null;
    return needPolicyDoc((d) => list.some((a) => grants(d, a)));
  },
  policyPublic: (arg, at, p) => (needTrue(arg, at, p) ? needPolicyDoc((d) => isPublic(d)) : null),
  policyForeignAccount: (arg, at, p) => (needTrue(arg, at, p) ? needPolicyDoc((d, f) => hasForeignPrincipal(d, f)) : null),
  policyFederated: (arg, at, p) => (needTrue(arg, at, p) ? needPolicyDoc((d) => isFederated(d)) : null),
};
export const OP_NAMES = Object.keys(OPS);

const FIELD_OPS_WITH_PATH = new Set(['equalsField', 'notEqualsField']);

function describe(v: unknown): string {
  return Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v;
}

/** Compile one condition; problems are collected (never thrown) so `vouch policy check` reports all of them. */
export function compileCondition(raw: unknown, at: (string | number)[], problems: Problem[], env: CompileEnv, relative = false): Pred | null {
  if (!isObj(raw)) {
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

// ---------- reason templates ----------

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
