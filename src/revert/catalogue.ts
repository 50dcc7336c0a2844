// The handler table: what vouch runs as a revert, and the source of the least-privilege IAM policy
// (src/cli/iam-policy.ts).
import { type AwsService, type RevertPlan, type RevertStep } from '../core/types';
import { canonicalJson } from './baseline/types';
import { forbidden } from './failures';
import { type Handler } from './handler';
import { type Planner } from './plan-common';
import { planAccountPab, planBucketPab } from './plans/s3-lambda';
import { planBucketPolicy } from './plans/baseline';
import { securityGroupReverts } from './ec2-security-groups';
import { ec2Reverts } from './ec2';
import { rdsReverts } from './rds';
import { cloudtrailReverts } from './cloudtrail';
import { guarddutyReverts } from './guardduty';
import { configReverts } from './config';
import { lambdaReverts } from './lambda';
import { kmsReverts } from './kms';
import { iamReverts } from './iam';
import { accountPab, bucketPab, deleteBucketPolicy, putBucketPolicy } from './run/s3';

export const HANDLERS: Handler[] = [
  ...securityGroupReverts.handlers,
  ...ec2Reverts.handlers,
  ...rdsReverts.handlers,
  ...cloudtrailReverts.handlers,
  ...guarddutyReverts.handlers,
  ...configReverts.handlers,
  ...kmsReverts.handlers,
  ...iamReverts.handlers,
  ...lambdaReverts.handlers,
  bucketPab,
  accountPab,
  putBucketPolicy,
  deleteBucketPolicy,
];

export const BY_KEY = new Map(HANDLERS.map((h) => [`${h.service}:${h.operation}`, h]));

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

// ---- the planners: CloudTrail event → how to plan its undo ----

const S3 = ['s3.amazonaws.com'];
const S3_ACCOUNT = ['s3.amazonaws.com', 's3-control.amazonaws.com', 's3control.amazonaws.com'];

export const PLANNERS: Record<string, Planner> = {
  ...securityGroupReverts.planners,
  ...ec2Reverts.planners,
  ...rdsReverts.planners,
  ...cloudtrailReverts.planners,
  ...guarddutyReverts.planners,
  ...configReverts.planners,
  ...kmsReverts.planners,
  ...iamReverts.planners,
  ...lambdaReverts.planners,
  PutBucketPublicAccessBlock: { eventSources: S3, from: 'event', produces: ['s3:PutPublicAccessBlock'], plan: planBucketPab(false) },
  DeleteBucketPublicAccessBlock: { eventSources: S3, from: 'event', produces: ['s3:PutPublicAccessBlock'], plan: planBucketPab(true) },
  PutAccountPublicAccessBlock: { eventSources: S3_ACCOUNT, from: 'event', produces: ['s3control:PutPublicAccessBlock'], plan: planAccountPab(false) },
  DeleteAccountPublicAccessBlock: { eventSources: S3_ACCOUNT, from: 'event', produces: ['s3control:PutPublicAccessBlock'], plan: planAccountPab(true) },

  PutBucketPolicy: { eventSources: S3, from: 'baseline', produces: ['s3:PutBucketPolicy', 's3:DeleteBucketPolicy'], plan: planBucketPolicy(false) },
  DeleteBucketPolicy: { eventSources: S3, from: 'baseline', produces: ['s3:PutBucketPolicy'], plan: planBucketPolicy(true) },
};

/** Every event vouch can plan a revert for: its source, whether it needs the baseline, and the calls it may make. */
export const REVERTIBLE_EVENTS: readonly { eventName: string; eventSources: string[]; from: 'event' | 'baseline'; produces: string[] }[] =
  Object.entries(PLANNERS).map(([eventName, p]) => ({ eventName, eventSources: p.eventSources, from: p.from, produces: p.produces }));
