// The policy file: YAML that security edits without code. Read with line numbers, validated in one pass that collects
// every mistake (path + line), and compiled into closures and an index for the engine. Pure apart from reading a file.
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import type { Tier } from '../core/types';
import { compileConditions } from './conditions';
import type { Pred } from './operators';
import { globRegExp, isGlob } from '../core/glob';
import { isRecord } from '../core/records';
import type { Problem } from './paths';
import { compileTemplate, type Template } from './templates';

export const TIERS: readonly Tier[] = ['ignore', 'notify', 'confirm', 'page', 'revert'];
export const TIER_RANK: Record<Tier, number> = { ignore: 0, notify: 1, confirm: 2, page: 3, revert: 4 };

export interface PolicyProblem {
  line: number;
  path: string;
  message: string;
}

/** A policy that cannot be used; `problems` lists every mistake with its line (1-based; 0 when unknown). */
export class PolicyError extends Error {
  constructor(
    readonly file: string,
    readonly problems: PolicyProblem[],
  ) {
    super(`${file}: ${problems.length} problem(s)\n${problems.map((p) => `  ${file}:${p.line}: ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n')}`);
    this.name = 'PolicyError';
  }
}

export interface CompiledRule {
  id: string;
  title: string;
  rows: number[];
  sources: ReadonlySet<string> | null;
  /** Exact event names (base names: `AddPermission` matches `AddPermission20150331v2`) and globs. */
  exact: ReadonlySet<string>;
  globs: RegExp[];
  /** userIdentity types the rule is about (checked before anything else is read); null: any. */
  actors: ReadonlySet<string> | null;
  when: Pred;
  score: number;
  tier?: Tier;
  /** allow: the revert plan may be used; never: vetoes it whatever other rules say; unset: no opinion. */
  revert?: 'allow' | 'never';
  revertOnTimeout?: boolean;
  deadlineSeconds?: number;
  reason: Template | null;
}

export interface Matcher {
  principal: RegExp[] | null;
  account: ReadonlySet<string> | null;
  userAgent: RegExp[] | null;
  rules: ReadonlySet<string> | null;
  events: ReadonlySet<string> | null;
}

export interface AllowEntry extends Matcher {
  id: string;
  note: string;
  tier: 'ignore' | 'notify';
}

export interface Exemption extends Matcher {
  id: string;
  approver: string;
  reason: string;
  starts: number;
  expires: number;
  expiresText: string;
  tier: 'ignore' | 'notify';
}

export interface CompiledPolicy {
  source: string;
  version: 1;
  thresholds: { notify: number; confirm: number; page: number };
  deadlineSeconds: number;
  demote: { readOnly: 'ignore' | 'notify'; failed: 'ignore' | 'notify' };
  self: { sessionNames: RegExp[]; roleArns: string[] };
  trustedAccounts: ReadonlySet<string>;
  lists: ReadonlyMap<string, ReadonlySet<string>>;
  allow: AllowEntry[];
  exemptions: Exemption[];
  rules: CompiledRule[];
}

type Path = (string | number)[];

function pathText(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Line of the node at `path`, or of the deepest ancestor that exists (the key's line for a wrong key). */
function lineOf(doc: ReturnType<typeof parseDocument>, counter: LineCounter, path: Path): number {
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
}

const ID = /^[a-z0-9][a-z0-9-]*$/;
const ACTOR_TYPES = ['IAMUser', 'AssumedRole', 'IdentityCenterUser', 'Root', 'AWSService', 'FederatedUser', 'AWSAccount', 'Unknown'];

interface Ctx {
  problems: Problem[];
}

function keysOnly(obj: Record<string, unknown>, allowed: string[], at: Path, ctx: Ctx): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) ctx.problems.push({ path: [...at, k], message: `unknown key "${k}" (allowed: ${allowed.join(', ')})` });
  }
}

function optStrings(v: unknown, at: Path, ctx: Ctx, what = 'a string or a list of strings'): string[] | null {
  if (v === undefined) return null;
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : null;
  if (!list || list.length === 0 || !list.every((x) => typeof x === 'string' && x !== '')) {
    ctx.problems.push({ path: at, message: `must be ${what}` });
    return null;
  }
  return list as string[];
}

function tierOf(v: unknown, at: Path, ctx: Ctx, allowed: readonly string[] = TIERS): Tier | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !allowed.includes(v)) {
    ctx.problems.push({ path: at, message: `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}` });
    return undefined;
  }
  return v as Tier;
}

function intIn(v: unknown, lo: number, hi: number, at: Path, ctx: Ctx): number | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    ctx.problems.push({ path: at, message: `must be a whole number from ${lo} to ${hi}, got ${JSON.stringify(v)}` });
    return undefined;
  }
  return v;
}

function compileMatcher(raw: Record<string, unknown>, at: Path, ctx: Ctx, ruleIds: Set<string>): Matcher {
  const principal = optStrings(raw.principal, [...at, 'principal'], ctx, 'an ARN glob or a list of them');
  const account = optStrings(
    typeof raw.account === 'number' ? String(raw.account) : raw.account,
    [...at, 'account'],
    ctx,
    'a 12-digit account id (quoted) or a list of them',
  );
  account?.forEach((a, i) => {
    if (!/^\d{12}$/.test(a)) ctx.problems.push({ path: [...at, 'account', ...(Array.isArray(raw.account) ? [i] : [])], message: `"${a}" is not a 12-digit account id` });
  });
  const userAgent = optStrings(raw.userAgent, [...at, 'userAgent'], ctx, 'a user-agent glob or a list of them');
  const rules = optStrings(raw.rules, [...at, 'rules'], ctx, 'a rule id or a list of rule ids');
  rules?.forEach((r, i) => {
    if (!ruleIds.has(r)) ctx.problems.push({ path: [...at, 'rules', ...(Array.isArray(raw.rules) ? [i] : [])], message: `no rule has the id "${r}"` });
  });
  const events = optStrings(raw.events, [...at, 'events'], ctx, 'an event name or a list of them');
  if (!principal && !account && !userAgent && !rules && !events) {
    ctx.problems.push({ path: at, message: 'needs at least one of principal, account, userAgent, rules, events (an entry matching everything would switch vouch off)' });
  }
  return {
    principal: principal && principal.map((g) => globRegExp(g)),
    account: account && new Set(account),
    userAgent: userAgent && userAgent.map((g) => globRegExp(g)),
    rules: rules && new Set(rules),
    events: events && new Set(events),
  };
}

function compileRule(raw: unknown, at: Path, ctx: Ctx, env: { lists: ReadonlyMap<string, unknown> }, ids: Set<string>): CompiledRule | null {
  if (!isRecord(raw)) {
    ctx.problems.push({ path: at, message: 'a rule must be a mapping with id, title, events, score …' });
    return null;
  }
  keysOnly(raw, ['id', 'title', 'row', 'refs', 'source', 'events', 'actors', 'when', 'score', 'tier', 'revert', 'revertOnTimeout', 'deadline', 'reason'], at, ctx);
  const before = ctx.problems.length;
  const id = raw.id;
  if (typeof id !== 'string' || !ID.test(id)) ctx.problems.push({ path: [...at, 'id'], message: 'must be a lower-case id like sg-open-world (letters, digits, -)' });
  else if (ids.has(id)) ctx.problems.push({ path: [...at, 'id'], message: `duplicate rule id "${id}"` });
  else ids.add(id);
  if (typeof raw.title !== 'string' || raw.title.trim() === '') ctx.problems.push({ path: [...at, 'title'], message: 'must be a short human title' });
  const rows: number[] = [];
  if (raw.row !== undefined) {
    const list = Array.isArray(raw.row) ? raw.row : [raw.row];
    list.forEach((r, i) => {
      const n = intIn(r, 1, 999, Array.isArray(raw.row) ? [...at, 'row', i] : [...at, 'row'], ctx);
      if (n !== undefined) rows.push(n);
    });
  }
  const sources = optStrings(raw.source, [...at, 'source'], ctx, 'an eventSource like ec2.amazonaws.com, or a list of them');
  sources?.forEach((s, i) => {
    if (!/^[a-z0-9.-]+\.amazonaws\.com$/.test(s)) ctx.problems.push({ path: [...at, 'source', ...(Array.isArray(raw.source) ? [i] : [])], message: `"${s}" is not an eventSource like ec2.amazonaws.com` });
  });
  const events = optStrings(raw.events, [...at, 'events'], ctx, 'a list of event names (globs allowed: "Delete*")');
  if (raw.events === undefined) ctx.problems.push({ path: at, message: 'a rule needs "events": the eventNames it applies to' });
  const exact = new Set<string>();
  const globs: RegExp[] = [];
  for (const e of events ?? []) {
    if (isGlob(e)) globs.push(globRegExp(e));
    else exact.add(e);
  }
  const actors = optStrings(raw.actors, [...at, 'actors'], ctx, `a list of userIdentity types (${ACTOR_TYPES.join(', ')})`);
  actors?.forEach((a, i) => {
    if (!ACTOR_TYPES.includes(a)) ctx.problems.push({ path: [...at, 'actors', ...(Array.isArray(raw.actors) ? [i] : [])], message: `"${a}" is not a userIdentity type (${ACTOR_TYPES.join(', ')})` });
  });
  const when = raw.when === undefined ? () => true : compileConditions(raw.when, [...at, 'when'], ctx.problems, env);
  const score = intIn(raw.score, 0, 100, [...at, 'score'], ctx);
  const tier = tierOf(raw.tier, [...at, 'tier'], ctx);
  let revert: 'allow' | 'never' | undefined;
  if (raw.revert !== undefined) {
    if (raw.revert === 'allow' || raw.revert === 'never') revert = raw.revert;
    else ctx.problems.push({ path: [...at, 'revert'], message: `must be allow or never, got ${JSON.stringify(raw.revert)}` });
  }
  if (raw.revertOnTimeout !== undefined && typeof raw.revertOnTimeout !== 'boolean') ctx.problems.push({ path: [...at, 'revertOnTimeout'], message: 'must be true or false' });
  if (raw.revertOnTimeout === true && revert !== 'allow') ctx.problems.push({ path: [...at, 'revertOnTimeout'], message: 'needs revert: allow' });
  if (tier === 'revert' && revert !== 'allow') ctx.problems.push({ path: [...at, 'tier'], message: 'tier revert needs revert: allow' });
  const deadline = raw.deadline === undefined ? undefined : intIn(raw.deadline, 30, 604_800, [...at, 'deadline'], ctx);
  const reason = raw.reason === undefined ? null : compileTemplate(raw.reason, [...at, 'reason'], ctx.problems);
  if (raw.refs !== undefined && optStrings(raw.refs, [...at, 'refs'], ctx) === null) {
    /* reported */
  }
  if (ctx.problems.length > before || !when || score === undefined) return null;
  return {
    id: id as string,
    title: raw.title as string,
    rows,
    sources: sources ? new Set(sources) : null,
    exact,
    globs,
    actors: actors ? new Set(actors) : null,
    when,
    score,
    ...(tier ? { tier } : {}),
    ...(revert ? { revert } : {}),
    ...(raw.revertOnTimeout === true ? { revertOnTimeout: true } : {}),
    ...(deadline !== undefined ? { deadlineSeconds: deadline } : {}),
    reason,
  };
}

function timeOf(v: unknown, at: Path, ctx: Ctx): number | undefined {
  const text = v instanceof Date ? v.toISOString() : v;
  if (typeof text !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(Date.parse(text))) {
    ctx.problems.push({ path: at, message: `must be a date or time such as 2026-07-01T00:00:00Z, got ${JSON.stringify(v)}` });
    return undefined;
  }
  return Date.parse(text);
}

const TOP_KEYS = ['version', 'defaults', 'thresholds', 'demote', 'self', 'trustedAccounts', 'lists', 'allow', 'exemptions', 'rules'];

/** Validate and compile a parsed policy object; returns the problems (paths, no lines yet). */
export function compilePolicyObject(raw: unknown, source: string): { policy: CompiledPolicy | null; problems: Problem[] } {
  const ctx: Ctx = { problems: [] };
  if (!isRecord(raw)) {
    ctx.problems.push({ path: [], message: 'the policy must be a YAML mapping with version, thresholds and rules' });
    return { policy: null, problems: ctx.problems };
  }
  keysOnly(raw, TOP_KEYS, [], ctx);
  if (raw.version !== 1) ctx.problems.push({ path: ['version'], message: `must be 1, got ${JSON.stringify(raw.version)}` });

  // thresholds: score → tier
  const th = { notify: 20, confirm: 50, page: 80 };
  if (raw.thresholds !== undefined) {
    if (!isRecord(raw.thresholds)) ctx.problems.push({ path: ['thresholds'], message: 'must be a mapping {notify, confirm, page}' });
    else {
      keysOnly(raw.thresholds, ['notify', 'confirm', 'page'], ['thresholds'], ctx);
      for (const k of ['notify', 'confirm', 'page'] as const) {
        if (raw.thresholds[k] !== undefined) {
          const n = intIn(raw.thresholds[k], 0, 100, ['thresholds', k], ctx);
          if (n !== undefined) th[k] = n;
        }
      }
      if (!(th.notify < th.confirm && th.confirm < th.page)) {
        ctx.problems.push({ path: ['thresholds'], message: `must rise: notify (${th.notify}) < confirm (${th.confirm}) < page (${th.page})` });
      }
    }
  }

  let deadlineSeconds = 900;
  if (raw.defaults !== undefined) {
    if (!isRecord(raw.defaults)) ctx.problems.push({ path: ['defaults'], message: 'must be a mapping' });
    else {
      keysOnly(raw.defaults, ['deadline'], ['defaults'], ctx);
      if (raw.defaults.deadline !== undefined) deadlineSeconds = intIn(raw.defaults.deadline, 30, 604_800, ['defaults', 'deadline'], ctx) ?? 900;
    }
  }

  const demote: CompiledPolicy['demote'] = { readOnly: 'ignore', failed: 'notify' };
  if (raw.demote !== undefined) {
    if (!isRecord(raw.demote)) ctx.problems.push({ path: ['demote'], message: 'must be a mapping {readOnly, failed}' });
    else {
      keysOnly(raw.demote, ['readOnly', 'failed'], ['demote'], ctx);
      for (const k of ['readOnly', 'failed'] as const) {
        const t = tierOf(raw.demote[k], ['demote', k], ctx, ['ignore', 'notify']);
        if (t) demote[k] = t as 'ignore' | 'notify';
      }
    }
  }

  const self: CompiledPolicy['self'] = { sessionNames: [globRegExp('vouch-revert-*')], roleArns: [] };
  if (raw.self !== undefined) {
    if (!isRecord(raw.self)) ctx.problems.push({ path: ['self'], message: 'must be a mapping {sessionNames, roleArns}' });
    else {
      keysOnly(raw.self, ['sessionNames', 'roleArns'], ['self'], ctx);
      const names = optStrings(raw.self.sessionNames, ['self', 'sessionNames'], ctx, 'a list of role-session-name globs');
      if (names) self.sessionNames = names.map((g) => globRegExp(g));
      const roles = optStrings(raw.self.roleArns, ['self', 'roleArns'], ctx, 'a list of role ARNs ({account} stands for the event account; globs allowed)');
      if (roles) self.roleArns = roles;
    }
  }

  const trusted = new Set<string>();
  if (raw.trustedAccounts !== undefined) {
    if (!Array.isArray(raw.trustedAccounts)) ctx.problems.push({ path: ['trustedAccounts'], message: 'must be a list of 12-digit account ids (quoted)' });
    else
      raw.trustedAccounts.forEach((a, i) => {
        const s = typeof a === 'number' ? String(a).padStart(12, '0') : a;
        if (typeof s !== 'string' || !/^\d{12}$/.test(s)) ctx.problems.push({ path: ['trustedAccounts', i], message: `must be a 12-digit account id, got ${JSON.stringify(a)}` });
        else trusted.add(s);
      });
  }

  const lists = new Map<string, ReadonlySet<string>>();
  if (raw.lists !== undefined) {
    if (!isRecord(raw.lists)) ctx.problems.push({ path: ['lists'], message: 'must be a mapping of list name → values' });
    else
      for (const [name, vals] of Object.entries(raw.lists)) {
        if (!Array.isArray(vals) || !vals.every((v) => typeof v === 'string' || typeof v === 'number')) {
          ctx.problems.push({ path: ['lists', name], message: 'must be a list of strings (may be empty: [])' });
        } else lists.set(name, new Set(vals.map(String)));
      }
  }

  const rules: CompiledRule[] = [];
  const ids = new Set<string>();
  if (!Array.isArray(raw.rules)) ctx.problems.push({ path: ['rules'], message: 'must be a list of rules' });
  else
    raw.rules.forEach((r, i) => {
      const c = compileRule(r, ['rules', i], ctx, { lists }, ids);
      if (c) rules.push(c);
    });

  const allow: AllowEntry[] = [];
  if (raw.allow !== undefined) {
    if (!Array.isArray(raw.allow)) ctx.problems.push({ path: ['allow'], message: 'must be a list of allow-list entries' });
    else
      raw.allow.forEach((a, i) => {
        const at: Path = ['allow', i];
        if (!isRecord(a)) return void ctx.problems.push({ path: at, message: 'must be a mapping {id, note, principal, account, userAgent, rules, events, tier}' });
        keysOnly(a, ['id', 'note', 'principal', 'account', 'userAgent', 'rules', 'events', 'tier'], at, ctx);
        if (typeof a.id !== 'string' || !ID.test(a.id)) ctx.problems.push({ path: [...at, 'id'], message: 'must be a lower-case id' });
        if (typeof a.note !== 'string' || a.note.trim() === '') ctx.problems.push({ path: [...at, 'note'], message: 'must say why this is allowed' });
        const m = compileMatcher(a, at, ctx, ids);
        const tier = (tierOf(a.tier, [...at, 'tier'], ctx, ['ignore', 'notify']) ?? 'ignore') as 'ignore' | 'notify';
        allow.push({ ...m, id: String(a.id), note: String(a.note ?? ''), tier });
      });
  }

  const exemptions: Exemption[] = [];
  if (raw.exemptions !== undefined) {
    if (!Array.isArray(raw.exemptions)) ctx.problems.push({ path: ['exemptions'], message: 'must be a list of exemptions' });
    else
      raw.exemptions.forEach((e, i) => {
        const at: Path = ['exemptions', i];
        if (!isRecord(e)) return void ctx.problems.push({ path: at, message: 'must be a mapping {id, approver, expires, reason, …}' });
        keysOnly(e, ['id', 'approver', 'reason', 'starts', 'expires', 'principal', 'account', 'userAgent', 'rules', 'events', 'tier'], at, ctx);
        if (typeof e.id !== 'string' || !ID.test(e.id)) ctx.problems.push({ path: [...at, 'id'], message: 'must be a lower-case id' });
        if (typeof e.approver !== 'string' || e.approver.trim() === '') ctx.problems.push({ path: [...at, 'approver'], message: 'is required: who approved this exemption' });
        if (typeof e.reason !== 'string' || e.reason.trim() === '') ctx.problems.push({ path: [...at, 'reason'], message: 'is required: why the exemption exists' });
        const expires = e.expires === undefined ? (ctx.problems.push({ path: at, message: 'an exemption needs "expires" (exemptions are time-boxed)' }), undefined) : timeOf(e.expires, [...at, 'expires'], ctx);
        const starts = e.starts === undefined ? 0 : timeOf(e.starts, [...at, 'starts'], ctx);
        if (expires !== undefined && starts !== undefined && starts >= expires) ctx.problems.push({ path: [...at, 'starts'], message: 'must be before expires' });
        const m = compileMatcher(e, at, ctx, ids);
        const tier = (tierOf(e.tier, [...at, 'tier'], ctx, ['ignore', 'notify']) ?? 'ignore') as 'ignore' | 'notify';
        exemptions.push({
          ...m,
          id: String(e.id),
          approver: String(e.approver ?? ''),
          reason: String(e.reason ?? ''),
          starts: starts ?? 0,
          expires: expires ?? 0,
          expiresText: expires !== undefined ? new Date(expires).toISOString() : '',
          tier,
        });
      });
  }

  if (ctx.problems.length) return { policy: null, problems: ctx.problems };
  return {
    policy: {
      source,
      version: 1,
      thresholds: th,
      deadlineSeconds,
      demote,
      self,
      trustedAccounts: trusted,
      lists,
      allow,
      exemptions,
      rules,
    },
    problems: [],
  };
}

/** Parse and compile policy text; throws PolicyError listing every problem with its line. */
export function compilePolicyText(text: string, source: string): CompiledPolicy {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true });
  if (doc.errors.length) {
    throw new PolicyError(
      source,
      doc.errors.map((e) => ({ line: e.linePos?.[0]?.line ?? 0, path: '', message: e.message.split('\n')[0] as string })),
    );
  }
  const raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  const { policy, problems } = compilePolicyObject(raw, source);
  if (!policy) {
    const seen = new Set<string>();
    const list = problems
      .map((p) => ({ line: lineOf(doc, counter, p.path), path: pathText(p.path), message: p.message }))
      .filter((p) => {
        const k = `${p.line}|${p.path}|${p.message}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      })
      .sort((a, b) => a.line - b.line);
    throw new PolicyError(source, list);
  }
  return policy;
}
