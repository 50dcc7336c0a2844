// The operators of the policy language (the OPS table): each compiles its argument once into a test on one value.
import { globMatcher } from '../core/glob';
import type { PolicyStatements } from '../core/policy-document';
import { isRecord } from '../core/records';
import { prefixLength } from '../core/security-group-rules';
import { compilePorts } from './network';
import { coverage } from './ip-coverage';
import type { Facts, Problem } from './paths';
import { isFederated } from './policy-documents';
import { actionList, capabilitiesOf, exposureOf } from './analysis';
import { iamCatalogue } from './iam-catalogue';

export type Pred = (f: Facts, scope: unknown, capture: { $?: unknown }) => boolean;

/** What `policyAllows` can look for in an identity policy. */
const CAPABILITIES = ['admin', 'privilege-escalation', 'data-exfiltration'];
export type ValuePred = (v: unknown, f: Facts) => boolean;

export function scalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}
/** Equality that lets CloudTrail's stringly booleans and numbers ("false", "22") meet YAML's typed ones. */
export function same(a: unknown, b: unknown): boolean {
  return a === b || (scalar(a) && scalar(b) && String(a) === String(b));
}

type Cmp = { lt?: number; lte?: number; gt?: number; gte?: number; eq?: number };
function compileCmp(arg: unknown, at: (string | number)[], problems: Problem[]): ((n: number) => boolean) | null {
  const spec: Cmp = typeof arg === 'number' ? { eq: arg } : isRecord(arg) ? (arg as Cmp) : {};
  const keys = isRecord(arg) ? Object.keys(arg) : typeof arg === 'number' ? ['eq'] : [];
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

function needPolicyStatements(test: (d: PolicyStatements, f: Facts) => boolean): ValuePred {
  return (v, f) => {
    const d = f.policyDoc(v);
    return d !== null && test(d, f);
  };
}

export const OPS: Record<string, OpCompiler> = {
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
    const match = globMatcher(list);
    return (v) => typeof v === 'string' && match(v);
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
        const n = isRecord(v) && typeof v.cidr === 'string' ? prefixLength(v.cidr) : prefixLength(v);
        return n !== undefined && cmp(n);
      })
    );
  },
  internetShare: (arg, at, p) => {
    const cmp = compileCmp(arg, at, p);
    return (
      cmp &&
      ((v) => {
        const share = isRecord(v) && typeof v.share === 'number' ? v.share : typeof v === 'string' && v.includes('/') ? coverage([v]).share : isRecord(v) && typeof v.cidr === 'string' ? coverage([v.cidr]).share : undefined;
        return share !== undefined && cmp(share);
      })
    );
  },
  portsInclude: (arg, at, p) => {
    const specs = compilePorts(arg, at, p);
    return (
      specs &&
      ((v) => {
        if (!isRecord(v) || typeof v.fromPort !== 'number' || typeof v.toPort !== 'number') return false;
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
    // Every action the pattern names is granted on every resource, after wildcard expansion on both sides.
    return (v, f) => {
      const c = capabilitiesOf(v);
      if (!c) return false;
      const hit = list.find((a) => {
        const want = iamCatalogue().expand(a);
        return want.length > 0 && want.every((x) => c.broad.has(x.key));
      });
      if (hit) f.notes.push(`grants ${hit} on every resource`);
      return hit !== undefined;
    };
  },
  policyAllows: (arg, at, p) => {
    const list = typeof arg === 'string' ? [arg] : Array.isArray(arg) ? arg : [];
    if (list.length === 0 || !list.every((x) => typeof x === 'string' && CAPABILITIES.includes(x))) {
      return p.push({ path: at, message: `must be one or more of ${CAPABILITIES.join(', ')}` }), null;
    }
    return (v, f) => {
      const c = capabilitiesOf(v);
      if (!c) return false;
      const found: string[] = [];
      if (list.includes('admin') && c.admin) found.push('admin-equivalent: every action on every resource');
      if (list.includes('privilege-escalation') && c.escalation.length) found.push(`privilege escalation: ${c.escalation.slice(0, 3).join('; ')}`);
      if (list.includes('data-exfiltration') && c.exfiltration.length) found.push(`data out: ${actionList(c.exfiltration)} on every resource`);
      f.notes.push(...found);
      return found.length > 0;
    };
  },
  policyPublic: (arg, at, p) =>
    needTrue(arg, at, p)
      ? (v, f) => {
          const e = exposureOf(v, { account: f.change.account, trusted: f.trustedAccounts, eventSource: f.change.eventSource });
          if (!e || e.publicTo === null) return false;
          f.notes.push(`lets ${e.publicTo} ${actionList(e.publicActions)}`);
          return true;
        }
      : null,
  policyForeignAccount: (arg, at, p) =>
    needTrue(arg, at, p)
      ? (v, f) => {
          const e = exposureOf(v, { account: f.change.account, trusted: f.trustedAccounts, eventSource: f.change.eventSource });
          if (!e || e.foreign.length === 0) return false;
          f.notes.push(e.foreign.map((x) => `lets account ${x.account} ${actionList(x.actions, 3)}`).join('; '));
          return true;
        }
      : null,
  policyFederated: (arg, at, p) => (needTrue(arg, at, p) ? needPolicyStatements((d) => isFederated(d)) : null),
};
export const OP_NAMES = Object.keys(OPS);
