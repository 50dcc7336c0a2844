// The handler table: what vouch runs as a revert, and the source of the least-privilege IAM policy
// (src/cli/iam-policy.ts).
import { type AwsService, type RevertPlan, type RevertStep } from '../core/types';
import { canonicalJson } from './baseline/types';
import { forbidden } from './failures';
import { type Handler } from './handler';
import { securityGroupHandler } from './run/ec2-security-groups';
import { ebsEncryption, igw, imageShare, naclEntry, route, serialConsole, snapshotShare } from './run/ec2';
import { rdsShare } from './run/rds';
import { eventSelectors, startLogging, updateTrail } from './run/cloudtrail';
import { configRecorder, guardDuty, lambdaPermission } from './run/guardduty-config-lambda';
import { kmsCancelDeletion, kmsEnable } from './run/kms';
import { accessKey, assumeRolePolicy, deleteInlinePolicy, detachPolicy, putInlinePolicy } from './run/iam';
import { accountPab, bucketPab, deleteBucketPolicy, putBucketPolicy } from './run/s3';

export const HANDLERS: Handler[] = [
  securityGroupHandler('RevokeSecurityGroupIngress'),
  securityGroupHandler('RevokeSecurityGroupEgress'),
  naclEntry,
  route,
  igw,
  snapshotShare,
  imageShare,
  ebsEncryption,
  serialConsole,
  rdsShare(false),
  rdsShare(true),
  startLogging,
  guardDuty,
  configRecorder,
  kmsCancelDeletion,
  kmsEnable,
  detachPolicy('User'),
  detachPolicy('Role'),
  detachPolicy('Group'),
  accessKey,
  lambdaPermission,
  bucketPab,
  accountPab,
  updateTrail,
  eventSelectors,
  putBucketPolicy,
  deleteBucketPolicy,
  assumeRolePolicy,
  putInlinePolicy('User'),
  putInlinePolicy('Role'),
  putInlinePolicy('Group'),
  deleteInlinePolicy('User'),
  deleteInlinePolicy('Role'),
  deleteInlinePolicy('Group'),
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
