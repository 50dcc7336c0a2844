// Pure: how to undo a change (risky-changes.md §2 rows marked Y, §3, §4), as the exact AWS SDK v3 command(s).
//
// Two kinds of plan:
// - From the event alone (source 'event'): the CloudTrail record holds everything needed, e.g. a security-group rule
//   id, a snapshot's added account, a trail name. Security groups: the rule ids AWS returned
//   (`responseElements.securityGroupRuleSet.items[].securityGroupRuleId`) name exactly what was added and are
//   preferred; without them the request's permissions are replayed as `IpPermissions` (values must match exactly),
//   from either request shape (flat CLI form or nested `ipPermissions.items[]`).
// - From the trusted baseline (source 'baseline'): changes that overwrite state (trail settings, event selectors,
//   bucket policies, trust policies, inline policies) are undone by putting back the last configuration vouch trusted
//   before the change (src/baseline). Without a baseline the plan is null and the review pages instead of guessing.
//
// Safety (§3): never a failed call (errorCode), never vouch's own revert sessions (`vouch-revert-*`).
// planRevert never throws and does no I/O: `vouch classify` and the policy engine call it for every record.
//
// The planners live in src/revert-plans/, one file per room; this file holds the catalogue and the dispatch, and
// re-exports everything the planner has always exported, so importers keep using './revert-plans'.
import type { Change } from '../core/types';
import {
  canonicalEventName,
  isRecord,
  isRevertPrincipal,
  none,
  type PlanContext,
  type PlanDecision,
  type Planner,
} from './plan-common';
import { planSecurityGroup } from './plans/security-groups';
import { planFixed, planIgwAttach, planNaclEntry, planRoute } from './plans/ec2';
import { planImageShare, planRdsShare, planSnapshotShare } from './plans/sharing';
import { planConfigRecorder, planGuardDuty, planStartLogging } from './plans/logging';
import { planKmsDeletion, planKmsDisable } from './plans/kms';
import { planAccessKey, planDetach } from './plans/iam';
import { planAccountPab, planBucketPab, planLambdaPermission } from './plans/s3-lambda';
import {
  planAssumeRolePolicy,
  planBucketPolicy,
  planEventSelectors,
  planInlinePolicy,
  planUpdateTrail,
} from './plans/baseline';

export {
  REVERT_SESSION_PREFIX,
  canonicalEventName,
  isRevertPrincipal,
  revertVerdictFields,
  type PlanContext,
  type PlanDecision,
} from './plan-common';
export { ipPermissionsFromRequest, normalizeProtocol, type IpPermissionInput } from './plans/security-groups';
export { FULL_PUBLIC_ACCESS_BLOCK } from './plans/s3-lambda';
export { TRAIL_READBACK, baselineTarget, type BaselineTarget } from './plans/baseline';

// ---- the catalogue ----

const EC2 = ['ec2.amazonaws.com'];
const S3 = ['s3.amazonaws.com'];
const S3_ACCOUNT = ['s3.amazonaws.com', 's3-control.amazonaws.com', 's3control.amazonaws.com'];
const IAM = ['iam.amazonaws.com'];

const PLANNERS: Record<string, Planner> = {
  AuthorizeSecurityGroupIngress: { eventSources: EC2, from: 'event', produces: ['ec2:RevokeSecurityGroupIngress'], plan: (a) => planSecurityGroup(a, 'ingress') },
  AuthorizeSecurityGroupEgress: { eventSources: EC2, from: 'event', produces: ['ec2:RevokeSecurityGroupEgress'], plan: (a) => planSecurityGroup(a, 'egress') },
  CreateNetworkAclEntry: { eventSources: EC2, from: 'event', produces: ['ec2:DeleteNetworkAclEntry'], plan: planNaclEntry },
  CreateRoute: { eventSources: EC2, from: 'event', produces: ['ec2:DeleteRoute'], plan: planRoute },
  AttachInternetGateway: { eventSources: EC2, from: 'event', produces: ['ec2:DetachInternetGateway'], plan: planIgwAttach },
  ModifySnapshotAttribute: { eventSources: EC2, from: 'event', produces: ['ec2:ModifySnapshotAttribute'], plan: planSnapshotShare },
  ModifyImageAttribute: { eventSources: EC2, from: 'event', produces: ['ec2:ModifyImageAttribute'], plan: planImageShare },
  DisableEbsEncryptionByDefault: {
    eventSources: EC2,
    from: 'event',
    produces: ['ec2:EnableEbsEncryptionByDefault'],
    plan: planFixed('ec2', 'EnableEbsEncryptionByDefault', 'enable EBS encryption by default again'),
  },
  EnableSerialConsoleAccess: {
    eventSources: EC2,
    from: 'event',
    produces: ['ec2:DisableSerialConsoleAccess'],
    plan: planFixed('ec2', 'DisableSerialConsoleAccess', 'disable EC2 serial console access again'),
  },
  ModifyDBSnapshotAttribute: { eventSources: ['rds.amazonaws.com'], from: 'event', produces: ['rds:ModifyDBSnapshotAttribute'], plan: planRdsShare(false) },
  ModifyDBClusterSnapshotAttribute: {
    eventSources: ['rds.amazonaws.com'],
    from: 'event',
    produces: ['rds:ModifyDBClusterSnapshotAttribute'],
    plan: planRdsShare(true),
  },
  StopLogging: { eventSources: ['cloudtrail.amazonaws.com'], from: 'event', produces: ['cloudtrail:StartLogging'], plan: planStartLogging },
  UpdateDetector: { eventSources: ['guardduty.amazonaws.com'], from: 'event', produces: ['guardduty:UpdateDetector'], plan: planGuardDuty },
  StopConfigurationRecorder: {
    eventSources: ['config.amazonaws.com'],
    from: 'event',
    produces: ['config:StartConfigurationRecorder'],
    plan: planConfigRecorder,
  },
  ScheduleKeyDeletion: { eventSources: ['kms.amazonaws.com'], from: 'event', produces: ['kms:CancelKeyDeletion', 'kms:EnableKey'], plan: planKmsDeletion },
  DisableKey: { eventSources: ['kms.amazonaws.com'], from: 'event', produces: ['kms:EnableKey'], plan: planKmsDisable },
  AttachUserPolicy: { eventSources: IAM, from: 'event', produces: ['iam:DetachUserPolicy'], plan: planDetach('User') },
  AttachRolePolicy: { eventSources: IAM, from: 'event', produces: ['iam:DetachRolePolicy'], plan: planDetach('Role') },
  AttachGroupPolicy: { eventSources: IAM, from: 'event', produces: ['iam:DetachGroupPolicy'], plan: planDetach('Group') },
  CreateAccessKey: { eventSources: IAM, from: 'event', produces: ['iam:UpdateAccessKey'], plan: planAccessKey },
  AddPermission: { eventSources: ['lambda.amazonaws.com'], from: 'event', produces: ['lambda:RemovePermission'], plan: planLambdaPermission },
  PutBucketPublicAccessBlock: { eventSources: S3, from: 'event', produces: ['s3:PutPublicAccessBlock'], plan: planBucketPab(false) },
  DeleteBucketPublicAccessBlock: { eventSources: S3, from: 'event', produces: ['s3:PutPublicAccessBlock'], plan: planBucketPab(true) },
  PutAccountPublicAccessBlock: { eventSources: S3_ACCOUNT, from: 'event', produces: ['s3control:PutPublicAccessBlock'], plan: planAccountPab(false) },
  DeleteAccountPublicAccessBlock: { eventSources: S3_ACCOUNT, from: 'event', produces: ['s3control:PutPublicAccessBlock'], plan: planAccountPab(true) },

  UpdateTrail: { eventSources: ['cloudtrail.amazonaws.com'], from: 'baseline', produces: ['cloudtrail:UpdateTrail'], plan: planUpdateTrail },
  PutEventSelectors: { eventSources: ['cloudtrail.amazonaws.com'], from: 'baseline', produces: ['cloudtrail:PutEventSelectors'], plan: planEventSelectors },
  PutBucketPolicy: { eventSources: S3, from: 'baseline', produces: ['s3:PutBucketPolicy', 's3:DeleteBucketPolicy'], plan: planBucketPolicy(false) },
  DeleteBucketPolicy: { eventSources: S3, from: 'baseline', produces: ['s3:PutBucketPolicy'], plan: planBucketPolicy(true) },
  UpdateAssumeRolePolicy: { eventSources: IAM, from: 'baseline', produces: ['iam:UpdateAssumeRolePolicy'], plan: planAssumeRolePolicy },
  PutRolePolicy: { eventSources: IAM, from: 'baseline', produces: ['iam:PutRolePolicy', 'iam:DeleteRolePolicy'], plan: planInlinePolicy('Role') },
  PutUserPolicy: { eventSources: IAM, from: 'baseline', produces: ['iam:PutUserPolicy', 'iam:DeleteUserPolicy'], plan: planInlinePolicy('User') },
  PutGroupPolicy: { eventSources: IAM, from: 'baseline', produces: ['iam:PutGroupPolicy', 'iam:DeleteGroupPolicy'], plan: planInlinePolicy('Group') },
};

/** Every event vouch can plan a revert for: its source, whether it needs the baseline, and the calls it may make. */
export const REVERTIBLE_EVENTS: readonly { eventName: string; eventSources: string[]; from: 'event' | 'baseline'; produces: string[] }[] =
  Object.entries(PLANNERS).map(([eventName, p]) => ({ eventName, eventSources: p.eventSources, from: p.from, produces: p.produces }));

/** Decides the revert for a change, or says why there is none. Never throws on odd input; no I/O. */
export function planRevert(change: Change, ctx: PlanContext = {}): PlanDecision {
  const name = canonicalEventName(String(change.eventName ?? ''));
  const planner = Object.prototype.hasOwnProperty.call(PLANNERS, name) ? PLANNERS[name] : undefined;
  if (!planner) return none(`no automatic revert for ${change.eventName}`);
  if (change.eventSource && !planner.eventSources.includes(change.eventSource)) {
    return none(`${change.eventName} from ${change.eventSource} is not the ${planner.eventSources[0]} call vouch reverts`);
  }
  if (change.errorCode) {
    return none(`the call failed (${change.errorCode}): nothing was changed, nothing to revert`);
  }
  if (change.actor && isRevertPrincipal(change.actor, ctx.revertRoleName)) {
    return none(`made by vouch's own revert session (${change.actor.name}): never reverted again`);
  }
  const req = isRecord(change.request) ? change.request : {};
  const res = isRecord(change.response) ? change.response : null;
  try {
    return planner.plan({ change, req, res, ctx });
  } catch (err) {
    return none(`could not plan a revert for ${change.eventName}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The revert role's name from VOUCH_REVERT_ROLE_ARN_TEMPLATE (`arn:aws:iam::{account}:role/path/NAME` → NAME). */
export function revertRoleNameFrom(template: string | undefined): string | undefined {
  const m = /:role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(template ?? '');
  return m ? m[1] : undefined;
}
