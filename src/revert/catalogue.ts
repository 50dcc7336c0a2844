// The revert room's two tables, gathered from the service files: CloudTrail event → planner (what planRevert
// dispatches on), and plan kind (service:Operation) → handler (what the executor runs, and the source of the revert
// role's least-privilege IAM policy printed by `vouch iam-policy`).
import { type AwsService, type RevertPlan, type RevertStep } from '../core/types';
import { canonicalJson } from './baseline/types';
import { forbidden } from './failures';
import { type Handler } from './handler';
import { type Planner } from './plan-common';
import { securityGroupReverts } from './ec2-security-groups';
import { ec2Reverts } from './ec2';
import { ec2SharingReverts } from './ec2-sharing';
import { rdsReverts } from './rds';
import { cloudtrailReverts } from './cloudtrail';
import { guarddutyReverts } from './guardduty';
import { configReverts } from './config';
import { lambdaReverts } from './lambda';
import { kmsReverts } from './kms';
import { iamReverts } from './iam';
import { s3Reverts } from './s3';

const SERVICES = [
  securityGroupReverts,
  ec2Reverts,
  ec2SharingReverts,
  rdsReverts,
  cloudtrailReverts,
  guarddutyReverts,
  configReverts,
  lambdaReverts,
  kmsReverts,
  iamReverts,
  s3Reverts,
];

/** Entries keyed once only: two services claiming the same event or plan kind is a bug, caught at load. */
function once<T>(entries: [string, T][], what: string): Map<string, T> {
  const out = new Map<string, T>();
  for (const [key, value] of entries) {
    if (out.has(key)) throw new Error(`the revert room declares ${what} ${key} twice`);
    out.set(key, value);
  }
  return out;
}

/** CloudTrail event name → how to plan its undo. */
export const PLANNERS: ReadonlyMap<string, Planner> = once(
  SERVICES.flatMap((s) => Object.entries(s.planners)),
  'a planner for',
);

/** Every plan kind vouch runs as a revert. */
const HANDLERS: readonly Handler[] = SERVICES.flatMap((s) => s.handlers);

const BY_KEY = once(
  HANDLERS.map((h) => [`${h.service}:${h.operation}`, h]),
  'a handler for',
);

/** What vouch can run as a revert, with the IAM actions each needs: the source of the revert role's policy. */
export interface CatalogueEntry {
  service: AwsService;
  operation: string;
  then: string[];
  iamActions: string[];
  readActions: string[];
  dryRun: boolean;
}

export function revertCatalogue(): CatalogueEntry[] {
  return HANDLERS.map((h) => ({
    service: h.service,
    operation: h.operation,
    then: h.then ?? [],
    iamActions: [...h.iam.write],
    readActions: [...h.iam.read],
    dryRun: h.dryRun === true,
  }));
}

export function handlerFor(plan: RevertPlan): Handler {
  const h = BY_KEY.get(`${String(plan.service)}:${String(plan.operation)}`);
  if (!h) throw forbidden(`vouch does not run ${String(plan.service)}:${String(plan.operation)} as a revert`);
  const allowed = h.then ?? [];
  for (const t of (plan.then ?? []) as RevertStep[]) {
    const key = `${String(t.service)}:${String(t.operation)}`;
    if (!allowed.includes(key)) throw forbidden(`vouch does not run ${key} after ${h.service}:${h.operation}`);
    if (canonicalJson(t.input) !== canonicalJson(plan.input)) throw forbidden(`${key} must act on the same input as ${h.operation}`);
  }
  return h;
}

/** Every event vouch can plan a revert for: its source, whether it needs the baseline, and the calls it may make. */
export const REVERTIBLE_EVENTS: readonly { eventName: string; eventSources: string[]; from: 'event' | 'baseline'; produces: string[] }[] =
  [...PLANNERS].map(([eventName, p]) => ({ eventName, eventSources: p.eventSources, from: p.from, produces: p.produces }));
