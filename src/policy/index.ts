// The policy engine's public API: load a policy (YAML, editable by security), assess a change, turn the
// assessment into the review workflow's Verdict. See default-policy.yaml for the language.
import fs from 'node:fs';
import path from 'node:path';
import type { Actor, Change, RevertPlan, Tier, Verdict } from '../core/types';
import { Engine, ignore, type QuickIgnore } from './engine';
import { PolicyError, type CompiledPolicy } from './compiled';
import { compilePolicyText } from './schema';
import type { AssessContext } from './paths';

export { PolicyError } from './compiled';
export type { PolicyProblem } from './compiled';
export { baseEventName } from './paths';

export interface Assessment {
  tier: Tier; // ignore | notify | confirm | page | revert
  score: number; // 0–100
  rules: string[]; // matched rule ids
  reasons: string[]; // human: "security group sg-1 opened to 0.0.0.0/0 on port 22"
  revertPlan: RevertPlan | null;
  revertReason: string; // why null / which plan
  deadlineSeconds: number;
  revertOnTimeout: boolean;
}

/** A loaded, validated, compiled policy. */
export interface Policy {
  /** The file it came from, or "default". */
  readonly source: string;
  readonly rules: ReadonlyArray<{ id: string; title: string; rows: readonly number[] }>;
}

export interface LoadOptions {
  /** `VOUCH_REVERT_ROLE_ARN_TEMPLATE` (e.g. arn:aws:iam::{account}:role/vouch-revert): its sessions are vouch's own. */
  revertRoleArnTemplate?: string;
}

export const DEFAULT_POLICY_FILE = path.join(__dirname, 'default-policy.yaml');

const engines = new WeakMap<Policy, Engine>();
let defaultCompiled: CompiledPolicy | undefined;

function wrap(compiled: CompiledPolicy, opts: LoadOptions): Policy {
  const c: CompiledPolicy = opts.revertRoleArnTemplate
    ? { ...compiled, self: { ...compiled.self, roleArns: [...compiled.self.roleArns, opts.revertRoleArnTemplate] } }
    : compiled;
  const policy: Policy = {
    source: c.source,
    rules: c.rules.map((r) => ({ id: r.id, title: r.title, rows: r.rows })),
  };
  engines.set(policy, new Engine(c));
  return policy;
}

/** Compile policy text (YAML); throws PolicyError listing every mistake with its line. */
export function parsePolicy(text: string, source = 'policy', opts: LoadOptions = {}): Policy {
  return wrap(compilePolicyText(text, source), opts);
}

/** The shipped default policy when no file is given; throws PolicyError listing every mistake with its line. */
export function loadPolicy(file?: string, opts: LoadOptions = {}): Policy {
  if (file === undefined) {
    defaultCompiled ??= compilePolicyText(fs.readFileSync(DEFAULT_POLICY_FILE, 'utf8'), 'default');
    return wrap(defaultCompiled, opts);
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new PolicyError(file, [{ line: 0, path: '', message: `cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  return wrap(compilePolicyText(text, file), opts);
}

function engineOf(policy: Policy): Engine {
  const e = engines.get(policy);
  if (!e) throw new TypeError('not a policy from loadPolicy/parsePolicy');
  return e;
}

export type { AssessContext } from './paths';
export type { PrefixListEntries } from './exposure';

/** The policy's verdict; `context` adds what the caller knows beyond the record (prefix-list entries). */
export function assess(change: Change, policy: Policy, opts: { now?: Date; context?: AssessContext } = {}): Assessment {
  return engineOf(policy).assess(change, opts.now, opts.context);
}

/** The engine bound to one policy, for loops over many records (one lookup instead of one per record). */
export interface Classifier {
  /** Why the record is certainly ignored (shared, read-only), or null: assess the whole change. */
  quickIgnore(eventSource: string, eventName: string, readOnly: boolean | undefined, actor: Actor, account: string): QuickIgnore | null;
  /** The Assessment `assess` gives for a record `quickIgnore` answered. */
  ignored(q: QuickIgnore): Assessment;
  /** The floor's assessment of a write no rule is about, from the key fields alone; null: assess the whole change. */
  quickFloor(eventSource: string, eventName: string, readOnly: boolean | undefined, actor: Actor, eventType: string | undefined, errorCode: string | undefined): Assessment | null;
  /** `assess`, for a change quickIgnore returned null for (it does not repeat the quick checks). */
  assess(change: Change): Assessment;
}

export type { QuickIgnore } from './engine';

export function classifier(policy: Policy): Classifier {
  const e = engineOf(policy);
  const deadline = e.policy.deadlineSeconds;
  return {
    quickIgnore: (eventSource, eventName, readOnly, actor, account) => e.quickIgnore(eventSource, eventName, readOnly, actor, account),
    ignored: (q) => ignore(q.self ? ['vouch-self'] : [], [q.reason], deadline),
    quickFloor: (eventSource, eventName, readOnly, actor, eventType, errorCode) => e.quickFloor(eventSource, eventName, readOnly, actor, eventType, errorCode),
    assess: (change) => e.assessFull(change),
  };
}

/** The review workflow's input; null for 'ignore'. */
export function toVerdict(a: Assessment): Verdict | null {
  if (a.tier === 'ignore') return null;
  return {
    tier: a.tier,
    score: a.score,
    rules: a.rules,
    reasons: a.reasons,
    deadlineSeconds: a.deadlineSeconds,
    revertPlan: a.revertPlan,
    revertReason: a.revertReason,
    ...(a.revertOnTimeout ? { revertOnTimeout: true } : {}),
  };
}
