// The engine: one change + a compiled policy → an assessment. Pure and fast: candidate rules come from an index by
// (eventSource, eventName), memoised, and conditions were compiled to closures when the policy was loaded.
import type { Actor, Change, RevertPlan, Tier } from '../core/types';
import { planRevert, revertRoleNameFrom } from '../revert/plan';
import { Facts, baseEventName, type AssessContext } from './paths';
import { TIER_RANK, type CompiledPolicy, type CompiledRule, type Matcher } from './compiled';
import { floorHit, type FloorHit } from './floor';
import { iamCatalogue } from './iam-catalogue';

export interface Assessment {
  tier: Tier;
  score: number;
  rules: string[];
  reasons: string[];
  revertPlan: RevertPlan | null;
  revertReason: string;
  deadlineSeconds: number;
  revertOnTimeout: boolean;
}

/** Names that only read, for records without a `readOnly` flag (LookupEvents results, old samples). */
const READ_ONLY_NAME = /^(Describe|List|Get|Head|Lookup|Search|BatchGet|Query|Scan|Select|View|Preview|Estimate|Validate|Check|Test|Simulate|Download)[A-Z]/;

function isReadOnly(change: Pick<Change, 'eventName'> & { readOnly?: unknown }): boolean {
  const flag = change.readOnly;
  if (typeof flag === 'boolean') return flag;
  return READ_ONLY_NAME.test(change.eventName);
}

/** What the fast path needs to know about a record before (or instead of) normalising all of it. */
export interface QuickFacts {
  eventSource: string;
  eventName: string;
  readOnly?: boolean;
  actor: Actor;
  account: string;
}

interface Entry {
  rules: CompiledRule[];
  /** Some rule is limited to certain userIdentity types. */
  byActor: boolean;
  /** Rules per userIdentity type, when some rule is limited to certain types (filled on first use). */
  perActor: Map<string, CompiledRule[]> | undefined;
  noRuleIgnore: QuickIgnore;
  /** The floor of this (eventSource, eventName); undefined until first needed. */
  floor: FloorHit | null | undefined;
  /** Why a write without rules is ignored, naming its floor (built with the floor). */
  floorIgnore: QuickIgnore | undefined;
}

/** Why a record is ignored without assessing it in full. Shared, read-only. */
export interface QuickIgnore {
  readonly self: boolean;
  readonly reason: string;
}
const READ_ONLY: QuickIgnore = Object.freeze({ self: false, reason: 'read-only call' });

export class Engine {
  /** eventName → entries per eventSource (usually one): one hash lookup per record. */
  private readonly index = new Map<string, { source: string; entry: Entry }[]>();
  private indexed = 0;
  private readonly ruleIds: Set<string>;
  private readonly revertRoleName: string | undefined;
  constructor(readonly policy: CompiledPolicy) {
    this.ruleIds = new Set(policy.rules.map((r) => r.id));
    this.revertRoleName = revertRoleNameFrom(policy.self.roleArns[0]);
  }

  /** Rules that may apply to this eventSource/eventName, computed once per pair. */
  private entry(eventSource: string, eventName: string): Entry {
    const list = this.index.get(eventName);
    if (list) {
      for (let i = 0; i < list.length; i++) {
        const item = list[i] as { source: string; entry: Entry };
        if (item.source === eventSource) return item.entry;
      }
    }
    const base = baseEventName(eventName);
    const rules = this.policy.rules.filter(
      (r) =>
        (r.sources === null || r.sources.has(eventSource)) &&
        (r.exact.has(eventName) || r.exact.has(base) || r.globs.some((g) => g.test(eventName) || g.test(base))),
    );
    // Every field set here, undefined or not, so that all entries share one shape (the per-record path reads them).
    const e: Entry = {
      rules,
      byActor: rules.some((r) => r.actors !== null),
      perActor: undefined,
      noRuleIgnore: Object.freeze({ self: false, reason: `no rule for ${short(eventSource)}:${eventName}` }),
      floor: undefined,
      floorIgnore: undefined,
    };
    if (this.indexed > 50_000) {
      this.index.clear(); // hostile input cannot grow the memo without bound
      this.indexed = 0;
    }
    const slot = this.index.get(eventName);
    if (slot) slot.push({ source: eventSource, entry: e });
    else this.index.set(eventName, [{ source: eventSource, entry: e }]);
    this.indexed += 1;
    return e;
  }

  /** The floor of a (eventSource, eventName), computed once (AWS's catalogue is read on the first call). */
  private floorOf(e: Entry, eventSource: string, eventName: string): FloorHit | null {
    if (e.floor === undefined) {
      e.floor = this.policy.floor.length ? floorHit(this.policy.floor, iamCatalogue(), eventSource, eventName) : null;
      const why = e.floor ? `${e.noRuleIgnore.reason}; ${e.floor.reason}` : e.noRuleIgnore.reason;
      e.floorIgnore = Object.freeze({ self: false, reason: why });
    }
    return e.floor;
  }

  /** The floor a change is judged against: its writes, made by a principal (not by an AWS service on its own). */
  floorForChange(change: Change, readOnly: boolean): FloorHit | null {
    if (readOnly || this.policy.floor.length === 0) return null;
    if (change.eventType !== undefined && change.eventType !== 'AwsApiCall') return null;
    if (change.actor.type === 'AWSService') return null;
    return this.floorOf(this.entry(change.eventSource, change.eventName), change.eventSource, change.eventName);
  }

  rulesFor(eventSource: string, eventName: string, actorType?: string): CompiledRule[] {
    return this.forActor(this.entry(eventSource, eventName), actorType);
  }

  private forActor(e: Entry, actorType: string | undefined): CompiledRule[] {
    if (!e.byActor || actorType === undefined) return e.rules;
    e.perActor ??= new Map();
    let list = e.perActor.get(actorType);
    if (!list) {
      list = e.rules.filter((r) => r.actors === null || r.actors.has(actorType));
      e.perActor.set(actorType, list);
    }
    return list;
  }

  private tierForScore(score: number): Tier {
    const t = this.policy.thresholds;
    return score >= t.page ? 'page' : score >= t.confirm ? 'confirm' : score >= t.notify ? 'notify' : 'ignore';
  }

  /**
   * vouch's own revert: a session named like vouch's (`self.sessionNames`) whose issuer is exactly vouch's revert role
   * in the record's own account (VOUCH_REVERT_ROLE_ARN_TEMPLATE or `self.roleArns`, `{account}` replaced). The name
   * alone proves nothing: anyone picks their RoleSessionName.
   */
  isSelf(change: Pick<Change, 'actor' | 'account'>): string | null {
    const a = change.actor;
    if (a.type !== 'AssumedRole') return null;
    const session = sessionNameOf(a);
    if (!this.policy.self.sessionNames.some((re) => re.test(session))) return null;
    const issuer = a.sessionIssuerArn;
    if (!issuer) return null;
    for (const tmpl of this.policy.self.roleArns) {
      if (tmpl.replace(/\{account\}/g, change.account) === issuer) return `revert role ${issuer}, session ${session}`;
    }
    return null;
  }

  /** A principal named like vouch's revert sessions that is not vouch's revert role: why, or null. */
  imitation(change: Pick<Change, 'actor' | 'account'>): string | null {
    if (!namedLike(this.policy.self.sessionNames, change.actor)) return null;
    if (this.isSelf(change)) return null;
    const name = this.policy.self.sessionNames.some((re) => re.test(sessionNameOf(change.actor))) ? sessionNameOf(change.actor) : change.actor.name;
    const roles = this.policy.self.roleArns.map((t) => t.replace(/\{account\}/g, change.account));
    const from = change.actor.sessionIssuerArn ?? change.actor.arn ?? change.actor.type;
    return (
      `${change.actor.type} ${name} is named like vouch's own revert sessions but comes from ${from}` +
      (roles.length ? `, not from vouch's revert role ${roles.join(' or ')}` : ' and no revert role is configured (VOUCH_REVERT_ROLE_ARN_TEMPLATE)')
    );
  }

  /**
   * The verdict when it is certain without reading the request: vouch's own revert, no rule for the event, or a
   * read-only call the policy ignores. null: the whole change must be assessed.
   */
  quick(f: QuickFacts): Assessment | null {
    return this.quickOf(f.eventSource, f.eventName, f.readOnly, f.actor, f.account);
  }

  /** `quick` without the argument object. */
  quickOf(eventSource: string, eventName: string, readOnlyFlag: boolean | undefined, actor: Actor, account: string): Assessment | null {
    const q = this.quickIgnore(eventSource, eventName, readOnlyFlag, actor, account);
    return q && ignore(q.self ? ['vouch-self'] : [], [q.reason], this.policy.deadlineSeconds);
  }

  /**
   * Why the record is certainly ignored, or null. Allocates nothing on the common paths (the per-record hot path of
   * `vouch classify`, which builds the ignore line only when it writes one).
   */
  quickIgnore(eventSource: string, eventName: string, readOnlyFlag: boolean | undefined, actor: Actor, account: string): QuickIgnore | null {
    if (namedLike(this.policy.self.sessionNames, actor)) {
      const self = this.isSelf({ actor, account });
      if (self) return { self: true, reason: `vouch's own revert (${self}): never reviewed` };
      return null; // named like vouch but not vouch: a finding, whatever the call (assessFull)
    }
    const e = this.entry(eventSource, eventName);
    const readOnly = readOnlyFlag ?? READ_ONLY_NAME.test(eventName);
    if (this.forActor(e, actor.type).length === 0) {
      if (readOnly) return READ_ONLY;
      // No rule: the floor decides. Ignored here only when the floor is ignore (or the caller is an AWS service).
      const floor = this.floorOf(e, eventSource, eventName);
      if (floor === null || floor.entry.tier === 'ignore') return e.floorIgnore as QuickIgnore;
      if (actor.type === 'AWSService') return e.noRuleIgnore;
      return null;
    }
    if (readOnly && this.policy.demote.readOnly === 'ignore') return READ_ONLY;
    return null;
  }

  /**
   * The assessment of a write no rule is about, from the record's key fields alone: its floor (and the cap of a
   * failed call). null when the whole change must be assessed (a rule may apply, the policy has allow-list entries or
   * exemptions to check, the caller is named like vouch, or the record is not an API call by a principal). The same
   * answer `assessFull` gives; lets `vouch classify` skip normalising the writes the floor alone decides.
   */
  quickFloor(eventSource: string, eventName: string, readOnlyFlag: boolean | undefined, actor: Actor, eventType: string | undefined, errorCode: string | undefined): Assessment | null {
    const p = this.policy;
    if (p.floor.length === 0 || p.allow.length || p.exemptions.length) return null;
    if (actor.type === 'AWSService' || (eventType !== undefined && eventType !== 'AwsApiCall')) return null;
    if ((readOnlyFlag ?? READ_ONLY_NAME.test(eventName)) || namedLike(p.self.sessionNames, actor)) return null;
    const e = this.entry(eventSource, eventName);
    if (this.forActor(e, actor.type).length !== 0) return null;
    const floor = this.floorOf(e, eventSource, eventName);
    if (!floor || floor.entry.tier === 'ignore') return null;
    const rule = floor.entry.rule;
    let tier = rule.tier as Tier;
    const reasons = [floor.reason];
    if (errorCode) {
      if (TIER_RANK[tier] > TIER_RANK[p.demote.failed]) {
        tier = p.demote.failed;
        reasons.push(`the call failed (${errorCode}): nothing changed, noted only`);
      }
      return { tier, score: rule.score, rules: [rule.id], reasons, revertPlan: null, revertReason: `the call failed (${errorCode}): nothing to revert`, deadlineSeconds: p.deadlineSeconds, revertOnTimeout: false };
    }
    const revertReason = tier === 'notify' ? 'tier notify: nothing is reverted' : 'no matched rule allows a revert';
    return { tier, score: rule.score, rules: [rule.id], reasons, revertPlan: null, revertReason, deadlineSeconds: p.deadlineSeconds, revertOnTimeout: false };
  }

  assess(change: Change, now?: Date, context?: AssessContext): Assessment {
    return this.quick(change) ?? this.assessFull(change, now, context);
  }

  /** `assess` for a change `quickIgnore` has already let through. */
  assessFull(change: Change, now?: Date, context?: AssessContext): Assessment {
    const p = this.policy;
    const candidates = this.rulesFor(change.eventSource, change.eventName, change.actor.type);
    const readOnly = isReadOnly(change);

    const facts = new Facts(change, p.trustedAccounts, p.lists, context);
    const matched: CompiledRule[] = [];
    const reasons: string[] = [];
    const imitating = this.imitation(change);
    if (imitating) {
      matched.push(IMITATION_RULE);
      reasons.push(imitating);
    }
    for (const rule of candidates) {
      const capture: { $?: unknown } = {};
      facts.notes.length = 0;
      if (!rule.when(facts, undefined, capture)) continue;
      matched.push(rule);
      const base = rule.reason ? rule.reason(facts, capture) : `${rule.title}: ${change.summary}`;
      const found = [...new Set(facts.notes)];
      const text = found.length ? `${base} (${found.join('; ')})` : base;
      if (!reasons.includes(text)) reasons.push(text);
    }
    // The floor: the least tier of this write, whatever matched (a pseudo-rule, shown only when it raises the tier).
    const floor = this.floorForChange(change, readOnly);
    const floorRule = floor && floor.entry.tier !== 'ignore' ? floor.entry.rule : null;
    if (floorRule) matched.push(floorRule);
    if (matched.length === 0) {
      return ignore([], [floor ? `no rule condition met for ${change.eventName}; ${floor.reason}` : `no rule condition met for ${change.eventName}`], p.deadlineSeconds);
    }

    // Allow-lists and time-boxed exemptions (checked at the event time, not when vouch reads the record). An entry
    // naming `rules` sets those rules aside; one without `rules` caps the whole change at its tier.
    const allRules = matched.map((r) => r.id);
    const w = p.allow.length || p.exemptions.length ? this.waivers(change, allRules, reasons, now) : NO_WAIVERS;
    let cap = w.cap;
    const setAside = w.setAside;
    const waiverTiers = w.tiers;
    const active = setAside.size ? matched.filter((r) => !setAside.has(r.id)) : matched;

    let score = 0;
    let tier: Tier = 'ignore';
    let deadline: number | undefined;
    for (const r of active) {
      if (r === floorRule) continue;
      score = Math.max(score, r.score);
      const t = r.tier ?? this.tierForScore(r.score);
      if (TIER_RANK[t] > TIER_RANK[tier]) tier = t;
      if (r.deadlineSeconds !== undefined) deadline = Math.min(deadline ?? Infinity, r.deadlineSeconds);
    }
    let rules = allRules;
    if (floorRule && floor) {
      // The floor counts only where it is above every rule that still applies; otherwise it is not mentioned.
      const floorTier = floorRule.tier as Tier;
      if (active.includes(floorRule) && TIER_RANK[floorTier] > TIER_RANK[tier]) {
        tier = floorTier;
        score = Math.max(score, floorRule.score);
        reasons.push(floor.reason);
      } else if (!setAside.has(floorRule.id)) {
        rules = allRules.filter((id) => id !== floorRule.id);
      }
    }
    if (active.length === 0) {
      // Every matched rule was set aside: the lowest tier the waivers allow (notify if one asks for it).
      tier = waiverTiers.includes('ignore') ? 'ignore' : 'notify';
      score = Math.min(...matched.map((r) => r.score));
    }

    // Caps: a failed call changed nothing; a read-only call changes nothing.
    if (change.errorCode) cap = capMin(cap, { tier: p.demote.failed, why: `the call failed (${change.errorCode}): nothing changed, noted only` });
    else if (readOnly) {
      // A read by a session imitating vouch is still worth a note: the name was chosen to hide.
      cap = capMin(cap, imitating ? { tier: 'notify', why: 'read-only call: noted only' } : { tier: p.demote.readOnly, why: 'read-only call: noted only' });
    }
    const c = cap as { tier: 'ignore' | 'notify'; why: string } | null;
    if (c && TIER_RANK[tier] > TIER_RANK[c.tier]) {
      tier = c.tier;
      reasons.push(c.why);
    }

    const deadlineSeconds = deadline ?? p.deadlineSeconds;
    if (tier === 'ignore' || tier === 'notify' || change.errorCode) {
      const why = change.errorCode
        ? `the call failed (${change.errorCode}): nothing to revert`
        : `tier ${tier}: nothing is reverted`;
      return { tier, score, rules, reasons, revertPlan: null, revertReason: why, deadlineSeconds, revertOnTimeout: false };
    }

    // The revert plan: planRevert proposes, the rules decide whether it may be used.
    const never = active.filter((r) => r.revert === 'never');
    const allows = active.some((r) => r.revert === 'allow');
    let plan: RevertPlan | null = null;
    let revertReason: string;
    if (never.length > 0) revertReason = `rule ${never.map((r) => r.id).join(', ')} never allows a revert`;
    else if (!allows) revertReason = 'no matched rule allows a revert';
    else {
      // The planner never reverts vouch's own reverts; it knows them by the revert role's name (the engine has
      // already set aside the real ones, by exact ARN, above).
      const decision = planRevert(change, this.revertRoleName === undefined ? {} : { revertRoleName: this.revertRoleName });
      plan = decision.plan;
      revertReason = decision.reason;
    }
    if (tier === 'revert' && !plan) {
      tier = 'page';
      reasons.push(`no automatic revert: ${revertReason}${/paging instead/.test(revertReason) ? '' : '; paging instead'}`);
    }
    const revertOnTimeout = plan !== null && active.some((r) => r.revertOnTimeout === true || (r.revert === 'allow' && plan?.source === 'baseline'));
    return { tier, score, rules, reasons, revertPlan: plan, revertReason, deadlineSeconds, revertOnTimeout };
  }

  /** Allow-list entries and exemptions that apply to this change (reasons are appended to `reasons`). */
  private waivers(change: Change, allRules: string[], reasons: string[], now: Date | undefined): Waivers {
    const p = this.policy;
    const out: Waivers = { cap: null, setAside: new Set(), tiers: [] };
    const at = Date.parse(change.eventTime);
    const when = Number.isNaN(at) ? (now ?? new Date()).getTime() : at;
    const apply = (m: Matcher & { tier: 'ignore' | 'notify' }, why: string): void => {
      if (m.rules) {
        for (const id of allRules) if (m.rules.has(id)) out.setAside.add(id);
        out.tiers.push(m.tier);
      } else out.cap = capMin(out.cap, { tier: m.tier, why });
    };
    for (const a of p.allow) {
      if (!matches(a, change, allRules)) continue;
      reasons.push(`allow-listed by ${a.id}: ${a.note}`);
      apply(a, `allow-listed by ${a.id}`);
    }
    for (const e of p.exemptions) {
      if (!matches(e, change, allRules)) continue;
      if (when >= e.starts && when < e.expires) {
        reasons.push(`exempted by ${e.id} (approved by ${e.approver} until ${e.expiresText}): ${e.reason}`);
        apply(e, `exemption ${e.id}`);
      } else if (when >= e.expires) {
        reasons.push(`exemption ${e.id} had expired at ${e.expiresText}: not applied`);
      } else {
        reasons.push(`exemption ${e.id} starts after this event: not applied`);
      }
    }
    return out;
  }

  hasRule(id: string): boolean {
    return this.ruleIds.has(id);
  }
}

/** The finding for a principal that imitates vouch's revert sessions (engine-made, not a rule of the file). */
export const IMITATION_RULE: CompiledRule = Object.freeze({
  id: 'vouch-self-imitation',
  title: "A session named like vouch's own reverts, from another principal",
  rows: [],
  sources: null,
  exact: new Set<string>(),
  globs: [],
  actors: null,
  when: () => true,
  score: 90,
  tier: 'page',
  reason: null,
}) as CompiledRule;

/** The name a caller chose for itself: the role session (AssumedRole), the federated user's name, else the name. */
export function sessionNameOf(a: Actor): string {
  if ((a.type === 'AssumedRole' || a.type === 'FederatedUser') && a.arn) return a.arn.slice(a.arn.lastIndexOf('/') + 1);
  return a.name;
}

/** Is the actor named like vouch's revert sessions, by its session (from the ARN) or by its name? */
function namedLike(res: readonly RegExp[], a: Actor): boolean {
  if (res.length === 0) return false;
  for (const re of res) if (re.test(a.name)) return true;
  // Intake's actors carry their session as their name: test the ARN's last segment only when it is another name
  // (compared in place: this runs for every record).
  if ((a.type !== 'AssumedRole' && a.type !== 'FederatedUser') || !a.arn) return false;
  const arn = a.arn;
  const n = a.name.length;
  if (arn.length > n && arn.charCodeAt(arn.length - n - 1) === 47 && arn.endsWith(a.name)) return false;
  const session = sessionNameOf(a);
  for (const re of res) if (re.test(session)) return true;
  return false;
}

type Cap = { tier: 'ignore' | 'notify'; why: string };
interface Waivers {
  cap: Cap | null;
  setAside: ReadonlySet<string> & Set<string>;
  tiers: Tier[];
}
const NO_WAIVERS: Waivers = { cap: null, setAside: new Set(), tiers: [] };

function capMin(
  a: { tier: 'ignore' | 'notify'; why: string } | null,
  b: { tier: 'ignore' | 'notify'; why: string },
): { tier: 'ignore' | 'notify'; why: string } {
  return a === null || TIER_RANK[b.tier] < TIER_RANK[a.tier] ? b : a;
}

function short(source: string): string {
  return source.endsWith('.amazonaws.com') ? source.slice(0, -'.amazonaws.com'.length) : source;
}

export function ignore(rules: string[], reasons: string[], deadlineSeconds: number): Assessment {
  return { tier: 'ignore', score: 0, rules, reasons, revertPlan: null, revertReason: 'ignored: nothing to revert', deadlineSeconds, revertOnTimeout: false };
}

/** An allow-list entry or exemption applies when every matcher it names holds. */
function matches(m: Matcher, change: Change, ruleIds: string[]): boolean {
  const a = change.actor;
  if (m.principal && !m.principal.some((re) => (a.arn !== undefined && re.test(a.arn)) || (a.sessionIssuerArn !== undefined && re.test(a.sessionIssuerArn)))) return false;
  if (m.account && !m.account.has(change.account)) return false;
  if (m.userAgent && !m.userAgent.some((re) => change.userAgent !== undefined && re.test(change.userAgent))) return false;
  if (m.events && !m.events.has(change.eventName) && !m.events.has(baseEventName(change.eventName))) return false;
  if (m.rules && !ruleIds.some((id) => m.rules?.has(id))) return false;
  return true;
}
