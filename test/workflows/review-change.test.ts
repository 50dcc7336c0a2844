// The review workflow on a real Temporal dev server (official CLI), with fake activities.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startReviewStack, type ReviewStack, eventually } from '../helpers/temporal';
import { FakeVendors } from '../helpers/fake-vendors';
import { reviewInput } from '../helpers/review-input';
import { startReview, temporalStarter } from '../../src/intake/starter';
import { IntakePipeline } from '../../src/intake/pipeline';
import { fixedJudge } from '../../src/intake/judges';
import { FolderDeadLetterStore } from '../../src/intake/dead-letter';
import { loadIntakeConfig, reviewSettings } from '../../src/cli/intake-settings';
import { decisionUpdate, duoRetryUpdate, securityDecisionUpdate, statusQuery } from '../../workflows/messages';
import type { ReviewInput, Tier, Verdict, ReviewStatus } from '../../src/core/types';

const ACCOUNT = '111122223333';
const SECURITY = 'U-SEC1';
let env: TestWorkflowEnvironment;
let client: Client;
let stack: ReviewStack;
const fake = new FakeVendors();
const taskQueue = `review-test-${randomUUID()}`;

function input(
  key: string,
  tier: Verdict['tier'],
  opts: { deadlineSeconds?: number; plan?: boolean; actorType?: 'Root' | 'AssumedRole'; revertOnTimeout?: boolean } = {},
): Omit<ReviewInput, 'reviewUrl'> {
  return reviewInput(key, {
    tier,
    account: ACCOUNT,
    ...(opts.actorType ? { actorType: opts.actorType } : {}),
    plan: opts.plan ?? false,
    verdict: {
      ...(opts.deadlineSeconds !== undefined ? { deadlineSeconds: opts.deadlineSeconds } : {}),
      ...(opts.revertOnTimeout ? { revertOnTimeout: true } : {}),
    },
    securityResponders: [SECURITY],
    notifyChannel: 'C-SECURITY',
  });
}

async function start(key: string, tier: Tier & Verdict['tier'], opts: Parameters<typeof input>[2] = {}) {
  const r = await startReview(client, input(key, tier, opts), { taskQueue, uiBaseUrl: 'http://127.0.0.1:8233' });
  return r.handle;
}

async function waitPhase(handle: Awaited<ReturnType<typeof start>>, phase: ReviewStatus['phase']): Promise<ReviewStatus> {
  return eventually(async () => {
    const s = await handle.query(statusQuery);
    // Asking means the DM is out: clicks name its ts, and the review knows it only once it is posted.
    const posted = phase !== 'AWAITING_ANSWER' || s.timeline.some((t) => t.step === 'slack.posted');
    return s.phase === phase && posted ? s : undefined;
  }, 15_000, `phase ${phase}`);
}

/** Waits until the review's `n`-th Duo push has failed (phase DUO_FAILED with n pushes sent). */
async function waitFailedPush(handle: Awaited<ReturnType<typeof start>>, n: number): Promise<ReviewStatus> {
  return eventually(async () => {
    const s = await handle.query(statusQuery);
    return s.phase === 'DUO_FAILED' && s.duoPushes === n ? s : undefined;
  }, 15_000, `Duo push ${n} to fail`);
}

function key(): string {
  return randomUUID().slice(0, 8);
}

before(async () => {
  stack = await startReviewStack(fake.activities(), taskQueue);
  env = stack.env;
  client = env.client;
});

after(async () => {
  await stack?.stop();
});

describe('review workflow on a real Temporal server', () => {
  test('confirmed: "yes" and Duo allow end CONFIRMED with the Slack message in its final state', async () => {
    const k = key();
    const h = await start(k, 'confirm');
    await waitPhase(h, 'AWAITING_ANSWER');
    const res = await h.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'yes', messageTs: `${k}.0001` }] });
    assert.match(res.message, /Duo/);
    const out = await h.result();
    assert.equal(out.outcome, 'CONFIRMED');
    assert.equal(fake.callsFor(k, 'sendDuoPush').length, 1);
    assert.equal(fake.callsFor(k, 'triggerIncident').length, 0, 'no page for a confirmed change');
    assert.equal(fake.callsFor(k, 'acceptTrustedChange').length, 1, 'the confirmed change becomes the trusted state');
    const updates = fake.callsFor(k, 'updateReviewMessage').map((c) => (c.args as { state: { kind: string; outcome?: string } }).state);
    assert.deepEqual(updates.at(-1), { kind: 'final', outcome: 'CONFIRMED', reason: `eng-${k} confirmed with Duo` });
    const push = fake.callsFor(k, 'sendDuoPush')[0]?.args as { duoUsername: string };
    assert.equal(push.duoUsername, `eng-${k}@example.com`, 'Duo push goes to the same person');
  });

  test('"not me" pages security and reverts the change', async () => {
    const k = key();
    const h = await start(k, 'confirm', { plan: true });
    await waitPhase(h, 'AWAITING_ANSWER');
    await h.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'no', messageTs: `${k}.0001` }] });
    const out = await h.result();
    assert.equal(out.outcome, 'DENIED');
    assert.match(out.reason, /not theirs; change reverted/);
    const pages = fake.callsFor(k, 'triggerIncident').map((c) => c.args as { severity: string; dedupKey: string });
    assert.ok(pages.length >= 1);
    assert.equal(pages[0]?.severity, 'critical');
    assert.equal(pages[0]?.dedupKey, h.workflowId, 'dedup key is the workflow id');
    assert.equal(fake.callsFor(k, 'revertChange').length, 1);
    assert.equal(fake.callsFor(k, 'sendDuoPush').length, 0);
    assert.equal(fake.callsFor(k, 'resolveIncident').length, 0, 'a "not me" stays open: a person must look');
    assert.equal(fake.callsFor(k, 'acceptTrustedChange').length, 0, 'a denied change is not trusted');
  });

  test('a dry-run review rehearses its revert instead of making it', async () => {
    const k = key();
    const h = await startReview(client, { ...input(k, 'revert', { plan: true }), dryRun: true }, { taskQueue, uiBaseUrl: 'http://ui' });
    await h.handle.result();
    const call = fake.callsFor(k, 'revertChange')[0]?.args as { dryRun?: boolean };
    assert.equal(call.dryRun, true);
  });

  test('Duo deny pages security', async () => {
    const k = key();
    fake.script(k, { duo: ['deny'] });
    const h = await start(k, 'confirm');
    await waitPhase(h, 'AWAITING_ANSWER');
    await h.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'yes', messageTs: `${k}.0001` }] });
    const out = await h.result();
    assert.equal(out.outcome, 'DENIED');
    assert.match(out.reason, /denied the Duo push/);
    assert.equal(fake.callsFor(k, 'triggerIncident')[0] && (fake.callsFor(k, 'triggerIncident')[0]?.args as { severity: string }).severity, 'critical');
  });

  test('Duo fraud is a denial and pages security', async () => {
    const k = key();
    fake.script(k, { duo: ['fraud'] });
    const h = await start(k, 'confirm');
    await waitPhase(h, 'AWAITING_ANSWER');
    await h.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'yes', messageTs: `${k}.0001` }] });
    const out = await h.result();
    assert.equal(out.outcome, 'DENIED');
    assert.match(out.reason, /fraud/);
    assert.equal(fake.callsFor(k, 'triggerIncident').length, 1);
  });

  test('an expired Duo push can be retried from Slack, at most the configured number of times', async () => {
    const k = key();
    fake.script(k, { duo: ['timeout', 'allow'] });
    const h = await start(k, 'confirm');
    await waitPhase(h, 'AWAITING_ANSWER');
    await h.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'yes', messageTs: `${k}.0001` }] });
    await waitPhase(h, 'DUO_FAILED');
    // The phase changes before the message is re-rendered: wait for the activity, not just the phase.
    const failedMsg = await eventually(() => {
      const kinds = fake.callsFor(k, 'updateReviewMessage').map((c) => (c.args as { state: { kind: string } }).state.kind);
      return kinds.includes('duo-failed') ? kinds : undefined;
    }, 10_000, 'the duo-failed message');
    assert.ok(failedMsg.includes('duo-failed'));
    await assert.rejects(
      h.executeUpdate(duoRetryUpdate, { args: [{ slackUserId: 'U-someone-else', messageTs: `${k}.0001`, duoAttempt: 1 }] }),
      WorkflowUpdateFailedError,
    );
    await h.executeUpdate(duoRetryUpdate, { args: [{ slackUserId: `U-${k}`, messageTs: `${k}.0001`, duoAttempt: 1 }] });
    const out = await h.result();
    assert.equal(out.outcome, 'CONFIRMED');
    assert.equal(fake.callsFor(k, 'sendDuoPush').length, 2);
  });

  test('at most 3 Duo pushes per review: expired and failed pushes page nobody, and a fourth push is refused', async () => {
    const k = key();
    fake.script(k, { duo: ['timeout', 'failed', 'timeout'] });
    const h = await start(k, 'confirm', { deadlineSeconds: 600 });
    await waitPhase(h, 'AWAITING_ANSWER');
    await h.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'yes', messageTs: `${k}.0001` }] });
    for (let n = 1; n <= 3; n++) {
      const s = await waitFailedPush(h, n);
      assert.equal(s.outcome, 'PENDING', `push ${n} did not end the review`);
      if (n < 3) await h.executeUpdate(duoRetryUpdate, { args: [{ slackUserId: `U-${k}`, messageTs: `${k}.0001`, duoAttempt: n }] });
    }
    await assert.rejects(
      h.executeUpdate(duoRetryUpdate, { args: [{ slackUserId: `U-${k}`, messageTs: `${k}.0001`, duoAttempt: 3 }] }),
      (err: unknown) => err instanceof WorkflowUpdateFailedError && /No more Duo pushes: the limit is 3 per review/.test(String((err as Error).cause)),
    );
    assert.equal(fake.callsFor(k, 'sendDuoPush').length, 3);
    assert.equal(fake.callsFor(k, 'triggerIncident').length, 0, 'an expired or failed push is not a denial: nobody is paged');
    await h.executeUpdate(securityDecisionUpdate, { args: [{ slackUserId: SECURITY, action: 'approve', note: 'checked by phone' }] });
    const out = await h.result();
    assert.equal(out.outcome, 'APPROVED');
    assert.deepEqual(
      out.timeline.filter((t) => t.step === 'duo.pushed').map((t) => t.result),
      [1, 2, 3].map((n) => `push ${n} of 3 to eng-${k}@example.com`),
    );
    assert.deepEqual(
      out.timeline.filter((t) => t.step === 'duo.answered').map((t) => t.result),
      ['timeout (timeout)', 'failed (failed)', 'timeout (timeout)'],
    );
  });

  test('VOUCH_MAX_DUO_PUSHES lowers the limit, from the environment through intake to the review', async () => {
    const k = key();
    fake.script(k, { duo: ['timeout', 'allow'] });
    const config = loadIntakeConfig({ VOUCH_MAX_DUO_PUSHES: '1', VOUCH_SECURITY_SLACK_USERS: SECURITY });
    const pipeline = new IntakePipeline({
      judge: fixedJudge({ tier: 'confirm', score: 60, deadlineSeconds: 600 }),
      starter: temporalStarter(client, { taskQueue, uiBaseUrl: 'http://127.0.0.1:8233' }),
      deadLetters: new FolderDeadLetterStore(fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-duo-limit-'))),
      review: reviewSettings(config),
    });
    const record = {
      eventVersion: '1.08',
      eventID: `evt-${k}`,
      eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource: 'ec2.amazonaws.com',
      eventName: 'AuthorizeSecurityGroupIngress',
      awsRegion: 'eu-west-1',
      recipientAccountId: ACCOUNT,
      userIdentity: { type: 'IAMUser', principalId: 'AIDAEXAMPLE', arn: `arn:aws:iam::${ACCOUNT}:user/eng-${k}`, accountId: ACCOUNT, userName: `eng-${k}` },
      requestParameters: { groupId: 'sg-123', ipPermissions: { items: [{ ipProtocol: 'tcp', fromPort: 443, toPort: 443, ipRanges: { items: [{ cidrIp: '0.0.0.0/0' }] } }] } },
      responseElements: null,
    };
    const res = await pipeline.process({ kind: 'review', source: 'test', index: 0, record });
    assert.equal(res.status, 'started', JSON.stringify(res));
    const h = client.workflow.getHandle(res.status === 'started' ? res.workflowId : '');
    await waitPhase(h as Awaited<ReturnType<typeof start>>, 'AWAITING_ANSWER');
    await h.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'yes', messageTs: `${k}.0001` }] });
    await waitFailedPush(h as Awaited<ReturnType<typeof start>>, 1);
    await assert.rejects(
      h.executeUpdate(duoRetryUpdate, { args: [{ slackUserId: `U-${k}`, messageTs: `${k}.0001`, duoAttempt: 1 }] }),
      (err: unknown) => err instanceof WorkflowUpdateFailedError && /No more Duo pushes: the limit is 1 per review/.test(String((err as Error).cause)),
    );
    assert.equal(fake.callsFor(k, 'sendDuoPush').length, 1);
    await h.executeUpdate(securityDecisionUpdate, { args: [{ slackUserId: SECURITY, action: 'escalate' }] });
    assert.equal((await h.result()).outcome, 'ESCALATED');
  });

  test('no answer by the deadline times out and pages, after a reminder at half time', async () => {
    const k = key();
    const h = await start(k, 'confirm', { deadlineSeconds: 4 });
    const out = await h.result();
    assert.equal(out.outcome, 'TIMED_OUT');
    const reminders = fake.callsFor(k, 'sendReminder');
    assert.equal(reminders.length, 1, 'one reminder');
    const page = fake.callsFor(k, 'triggerIncident')[0]?.args as { severity: string; summary: string };
    assert.equal(page.severity, 'error');
    assert.match(page.summary, /No answer from eng-/);
    const steps = out.timeline.map((t) => t.step);
    assert.ok(steps.indexOf('slack.reminded') < steps.indexOf('pagerduty.triggered'), 'reminder before the page');
    assert.equal(fake.callsFor(k, 'resolveIncident').length, 0, 'a TIMED_OUT incident stays open');
    assert.equal(fake.callsFor(k, 'acceptTrustedChange').length, 0);
  });

  test('notify tier tells the engineer and the security channel, asks nothing, and ends NOTIFIED', async () => {
    const k = key();
    const h = await start(k, 'notify');
    const out = await h.result();
    assert.equal(out.outcome, 'NOTIFIED');
    assert.equal(fake.callsFor(k, 'notifyPerson').length, 1);
    assert.equal((fake.callsFor(k, 'notifyChannel')[0]?.args as { channel: string }).channel, 'C-SECURITY');
    assert.equal(fake.callsFor(k, 'postReviewMessage').length, 0);
    assert.equal(fake.callsFor(k, 'triggerIncident').length, 0);
  });

  test('a notify-tier DM Slack refuses ends NOTIFIED saying the engineer could not be told, not that they were', async () => {
    const k = key();
    fake.script(k, { notify: 'fails' });
    const out = await (await start(k, 'notify')).result();
    assert.equal(out.outcome, 'NOTIFIED');
    assert.equal(fake.callsFor(k, 'notifyPerson').length, 1);
    assert.match(out.reason, /^could not tell eng-.*: .*user_disabled/);
    assert.ok(out.timeline.some((t) => t.step === 'slack.failed'), JSON.stringify(out.timeline));
    assert.ok(!out.timeline.some((t) => t.step === 'slack.notified'));
  });

  test('a timed-out change whose verdict says so is reverted to its trusted state', async () => {
    const k = key();
    const h = await start(k, 'confirm', { deadlineSeconds: 2, plan: true, revertOnTimeout: true });
    const out = await h.result();
    assert.equal(out.outcome, 'TIMED_OUT');
    assert.match(out.reason, /change reverted/);
    assert.equal(fake.callsFor(k, 'revertChange').length, 1);
  });

  test('page tier pages at once, still asks, and adds the confirmation to the incident, which stays with security', async () => {
    const k = key();
    const h = await start(k, 'page');
    await waitPhase(h, 'AWAITING_ANSWER');
    assert.equal(fake.callsFor(k, 'triggerIncident').length, 1, 'paged before any answer');
    assert.equal(fake.callsFor(k, 'postReviewMessage').length, 1, 'engineer still asked');
    await h.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'yes', messageTs: `${k}.0001` }] });
    const out = await h.result();
    assert.equal(out.outcome, 'CONFIRMED');
    const second = fake.callsFor(k, 'triggerIncident')[1]?.args as { details: { engineerAnswer: string; engineerConfirmed?: boolean } };
    assert.equal(second.details.engineerAnswer, 'yes', 'the answer is added to the incident');
    assert.equal(second.details.engineerConfirmed, true);
    assert.equal(fake.callsFor(k, 'resolveIncident').length, 0, 'only security closes a page-tier incident');
    assert.equal(fake.callsFor(k, 'acceptTrustedChange').length, 0, 'the baseline waits for security');
    assert.match(out.reason, /stays open for security/);
  });

  test('revert tier reverts at once, tells the engineer and pages low urgency', async () => {
    const k = key();
    const h = await start(k, 'revert', { plan: true });
    const out = await h.result();
    assert.equal(out.outcome, 'REVERTED');
    const reverts = fake.callsFor(k, 'revertChange').map((c) => c.args);
    assert.deepEqual(reverts, [
      {
        plan: { service: 'ec2', operation: 'RevokeSecurityGroupIngress', input: { GroupId: 'sg-123', SecurityGroupRuleIds: ['sgr-1'] }, description: 'revoke sgr-1 from sg-123' },
        account: ACCOUNT,
        region: 'eu-west-1',
        eventId: `evt-${k}`,
      },
    ]);
    // The timeline keeps what the revert read before and after (the fake AWS answered: the rule, then nothing).
    assert.deepEqual(
      out.timeline.filter((t) => t.step.startsWith('revert.')).map((t) => [t.step, t.result]),
      [
        ['revert.done', 'revert tier: revoked sgr-1'],
        ['revert.verified', 'before: ["sgr-1 in tcp/22 0.0.0.0/0"] after: []'],
      ],
    );
    const told = fake.callsFor(k, 'notifyPerson').map((c) => (c.args as { slackUserId: string; text: string }));
    assert.equal(told.length, 1);
    assert.equal(told[0]?.slackUserId, `U-${k}`);
    assert.match(told[0]?.text ?? '', /^vouch reverted your change AuthorizeSecurityGroupIngress in 111122223333\/eu-west-1: sg-123 opened/);
    const pages = fake.callsFor(k, 'triggerIncident').map((c) => c.args as { severity: string; summary: string });
    assert.deepEqual(pages.map((p) => [p.severity, p.summary]), [['info', 'vouch reverted: sg-123 opened to 0.0.0.0/0 on tcp/22 (111122223333/eu-west-1)']]);
    assert.equal(fake.callsFor(k, 'postReviewMessage').length, 0, 'nothing to answer');
    assert.equal(fake.callsFor(k, 'connectOnCall').length, 0, 'an info page connects nobody');
  });

  test('a revert that fails after its retries pages at high urgency', async () => {
    const k = key();
    fake.script(k, { revert: 'forbidden' });
    const h = await start(k, 'revert', { plan: true });
    const out = await h.result();
    assert.equal(out.outcome, 'REVERT_FAILED');
    const page = fake.callsFor(k, 'triggerIncident')[0]?.args as { severity: string; summary: string };
    assert.equal(page.severity, 'critical');
    assert.match(page.summary, /REVERT FAILED/);
  });

  test('unknown actor is paged at once: there is nobody to ask', async () => {
    const k = key();
    fake.script(k, { person: 'unknown' });
    const h = await start(k, 'confirm');
    const out = await h.result();
    assert.equal(out.outcome, 'ESCALATED');
    assert.equal(fake.callsFor(k, 'postReviewMessage').length, 0);
    assert.equal((fake.callsFor(k, 'triggerIncident')[0]?.args as { severity: string }).severity, 'critical');
    assert.equal(fake.callsFor(k, 'resolveIncident').length, 0, 'an ESCALATED incident stays open');
  });

  test('a root-user action is paged at once', async () => {
    const k = key();
    const h = await start(k, 'confirm', { actorType: 'Root' });
    const out = await h.result();
    assert.equal(out.outcome, 'ESCALATED');
    assert.match(out.reason, /root/);
    assert.equal(fake.callsFor(k, 'resolvePerson').length, 0);
    assert.equal(fake.callsFor(k, 'triggerIncident').length, 1);
    assert.equal(fake.callsFor(k, 'resolveIncident').length, 0, 'an ESCALATED incident stays open');
  });

  test('security can override at any time; others cannot', async () => {
    const k = key();
    const h = await start(k, 'page');
    await waitPhase(h, 'AWAITING_ANSWER');
    await assert.rejects(
      h.executeUpdate(securityDecisionUpdate, { args: [{ slackUserId: `U-${k}`, action: 'approve' }] }),
      (err: unknown) => err instanceof WorkflowUpdateFailedError && /security group/.test(String((err as Error).cause)),
    );
    const res = await h.executeUpdate(securityDecisionUpdate, { args: [{ slackUserId: SECURITY, action: 'approve', note: 'planned change' }] });
    assert.match(res.message, /Confirmed with Duo by sec1/);
    const out = await h.result();
    assert.equal(out.outcome, 'APPROVED');
    assert.match(out.reason, /planned change/);
    assert.match(out.reason, /confirmed with Duo/);
    const push = fake.callsFor(k, 'sendDuoPush')[0]?.args as { duoUsername: string; purpose?: string };
    assert.equal(push.duoUsername, 'sec1@example.com', "the push goes to the security member's own Duo user");
    assert.equal(push.purpose, 'security override: approve');
    assert.equal(fake.callsFor(k, 'resolveIncident').length, 1, 'the open incident is resolved');
    assert.ok(out.timeline.some((t) => t.step === 'security.decided'), 'the override is recorded');
    // Approve makes the change the trusted state; nothing is reverted.
    const trusted = fake.callsFor(k, 'acceptTrustedChange').map((c) => (c.args as { change: { eventId: string } }).change.eventId);
    assert.deepEqual(trusted, [`evt-${k}`]);
    assert.equal(fake.callsFor(k, 'revertChange').length, 0);
  });

  test('security "escalate" pages critical naming who escalated, and the incident stays open', async () => {
    const k = key();
    const h = await start(k, 'confirm', { plan: true });
    await waitPhase(h, 'AWAITING_ANSWER');
    await h.executeUpdate(securityDecisionUpdate, { args: [{ slackUserId: SECURITY, action: 'escalate', note: 'looks like the red team' }] });
    const out = await h.result();
    assert.equal(out.outcome, 'ESCALATED');
    assert.equal(out.reason, `escalated by security (sec1, <@${SECURITY}>, confirmed with Duo): looks like the red team`);
    assert.equal(fake.callsFor(k, 'sendDuoPush').length, 1, "the only push is the member's own, confirming the override");
    const pages = fake.callsFor(k, 'triggerIncident').map((c) => c.args as { severity: string; summary: string; dedupKey: string; details: Record<string, unknown> });
    assert.equal(pages.length, 1);
    assert.equal(pages[0]?.severity, 'critical');
    assert.equal(pages[0]?.summary, 'Escalated by security: sg-123 opened to 0.0.0.0/0 on tcp/22 (111122223333/eu-west-1)');
    assert.equal(pages[0]?.dedupKey, h.workflowId);
    assert.equal(pages[0]?.details.escalatedBy, SECURITY);
    assert.equal(pages[0]?.details.note, 'looks like the red team');
    assert.equal(fake.callsFor(k, 'resolveIncident').length, 0, 'an escalated incident stays open');
    assert.equal(fake.callsFor(k, 'revertChange').length, 0, 'escalating is not reverting');
    assert.equal(fake.callsFor(k, 'acceptTrustedChange').length, 0, 'nor trusting');
  });

  test('security "revert now" reverts and resolves the incident', async () => {
    const k = key();
    const h = await start(k, 'page', { plan: true });
    await waitPhase(h, 'AWAITING_ANSWER');
    await h.executeUpdate(securityDecisionUpdate, { args: [{ slackUserId: SECURITY, action: 'revert' }] });
    const out = await h.result();
    assert.equal(out.outcome, 'REVERTED');
    assert.equal(out.reason, `revert ordered by security (sec1, <@${SECURITY}>, confirmed with Duo)`);
    assert.deepEqual(out.timeline.filter((t) => t.step === 'security.decided').map((t) => t.result), [`revert by sec1 (<@${SECURITY}>), confirmed with Duo`]);
    assert.equal(fake.callsFor(k, 'sendDuoPush').length, 1, "the only push is the member's own, confirming the override");
    assert.equal(fake.callsFor(k, 'revertChange').length, 1);
    assert.deepEqual(fake.callsFor(k, 'resolveIncident').map((c) => c.args), [{ dedupKey: h.workflowId, note: 'reverted: revoke sgr-1 from sg-123' }]);
    assert.equal(fake.callsFor(k, 'acceptTrustedChange').length, 0, 'a reverted change is not trusted');
  });

  test('a click by another user is refused with a reason, and the review goes on', async () => {
    const k = key();
    const h = await start(k, 'confirm');
    await waitPhase(h, 'AWAITING_ANSWER');
    await assert.rejects(
      h.executeUpdate(decisionUpdate, { args: [{ slackUserId: 'U-mallory', answer: 'yes', messageTs: `${k}.0001` }] }),
      (err: unknown) => err instanceof WorkflowUpdateFailedError && /Only <@U-.*can answer/.test(String((err as Error).cause)),
    );
    const s = await h.query(statusQuery);
    assert.equal(s.phase, 'AWAITING_ANSWER');
    await h.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'yes', messageTs: `${k}.0001` }] });
    // A second decision is refused too.
    await assert.rejects(
      h.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'no', messageTs: `${k}.0001` }] }),
      WorkflowUpdateFailedError,
    );
    assert.equal((await h.result()).outcome, 'CONFIRMED');
  });

  test('a click after the deadline is refused', async () => {
    const k = key();
    let release!: () => void;
    fake.script(k, { holdIncident: new Promise<void>((r) => (release = r)) });
    const h = await start(k, 'confirm', { deadlineSeconds: 2 });
    // The deadline fires; the timeout page is held open so the workflow is still running.
    await eventually(() => fake.callsFor(k, 'triggerIncident').length > 0, 15_000, 'timeout page');
    await assert.rejects(
      h.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'yes', messageTs: `${k}.0001` }] }),
      (err: unknown) => err instanceof WorkflowUpdateFailedError && /deadline passed/.test(String((err as Error).cause)),
    );
    release();
    assert.equal((await h.result()).outcome, 'TIMED_OUT');
  });

  test('the same event twice makes one review', async () => {
    const k = key();
    const first = await startReview(client, input(k, 'confirm'), { taskQueue, uiBaseUrl: 'http://ui' });
    const second = await startReview(client, input(k, 'confirm'), { taskQueue, uiBaseUrl: 'http://ui' });
    assert.equal(first.status, 'started');
    assert.equal(second.status, 'existing');
    assert.equal(second.workflowId, first.workflowId);
    const desc = await second.handle.describe();
    assert.equal(desc.runId, first.runId);
    await waitPhase(first.handle, 'AWAITING_ANSWER');
    await first.handle.executeUpdate(securityDecisionUpdate, { args: [{ slackUserId: SECURITY, action: 'approve' }] });
    await first.handle.result();
    const third = await startReview(client, input(k, 'confirm'), { taskQueue, uiBaseUrl: 'http://ui' });
    assert.equal(third.status, 'existing', 'a finished review is not started again');
    assert.equal(fake.callsFor(k, 'resolvePerson').length, 1, 'one review ran');
  });

  test('the same event started ten times at once makes one run: one started, nine existing', async () => {
    const k = key();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => startReview(client, input(k, 'confirm'), { taskQueue, uiBaseUrl: 'http://ui' })),
    );
    assert.deepEqual(
      results.map((r) => r.status).sort(),
      ['existing', 'existing', 'existing', 'existing', 'existing', 'existing', 'existing', 'existing', 'existing', 'started'],
    );
    const id = results[0]?.workflowId ?? '';
    assert.ok(results.every((r) => r.workflowId === id));
    const runs: string[] = [];
    for await (const wf of client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(wf.runId);
    assert.equal(runs.length, 1, 'one execution of the review');
    const started = results.find((r) => r.status === 'started');
    assert.equal(runs[0], started?.runId);
    await waitPhase(started?.handle as Awaited<ReturnType<typeof start>>, 'AWAITING_ANSWER');
    assert.equal(fake.callsFor(k, 'resolvePerson').length, 1, 'one review ran');
    assert.equal(fake.callsFor(k, 'postReviewMessage').length, 1, 'one DM');
    await started?.handle.executeUpdate(securityDecisionUpdate, { args: [{ slackUserId: SECURITY, action: 'approve' }] });
    await started?.handle.result();
  });

  test('search attributes and memo are readable through the list API', async () => {
    const k = key();
    const h = await start(k, 'confirm');
    await waitPhase(h, 'AWAITING_ANSWER');
    await h.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'yes', messageTs: `${k}.0001` }] });
    await h.result();
    const query = `VouchOutcome="CONFIRMED" AND VouchActor="eng-${k}" AND VouchAccount="${ACCOUNT}" AND VouchTier="confirm"`;
    const found = await eventually(async () => {
      for await (const wf of client.workflow.list({ query })) return wf;
      return undefined;
    }, 20_000, 'visibility');
    assert.equal(found.workflowId, h.workflowId);
    const sa = found.typedSearchAttributes;
    assert.deepEqual(sa.get({ name: 'VouchRules', type: 'KEYWORD_LIST' }), ['sg-open-world', 'admin-port']);
    assert.equal(sa.get({ name: 'VouchScore', type: 'INT' }), 60);
    assert.equal(sa.get({ name: 'VouchEventName', type: 'KEYWORD' }), 'AuthorizeSecurityGroupIngress');
    const memo = await found.memo;
    assert.equal(memo?.summary, `eng-${k}: sg-123 opened to 0.0.0.0/0 on tcp/22 in 111122223333/eu-west-1`);
    assert.match(String(memo?.outcome), /^CONFIRMED/);
  });

  test('the Web UI reads a summary and details, current details that follow the review, and activity summaries', async () => {
    const k = key();
    const h = await start(k, 'confirm', { plan: true });
    const desc = await h.describe();
    assert.equal(await desc.staticSummary(), `eng-${k}: sg-123 opened to 0.0.0.0/0 on tcp/22 in 111122223333/eu-west-1`);
    const details = (await desc.staticDetails()) ?? '';
    assert.match(details, /^\*\*Tier:\*\* confirm \(score 60\)\. The engineer has 1 min from the Slack message/m);
    assert.match(details, /^\*\*Rules:\*\* sg-open-world, admin-port$/m);
    assert.match(details, /^- security group sg-123 opened to 0\.0\.0\.0\/0 on port 22$/m);
    assert.match(details, /^\*\*Revert plan:\*\* revoke sgr-1 from sg-123 \(ec2:RevokeSecurityGroupIngress\)$/m);

    const current = async (): Promise<string> => (await h.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';
    const asking = await waitPhase(h, 'AWAITING_ANSWER');
    assert.equal((await current()).split('\n')[0], `**Waiting for eng-${k}** to answer in Slack, until ${asking.deadline}`);
    assert.match(await current(), new RegExp(`slack\\.posted: DM to eng-${k}$`, 'm'), 'the latest steps follow');
    fake.script(k, { duo: ['deny'] });
    await h.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'yes', messageTs: `${k}.0001` }] });
    const out = await h.result();
    assert.equal(out.outcome, 'DENIED');
    const done = await current();
    assert.equal(done.split('\n')[0], `**DENIED**: ${out.reason}`);
    assert.match(done, /^Security has been paged: the PagerDuty incident is open\.$/m);

    const summaries: string[] = [];
    const timers: string[] = [];
    for (const e of (await h.fetchHistory()).events ?? []) {
      const data = e.userMetadata?.summary?.data;
      const text = data ? (JSON.parse(Buffer.from(data).toString('utf8')) as string) : undefined;
      if (text && e.activityTaskScheduledEventAttributes) summaries.push(text);
      if (text && e.timerStartedEventAttributes) timers.push(text);
    }
    assert.deepEqual(timers.sort(), [
      `Deadline for eng-${k}'s Duo answer`,
      `Deadline for eng-${k}'s answer`,
      `Remind eng-${k} at half the deadline`,
    ]);
    assert.deepEqual(summaries, [
      `Find the person behind eng-${k}`,
      `DM eng-${k} about sg-123 opened to 0.0.0.0/0 on tcp/22`,
      `Update the DM to eng-${k} (duo-pending)`,
      `Check that Duo can ask eng-${k} with a push`,
      `Duo push 1 of 3 to eng-${k}`,
      `Wait for eng-${k}'s Duo answer`,
      `Page security (critical): eng-${k} denied the Duo push: sg-123 opened to 0.0.0.0/0 on tcp/22 (111122223333/eu-west-1)`,
      `Connect security's on-call with eng-${k}: sg-123 opened to 0.0.0.0/0 on tcp/22`,
      'Revert: revoke sgr-1 from sg-123',
      `Page security (critical): Reverted after denial: sg-123 opened to 0.0.0.0/0 on tcp/22 (111122223333/eu-west-1)`,
      `Update the DM to eng-${k} (final: DENIED)`,
    ]);
  });
});
