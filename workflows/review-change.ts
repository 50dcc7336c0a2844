// The review of one risky AWS change. Deterministic: no I/O, no config, no clock but Temporal's.
//
//   confirm: Slack DM with buttons → on "yes" a Duo push → CONFIRMED; "no" / Duo deny / fraud → DENIED → page (+ revert
//            when the verdict carries a plan); no decision by the deadline → TIMED_OUT → page. Reminder at half time.
//   page:    PagerDuty at once; the engineer is still asked and the answer is added to the incident.
//   revert:  revert at once, verified; engineer told in Slack, security in PagerDuty (low urgency); failure → high.
//   Unknown actor or root → page at once (nobody to ask). Security may approve / revert / escalate at any time.
import {
  CancellationScope,
  condition,
  isCancellation,
  patched,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';
import { decisionUpdate, duoRetryUpdate, securityDecisionUpdate, statusQuery } from './messages';
import { reviewSearchAttributes, VouchOutcome } from './search-attributes';
import { aws, baseline, duo, duoWait, failureMessage, failureType, oncall, pagerduty, slack, titled } from './review-activities';
import { reviewProgress, type ReviewStage } from '../src/core/review-summary';
import {
  FailureTypes,
  type DuoStatus,
  type EngineerAnswer,
  type MessageState,
  type Outcome,
  type Person,
  type Phase,
  type ReviewInput,
  type ReviewOutcome,
  type ReviewStatus,
  type SecurityDecisionRequest,
  type Severity,
  type SlackMessageRef,
  type TimelineEntry,
} from '../src/core/types';

export async function reviewChangeWorkflow(input: ReviewInput): Promise<ReviewOutcome> {
  const { change, verdict } = input;
  const reviewId = workflowInfo().workflowId;
  const maxPushes = input.maxDuoPushes ?? 3;
  const timeline: TimelineEntry[] = [];
  let phase: Phase = 'STARTING';
  let outcome: Outcome = 'PENDING';
  let person: Person | null = null;
  let message: SlackMessageRef | null = null;
  let deadlineMs: number | null = null;
  let answer: { answer: EngineerAnswer; by: string; at: string } | undefined;
  let security: (SecurityDecisionRequest & { at: string }) | undefined;
  let duoRetryRequested = false;
  let duoPushes = 0;
  let incidentOpen = false;
  let paged = false;
  let oncallTask: Promise<void> | undefined;
  let stage: ReviewStage = { kind: 'starting' };
  /** "change summary (account/region)", the tail of most pages. */
  const where = `${change.summary} (${change.account}/${change.region})`;

  // The Web UI's current details: where the review stands and its latest steps. Not a command: replay-safe.
  const showProgress = (): void => {
    setCurrentDetails(reviewProgress({ stage, timeline, ...(paged ? { incident: incidentOpen ? 'open' : 'resolved' } : {}) }));
  };
  const moveTo = (next: ReviewStage): void => {
    stage = next;
    showProgress();
  };
  const note = (step: string, result: string): void => {
    timeline.push({ at: new Date().toISOString(), step, result });
    showProgress();
  };
  const isOpen = (): boolean => outcome === 'PENDING' && phase !== 'FINISHING' && phase !== 'DONE';
  const pastDeadline = (): boolean => deadlineMs !== null && Date.now() >= deadlineMs;
  const msUntilDeadline = (): number => Math.max(1, (deadlineMs ?? Date.now()) - Date.now());

  // ---- messages ----
  setHandler(statusQuery, (): ReviewStatus => ({
    reviewId,
    tier: verdict.tier,
    phase,
    outcome,
    deadline: deadlineMs === null ? null : new Date(deadlineMs).toISOString(),
    duoPushes,
    person,
    incidentOpen,
    timeline: [...timeline],
  }));

  setHandler(
    decisionUpdate,
    (req) => {
      answer = { answer: req.answer, by: req.slackUserId, at: new Date().toISOString() };
      note('engineer.answered', req.answer === 'yes' ? 'yes, this was me' : "no, this wasn't me");
      return {
        accepted: true,
        message:
          req.answer === 'yes'
            ? 'Thanks. Approve the Duo push on your phone to confirm it is really you.'
            : 'Thanks for telling us. Security has been paged and will follow up.',
      };
    },
    {
      validator: (req) => {
        if (!isOpen()) throw new Error(`This review is already closed (${outcome}).`);
        if (!person) throw new Error('This review is not ready for answers yet; try again in a moment.');
        if (req.slackUserId !== person.slackUserId) {
          throw new Error(`Only <@${person.slackUserId}>, who made this change, can answer for it.`);
        }
        if (answer) throw new Error(`You already answered "${answer.answer}" at ${answer.at}.`);
        if (pastDeadline()) {
          throw new Error(`The deadline passed at ${new Date(deadlineMs ?? 0).toISOString()}; security was paged.`);
        }
        if (req.answer !== 'yes' && req.answer !== 'no') throw new Error(`Unknown answer "${String(req.answer)}".`);
      },
      description: "The engineer's own answer: was this change theirs?",
    },
  );

  setHandler(
    duoRetryUpdate,
    (req) => {
      duoRetryRequested = true;
      note('duo.retry-requested', `by ${req.slackUserId}`);
      return { accepted: true, message: 'Sending another Duo push.' };
    },
    {
      validator: (req) => {
        if (!isOpen()) throw new Error(`This review is already closed (${outcome}).`);
        if (!person || req.slackUserId !== person.slackUserId) {
          throw new Error('Only the engineer who made this change can ask for another Duo push.');
        }
        if (phase !== 'DUO_FAILED') throw new Error('There is no failed Duo push to retry.');
        if (duoPushes >= maxPushes) throw new Error(`No more Duo pushes: the limit is ${maxPushes} per review.`);
        if (pastDeadline()) throw new Error('The deadline has passed.');
      },
      description: 'Send another Duo push after one expired or failed.',
    },
  );

  setHandler(
    securityDecisionUpdate,
    (req) => {
      security = { ...req, at: new Date().toISOString() };
      note('security.decided', `${req.action} by ${req.slackUserId}${req.note ? `: ${req.note}` : ''}`);
      return { accepted: true, message: `Recorded: ${req.action}.` };
    },
    {
      validator: (req) => {
        if (!input.securityResponders.includes(req.slackUserId)) {
          throw new Error('Only members of the security group can override a review.');
        }
        if (!['approve', 'revert', 'escalate'].includes(req.action)) {
          throw new Error(`Unknown security action "${String(req.action)}".`);
        }
        if (security) throw new Error(`Security already decided (${security.action} by ${security.slackUserId}).`);
        if (!isOpen()) throw new Error(`This review is already closed (${outcome}).`);
      },
      description: "Security's override: approve, revert now, or escalate.",
    },
  );

  // ---- search attributes and memo ----
  upsertSearchAttributes(reviewSearchAttributes(change, verdict, 'PENDING'));
  note('review.started', `${verdict.tier} tier, score ${verdict.score}: ${verdict.reasons.join('; ') || change.summary}`);

  // ---- side-effect helpers ----
  const incidentDetails = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    outcome,
    engineer: person ? person.displayName : null,
    engineerAnswer: answer ? answer.answer : null,
    timeline: timeline.map((t) => `${t.at} ${t.step}: ${t.result}`),
    ...extra,
  });

  async function page(summary: string, severity: Severity, extra: Record<string, unknown> = {}): Promise<void> {
    moveTo({ kind: 'paging', why: summary });
    try {
      await pagerduty.triggerIncident.executeWithOptions(titled(`Page security (${severity}): ${summary}`), [
        {
          dedupKey: reviewId,
          summary,
          severity,
          change,
          verdict,
          reviewUrl: input.reviewUrl,
          details: incidentDetails(extra),
        },
      ]);
      incidentOpen = true;
      paged = true;
      note('pagerduty.triggered', `${severity}: ${summary}`);
    } catch (err) {
      note('pagerduty.failed', failureMessage(err));
      return;
    }
    // After the first high-urgency page, open one Slack conversation with security's on-call engineer and the
    // engineer. It runs alongside the rest of the review (asking the engineer is not delayed) and finish() waits for it.
    if ((severity === 'critical' || severity === 'error') && !oncallTask && patched('connect-oncall')) {
      oncallTask = connectOnCall(summary);
    }
  }

  async function connectOnCall(summary: string): Promise<void> {
    try {
      const r = await oncall.connectOnCall.executeWithOptions(
        titled(`Connect security's on-call${person ? ` with ${person.displayName}` : ''}: ${change.summary}`),
        [
          {
            reviewId,
            change,
            reviewUrl: input.reviewUrl,
            summary,
            ...(person ? { engineerSlackUserId: person.slackUserId } : {}),
          },
        ],
      );
      note('oncall.connected', r.message);
    } catch (err) {
      note('oncall.failed', failureMessage(err));
    }
  }

  async function resolveIncidentIfOpen(why: string): Promise<void> {
    if (!incidentOpen) return;
    try {
      await pagerduty.resolveIncident.executeWithOptions(titled(`Resolve the page: ${why}`), [{ dedupKey: reviewId, note: why }]);
      incidentOpen = false;
      note('pagerduty.resolved', why);
    } catch (err) {
      note('pagerduty.resolve-failed', failureMessage(err));
    }
  }

  async function showMessage(state: MessageState): Promise<void> {
    if (!person) return;
    const base = { reviewId, slackUserId: person.slackUserId, change, verdict, reviewUrl: input.reviewUrl, state };
    try {
      if (message) {
        const what = state.kind === 'final' ? `final: ${state.outcome}` : state.kind;
        await slack.updateReviewMessage.executeWithOptions(titled(`Update the DM to ${person.displayName} (${what})`), [{ ...base, message }]);
        note('slack.updated', what);
      } else {
        message = await slack.postReviewMessage.executeWithOptions(titled(`DM ${person.displayName} about ${change.summary}`), [base]);
        note('slack.posted', `DM to ${person.displayName}`);
      }
    } catch (err) {
      note('slack.failed', failureMessage(err));
    }
  }

  async function tellEngineer(text: string): Promise<void> {
    if (!person) return;
    try {
      await slack.notifyPerson.executeWithOptions(titled(`Tell ${person.displayName} about ${change.summary}`), [
        { slackUserId: person.slackUserId, text },
      ]);
      note('slack.notified', text);
    } catch (err) {
      note('slack.failed', failureMessage(err));
    }
  }

  /** Run the verdict's revert plan; returns true when the change is verifiably gone. */
  async function revert(why: string): Promise<boolean> {
    const plan = verdict.revertPlan;
    if (!plan) {
      note('revert.skipped', 'the verdict carries no revert plan');
      return false;
    }
    moveTo({ kind: 'reverting', plan: plan.description });
    try {
      const result = await aws.revertChange.executeWithOptions(titled(`Revert${input.dryRun ? ' (dry run)' : ''}: ${plan.description}`), [
        {
          plan,
          account: change.account,
          region: change.region,
          eventId: change.eventId,
          ...(input.dryRun ? { dryRun: true } : {}),
        },
      ]);
      note('revert.done', `${why}: ${result.message}`);
      note('revert.verified', `before: ${JSON.stringify(result.before)} after: ${JSON.stringify(result.after)}`);
      return true;
    } catch (err) {
      note('revert.failed', `${plan.description}: ${failureMessage(err)} (${failureType(err) ?? 'error'})`);
      return false;
    }
  }

  /** A confirmed or approved change becomes its resource's new trusted state (when vouch keeps a baseline of it). */
  async function acceptAsTrusted(): Promise<void> {
    if (!patched('accept-trusted-change')) return;
    try {
      const res = await baseline.acceptTrustedChange.executeWithOptions(titled(`Trust the confirmed state: ${change.summary}`), [{ change }]);
      note('baseline.accepted', res.message);
    } catch (err) {
      note('baseline.failed', failureMessage(err));
    }
  }

  async function finish(final: Outcome, reason: string): Promise<ReviewOutcome> {
    outcome = final;
    phase = 'FINISHING';
    stage = { kind: 'done', outcome: final, reason };
    note('review.outcome', `${final}: ${reason}`);
    upsertSearchAttributes([{ key: VouchOutcome, value: final }]);
    upsertMemo({ outcome: `${final}: ${reason}` });
    if (message) await showMessage({ kind: 'final', outcome: final, reason });
    if (oncallTask) await oncallTask;
    phase = 'DONE';
    await condition(allHandlersFinished);
    return { outcome: final, reason, timeline };
  }

  /** Revert now; page low urgency on success, high urgency on failure. Used by the revert tier and security. */
  async function revertAndReport(why: string, resolveOnSuccess: boolean): Promise<ReviewOutcome> {
    const ok = await revert(why);
    if (ok) {
      if (resolveOnSuccess) {
        await resolveIncidentIfOpen(`reverted: ${verdict.revertPlan?.description ?? ''}`);
      } else {
        await page(`vouch reverted: ${where}`, 'info');
      }
      await tellEngineer(
        `vouch reverted your change ${change.eventName} in ${change.account}/${change.region}: ${change.summary}. ` +
          `Why: ${verdict.reasons.join('; ') || why}. Review: ${input.reviewUrl}`,
      );
      return finish('REVERTED', why);
    }
    await page(`REVERT FAILED for ${where}`, 'critical', {
      revertPlan: verdict.revertPlan?.description ?? null,
    });
    await tellEngineer(
      `vouch could not revert your change ${change.eventName} in ${change.account}/${change.region}; security has ` +
        `been paged. Review: ${input.reviewUrl}`,
    );
    return finish('REVERT_FAILED', `revert failed (${why})`);
  }

  async function applySecurityDecision(): Promise<ReviewOutcome> {
    const s = security as SecurityDecisionRequest & { at: string };
    const who = `security (<@${s.slackUserId}>)${s.note ? `: ${s.note}` : ''}`;
    if (s.action === 'approve') {
      await acceptAsTrusted();
      await resolveIncidentIfOpen(`approved by ${who}`);
      return finish('APPROVED', `approved by ${who}`);
    }
    if (s.action === 'revert') return revertAndReport(`revert ordered by ${who}`, true);
    await page(`Escalated by security: ${where}`, 'critical', {
      escalatedBy: s.slackUserId,
      note: s.note ?? null,
    });
    return finish('ESCALATED', `escalated by ${who}`);
  }

  // ---- notify tier: tell the engineer (and security's channel); nothing to answer ----
  if (verdict.tier === 'notify') {
    person = await tryResolvePerson();
    const text =
      `FYI from vouch: ${change.eventName} in ${change.account}/${change.region} by ${change.actor.name}: ` +
      `${change.summary}. ${verdict.reasons.join('; ')}. Review: ${input.reviewUrl}`;
    await tellEngineer(text);
    if (input.notifyChannel) {
      try {
        await slack.notifyChannel.executeWithOptions(titled(`Tell ${input.notifyChannel} about ${change.summary}`), [
          { channel: input.notifyChannel, text },
        ]);
        note('slack.channel-notified', input.notifyChannel);
      } catch (err) {
        note('slack.failed', failureMessage(err));
      }
    }
    return finish('NOTIFIED', person ? `told ${person.displayName}` : `nobody to tell for ${change.actor.name}`);
  }

  // ---- revert tier: act first ----
  if (verdict.tier === 'revert') {
    person = await tryResolvePerson();
    return revertAndReport('revert tier', false);
  }

  // ---- nobody to ask: page at once ----
  if (change.actor.type === 'Root') {
    await page(`Root user action: ${where}`, 'critical');
    return finish('ESCALATED', 'root user action: there is nobody to ask');
  }
  person = await tryResolvePerson();
  if (!person) {
    await page(`Unattributed risky change by ${change.actor.name}: ${where}`, 'critical');
    return finish('ESCALATED', `no Slack/Duo user for ${change.actor.name}: there is nobody to ask`);
  }

  // ---- page tier: page now, still ask ----
  if (verdict.tier === 'page') {
    await page(`${where} by ${change.actor.name}`, 'critical');
  }

  // ---- ask ----
  deadlineMs = Date.now() + verdict.deadlineSeconds * 1000;
  phase = 'AWAITING_ANSWER';
  const deadline = new Date(deadlineMs).toISOString();
  moveTo({ kind: 'asking', person: person.displayName, deadline });
  await showMessage({ kind: 'ask', deadline });
  if (!message) {
    await page(`Could not reach ${person.displayName} in Slack about: ${change.summary}`, 'critical');
    return finish('ESCALATED', 'the Slack message could not be delivered');
  }

  // Reminder at half the deadline, while the engineer still owes an answer.
  const reminderAt = verdict.deadlineSeconds * 500;
  void (async () => {
    await sleep(reminderAt, titled(`Remind ${person.displayName} at half the deadline`));
    if (isOpen() && (phase === 'AWAITING_ANSWER' || phase === 'DUO_FAILED') && message && person) {
      try {
        await slack.sendReminder.executeWithOptions(titled(`Remind ${person.displayName} about ${change.summary}`), [
          {
            slackUserId: person.slackUserId,
            message,
            text:
              `Reminder: please answer about ${change.eventName} in ${change.account}/${change.region} before ${deadline}, ` +
              `or security will be paged. Review: ${input.reviewUrl}`,
          },
        ]);
        note('slack.reminded', 'reminder sent at half the deadline');
      } catch (err) {
        note('slack.failed', failureMessage(err));
      }
    }
  })();

  const answered = await condition(() => security !== undefined || answer !== undefined, msUntilDeadline(), titled(`Deadline for ${person.displayName}'s answer`));
  if (security) return applySecurityDecision();
  if (!answered || !answer) return timedOut();

  if (answer.answer === 'no') {
    return denied(`${person.displayName} said this change was not theirs`);
  }

  // ---- "yes": prove it with Duo, up to maxPushes times, within the deadline ----
  for (;;) {
    phase = 'AWAITING_DUO';
    duoPushes += 1;
    moveTo({ kind: 'duo', person: person.displayName, push: duoPushes, maxPushes: maxPushes, deadline });
    await showMessage({ kind: 'duo-pending', pushes: duoPushes });
    let duoFailure: string;
    try {
      const { txid } = await duo.sendDuoPush.executeWithOptions(titled(`Duo push ${duoPushes} of ${maxPushes} to ${person.displayName}`), [
        { duoUsername: person.duoUsername, change, reviewId },
      ]);
      note('duo.pushed', `push ${duoPushes} of ${maxPushes} to ${person.duoUsername}`);
      const raced = await raceDuo(txid);
      if (raced.kind === 'security') return applySecurityDecision();
      if (raced.kind === 'deadline') return timedOut();
      const status = raced.status;
      note('duo.answered', `${status.result} (${status.status})`);
      if (status.result === 'allow') {
        await acceptAsTrusted();
        if (incidentOpen) {
          await page(`Confirmed by ${person.displayName} with Duo: ${change.summary}`, 'info', { confirmed: true });
          await resolveIncidentIfOpen(`confirmed by ${person.displayName} with Duo`);
        }
        return finish('CONFIRMED', `${person.displayName} confirmed with Duo`);
      }
      if (status.result === 'deny') return denied(`${person.displayName} denied the Duo push`);
      if (status.result === 'fraud') return denied(`${person.displayName} marked the Duo push as fraud`);
      duoFailure = status.result === 'timeout' ? 'the Duo push expired' : `the Duo push failed (${status.statusMessage})`;
    } catch (err) {
      const type = failureType(err);
      if (type === FailureTypes.DuoDenied) return denied(`Duo refused ${person.displayName}: ${failureMessage(err)}`);
      if (type === FailureTypes.DuoNotEnrolled || type === FailureTypes.UnknownPerson) {
        await page(`${person.displayName} said yes but cannot be verified with Duo: ${change.summary}`, 'critical');
        return finish('ESCALATED', `Duo cannot verify ${person.displayName}: ${failureMessage(err)}`);
      }
      duoFailure = `Duo could not be reached (${failureMessage(err)})`;
      note('duo.failed', duoFailure);
    }

    // The push expired or failed: the engineer may ask for another (bounded), until the deadline.
    phase = 'DUO_FAILED';
    duoRetryRequested = false;
    moveTo({ kind: 'duo-failed', person: person.displayName, reason: duoFailure, pushes: duoPushes, maxPushes, deadline });
    await showMessage({ kind: 'duo-failed', reason: duoFailure, pushes: duoPushes, maxPushes });
    const woke = await condition(
      () => security !== undefined || duoRetryRequested,
      msUntilDeadline(),
      titled(`Deadline for ${person.displayName} to ask for another Duo push`),
    );
    if (security) return applySecurityDecision();
    if (!woke) return timedOut();
  }

  // ---- outcomes with pages ----
  async function timedOut(): Promise<ReviewOutcome> {
    const p = person as Person;
    await page(
      `No answer from ${p.displayName} within ${Math.round(verdict.deadlineSeconds / 60)} min: ${where}`,
      'error',
      { engineerAnswer: answer ? answer.answer : 'none' },
    );
    if (verdict.revertOnTimeout && verdict.revertPlan) {
      const ok = await revertAndPage('timeout', 'no confirmed answer before the deadline');
      return finish('TIMED_OUT', `no confirmed answer before the deadline; ${ok ? 'change reverted' : 'revert FAILED'}`);
    }
    return finish('TIMED_OUT', `no confirmed answer before the deadline`);
  }

  async function denied(reason: string): Promise<ReviewOutcome> {
    await page(`${reason}: ${where}`, 'critical');
    if (verdict.revertPlan) {
      const ok = await revertAndPage('denial', 'denied change');
      return finish('DENIED', `${reason}; ${ok ? 'change reverted' : 'revert FAILED'}`);
    }
    return finish('DENIED', reason);
  }

  /** After a denial or a timeout: revert, then page (high urgency) whether the revert went through. */
  async function revertAndPage(after: 'denial' | 'timeout', why: string): Promise<boolean> {
    const ok = await revert(why);
    await page(ok ? `Reverted after ${after}: ${where}` : `REVERT FAILED after ${after}: ${where}`, 'critical', {
      reverted: ok,
      revertPlan: verdict.revertPlan?.description,
    });
    return ok;
  }

  async function tryResolvePerson(): Promise<Person | null> {
    try {
      const p = await slack.resolvePerson.executeWithOptions(titled(`Find the person behind ${change.actor.name}`), [change.actor]);
      note('person.resolved', `${p.displayName} (Slack ${p.slackUserId}, Duo ${p.duoUsername})`);
      return p;
    } catch (err) {
      note('person.unknown', failureMessage(err));
      return null;
    }
  }

  type Raced = { kind: 'duo'; status: DuoStatus } | { kind: 'security' } | { kind: 'deadline' };

  /** Wait for the Duo answer, security's override or the deadline, whichever comes first. */
  async function raceDuo(txid: string): Promise<Raced> {
    const scope = new CancellationScope();
    const duoAnswer: Promise<Raced> = scope
      .run(() => duoWait.awaitDuoResult.executeWithOptions(titled(`Wait for ${person?.displayName ?? 'the engineer'}'s Duo answer`), [{ txid }]))
      .then(
        (status): Raced => ({ kind: 'duo', status }),
        (err): Raced => {
          if (isCancellation(err)) return { kind: 'duo', status: { result: 'failed', status: 'cancelled', statusMessage: 'cancelled' } };
          throw err;
        },
      );
    const other: Promise<Raced> = condition(() => security !== undefined, msUntilDeadline(), titled(`Deadline for ${person?.displayName ?? 'the engineer'}'s Duo answer`)).then(
      (gotSecurity): Raced => (gotSecurity ? { kind: 'security' } : { kind: 'deadline' }),
    );
    const first = await Promise.race([duoAnswer, other]);
    if (first.kind !== 'duo') {
      scope.cancel();
      duoAnswer.catch(() => undefined);
    }
    return first;
  }
}
