// Who a security override comes from: the people directory by Slack user id (activities/people.ts,
// activities/security.ts), with the file format the worker reads (parsePeopleDirectory).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { createPeopleDirectory, parsePeopleDirectory } from '../../activities/people';
import { createSecurityActivities } from '../../activities/security';

const FILE = JSON.stringify({
  'arn:aws:iam::111122223333:user/sam': { email: 'sam@example.com', slackUserId: 'U0SAM', duoUsername: 'sam.duo', displayName: 'Sam' },
  'sue@example.com': { email: 'sue@example.com', slackUserId: 'U0SUE' },
  'arn:aws:iam::111122223333:user/bob': { email: 'bob@example.com' },
});

describe('security members by Slack user id', () => {
  const entries = parsePeopleDirectory(FILE, 'people.json');

  test('the entry naming the Slack user id gives the Duo user (explicit, or from the e-mail as for everyone)', async () => {
    const { resolveSecurityMember } = createSecurityActivities({ directory: createPeopleDirectory(entries) });
    assert.deepEqual(await resolveSecurityMember({ slackUserId: 'U0SAM' }), {
      slackUserId: 'U0SAM',
      duoUsername: 'sam.duo',
      email: 'sam@example.com',
      displayName: 'Sam',
    });
    assert.equal((await resolveSecurityMember({ slackUserId: 'U0SUE' })).duoUsername, 'sue@example.com');
    const local = createSecurityActivities({ directory: createPeopleDirectory(entries, { duoUsernameFrom: 'localpart' }) });
    assert.equal((await local.resolveSecurityMember({ slackUserId: 'U0SUE' })).duoUsername, 'sue');
  });

  test('a Slack user id no entry names is UnknownPerson, non-retryable, and says what to add', async () => {
    const { resolveSecurityMember } = createSecurityActivities({ directory: createPeopleDirectory(entries) });
    const err = await resolveSecurityMember({ slackUserId: 'U0BOB' }).catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'UnknownPerson');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /No entry of the people directory names Slack user U0BOB/);
    assert.match(err.message, /"slackUserId" and "duoUsername"/);
  });

  test('lookupBySlackUserId matches the id exactly, not by name or e-mail', () => {
    const dir = createPeopleDirectory(entries);
    assert.equal(dir.lookupBySlackUserId('U0SAM')?.email, 'sam@example.com');
    assert.equal(dir.lookupBySlackUserId('u0sam'), undefined);
    assert.equal(dir.lookupBySlackUserId('sam@example.com'), undefined);
    assert.equal(dir.lookupBySlackUserId('U0SA'), undefined);
  });
});
