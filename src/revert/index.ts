// The revert room's public API. For each AWS service one file holds how to plan the undo of a change (from its
// CloudTrail record, or from the trusted baseline for changes that overwrite state) and how to carry it out (check,
// read before, act, read after): ec2-security-groups.ts, ec2-sharing.ts, ec2.ts, rds.ts, cloudtrail.ts,
// guardduty.ts, config.ts, lambda.ts, kms.ts, iam.ts, s3.ts (with s3control). catalogue.ts gathers them, plan.ts
// dispatches a change to its planner, execute.ts carries a plan out; baseline/ keeps the trusted baseline.
export { planRevert, revertRoleNameFrom } from './plan';
export {
  REVERT_SESSION_PREFIX,
  baselineTarget,
  canonicalEventName,
  isRevertPrincipal,
  revertVerdictFields,
  type BaselineTarget,
  type PlanContext,
  type PlanDecision,
} from './plan-common';
export { ipPermissionsFromRequest, type IpPermissionInput, type RuleSummary } from './ec2-security-groups';
export { REVERTIBLE_EVENTS, revertCatalogue, type CatalogueEntry } from './catalogue';
export { revertChange } from './execute';
export { RevertFailure, revertFailure } from './failures';
export {
  createAwsClientFactory,
  revertSessionName,
  type AwsClientFactory,
  type AwsClientFactoryOptions,
  type AwsClientFor,
  type AwsClients,
} from './clients';
export * from './baseline';
