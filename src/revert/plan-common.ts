// Shared by every room of the revert planner: the decision/context types, safety checks and small record readers.
import type { Actor, AwsService, Change, RevertPlan, RevertStep, Verdict } from '../core/types';
import { isRecord } from '../core/text';
import { scopeFor, type BaselineLookup, type BaselineVersion, type ResourceKind } from './baseline/types';

export interface PlanDecision {
  plan: RevertPlan | null;
  /** Why there is (or is not) a plan, for humans and the verdict's reasons. */
  reason: string;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

export function int(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return undefined;
}

/** CloudTrail wraps every list as `{items:[…]}` and writes an empty list as `{}`; plain arrays are accepted too. */
export function items(v: unknown): Record<string, unknown>[] {
  const list = Array.isArray(v) ? v : isRecord(v) && Array.isArray(v.items) ? v.items : [];
  return list.filter(isRecord);
}

// ---- context, safety ----

export interface PlanContext {
  /** Trusted baselines already loaded for the change's account (baseline/); without it, changes that need it get no plan. */
  baseline?: BaselineLookup;
  /**
   * Name of vouch's revert role (the role in VOUCH_REVERT_ROLE_ARN_TEMPLATE). When set, only `vouch-revert-*` sessions
   * of this role count as vouch's own; otherwise any `vouch-revert-*` role session does.
   */
  revertRoleName?: string;
}

/** Role session names of vouch's reverts: `vouch-revert-<eventID>` (revertSessionName in clients.ts). */
export const REVERT_SESSION_PREFIX = 'vouch-revert-';

/** Is this vouch's own revert principal (a role session `vouch-revert-*`)? Only assumed-role sessions qualify. */
export function isRevertPrincipal(actor: Actor, revertRoleName?: string): boolean {
  if (actor.type !== 'AssumedRole') return false;
  const session = actor.arn?.split('/').pop() ?? actor.name;
  if (!session.startsWith(REVERT_SESSION_PREFIX)) return false;
  if (!revertRoleName) return true;
  const role = actor.sessionIssuerArn?.split('/').pop() ?? actor.arn?.split('/')[1];
  return role === revertRoleName;
}

/** Lambda (and a few other) event names carry an API version: `AddPermission20150331v2` → `AddPermission`. */
export function canonicalEventName(eventName: string): string {
  return eventName.replace(/\d{8}(v\d+)?$/, '');
}

/** The verdict fields for a decision: baseline plans also revert when the deadline passes unconfirmed. */
export function revertVerdictFields(d: PlanDecision): Pick<Verdict, 'revertPlan' | 'revertReason' | 'revertOnTimeout'> {
  return {
    revertPlan: d.plan,
    revertReason: d.reason,
    ...(d.plan?.source === 'baseline' ? { revertOnTimeout: true } : {}),
  };
}

// ---- small readers ----

export function bool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

/** A list of strings from `["a"]`, `{items:[…]}` or a single string. */
export function strings(v: unknown, key?: string): string[] {
  const list = Array.isArray(v) ? v : isRecord(v) && Array.isArray(v.items) ? v.items : typeof v === 'string' ? [v] : [];
  return list.flatMap((x: unknown) => {
    if (typeof x === 'string' && x) return [x];
    if (key && isRecord(x) && str(x[key])) return [x[key] as string];
    return [];
  });
}

export function eventPlan(
  service: AwsService,
  operation: string,
  input: Record<string, unknown>,
  description: string,
  then?: RevertStep[],
): RevertPlan {
  return { service, operation, input, description, ...(then?.length ? { then } : {}), source: 'event' };
}

export function baselinePlan(service: AwsService, operation: string, input: Record<string, unknown>, description: string): RevertPlan {
  return { service, operation, input, description, source: 'baseline' };
}

export const none = (reason: string): PlanDecision => ({ plan: null, reason });

export interface PlanArgs {
  change: Change;
  req: Record<string, unknown>;
  res: Record<string, unknown> | null;
  ctx: PlanContext;
}

export interface Planner {
  eventSources: string[];
  /** 'event': planned from the record; 'baseline': needs the trusted baseline. */
  from: 'event' | 'baseline';
  /** The revert operations this planner may produce (service:Operation), for documentation and tests. */
  produces: string[];
  plan(a: PlanArgs): PlanDecision;
}

// ---- from the trusted baseline ----

/** The baseline resource a change overwrites, if it is one vouch keeps a baseline of. */
export interface BaselineTarget {
  kind: ResourceKind;
  id: string;
  scope: string;
  /** Human name: "role app-deployer", "trail org-trail". */
  what: string;
}

function trailNameOf(v: unknown): string | undefined {
  const s = str(v);
  if (!s) return undefined;
  const m = /:trail\/(.+)$/.exec(s);
  return m ? m[1] : s;
}

/** Which baseline resource a (successful) change touches; null when the event is not a baseline row. */
export function baselineTarget(change: Change): BaselineTarget | null {
  const req = isRecord(change.request) ? change.request : {};
  const name = canonicalEventName(change.eventName);
  const mk = (kind: ResourceKind, id: string | undefined, what: string): BaselineTarget | null =>
    id ? { kind, id, scope: scopeFor(kind, change.region), what: `${what} ${id}` } : null;
  switch (name) {
    case 'UpdateTrail':
      return mk('cloudtrail-trail', trailNameOf(req.name), 'trail');
    case 'PutEventSelectors':
      return mk('cloudtrail-trail', trailNameOf(req.trailName), 'trail');
    case 'PutBucketPolicy':
    case 'DeleteBucketPolicy':
      return mk('s3-bucket-policy', str(req.bucketName), 'bucket');
    case 'UpdateAssumeRolePolicy':
    case 'PutRolePolicy':
      return mk('iam-role', str(req.roleName), 'role');
    case 'PutUserPolicy':
      return mk('iam-user', str(req.userName), 'user');
    case 'PutGroupPolicy':
      return mk('iam-group', str(req.groupName), 'group');
    default:
      return null;
  }
}

/** The trusted version of the change's resource from before the change, or the reason there is none. */
export function trusted<T>(a: PlanArgs): { target: BaselineTarget; version: BaselineVersion; config: T } | PlanDecision {
  const target = baselineTarget(a.change);
  if (!target) return none(`${a.change.eventName} names no resource vouch keeps a baseline of`);
  const where = `${a.change.account}/${target.scope}`;
  const lookup = a.ctx.baseline;
  if (!lookup || !lookup.has(a.change.account, target.scope)) {
    return none(`no trusted baseline for ${target.what} (${where}); paging instead`);
  }
  const version = lookup.get(a.change.account, target.scope, target.kind, target.id, a.change.eventTime);
  if (!version) {
    return none(`no trusted baseline for ${target.what} captured before the change at ${a.change.eventTime} (${where}); paging instead`);
  }
  if (version.config === null) {
    return none(`${target.what} did not exist in the trusted baseline of ${version.capturedAt} (${where}); paging instead`);
  }
  return { target, version, config: version.config as T };
}

export function isDecision(v: object): v is PlanDecision {
  return 'plan' in v && 'reason' in v;
}

export function trustedNote(v: BaselineVersion): string {
  return `trusted baseline of ${v.capturedAt}${v.source === 'accepted' ? ` (accepted change ${v.eventId ?? ''})` : ''}`;
}
