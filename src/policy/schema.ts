// The policy file: YAML that security edits without code. One zod schema checks it in a single pass that collects
// every mistake (path + message, then the line from the YAML) and compiles it into closures and an index for the
// engine: the conditions (conditions.ts) and reason templates (templates.ts) compile inside the schema, so their
// mistakes are listed with the others. Pure apart from the caller reading a file.
import { z } from 'zod';
import { globMatcher, globRegExp, isGlob } from '../core/glob';
import { isRecord } from '../core/records';
import { pathText, readYaml, type DocPath } from '../core/yaml-lines';
import { PolicyError, TIERS, type AllowEntry, type CompiledPolicy, type CompiledRule, type Exemption, type Matcher } from './compiled';
import { compileConditions } from './conditions';
import type { Problem } from './paths';
import { compileTemplate } from './templates';
import { FLOOR_SCORES, floorRule, type FloorEntry, type FloorTier } from './floor';
import { ACCESS_LEVELS, type AccessLevel } from './iam-catalogue';

const ID = /^[a-z0-9][a-z0-9-]*$/;
/** A role ARN with an exact account (or `{account}`, the event's) and no glob anywhere. */
const EXACT_ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}|\{account\}):role\/[\w+=,.@/-]+$/;
const ACTOR_TYPES = ['IAMUser', 'AssumedRole', 'IdentityCenterUser', 'Root', 'AWSService', 'FederatedUser', 'AWSAccount', 'Unknown'];
const WAIVER_TIERS = ['ignore', 'notify'] as const;

/** What the schema must know of the rest of the file: the named lists (`inList`) and the valid rule ids (`rules:`). */
interface Env {
  lists: ReadonlyMap<string, unknown>;
  ruleIds: ReadonlySet<string>;
}

// ---------- field shapes, each with the message people read ----------

const says = (message: string) => ({ error: () => message });
const got = (v: unknown): string => `${JSON.stringify(v)}`;

function wholeNumber(lo: number, hi: number) {
  const m = { error: (iss: { input?: unknown }) => `must be a whole number from ${lo} to ${hi}, got ${got(iss.input)}` };
  return z.number(m).int(m).min(lo, m).max(hi, m);
}

function oneOf<T extends string>(allowed: readonly T[]) {
  return z.enum(allowed as unknown as [T, ...T[]], { error: (iss) => `must be one of ${allowed.join(', ')}, got ${got(iss.input)}` });
}

function nonBlank(message: string) {
  return z.string(says(message)).refine((s) => s.trim() !== '', says(message));
}

/** A string or a non-empty list of non-empty strings, as a list; `each` checks every item (path: the item's index). */
function strings(what: string, each?: { test(s: string): boolean; message(s: string): string }) {
  const m = says(`must be ${what}`);
  return z.union([z.string(m).min(1, m), z.array(z.string(m).min(1, m), m).min(1, m)], m).transform((v, ctx) => {
    const list = typeof v === 'string' ? [v] : v;
    if (each) {
      list.forEach((s, i) => {
        if (!each.test(s)) ctx.addIssue({ code: 'custom', path: typeof v === 'string' ? [] : [i], message: each.message(s), input: s });
      });
    }
    return list;
  });
}

/** A mapping with only these keys: an unknown key is reported on its own (unknown key "x" (allowed: …)). */
function mapping<S extends z.core.$ZodLooseShape>(shape: S, notAMapping: string) {
  const allowed = `allowed: ${Object.keys(shape).join(', ')}`;
  return z.strictObject(shape, { error: (iss) => (iss.code === 'unrecognized_keys' ? allowed : notAMapping) });
}

/** A date (YAML may read one) or a time text, as epoch ms. */
const time = z
  .union([z.date(), z.string()], { error: (iss) => `must be a date or time such as 2026-07-01T00:00:00Z, got ${got(iss.input)}` })
  .transform((v, ctx) => {
    const text = v instanceof Date ? v.toISOString() : v;
    if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(Date.parse(text))) {
      ctx.addIssue({ code: 'custom', message: `must be a date or time such as 2026-07-01T00:00:00Z, got ${got(v)}`, input: v });
      return z.NEVER;
    }
    return Date.parse(text);
  });

/** A 12-digit account id; YAML reads unquoted digits as a number (and drops leading zeros: padded back). */
const accountId = z.union([z.string(), z.number()], { error: (iss) => `must be a 12-digit account id, got ${got(iss.input)}` }).transform((a, ctx) => {
  const s = typeof a === 'number' ? String(a).padStart(12, '0') : a;
  if (!/^\d{12}$/.test(s)) {
    ctx.addIssue({ code: 'custom', message: `must be a 12-digit account id, got ${got(a)}`, input: a });
    return z.NEVER;
  }
  return s;
});

/** Conditions and reason templates compile here, their mistakes reported at their own paths. */
function compiled<T>(compile: (raw: unknown, problems: Problem[]) => T | null) {
  return z.unknown().transform((raw, ctx) => {
    const problems: Problem[] = [];
    const out = compile(raw, problems);
    for (const p of problems) ctx.addIssue({ code: 'custom', path: p.path, message: p.message, input: raw });
    return out === null || problems.length > 0 ? z.NEVER : out;
  });
}

// ---------- allow-list entries and exemptions ----------

const MATCHER_KEYS = ['principal', 'account', 'userAgent', 'rules', 'events'] as const;

function matcherShape(env: Env) {
  return {
    principal: strings('an ARN glob with an exact account, or a list of them', { test: (g) => principalProblem(g) === null, message: (g) => principalProblem(g) ?? '' }).optional(),
    account: z
      .preprocess(
        (v) => (typeof v === 'number' ? String(v) : v),
        strings('a 12-digit account id (quoted) or a list of them', { test: (a) => /^\d{12}$/.test(a), message: (a) => `"${a}" is not a 12-digit account id` }),
      )
      .optional(),
    userAgent: strings('a user-agent glob or a list of them').optional(),
    rules: strings('a rule id or a list of rule ids', { test: (r) => env.ruleIds.has(r), message: (r) => `no rule has the id "${r}"` }).optional(),
    events: strings('an event name or a list of them').optional(),
  };
}

/**
 * An allow-list entry or exemption must name who it trusts: a principal ARN with an exact account. A user agent is
 * whatever the caller sends, and an account, an event name or a rule is reached by anyone who can act there, so none
 * of them alone says who made the change.
 */
function needsAMatcher(v: unknown, ctx: z.RefinementCtx): void {
  if (!isRecord(v)) return;
  if (MATCHER_KEYS.every((k) => v[k] === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'needs "principal" (an entry matching everything would switch vouch off)' });
  } else if (v.principal === undefined) {
    const keyed = MATCHER_KEYS.filter((k) => v[k] !== undefined).join(', ');
    ctx.addIssue({
      code: 'custom',
      message:
        `keyed on ${keyed} alone: needs "principal", an ARN with an exact account (arn:aws:iam::123456789012:role/ci-deploy; ` +
        `a whole account: arn:aws:iam::123456789012:*). ${v.userAgent !== undefined ? 'A user agent is chosen by the caller' : 'Anyone who acts there matches it'}`,
    });
  }
}

/** Why a principal glob does not name an exact account, or null: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`. */
export function principalProblem(glob: string): string | null {
  const parts = glob.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return `"${glob}" is not an ARN such as arn:aws:iam::123456789012:role/ci-deploy`;
  if (parts.slice(1, 4).some((p) => isGlob(p))) return `"${glob}": no globs before the account (partition, service, region)`;
  if (!/^\d{12}$/.test(parts[4] as string)) return `"${glob}" must name an exact 12-digit account, got "${parts[4]}" (a glob there matches principals in any account)`;
  return null;
}

function matcherOf(m: { principal?: string[]; account?: string[]; userAgent?: string[]; rules?: string[]; events?: string[] }): Matcher {
  return {
    principal: m.principal ? m.principal.map((g) => globRegExp(g)) : null,
    account: m.account ? new Set(m.account) : null,
    userAgent: m.userAgent ? m.userAgent.map((g) => globRegExp(g)) : null,
    rules: m.rules ? new Set(m.rules) : null,
    events: m.events ? new Set(m.events) : null,
  };
}

const ALWAYS = { when: () => true };

function allowEntry(env: Env) {
  return mapping(
    {
      id: z.string(says('must be a lower-case id')).regex(ID, says('must be a lower-case id')),
      note: nonBlank('must say why this is allowed'),
      ...matcherShape(env),
      tier: oneOf(WAIVER_TIERS).optional(),
    },
    'must be a mapping {id, note, principal, account, userAgent, rules, events, tier}',
  )
    .superRefine(needsAMatcher, ALWAYS)
    .transform((a): AllowEntry => ({ ...matcherOf(a), id: a.id, note: a.note, tier: a.tier ?? 'ignore' }));
}

function exemption(env: Env) {
  return mapping(
    {
      id: z.string(says('must be a lower-case id')).regex(ID, says('must be a lower-case id')),
      approver: nonBlank('is required: who approved this exemption'),
      reason: nonBlank('is required: why the exemption exists'),
      starts: time.optional(),
      expires: time.optional(),
      ...matcherShape(env),
      tier: oneOf(WAIVER_TIERS).optional(),
    },
    'must be a mapping {id, approver, expires, reason, …}',
  )
    .superRefine((e, ctx) => {
      if (isRecord(e) && e.expires === undefined) ctx.addIssue({ code: 'custom', message: 'an exemption needs "expires" (exemptions are time-boxed)' });
      needsAMatcher(e, ctx);
    }, ALWAYS)
    .superRefine((e, ctx) => {
      if (typeof e.starts === 'number' && typeof e.expires === 'number' && e.starts >= e.expires) {
        ctx.addIssue({ code: 'custom', path: ['starts'], message: 'must be before expires' });
      }
    })
    .transform((e): Exemption => {
      const expires = e.expires ?? 0;
      return {
        ...matcherOf(e),
        id: e.id,
        approver: e.approver,
        reason: e.reason,
        starts: e.starts ?? 0,
        expires,
        expiresText: new Date(expires).toISOString(),
        tier: e.tier ?? 'ignore',
      };
    });
}

// ---------- rules ----------

function rule(env: Env) {
  const row = wholeNumber(1, 999);
  return mapping(
    {
      id: z.string(says('must be a lower-case id like sg-open-world (letters, digits, -)')).regex(ID, says('must be a lower-case id like sg-open-world (letters, digits, -)')),
      title: nonBlank('must be a short human title'),
      row: z.union([row, z.array(row)], { error: (iss) => `must be a whole number from 1 to 999, got ${got(iss.input)}` }).optional(),
      refs: strings('a string or a list of strings').optional(),
      source: strings('an eventSource like ec2.amazonaws.com, or a list of them', {
        test: (s) => /^[a-z0-9.-]+\.amazonaws\.com$/.test(s),
        message: (s) => `"${s}" is not an eventSource like ec2.amazonaws.com`,
      }).optional(),
      events: strings('a list of event names (globs allowed: "Delete*")').optional(),
      actors: strings(`a list of userIdentity types (${ACTOR_TYPES.join(', ')})`, {
        test: (a) => ACTOR_TYPES.includes(a),
        message: (a) => `"${a}" is not a userIdentity type (${ACTOR_TYPES.join(', ')})`,
      }).optional(),
      when: compiled((raw, problems) => compileConditions(raw, [], problems, env)).optional(),
      score: wholeNumber(0, 100),
      tier: oneOf(TIERS).optional(),
      revert: z.enum(['allow', 'never'], { error: (iss) => `must be allow or never, got ${got(iss.input)}` }).optional(),
      revertOnTimeout: z.boolean(says('must be true or false')).optional(),
      deadline: wholeNumber(30, 604_800).optional(),
      reason: compiled((raw, problems) => compileTemplate(raw, [], problems)).optional(),
    },
    'a rule must be a mapping with id, title, events, score …',
  )
    .superRefine((r, ctx) => {
      if (!isRecord(r)) return;
      if (r.events === undefined) ctx.addIssue({ code: 'custom', message: 'a rule needs "events": the eventNames it applies to' });
      if (r.revertOnTimeout === true && r.revert !== 'allow') ctx.addIssue({ code: 'custom', path: ['revertOnTimeout'], message: 'needs revert: allow' });
      if (r.tier === 'revert' && r.revert !== 'allow') ctx.addIssue({ code: 'custom', path: ['tier'], message: 'tier revert needs revert: allow' });
    }, ALWAYS)
    .transform((r): CompiledRule => {
      const exact = new Set<string>();
      const globs: RegExp[] = [];
      for (const e of r.events ?? []) {
        if (isGlob(e)) globs.push(globRegExp(e));
        else exact.add(e);
      }
      return {
        id: r.id,
        title: r.title,
        rows: r.row === undefined ? [] : Array.isArray(r.row) ? r.row : [r.row],
        sources: r.source ? new Set(r.source) : null,
        exact,
        globs,
        actors: r.actors ? new Set(r.actors) : null,
        when: r.when ?? (() => true),
        score: r.score,
        ...(r.tier ? { tier: r.tier } : {}),
        ...(r.revert ? { revert: r.revert } : {}),
        ...(r.revertOnTimeout === true ? { revertOnTimeout: true } : {}),
        ...(r.deadline !== undefined ? { deadlineSeconds: r.deadline } : {}),
        reason: r.reason ?? null,
      };
    });
}

// ---------- the floor ----------

const IAM_ACTION = /^([a-z0-9*?-]+:[A-Za-z0-9*?]+|\*)$/;

function floorEntry() {
  const actionGlobs = (what: string) =>
    strings(`${what}: IAM actions like "guardduty:Delete*" or "*" (case does not matter)`, {
      test: (a) => IAM_ACTION.test(a),
      message: (a) => `"${a}" is not an IAM action like guardduty:DeleteDetector, guardduty:Delete* or *`,
    });
  return mapping(
    {
      id: z.string(says('must be a lower-case id')).regex(ID, says('must be a lower-case id')),
      title: nonBlank('must be a short human title'),
      actions: actionGlobs('a list of'),
      accessLevel: strings(`a list of access levels (${ACCESS_LEVELS.join(', ')})`, {
        test: (l) => (ACCESS_LEVELS as readonly string[]).includes(l),
        message: (l) => `"${l}" is not an access level (${ACCESS_LEVELS.join(', ')})`,
      }).optional(),
      except: actionGlobs('a list of').optional(),
      tier: oneOf(['ignore', 'notify', 'confirm', 'page'] as const),
      score: wholeNumber(0, 100).optional(),
    },
    'a floor entry must be a mapping {id, title, actions, accessLevel, except, tier}',
  ).transform((f): FloorEntry => {
    const tier = f.tier as FloorTier;
    const score = f.score ?? FLOOR_SCORES[tier];
    return {
      id: f.id,
      title: f.title,
      actions: globMatcher(f.actions, { ignoreCase: true }),
      levels: f.accessLevel ? new Set(f.accessLevel as AccessLevel[]) : null,
      except: f.except ? globMatcher(f.except, { ignoreCase: true }) : null,
      tier,
      score,
      rule: floorRule(f.id, f.title, tier, score),
    };
  });
}

// ---------- the file ----------

function policySchema(env: Env, source: string) {
  const thresholds = mapping(
    { notify: wholeNumber(0, 100).optional(), confirm: wholeNumber(0, 100).optional(), page: wholeNumber(0, 100).optional() },
    'must be a mapping {notify, confirm, page}',
  )
    .transform((t) => ({ notify: t.notify ?? 20, confirm: t.confirm ?? 50, page: t.page ?? 80 }))
    .superRefine((t, ctx) => {
      if (!(t.notify < t.confirm && t.confirm < t.page)) {
        ctx.addIssue({ code: 'custom', message: `must rise: notify (${t.notify}) < confirm (${t.confirm}) < page (${t.page})` });
      }
    });
  return mapping(
    {
      version: z.literal(1, { error: (iss) => `must be 1, got ${got(iss.input)}` }),
      defaults: mapping({ deadline: wholeNumber(30, 604_800).optional() }, 'must be a mapping').optional(),
      thresholds: thresholds.optional(),
      demote: mapping({ readOnly: oneOf(WAIVER_TIERS).optional(), failed: oneOf(WAIVER_TIERS).optional() }, 'must be a mapping {readOnly, failed}').optional(),
      self: mapping(
        {
          sessionNames: strings('a list of role-session-name globs').optional(),
          roleArns: strings('a list of exact role ARNs ({account} stands for the event account)', {
            test: (a) => EXACT_ROLE_ARN.test(a),
            message: (a) => `"${a}" is not an exact role ARN such as arn:aws:iam::{account}:role/vouch-revert (no globs: a name anyone can copy is no trust anchor)`,
          }).optional(),
        },
        'must be a mapping {sessionNames, roleArns}',
      ).optional(),
      trustedAccounts: z.array(accountId, says('must be a list of 12-digit account ids (quoted)')).optional(),
      lists: z
        .record(z.string(), z.array(z.union([z.string(), z.number()], says('must be a list of strings (may be empty: [])')), says('must be a list of strings (may be empty: [])')), says('must be a mapping of list name → values'))
        .optional(),
      allow: z.array(allowEntry(env), says('must be a list of allow-list entries')).optional(),
      exemptions: z.array(exemption(env), says('must be a list of exemptions')).optional(),
      rules: z.array(rule(env), says('must be a list of rules')),
      floor: z.array(floorEntry(), says('must be a list of floor entries')).optional(),
    },
    'the policy must be a YAML mapping with version, thresholds and rules',
  )
    .superRefine((p, ctx) => {
      // Rule ids are unique (the first keeps it); whatever else is wrong with the rules is reported beside this.
      if (!isRecord(p) || !Array.isArray(p.rules)) return;
      const seen = new Set<string>();
      const check = (section: 'rules' | 'floor') => (r: unknown, i: number) => {
        const id = isRecord(r) && typeof r.id === 'string' && ID.test(r.id) ? r.id : undefined;
        if (id === undefined) return;
        if (seen.has(id) || id === 'vouch-self' || id === 'vouch-self-imitation') ctx.addIssue({ code: 'custom', path: [section, i, 'id'], message: `duplicate rule id "${id}"` });
        seen.add(id);
      };
      p.rules.forEach(check('rules'));
      if (Array.isArray(p.floor)) p.floor.forEach(check('floor'));
    }, ALWAYS)
    .transform(
      (p): CompiledPolicy => ({
        source,
        version: 1,
        thresholds: p.thresholds ?? { notify: 20, confirm: 50, page: 80 },
        deadlineSeconds: p.defaults?.deadline ?? 900,
        demote: { readOnly: p.demote?.readOnly ?? 'ignore', failed: p.demote?.failed ?? 'notify' },
        self: {
          sessionNames: (p.self?.sessionNames ?? ['vouch-revert-*']).map((g) => globRegExp(g)),
          roleArns: p.self?.roleArns ?? [],
        },
        trustedAccounts: new Set(p.trustedAccounts ?? []),
        lists: new Map(Object.entries(p.lists ?? {}).map(([name, values]) => [name, new Set(values.map(String))])),
        allow: p.allow ?? [],
        exemptions: p.exemptions ?? [],
        rules: p.rules,
        floor: p.floor ?? [],
      }),
    );
}

/** What the schema needs to know before it runs: the list names and the rule ids the file defines. */
function envOf(raw: unknown): Env {
  const lists = new Map<string, unknown>(isRecord(raw) && isRecord(raw.lists) ? Object.entries(raw.lists) : []);
  const ruleIds = new Set<string>();
  for (const section of ['rules', 'floor']) {
    const list = isRecord(raw) ? raw[section] : undefined;
    if (Array.isArray(list)) for (const r of list) if (isRecord(r) && typeof r.id === 'string' && ID.test(r.id)) ruleIds.add(r.id);
  }
  return { lists, ruleIds };
}

/** zod's issues as problems: an unknown key is one problem per key, at the key. */
function problemsOf(issues: readonly z.core.$ZodIssue[]): Array<{ path: DocPath; message: string }> {
  return issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({ path: [...i.path, k], message: `unknown key "${k}" (${i.message})` }))
      : [{ path: i.path, message: i.message }],
  );
}

/** Validate and compile a parsed policy object; returns the problems (paths, no lines yet). */
function compilePolicyObject(raw: unknown, source: string): { policy: CompiledPolicy | null; problems: Array<{ path: DocPath; message: string }> } {
  const parsed = policySchema(envOf(raw), source).safeParse(raw);
  return parsed.success ? { policy: parsed.data, problems: [] } : { policy: null, problems: problemsOf(parsed.error.issues) };
}

/** Parse and compile policy text; throws PolicyError listing every problem with its line. */
export function compilePolicyText(text: string, source: string): CompiledPolicy {
  const yaml = readYaml(text);
  if (yaml.errors.length) throw new PolicyError(source, yaml.errors.map((e) => ({ ...e, path: '' })));
  const { policy, problems } = compilePolicyObject(yaml.value, source);
  if (policy) return policy;
  const seen = new Set<string>();
  const list = problems
    .map((p) => ({ line: yaml.lineOf(p.path), path: pathText(p.path), message: p.message }))
    .filter((p) => {
      const k = `${p.line}|${p.path}|${p.message}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => a.line - b.line);
  throw new PolicyError(source, list);
}
