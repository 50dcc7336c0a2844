// What a policy file compiles to (schema.ts builds it; the engine reads it), and the error that lists its mistakes.
import type { Tier } from '../core/types';
import type { Pred } from './operators';
import type { Template } from './templates';
import type { AccessLevel } from './iam-catalogue';

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

export type FloorTier = Exclude<Tier, 'revert'>;

/** One entry of the floor (floor.ts): which IAM actions it is for, and their least tier. */
export interface FloorEntry {
  id: string;
  title: string;
  /** Tests `service:Action` (IAM's spelling), case-insensitive. */
  actions: (key: string) => boolean;
  levels: ReadonlySet<AccessLevel> | null;
  except: ((key: string) => boolean) | null;
  tier: FloorTier;
  score: number;
  /** The entry as a rule of the assessment (id, title, score, tier). */
  rule: CompiledRule;
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
  /** The floor: tried in order, the first entry matching a write's IAM action is its least tier. */
  floor: FloorEntry[];
}
