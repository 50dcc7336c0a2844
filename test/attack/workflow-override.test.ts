// Attacks on security's override and on a review's life from outside: whoever can reach the Temporal namespace can send
// an Update naming any security member, cancel a review, or terminate it. Played through the real path (intake, the
// shipped policy, the production worker on a Temporal dev server, the Slack / Duo / PagerDuty stand-ins).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { decisionUpdate, securityDecisionUpdate, TERMINATED_AUDIT_SCHEDULE_ID } from '../../workflows/messages';
import { keepAuditSchedule } from '../../src/cli/worker';
import type { ReviewOutcome } from '../../src/core/types';
import { eventually } from '../helpers/temporal';
import { deleteTrail, iamUser, iamUserArn, openSecurityGroup, startAttackStack, type AttackStack } from '../helpers/workflow-attack-stack';

const ALICE = { id: 'U0ALICE001', email: 'alice@example.com', name: 'alice' };
// Two members of the security group: Sam refuses pushes he did not ask for; Sue approves her own.
const SAM = { id: 'U0SAM00003', email: 'sam@example.com', name: 'sam' };
const SUE = { id: 'U0SUE00004', email: 'sue@example.com', name: 'sue' };
let stack: AttackStack;

before(async () => {
  stack = await startAttackStack({
    people: {
      [iamUserArn('alice')]: { email: ALICE.email, slackUserId: ALICE.id, duoUsername: 'alice', displayName: 'Alice' },
      'sam@example.com': { email: SAM.email, slackUserId: SAM.id, duoUsername: 'sam', displayName: 'Sam' },
      'sue@example.com': { email: SUE.email, slackUserId: SUE.id, duoUsername: 'sue', displayName: 'Sue' },
    },
    slackUsers: [ALICE, SAM, SUE],
    duoUsers: [
      { username: 'alice', status: 'active' },
      { username: 'sam', status: 'active', autoAnswer: { answer: 'deny', afterMs: 200 } },
      { username: 'sue', status: 'active', autoAnswer: { answer: 'allow', afterMs: 200 } },
    ],
    securityResponders: [SAM.id, SUE.id],
  });
});
after(async () => {
  await stack?.stop();
});

function updateError(err: unknown): string {
  assert.ok(err instanceof WorkflowUpdateFailedError, `expected a refused Update, got ${String(err)}`);
  return String((err.cause as Error | undefined)?.message ?? err.message);
}

describe('attack: overrides and ending a review from outside', { timeout: 180_000 }, () => {
  test('an approval typed in a security member\'s name does nothing until that member approves their own Duo push; a refused push pages', async () => {
    const { handle } = await stack.ingest(openSecurityGroup(iamUser('alice')));
    await stack.waitPhase(handle, 'AWAITING_ANSWER');

    // Anyone who can reach the namespace: `vouch security approve <id> --by <Sam's Slack id>`.
    const forged = await handle
      .executeUpdate(securityDecisionUpdate, { args: [{ slackUserId: SAM.id, action: 'approve', note: 'planned' }] })
      .then((r) => r.message, (err: unknown) => updateError(err));
    assert.doesNotMatch(forged, /^Recorded|Confirmed/, `the forged approval was accepted: ${forged}`);
    assert.match(forged, /Sam.*denied the Duo push/);
    const samPush = stack.duo.transactions().find((t) => t.username === 'sam');
    assert.equal(samPush?.pushinfo.purpose, 'security override: approve', "the push went to Sam's own Duo user and said why");
    const status = await stack.waitPhase(handle, 'AWAITING_ANSWER');
    assert.equal(status.outcome, 'PENDING', 'the review goes on');
    const incident = stack.pagerduty.incident(handle.workflowId);
    assert.match(incident?.summary ?? '', /override "approve" in the name of Sam refused in Duo/, 'security is paged about the forgery');

    // The real thing: Sue approves, and confirms with her own push.
    const real = await handle.executeUpdate(securityDecisionUpdate, { args: [{ slackUserId: SUE.id, action: 'approve', note: 'planned' }] });
    assert.match(real.message, /Confirmed with Duo by Sue/);
    const out = await handle.result();
    assert.equal(out.outcome, 'APPROVED');
    assert.match(out.reason, /Sue.*confirmed with Duo/);
  });

  test('an override no code path would act on is refused instead of "Recorded"', async () => {
    const { handle } = await stack.ingest(deleteTrail(iamUser('alice')));
    await stack.waitPhase(handle, 'AWAITING_ANSWER');
    const messageTs = stack.reviewMessage(handle.workflowId)?.ts;
    assert.ok(messageTs);
    // PagerDuty hangs on the next page, so the review sits in its "not me" path (page, then finish DENIED) for a while.
    stack.pagerduty.failNext({ status: 'stall' });
    await handle.executeUpdate(decisionUpdate, { args: [{ slackUserId: ALICE.id, answer: 'no', messageTs }] });
    const said = await handle
      .executeUpdate(securityDecisionUpdate, { args: [{ slackUserId: SUE.id, action: 'approve' }] })
      .then((r) => r.message, (err: unknown) => updateError(err));
    assert.doesNotMatch(said, /^Recorded/, 'the override was "Recorded" and then ignored');
    assert.match(said, /not waiting on anyone right now/);
    assert.equal(stack.duo.transactions().filter((t) => t.username === 'sue').length, 1, 'no push for a refused override');
    const out: ReviewOutcome = await handle.result();
    assert.equal(out.outcome, 'DENIED');
  });

  test('cancelling a review through Temporal pages security and ends CANCELLED', async () => {
    const { handle } = await stack.ingest(openSecurityGroup(iamUser('alice'), 'sg-0attack000000003', 'sgr-0attack00000003'));
    await stack.waitPhase(handle, 'AWAITING_ANSWER');
    await handle.cancel();
    const out: ReviewOutcome = await handle.result();
    assert.equal(out.outcome, 'CANCELLED');
    assert.match(out.reason, /cancelled through Temporal/);
    const incident = stack.pagerduty.incident(handle.workflowId);
    assert.equal(incident?.status, 'triggered');
    assert.match(incident?.summary ?? '', /CANCELLED through Temporal/);
  });

  test('terminating a review is found by the scheduled audit and paged once', async () => {
    const { handle } = await stack.ingest(openSecurityGroup(iamUser('alice'), 'sg-0attack000000004', 'sgr-0attack00000004'));
    await stack.waitPhase(handle, 'AWAITING_ANSWER');
    const { runId } = await handle.describe();
    await handle.terminate('nothing to see here');

    // The schedule every worker keeps; run it now, twice.
    await keepAuditSchedule(stack.config);
    const schedule = stack.client.schedule.getHandle(TERMINATED_AUDIT_SCHEDULE_ID);
    const runAudit = async (n: number): Promise<void> => {
      await schedule.trigger();
      const action = await eventually(async () => (await schedule.describe()).info.recentActions[n - 1], 20_000, `audit run ${n}`);
      await stack.client.workflow.getHandle(action.action.workflow.workflowId, action.action.workflow.firstExecutionRunId).result();
    };
    const pages = (): number => stack.pagerduty.events.filter((e) => e.dedupKey === `vouch-terminated-${runId}`).length;
    await runAudit(1);
    await eventually(() => pages() > 0, 20_000, 'the page about the terminated review').catch(() => undefined);
    assert.equal(pages(), 1, 'the terminated review was not paged');
    const incident = stack.pagerduty.incident(`vouch-terminated-${runId}`);
    assert.match(incident?.summary ?? '', /TERMINATED through Temporal/);
    assert.equal(incident?.severity, 'critical');
    await runAudit(2);
    assert.equal(pages(), 1, 'paged once, not on every run');
  });
});
