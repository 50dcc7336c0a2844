// Who a security override comes from: the member of the security group named by Slack user id, resolved through the
// people directory (VOUCH_PEOPLE_FILE) to the Duo user that must confirm the override with a push. Only an entry that
// names the Slack user id counts: a security member without one cannot override (the workflow refuses it).
import { ApplicationFailure } from '@temporalio/activity';
import { FailureTypes, type Person } from '../src/core/types';
import type { PeopleDirectory } from './people';

export interface SecurityDeps {
  directory: PeopleDirectory;
}

export interface SecurityMemberInput {
  slackUserId: string;
}

export function createSecurityActivities(deps: SecurityDeps) {
  return {
    /** The person (and Duo user) behind a security member's Slack user id; UnknownPerson when the directory has none. */
    async resolveSecurityMember(input: SecurityMemberInput): Promise<Person> {
      const entry = deps.directory.lookupBySlackUserId(input.slackUserId);
      if (!entry) {
        throw ApplicationFailure.create({
          type: FailureTypes.UnknownPerson,
          message:
            `No entry of the people directory names Slack user ${input.slackUserId}: their override cannot be confirmed ` +
            'with Duo (add an entry with "slackUserId" and "duoUsername")',
          nonRetryable: true,
        });
      }
      return {
        slackUserId: input.slackUserId,
        duoUsername: entry.duoUsername ?? entry.email,
        email: entry.email,
        displayName: entry.displayName ?? entry.email,
      };
    },
  };
}
