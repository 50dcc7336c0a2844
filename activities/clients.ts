// The vendor clients the activities run on, built in one place from the worker's validated settings (the names are
// the environment variables of the README's configuration table): AWS (reverts and baseline reads in each target
// account), Duo (the Auth API), PagerDuty (the Events API, and the REST API that finds the on-call engineer).
// The Slack client is built by createSlackClient in activities/slack.ts.
import type https from 'node:https';
import { createAwsClientFactory, type AwsClientFactory } from '../src/revert';
import { createDuoClient, type DuoClientLike } from './duo';
import type { PagerDutyDeps } from './pagerduty';
import type { OnCallDeps } from './oncall';

export { createAwsClientFactory, createDuoClient };

export interface AwsClientSettings {
  /**
   * `arn:aws:iam::{account}:role/NAME`: the role assumed in the record's account. Required for reverts and baseline
   * reads: without it every AWS call refuses (RevertRoleUnavailable), never falling back to vouch's own credentials.
   */
  VOUCH_REVERT_ROLE_ARN_TEMPLATE?: string;
  /** Endpoint for every AWS service (a local emulator). */
  AWS_ENDPOINT_URL?: string;
  /** `off`: this worker runs no revert (each fails RevertsDisabled, and the review pages). Default `on`. */
  VOUCH_REVERTS?: 'on' | 'off';
}

/**
 * `clientFor(service, account, region, session)` for the revert and baseline activities: the revert role of the
 * record's account, proven with STS GetCallerIdentity before any call; and whether reverts are on.
 */
export function awsClients(settings: AwsClientSettings): AwsClientFactory & { revertsDisabled?: string } {
  return {
    ...createAwsClientFactory({
      requireRole: true,
      ...(settings.VOUCH_REVERT_ROLE_ARN_TEMPLATE ? { roleArnTemplate: settings.VOUCH_REVERT_ROLE_ARN_TEMPLATE } : {}),
      ...(settings.AWS_ENDPOINT_URL ? { endpoint: settings.AWS_ENDPOINT_URL } : {}),
    }),
    ...(settings.VOUCH_REVERTS === 'off' ? { revertsDisabled: 'reverts are off in this deployment (VOUCH_REVERTS=off)' } : {}),
  };
}

export interface DuoSettings {
  DUO_IKEY: string;
  DUO_SKEY: string;
  DUO_API_HOST: string;
}

export function duoClient(settings: DuoSettings): DuoClientLike {
  return createDuoClient({ ikey: settings.DUO_IKEY, skey: settings.DUO_SKEY, host: settings.DUO_API_HOST });
}

export interface PagerDutySettings {
  PAGERDUTY_ROUTING_KEY: string;
  PAGERDUTY_EVENTS_SERVER: string;
  /** With PAGERDUTY_ESCALATION_POLICY_ID: connect the on-call engineer to the review (REST API). */
  PAGERDUTY_API_TOKEN?: string;
  PAGERDUTY_ESCALATION_POLICY_ID?: string;
  PAGERDUTY_API_SERVER: string;
}

/** The Events API options, and the REST API options when both the token and the escalation policy are set. */
export function pagerDutyClients(
  settings: PagerDutySettings,
  agent?: https.Agent,
): PagerDutyDeps & Pick<OnCallDeps, 'oncall'> {
  return {
    pagerduty: {
      routingKey: settings.PAGERDUTY_ROUTING_KEY,
      server: settings.PAGERDUTY_EVENTS_SERVER,
      ...(agent ? { agent } : {}),
    },
    ...(settings.PAGERDUTY_API_TOKEN && settings.PAGERDUTY_ESCALATION_POLICY_ID
      ? {
          oncall: {
            apiToken: settings.PAGERDUTY_API_TOKEN,
            escalationPolicyId: settings.PAGERDUTY_ESCALATION_POLICY_ID,
            server: settings.PAGERDUTY_API_SERVER,
            ...(agent ? { agent } : {}),
          },
        }
      : {}),
  };
}
