// Attacks on the notify tier's digest (one DM per person per window): the digest is keyed by the person the people
// directory finds behind a trusted identity, never by a name the record's author chooses, so an insider's change
// cannot be listed among someone else's changes (where they would read it as their own and security would see it
// under their name). Played through the intake (default policy: a security group opened to the world for egress is
// notify tier), the review and digest workflows on a Temporal dev server, the production worker's Slack activities
// and the Slack stand-in.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReviewOutcome } from '../../src/core/types';
import { ACCOUNT, NOTIFY_CHANNEL, roleSession, sgRecord, ssoSession, startAttackStack, USERS, type AttackStack } from '../helpers/slack-attack';

const ALICE = USERS.find((u) => u.name === 'alice')?.id as string;
const MALLORY = USERS.find((u) => u.name === 'mallory')?.id as string;
const CAROL = USERS.find((u) => u.name === 'carol')?.id as string;

let stack: AttackStack;

before(async () => {
  stack = await startAttackStack({
    notifyDigestSeconds: 4,
    // The shared ops-admin role is mallory's (an exact-account glob, as the README's people directory shows).
    people: { [`arn:aws:sts::${ACCOUNT}:assumed-role/ops-admin/*`]: { email: 'mallory@example.com', slackUserId: MALLORY } },
  });
});

after(async () => {
  await stack?.stop();
});

async function ingestAll(records: Array<Record<string, unknown>>): Promise<string[]> {
  const ids: string[] = [];
  for (const r of records) {
    const started = await stack.ingest(r);
    assert.equal(started.status, 'started', JSON.stringify(started));
    ids.push((started as { workflowId: string }).workflowId);
  }
  return ids;
}

function dmTexts(userId: string): string[] {
  const channel = stack.slack.dmChannelOf(userId);
  return channel ? stack.slack.messagesIn(channel).map((m) => m.text) : [];
}

describe('the notify digest is per trusted person', { timeout: 120_000 }, () => {
  test("an insider's change in a session named after alice is not listed in alice's digest, and is told to the insider", async () => {
    const aliceGroups = ['sg-0a11ce00000000001', 'sg-0a11ce00000000002', 'sg-0a11ce00000000003'];
    const malloryGroup = 'sg-0bad0000000000001';
    const ids = await ingestAll([
      sgRecord({ eventId: 'd1a00000-0000-4000-8000-000000000001', identity: ssoSession('alice@example.com'), eventName: 'AuthorizeSecurityGroupEgress', groupId: aliceGroups[0] }),
      // Same session name as alice's Identity Center session: the name is the caller's choice.
      sgRecord({ eventId: 'd1a00000-0000-4000-8000-000000000002', identity: roleSession('ops-admin', 'alice@example.com'), eventName: 'AuthorizeSecurityGroupEgress', groupId: malloryGroup }),
      sgRecord({ eventId: 'd1a00000-0000-4000-8000-000000000003', identity: ssoSession('alice@example.com'), eventName: 'AuthorizeSecurityGroupEgress', groupId: aliceGroups[1] }),
      sgRecord({ eventId: 'd1a00000-0000-4000-8000-000000000004', identity: ssoSession('alice@example.com'), eventName: 'AuthorizeSecurityGroupEgress', groupId: aliceGroups[2] }),
    ]);
    const outcomes = await Promise.all(ids.map((id) => stack.result(id) as Promise<ReviewOutcome>));
    assert.deepEqual(outcomes.map((o) => o.outcome), ['NOTIFIED', 'NOTIFIED', 'NOTIFIED', 'NOTIFIED'], JSON.stringify(outcomes.map((o) => o.reason)));

    const alice = dmTexts(ALICE);
    assert.equal(alice.length, 1, `alice gets one digest: ${JSON.stringify(alice)}`);
    for (const g of aliceGroups) assert.ok(alice[0]?.includes(g), `alice's digest lists her ${g}`);
    assert.ok(!alice.some((t) => t.includes(malloryGroup)), `the insider's change rode in alice's digest: ${alice[0]}`);
    const joined = outcomes[1]?.timeline.find((t) => t.step === 'digest.joined')?.result ?? '';
    assert.ok(joined.startsWith(`vouch-digest-${ACCOUNT}-${MALLORY}:`), `the insider's change joined ${joined}`);
    assert.ok(dmTexts(MALLORY).some((t) => t.includes(malloryGroup)), 'the insider is told about their change');
    // Security's channel sees the insider's change on its own, not inside alice's list.
    const channel = stack.slack.messagesIn(NOTIFY_CHANNEL).map((m) => m.text);
    const withMallory = channel.filter((t) => t.includes(malloryGroup));
    assert.equal(withMallory.length, 1);
    assert.ok(!aliceGroups.some((g) => withMallory[0]?.includes(g)), `mallory's change shares a channel message with alice's: ${withMallory[0]}`);
  });

  test('markup in the resource ids of a burst cannot ping, mention or disguise a link in the digest DM or its channel message', async () => {
    const crafted = (n: number): string => `sg-0c${n} <!channel> <https://evil.example/login|aws.amazon.com> <@${ALICE}> & @here`;
    const ids = await ingestAll([1, 2].map((n) =>
      sgRecord({ eventId: `d1a00000-0000-4000-8000-00000000010${n}`, identity: ssoSession('carol@example.com'), eventName: 'AuthorizeSecurityGroupEgress', groupId: crafted(n) }),
    ));
    const outcomes = await Promise.all(ids.map((id) => stack.result(id) as Promise<ReviewOutcome>));
    assert.deepEqual(outcomes.map((o) => o.outcome), ['NOTIFIED', 'NOTIFIED']);
    const dms = dmTexts(CAROL);
    assert.equal(dms.length, 1, JSON.stringify(dms));
    const channel = stack.slack.messagesIn(NOTIFY_CHANNEL).map((m) => m.text).filter((t) => t.includes('sg-0c1'));
    assert.equal(channel.length, 1);
    for (const text of [...dms, ...channel]) {
      assert.match(text, /2 notify-tier changes by carol@example\.com/);
      assert.match(text, /&lt;!channel&gt;/, 'the markup is shown, escaped');
      for (const raw of ['<!channel>', '<https://evil.example', `<@${ALICE}>`, '|aws.amazon.com>']) assert.ok(!text.includes(raw), `${raw} reached Slack in ${text}`);
      assert.ok(!/&(?!amp;|lt;|gt;)/.test(text), `an unescaped & in ${text}`);
      assert.ok(!/@here\b/.test(text), `a bare broadcast word in ${text}`);
    }
  });
});
