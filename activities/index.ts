// createActivities(deps): every side effect of a review, over injected vendor clients.
// Production (src/cli/worker.ts), the demo sandbox and the tests hand in different clients; activity code is the same.
import { createSlackActivities, type SlackDeps } from './slack';
import { createDuoActivities, type DuoDeps } from './duo';
import { createPagerDutyActivities, type PagerDutyDeps } from './pagerduty';
import { createAwsActivities, type AwsDeps } from './aws-revert';
import { createOnCallActivities, type OnCallDeps } from './oncall';
import { createBaselineActivities, type BaselineDeps } from './baseline';
import { createCloudTrailLookupActivities, type CloudTrailLookupDeps } from './cloudtrail-lookup';
import { createSecurityActivities, type SecurityDeps } from './security';
import { createAuditActivities, type AuditDeps } from './audit';
import { createDigestActivities, type DigestDeps } from './digest';

export type ActivityDeps = SlackDeps &
  DuoDeps &
  PagerDutyDeps &
  AwsDeps &
  CloudTrailLookupDeps &
  OnCallDeps &
  BaselineDeps &
  SecurityDeps &
  AuditDeps &
  DigestDeps;

export function createActivities(deps: ActivityDeps) {
  return {
    ...createSlackActivities(deps),
    ...createDuoActivities(deps),
    ...createPagerDutyActivities(deps),
    ...createAwsActivities(deps),
    ...createOnCallActivities(deps),
    ...createBaselineActivities(deps),
    ...createCloudTrailLookupActivities(deps),
    ...createSecurityActivities(deps),
    ...createAuditActivities(deps),
    ...createDigestActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
