// Resource policies (S3 buckets, KMS keys, IAM trust policies, SQS queues, SNS topics, ECR repositories, Secrets
// Manager secrets, Lambda functions, …) judged by what they allow: would a request from an anonymous caller, or from
// an account outside the trusted ones, be allowed, with whatever source address, VPC, organization, user agent or
// headers the attacker chooses? IAM's evaluation order: an explicit Deny that applies wins, then an Allow
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html). Each Allow the
// caller can meet grants its actions (wildcards expanded against AWS's action catalogue, case-insensitive;
// NotAction is everything else); a Deny removes its actions only when the caller cannot step around it.
import { allCanHold, accountsNamed, someCanFail, type Caller } from './conditions';
import type { AnalysisStatement, Principal } from './statements';
import type { IamCatalogue } from '../iam-catalogue';
import { globTest } from '../../core/glob';

export interface Exposure {
  /** Actions an anonymous caller, or any AWS account at all, could be allowed (empty: not public). */
  publicActions: string[];
  /** Who "public" means: `anyone` (anonymous requests too) or `any AWS account`. */
  publicTo: 'anyone' | 'any AWS account' | null;
  /** Named accounts outside this one and the trusted ones, with what they could be allowed. */
  foreign: { account: string; actions: string[] }[];
}

export interface ExposureContext {
  /** The account the resource lives in. */
  account: string;
  trusted: ReadonlySet<string>;
  /** IAM services whose actions the resource can be asked for (`s3` for a bucket, `sts` for a trust policy). */
  services: readonly string[];
}

const ACCOUNT_IN_PRINCIPAL = /^(?:(\d{12})|arn:[^:]*:(?:iam|sts)::(\d{12}):.*)$/;

function accountOfPrincipal(p: Principal): string | undefined {
  if (p.kind !== 'AWS') return undefined;
  const m = ACCOUNT_IN_PRINCIPAL.exec(p.value);
  return m ? (m[1] ?? m[2]) : undefined;
}

function isEveryone(p: Principal): boolean {
  return (p.kind === '*' || p.kind === 'AWS') && p.value === '*';
}

/** Does the statement's Principal (or NotPrincipal) take in this caller? */
function principalCovers(s: AnalysisStatement, caller: Caller): boolean {
  const list = s.principals;
  if (list === null) return false; // an identity policy has no principal: not a resource grant
  const named = (p: Principal): boolean => {
    if (isEveryone(p)) return true;
    if (caller.kind !== 'account' || caller.fresh) return false;
    return accountOfPrincipal(p) === caller.account;
  };
  const hit = list.some(named);
  return s.notPrincipal ? !hit : hit;
}

/** The actions of a statement within the universe (Action, or the universe less NotAction). */
function actionsOf(s: AnalysisStatement, universe: readonly string[], catalogue: IamCatalogue): Set<string> {
  const listed = new Set<string>();
  for (const a of s.actions) {
    if (a === '*') {
      for (const u of universe) listed.add(u);
      continue;
    }
    const expanded = catalogue.expand(a);
    if (expanded.length) {
      for (const x of expanded) listed.add(x.key);
    } else {
      for (const u of universe) if (globTest(a, u, { ignoreCase: true })) listed.add(u);
    }
  }
  if (!s.notAction) {
    const inUniverse = new Set(universe);
    return new Set([...listed].filter((a) => inUniverse.has(a)));
  }
  return new Set(universe.filter((u) => !listed.has(u)));
}

/** What a caller could be allowed under the statements. */
function allowedFor(statements: AnalysisStatement[], caller: Caller, universe: readonly string[], catalogue: IamCatalogue): string[] {
  const allowed = new Set<string>();
  for (const s of statements) {
    if (!s.allow || !principalCovers(s, caller) || !allCanHold(s.conditions, caller)) continue;
    for (const a of actionsOf(s, universe, catalogue)) allowed.add(a);
  }
  if (allowed.size === 0) return [];
  for (const s of statements) {
    if (s.allow || !principalCovers(s, caller) || someCanFail(s.conditions, caller)) continue;
    for (const a of actionsOf(s, universe, catalogue)) allowed.delete(a);
  }
  return [...allowed].sort();
}

/** The universe of actions a resource policy can grant: its services' actions, plus any literal action it names. */
function universeOf(statements: AnalysisStatement[], ctx: ExposureContext, catalogue: IamCatalogue): string[] {
  const out = new Set<string>();
  for (const svc of ctx.services) for (const a of catalogue.ofService(svc)) out.add(a.key);
  for (const s of statements) {
    for (const a of s.actions) {
      if (a === '*' || a.includes('*') || a.includes('?')) continue;
      const hit = catalogue.expand(a);
      if (hit.length) for (const x of hit) out.add(x.key);
      else if (a.includes(':')) out.add(a);
    }
  }
  return [...out];
}

export function resourceExposure(statements: AnalysisStatement[], ctx: ExposureContext, catalogue: IamCatalogue): Exposure {
  const universe = universeOf(statements, ctx, catalogue);
  const anonymous = allowedFor(statements, { kind: 'anonymous' }, universe, catalogue);
  const anyAccount = allowedFor(statements, { kind: 'account', account: '000000000000', fresh: true }, universe, catalogue);
  const publicActions = [...new Set([...anonymous, ...anyAccount])].sort();
  const named = new Set<string>();
  for (const s of statements) {
    for (const p of s.principals ?? []) {
      const a = accountOfPrincipal(p);
      if (a) named.add(a);
    }
    for (const a of accountsNamed(s.conditions)) named.add(a);
  }
  const foreign: Exposure['foreign'] = [];
  for (const account of [...named].sort()) {
    if (account === ctx.account || ctx.trusted.has(account)) continue;
    const actions = allowedFor(statements, { kind: 'account', account, fresh: false }, universe, catalogue);
    if (actions.length) foreign.push({ account, actions });
  }
  return { publicActions, publicTo: anonymous.length ? 'anyone' : anyAccount.length ? 'any AWS account' : null, foreign };
}

/** "s3:GetObject, s3:ListBucket and 3 more". */
export function actionList(actions: string[], max = 4): string {
  if (actions.length <= max) return actions.join(', ');
  return `${actions.slice(0, max).join(', ')} and ${actions.length - max} more`;
}
