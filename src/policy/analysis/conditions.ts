// Condition keys from the attacker's side: for a caller outside the account, which values of each key can the
// caller bring to a request, and so can a condition be made true (an Allow the attacker can use) or made false (a
// Deny the attacker can step around)? IAM's rules for missing keys and the IfExists / ForAllValues / ForAnyValue /
// Null forms are followed as documented in
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html and
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html;
// what each global key holds is from
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html. Pure.
import { globTest, isGlob } from '../../core/glob';
import { coverage } from '../ip-coverage';
import type { Condition } from './statements';

/** Who is knocking: nobody (an anonymous request), or a principal of an account the attacker controls. */
export type Caller = { kind: 'anonymous' } | { kind: 'account'; account: string; fresh: boolean };

/**
 * What a key can hold for this caller.
 * - free: any value the caller likes, or none (headers, TLS, time, tags the caller sets, request parameters, and
 *   keys vouch cannot know, such as resource tags: a Deny on them is not relied on, an Allow on them is assumed met);
 * - absent: never in the request;
 * - account: the caller's account id (`fresh`: an account nobody named);
 * - arn: an ARN in the caller's account, the rest of it the caller's choice (role and session names);
 * - own-id: an id the caller owns (its VPC, endpoint, organization, unique id): it can match a wildcard, never a
 *   literal someone else wrote;
 * - ip: any public address (the attacker rents one anywhere), or none (through a VPC endpoint).
 * `present` and `absent` say whether the caller can send the key, and leave it out.
 */
type Domain =
  | { t: 'free' }
  | { t: 'absent' }
  | { t: 'fixed'; value: string; canBeAbsent: boolean }
  | { t: 'account'; canBeAbsent: boolean }
  | { t: 'arn'; canBeAbsent: boolean }
  | { t: 'own-id'; canBeAbsent: boolean }
  | { t: 'ip' }
  | { t: 'any-ip' };

/** Keys that say who the caller is: set by AWS from the caller's credentials. */
const PRINCIPAL_ACCOUNT = new Set(['aws:principalaccount', 'kms:calleraccount']);
const SOURCE_ACCOUNT = new Set(['aws:sourceaccount', 'aws:sourceowner']);
const PRINCIPAL_ARN = new Set(['aws:principalarn']);
const SOURCE_ARN = new Set(['aws:sourcearn']);
const OWN_IDS = new Set(['aws:principalorgid', 'aws:principalorgpaths', 'aws:sourceorgid', 'aws:sourceorgpaths', 'aws:sourcevpc', 'aws:sourcevpce', 'aws:sourcevpcarn', 'aws:userid']);
const ABSENT_FOR_CALLERS = new Set(['aws:principalservicename', 'aws:principalservicenameslist']);

/** Keys the caller sets but whose value is constrained: tested for the documentation of each. */
export const PINNING_KEYS: readonly string[] = [...PRINCIPAL_ACCOUNT, ...SOURCE_ACCOUNT, ...PRINCIPAL_ARN, ...SOURCE_ARN, ...OWN_IDS];

function domainOf(key: string, caller: Caller): Domain {
  const anon = caller.kind === 'anonymous';
  if (key === 'aws:sourceip') return { t: 'ip' };
  if (key === 'aws:vpcsourceip') return { t: 'any-ip' };
  if (PRINCIPAL_ACCOUNT.has(key)) return anon ? { t: 'absent' } : { t: 'account', canBeAbsent: false };
  if (SOURCE_ACCOUNT.has(key)) return anon ? { t: 'absent' } : { t: 'account', canBeAbsent: true };
  if (PRINCIPAL_ARN.has(key)) return anon ? { t: 'absent' } : { t: 'arn', canBeAbsent: false };
  if (SOURCE_ARN.has(key)) return anon ? { t: 'absent' } : { t: 'arn', canBeAbsent: true };
  if (key === 'aws:userid' && anon) return { t: 'fixed', value: 'anonymous', canBeAbsent: false };
  if (OWN_IDS.has(key)) return anon && key.startsWith('aws:principal') ? { t: 'absent' } : { t: 'own-id', canBeAbsent: true };
  if (key === 'aws:principalisawsservice') return { t: 'fixed', value: 'false', canBeAbsent: false };
  if (key === 'aws:principaltype') return anon ? { t: 'fixed', value: 'Anonymous', canBeAbsent: false } : { t: 'free' };
  if (ABSENT_FOR_CALLERS.has(key)) return { t: 'absent' };
  if (anon && (key === 'aws:username' || key.startsWith('aws:principaltag/'))) return { t: 'absent' };
  return { t: 'free' };
}

export interface Possible {
  /** The caller can make the condition true. */
  canTrue: boolean;
  /** The caller can make the condition false. */
  canFalse: boolean;
}

const BOTH: Possible = { canTrue: true, canFalse: true };

/** An IP condition lets the attacker in when its ranges reach at least this share of the internet (a /8). */
export const IP_REACH = 1 / 256;

function ipReach(values: string[]): number {
  return coverage(values).share;
}

/** Can a value the domain holds match the pattern (`like`: IAM globs; otherwise exact)? */
function canMatch(d: Domain, pattern: string, like: boolean, ignoreCase: boolean, caller: Caller): boolean {
  const eq = (text: string): boolean => (like ? globTest(pattern, text, { ignoreCase }) : ignoreCase ? pattern.toLowerCase() === text.toLowerCase() : pattern === text);
  switch (d.t) {
    case 'free':
      return true;
    case 'absent':
      return false;
    case 'fixed':
      return eq(d.value);
    case 'account':
      if (caller.kind !== 'account') return false;
      return caller.fresh ? like && anyDigitsMatch(pattern) : eq(caller.account);
    case 'arn':
      return caller.kind === 'account' && arnCouldBeIn(pattern, like, caller);
    case 'own-id':
      return like && pattern.includes('*');
    case 'ip':
      return like && pattern.includes('*');
    case 'any-ip':
      return true;
  }
}

/** Can a value the domain holds miss every pattern? */
function canMiss(d: Domain, patterns: string[], like: boolean, ignoreCase: boolean, caller: Caller): boolean {
  switch (d.t) {
    case 'free':
    case 'own-id':
    case 'any-ip':
      return !(like && patterns.includes('*'));
    case 'absent':
      return false;
    case 'fixed':
      return !patterns.some((p) => canMatch(d, p, like, ignoreCase, caller));
    case 'account':
      return caller.kind !== 'account' || caller.fresh || !patterns.some((p) => canMatch(d, p, like, ignoreCase, caller));
    case 'arn':
      return !(like && patterns.includes('*'));
    case 'ip':
      return !(like && patterns.includes('*'));
  }
}

/** A glob that some 12-digit id (not one of ours) matches: the attacker's fresh account could be it. */
function anyDigitsMatch(pattern: string): boolean {
  if (!isGlob(pattern)) return false;
  if (!/^[\d*?]+$/.test(pattern)) return false;
  const fixed = pattern.replace(/\*/g, '').length;
  return pattern.includes('*') ? fixed <= 12 : fixed === 12;
}

/** Can an ARN in the caller's account (its name the caller's choice) match the pattern? */
function arnCouldBeIn(pattern: string, like: boolean, caller: { account: string; fresh: boolean }): boolean {
  if (like && pattern === '*') return true;
  const parts = pattern.split(':');
  if (parts.length < 6) {
    // A wildcard spanning the fields: the text before it must fit an IAM or STS ARN of the caller's account.
    const star = pattern.indexOf('*');
    if (!like || star < 0) return false;
    const prefix = pattern.slice(0, star);
    const account = caller.fresh ? '' : caller.account;
    return ['iam', 'sts'].some((svc) => {
      const arn = `arn:aws:${svc}::${account}`;
      return arn.startsWith(prefix) || (prefix.startsWith(arn) && !caller.fresh);
    });
  }
  const [arn, partition, service, , account] = parts as [string, string, string, string, string];
  const fits = (p: string, text: string): boolean => (like ? globTest(p, text, { ignoreCase: true }) : p === text);
  if (!fits(arn, 'arn') || !fits(partition, 'aws')) return false;
  if (!fits(service, 'iam') && !fits(service, 'sts')) return false;
  return caller.fresh ? like && anyDigitsMatch(account) : fits(account, caller.account);
}

function presentPossible(d: Domain): boolean {
  return d.t !== 'absent';
}

function absentPossible(d: Domain): boolean {
  switch (d.t) {
    case 'free':
    case 'absent':
    case 'ip':
    case 'any-ip':
      return true;
    case 'fixed':
    case 'account':
    case 'arn':
    case 'own-id':
      return d.canBeAbsent;
  }
}

const STRING_OPS: Record<string, { negate: boolean; like: boolean; ignoreCase: boolean }> = {
  stringequals: { negate: false, like: false, ignoreCase: false },
  stringnotequals: { negate: true, like: false, ignoreCase: false },
  stringequalsignorecase: { negate: false, like: false, ignoreCase: true },
  stringnotequalsignorecase: { negate: true, like: false, ignoreCase: true },
  stringlike: { negate: false, like: true, ignoreCase: false },
  stringnotlike: { negate: true, like: true, ignoreCase: false },
  arnequals: { negate: false, like: true, ignoreCase: false },
  arnlike: { negate: false, like: true, ignoreCase: false },
  arnnotequals: { negate: true, like: true, ignoreCase: false },
  arnnotlike: { negate: true, like: true, ignoreCase: false },
};

/** What the caller can make of one condition (key and values under one operator). */
export function possible(c: Condition, caller: Caller): Possible {
  let op = c.op.toLowerCase();
  let set: 'all' | 'any' | null = null;
  if (op.startsWith('forallvalues:')) [set, op] = ['all', op.slice('forallvalues:'.length)];
  else if (op.startsWith('foranyvalue:')) [set, op] = ['any', op.slice('foranyvalue:'.length)];
  const ifExists = op.endsWith('ifexists');
  if (ifExists) op = op.slice(0, -'ifexists'.length);
  const d = domainOf(c.key, caller);
  const canAbsent = absentPossible(d);
  const canPresent = presentPossible(d);

  let whenPresent: Possible;
  const stringOp = STRING_OPS[op];
  if (op === 'null') {
    const wantsAbsent = (c.values[0] ?? 'true').toLowerCase() === 'true';
    return { canTrue: wantsAbsent ? canAbsent : canPresent, canFalse: wantsAbsent ? canPresent : canAbsent };
  } else if (stringOp) {
    const { negate, like, ignoreCase } = stringOp;
    const match = canPresent && c.values.some((v) => canMatch(d, v, like, ignoreCase, caller));
    const miss = canPresent && canMiss(d, c.values, like, ignoreCase, caller);
    whenPresent = negate ? { canTrue: miss, canFalse: match } : { canTrue: match, canFalse: miss };
  } else if (op === 'ipaddress' || op === 'notipaddress') {
    if (d.t === 'ip') {
      const reach = ipReach(c.values);
      const inside = reach >= IP_REACH;
      const outside = reach < 0.999;
      whenPresent = op === 'ipaddress' ? { canTrue: inside, canFalse: outside } : { canTrue: outside, canFalse: inside };
    } else whenPresent = canPresent ? BOTH : { canTrue: false, canFalse: false };
  } else if (op === 'bool') {
    if (d.t === 'fixed') {
      const holds = c.values.some((v) => v.toLowerCase() === d.value.toLowerCase());
      whenPresent = { canTrue: holds, canFalse: !holds };
    } else whenPresent = canPresent ? BOTH : { canTrue: false, canFalse: false };
  } else {
    // Numeric, Date, Binary and operators vouch does not know: the caller may meet them or not.
    whenPresent = canPresent ? BOTH : { canTrue: false, canFalse: false };
  }

  // A missing key: false, except negated operators (true), IfExists (true), ForAllValues (true: no value fails).
  const negated = /not/.test(op) && op !== 'null';
  const absentValue = ifExists || set === 'all' ? true : set === 'any' ? false : negated;
  return {
    canTrue: whenPresent.canTrue || (canAbsent && absentValue),
    canFalse: whenPresent.canFalse || (canAbsent && !absentValue),
  };
}

/** Every condition can hold together (each on its own: an over-estimate, the safe side for an Allow). */
export function allCanHold(conditions: Condition[], caller: Caller): boolean {
  return conditions.every((c) => possible(c, caller).canTrue);
}

/** Some condition can be made false: a Deny with these conditions can be stepped around. */
export function someCanFail(conditions: Condition[], caller: Caller): boolean {
  return conditions.some((c) => possible(c, caller).canFalse);
}

/** The 12-digit accounts a condition names in keys that pin the caller (candidates for "foreign"). */
export function accountsNamed(conditions: Condition[]): string[] {
  const out: string[] = [];
  for (const c of conditions) {
    if (!PINNING_KEYS.includes(c.key)) continue;
    for (const v of c.values) {
      const m = /^(\d{12})$/.exec(v) ?? /^arn:[^:]*:[^:]*:[^:]*:(\d{12}):/.exec(v);
      if (m) out.push(m[1] as string);
    }
  }
  return out;
}
