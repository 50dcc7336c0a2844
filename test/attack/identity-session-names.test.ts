// Attacks on who is asked: the caller chooses its role session name and its sourceIdentity, so neither may route
// the question to a person. Each record goes through the intake (default policy: a security group opened to the
// world on tcp/443, confirm tier), the review workflow on a Temporal dev server, the production worker and handler,
// and the Slack / Duo / PagerDuty stand-ins. The insider plays along: whenever vouch DMs them, they click "Yes, this
// was me" and approve the Duo push; the harm is their own "yes" closing the review as CONFIRMED.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReviewOutcome } from '../../src/core/types';
import {
  roleSession,
  sgRecord,
  ssoSession,
  startAttackStack,
  until,
  USERS,
  type AttackStack,
} from '../helpers/slack-attack';

const MALLORY = USERS.find((u) => u.name === 'mallory')?.id as string;
const ALICE = USERS.find((u) => u.name === 'alice')?.id as string;

let stack: AttackStack;

before(async () => {
  stack = await startAttackStack();
});

after(async () => {
  await stack?.stop();
});

/**
 * The review of `record`, with `insider` answering "yes" and approving Duo whenever vouch asks them. Returns the
 * outcome and the review's DMs to the insider.
 */
async function playWithInsider(record: Record<string, unknown>, insider: string): Promise<{ outcome: ReviewOutcome; workflowId: string }> {
  const started = await stack.ingest(record);
  assert.equal(started.status, 'started', JSON.stringify(started));
  const workflowId = (started as { workflowId: string }).workflowId;
  let done = false;
  const insiderPlays = (async () => {
    while (!done) {
      const dm = stack.reviewMessages(workflowId).find((m) => stack.slack.conversation(m.channel)?.users[0] === insider);
      if (dm && JSON.stringify(dm.blocks ?? []).includes('vouch_yes')) {
        const push = stack.duo.waitForPush(undefined, 20_000);
        await stack.post(stack.clickPayload(dm, 'vouch_yes'));
        const tx = await push;
        stack.duo.decide(tx.txid, 'allow');
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const outcome = await stack.result(workflowId);
  done = true;
  await insiderPlays.catch(() => undefined);
  return { outcome, workflowId };
}

function dmsTo(userId: string, workflowId: string): number {
  return stack.reviewMessages(workflowId).filter((m) => stack.slack.conversation(m.channel)?.users[0] === userId).length;
}

function pagedFor(workflowId: string): boolean {
  return stack.pagerduty.events.some((e) => e.action === 'trigger' && e.dedupKey === workflowId);
}

describe('who is asked comes from a trusted identity', () => {
  test('an insider who names their session of a shared role after themselves is not asked, and security is paged', async () => {
    const eventId = 'a11ce000-0000-4000-8000-000000000001';
    const { outcome, workflowId } = await playWithInsider(
      sgRecord({ eventId, identity: roleSession('ops-admin', 'mallory@example.com') }),
      MALLORY,
    );
    assert.notEqual(outcome.outcome, 'CONFIRMED', `the insider's own "yes" closed the review: ${outcome.reason}`);
    assert.equal(dmsTo(MALLORY, workflowId), 0, 'the question went to the person the session name claims');
    assert.ok(pagedFor(workflowId), 'security was paged');
    const unknown = outcome.timeline.find((t) => t.step === 'person.unknown');
    assert.match(unknown?.result ?? '', /session name of role ops-admin is chosen by whoever assumes the role/);
  });

  test('a sourceIdentity naming someone does not route the question to them', async () => {
    const eventId = 'a11ce000-0000-4000-8000-000000000002';
    const { outcome, workflowId } = await playWithInsider(
      sgRecord({ eventId, identity: roleSession('ci-deploy', 'run-4711', { sourceIdentity: 'mallory@example.com' }) }),
      MALLORY,
    );
    assert.notEqual(outcome.outcome, 'CONFIRMED', `the claimed identity's "yes" closed the review: ${outcome.reason}`);
    assert.equal(dmsTo(MALLORY, workflowId), 0, 'the question went to the sourceIdentity the caller chose');
    assert.ok(pagedFor(workflowId), 'security was paged');
  });

  test("a role named like Identity Center's outside its reserved path cannot route the question to an accomplice", async () => {
    const eventId = 'a11ce000-0000-4000-8000-000000000003';
    const { outcome, workflowId } = await playWithInsider(
      // Anyone with iam:CreateRole can make this role; only Identity Center makes roles under aws-reserved/sso.amazonaws.com/.
      sgRecord({ eventId, identity: roleSession('AWSReservedSSO_Developer_0123456789abcdef', 'mallory@example.com') }),
      MALLORY,
    );
    assert.notEqual(outcome.outcome, 'CONFIRMED', `the accomplice's "yes" closed the review: ${outcome.reason}`);
    assert.equal(dmsTo(MALLORY, workflowId), 0);
    assert.ok(pagedFor(workflowId), 'security was paged');
  });

  test('the same person through their real IAM Identity Center session is asked (control)', async () => {
    const eventId = 'a11ce000-0000-4000-8000-000000000004';
    const started = await stack.ingest(sgRecord({ eventId, identity: ssoSession('alice@example.com') }));
    const workflowId = (started as { workflowId: string }).workflowId;
    const dm = await until(
      () => stack.reviewMessages(workflowId).find((m) => stack.slack.conversation(m.channel)?.users[0] === ALICE),
      'the DM to alice',
    );
    const push = stack.duo.waitForPush('alice@example.com', 20_000);
    await stack.post(stack.clickPayload(dm, 'vouch_yes'));
    stack.duo.decide((await push).txid, 'allow');
    const outcome = await stack.result(workflowId);
    assert.equal(outcome.outcome, 'CONFIRMED', outcome.reason);
  });
});
