// The review of one risky AWS change. Deterministic: no I/O, no config, no clock but Temporal's.
//
//   confirm: Slack DM with buttons → on "yes" a Duo push → CONFIRMED; "no" / Duo deny / fraud → DENIED → page (+ revert
//            when the verdict carries a plan); no decision by the deadline → TIMED_OUT → page. Reminder at half time.
//   page:    PagerDuty at once; the engineer is still asked and the answer is added to the incident.
//   revert:  revert at once, verified; engineer told in Slack, security in PagerDuty (low urgency); failure → high.
//   confirm, with a batch window: join the person's batch (workflows/confirm-batch.ts, review-batch.ts); one message and
//            one Duo push answer for the batch, each review then takes its own path above; a batch of one asks alone.
//   notify:  tell the engineer (and security's channel); with a digest window, through one DM per person per window
//            (workflows/notify-digest.ts, review-digest.ts) → NOTIFIED.
//   Unknown actor or root → nobody to ask: revert (when the verdict has a plan) and page, else page.
//   Security may approve / revert / escalate while the review waits, once the named member confirms it with their own
//   Duo push (workflows/review-override.ts). A Duo bypass user never confirms anything: escalated.
//   A page PagerDuty refuses goes to security's Slack channel and the review ends PAGE_FAILED. Cancelling the review
//   through Temporal pages security and ends CANCELLED (terminating it is found by the audit, terminated-audit.ts).
// Changes to the command sequence of a path already in production go behind patched() (PATCHES below).
import {
  ApplicationFailure,
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
import { confirmBatchResultSignal, decisionUpdate, duoRetryUpdate, notifyDigestSentSignal, securityDecisionUpdate, statusQuery } from './messages';
import { reviewSearchAttributes, VouchOutcome } from './search-attributes';
import { aws, baseline, duo, duoOnce, duoWait, failureMessage, failureType, oncall, pagerduty, slack, titled } from './review-activities';
import { confirmOverrideWithDuo } from './review-override';
import { reviewProgress, type ReviewStage } from '../src/core/review-summary';
import { notifyText } from '../src/core/notify-digest';
import { notifyThroughDigest } from './review-digest';
import { batchResultFor, joinConfirmBatch } from './review-batch';
import {
  FailureTypes,
  type DuoStatus,
  type EngineerAnswer,
  type ConfirmBatchResult,
  type MessageState,
  type Outcome,
  type NotifyDigestSent,
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

/** patched() ids, one per change to the command sequence of an existing path (README: "Changing the workflow"). */
const PATCHES = {
  /** preauth as its own activity, then the push with one attempt (never a second /auth). */
  duoPushOnce: 'duo-push-once',
  /** A Duo bypass answer escalates instead of confirming. */
  duoBypass: 'duo-bypass-escalates',
  /** Security's override waits for the member's own Duo push. */
  overrideDuo: 'security-override-duo',
  /** Nobody to ask and a revert plan: revert, then page. */
  nobodyToAskReverts: 'nobody-to-ask-reverts',
  /** A page that fails for good tells security's channel and ends PAGE_FAILED. */
  pageFailsClosed: 'page-fails-closed',
  /** The engineer's confirmation annotates a page-tier incident and never resolves it. */
  pageStaysOpen: 'page-stays-with-security',
  /** A cancelled review pages security and ends CANCELLED. */
  cancelPages: 'cancel-pages',
  /** Notify tier: the person's changes of one window go out as one digest DM. */
  notifyDigest: 'notify-digest',
  /** Confirm tier: the person's changes of one window are asked about in one message with one Duo push. */
  confirmBatch: 'confirm-batch',
} as const;

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
  /** Security's decision, once it applies; `confirmedBy`: the member who confirmed it with their Duo push. */
  let security: (SecurityDecisionRequest & { at: string; confirmedBy?: string }) | undefined;
  let duoRetryRequested = false;
  let duoPushes = 0;
  let incidentOpen = false;
  let paged = false;
  let oncallTask: Promise<void> | undefined;
  let stage: ReviewStage = { kind: 'starting' };
  /** The review is at a wait that acts on security's override (the answer, the Duo answer, a retry request). */
  let awaiting = false;
  /** An override waiting for its member's Duo push. */
  let override: SecurityDecisionRequest | undefined;
  /** Why a page failed for good (the review then ends PAGE_FAILED). */
  let pageFailure: string | undefined;
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

  // What the person's notify digest says it sent (kept whatever its order with the join's completion; read by the
  // digest's id, which the review derives itself; the digest signals only the reviews it listed).
  const digestReports: NotifyDigestSent[] = [];
  setHandler(notifyDigestSentSignal, (sent) => {
    if (verdict.tier === 'notify') digestReports.push(sent);
  });

  // What the person's confirm batch said (read by the batch id the review derives itself; it signals only the reviews it listed).
  const batchResults: ConfirmBatchResult[] = [];
  setHandler(confirmBatchResultSignal, (r) => {
    if (verdict.tier === 'confirm') batchResults.push(r);
  });

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
        refuseForeignMessage(req.messageTs);
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
        refuseForeignMessage(req.messageTs);
        if (phase !== 'DUO_FAILED') throw new Error('There is no failed Duo push to retry.');
        if (req.duoAttempt !== duoPushes) {
          throw new Error(`This button was drawn for Duo push ${req.duoAttempt ?? '(none)'}; the current push is ${duoPushes}. It does nothing.`);
        }
        if (duoPushes >= maxPushes) throw new Error(`No more Duo pushes: the limit is ${maxPushes} per review.`);
        if (pastDeadline()) throw new Error('The deadline has passed.');
      },
      description: 'Send another Duo push after one expired or failed.',
    },
  );

  setHandler(
    securityDecisionUpdate,
    async (req) => {
      if (!patched(PATCHES.overrideDuo)) {
        security = { ...req, at: new Date().toISOString() };
        note('security.decided', `${req.action} by ${req.slackUserId}${req.note ? `: ${req.note}` : ''}`);
        return { accepted: true, message: `Recorded: ${req.action}.` };
      }
      override = req;
      note('security.requested', `${req.action} by <@${req.slackUserId}>: waiting for their Duo push`);
      try {
        const check = await confirmOverrideWithDuo({ where, note, pageAside: (s, sev, extra) => page(s, sev, extra, true), pushDuo }, req);
        if (!check.ok) throw ApplicationFailure.create({ type: 'OverrideNotConfirmed', message: check.why, nonRetryable: true });
        // Apply it at the review's next wait (the review may be between two steps), unless it ends first.
        await condition(() => awaiting || !isOpen());
        if (!isOpen() || security) {
          const why = `${check.member.displayName} confirmed "${req.action}" with Duo, but the review had moved on (${security ? `security already decided: ${security.action}` : outcome}): not applied`;
          note('security.not-applied', why);
          throw ApplicationFailure.create({ type: 'OverrideNotApplied', message: why, nonRetryable: true });
        }
        security = { ...req, at: new Date().toISOString(), confirmedBy: check.member.displayName };
        note('security.decided', `${req.action} by ${check.member.displayName} (<@${req.slackUserId}>), confirmed with Duo${req.note ? `: ${req.note}` : ''}`);
        return { accepted: true, message: `Confirmed with Duo by ${check.member.displayName}: ${req.action} now.` };
      } catch (err) {
        if (isCancellation(err)) {
          throw ApplicationFailure.create({ type: 'ReviewCancelled', message: 'The review was cancelled while the override waited for Duo.', nonRetryable: true });
        }
        throw err;
      } finally {
        override = undefined;
      }
    },
    {
      validator: (req) => {
        if (!input.securityResponders.includes(req.slackUserId)) {
          throw new Error('Only members of the security group can override a review.');
        }
        if (!['approve', 'revert', 'escalate'].includes(req.action)) {
          throw new Error(`Unknown security action "${String(req.action)}".`);
        }
        if (!isOpen()) throw new Error(`This review is already closed (${outcome}).`);
        if (security) throw new Error(`Security already decided (${security.action} by ${security.slackUserId}).`);
        if (verdict.tier === 'notify' || verdict.tier === 'revert') {
          throw new Error(`A ${verdict.tier}-tier review acts on its own and takes no override.`);
        }
        if (override) throw new Error(`An override ("${override.action}" by <@${override.slackUserId}>) is already waiting for its Duo push.`);
        if (person && req.slackUserId === person.slackUserId) {
          throw new Error('A member of the security group cannot override the review of their own change.');
        }
        if (req.action === 'revert' && !verdict.revertPlan) {
          throw new Error(`There is no revert plan for this change${verdict.revertReason ? ` (${verdict.revertReason})` : ''}: escalate instead.`);
        }
        if (!awaiting) {
          throw new Error(`The review is not waiting on anyone right now (${phase}), so an override would not be acted on; try again in a moment.`);
        }
      },
      description: "Security's override: approve, revert now, or escalate; applied once the named member confirms it with Duo.",
    },
  );

  /** A click is bound to the review's own message: a click from any other message (an old one, replayed) does nothing. */
  function refuseForeignMessage(messageTs: string | undefined): void {
    if (!messageTs) throw new Error('This click does not say which message it came from, so it cannot be matched to this review.');
    if (!message) throw new Error('This review is not ready for answers yet; try again in a moment.');
    if (messageTs !== message.ts) throw new Error("This button is not on this review's current message: it does nothing.");
  }

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

  /** Page security; resolves false when PagerDuty could not be paged (then security's channel is told). */
  async function page(summary: string, severity: Severity, extra: Record<string, unknown> = {}, aside = false): Promise<boolean> {
    if (!aside) moveTo({ kind: 'paging', why: summary });
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
      if (isCancellation(err)) throw err;
      note('pagerduty.failed', failureMessage(err));
      if (patched(PATCHES.pageFailsClosed)) await pageFailed(summary, err);
      return false;
    }
    // After the first high-urgency page, open one Slack conversation with security's on-call engineer and the
    // engineer. It runs alongside the rest of the review (asking the engineer is not delayed) and finish() waits for it.
    if ((severity === 'critical' || severity === 'error') && !oncallTask && patched('connect-oncall')) {
      oncallTask = connectOnCall(summary);
    }
    return true;
  }

  /** PagerDuty refused the page for good (or its retries ran out): tell security's Slack channel, remember why. */
  async function pageFailed(summary: string, err: unknown): Promise<void> {
    const why = `${failureType(err) ?? 'error'}: ${failureMessage(err)}`;
    pageFailure ??= why;
    if (!input.notifyChannel) {
      note('page.unreported', 'no security channel is configured (VOUCH_NOTIFY_CHANNEL) to tell instead');
      return;
    }
    try {
      await slack.notifyChannel.executeWithOptions(titled(`Tell ${input.notifyChannel} that paging failed`), [
        {
          channel: input.notifyChannel,
          text:
            `vouch could not page security through PagerDuty (${why}). The page was: ${summary}. ` +
            `Please look now. Review: ${input.reviewUrl}`,
        },
      ]);
      note('slack.channel-notified', `${input.notifyChannel}: paging failed`);
    } catch (e) {
      if (isCancellation(e)) throw e;
      note('slack.failed', failureMessage(e));
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
      if (isCancellation(err)) throw err;
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
      if (isCancellation(err)) throw err;
      note('slack.failed', failureMessage(err));
    }
  }

  /** Tell the engineer in Slack; returns the failure when the DM could not be sent (undefined: told, or nobody). */
  async function tellEngineer(text: string): Promise<string | undefined> {
    if (!person) return undefined;
    try {
      await slack.notifyPerson.executeWithOptions(titled(`Tell ${person.displayName} about ${change.summary}`), [
        { slackUserId: person.slackUserId, text },
      ]);
      note('slack.notified', text);
      return undefined;
    } catch (err) {
      if (isCancellation(err)) throw err;
      const failure = failureMessage(err);
      note('slack.failed', failure);
      return failure;
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
      if (isCancellation(err)) throw err;
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
      if (isCancellation(err)) throw err;
      note('baseline.failed', failureMessage(err));
    }
  }

  async function finish(decided: Outcome, why: string): Promise<ReviewOutcome> {
    // Never an outcome that implies security knows when the page did not reach them.
    const final: Outcome = pageFailure === undefined ? decided : 'PAGE_FAILED';
    const reason =
      pageFailure === undefined
        ? why
        : `${decided}: ${why}; but paging security failed (${pageFailure})${input.notifyChannel ? `, so ${input.notifyChannel} was told instead` : ' and no security channel is configured'}`;
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
    const s = security as SecurityDecisionRequest & { at: string; confirmedBy?: string };
    const who = `security (${s.confirmedBy ? `${s.confirmedBy}, <@${s.slackUserId}>, confirmed with Duo` : `<@${s.slackUserId}>`})${s.note ? `: ${s.note}` : ''}`;
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

  // ---- the review; a cancellation through Temporal pages security and ends it CANCELLED ----
  try {
    return await review();
  } catch (err) {
    if (!isCancellation(err) || !patched(PATCHES.cancelPages)) throw err;
    return await CancellationScope.nonCancellable(() => cancelledFromOutside());
  }

  async function review(): Promise<ReviewOutcome> {
    // ---- notify tier: tell the engineer (and security's channel); nothing to answer ----
    if (verdict.tier === 'notify') {
      person = await tryResolvePerson();
      const text = notifyText(change, verdict, input.reviewUrl);
      // A burst of notify-tier changes by one person goes out as one digest DM (README "How a review runs": Noise).
      const windowSeconds = input.notifyDigestSeconds ?? 0;
      if (person && windowSeconds > 0 && patched(PATCHES.notifyDigest)) {
        const told = await notifyThroughDigest(
          { change, reviewId, reviewUrl: input.reviewUrl, ...(input.notifyChannel ? { notifyChannel: input.notifyChannel } : {}), note, reports: digestReports },
          person,
          text,
          windowSeconds,
        );
        if (told) return finish('NOTIFIED', told);
      }
      const dmFailed = await tellEngineer(text);
      if (input.notifyChannel) {
        try {
          await slack.notifyChannel.executeWithOptions(titled(`Tell ${input.notifyChannel} about ${change.summary}`), [
            { channel: input.notifyChannel, text },
          ]);
          note('slack.channel-notified', input.notifyChannel);
        } catch (err) {
          if (isCancellation(err)) throw err;
          note('slack.failed', failureMessage(err));
        }
      }
      // The reason says what happened: a DM Slack refused is not "told".
      if (!person) return finish('NOTIFIED', `nobody to tell for ${change.actor.name}`);
      return finish('NOTIFIED', dmFailed ? `could not tell ${person.displayName}: ${dmFailed}` : `told ${person.displayName}`);
    }

    // ---- revert tier: act first ----
    if (verdict.tier === 'revert') {
      person = await tryResolvePerson();
      return revertAndReport('revert tier', false);
    }

    // ---- nobody to ask: revert when there is a plan, and page at once ----
    if (change.actor.type === 'Root') {
      if (verdict.revertPlan && patched(PATCHES.nobodyToAskReverts)) return nobodyToAsk('root user action', `Root user action`);
      await page(`Root user action: ${where}`, 'critical');
      return finish('ESCALATED', 'root user action: there is nobody to ask');
    }
    person = await tryResolvePerson();
    if (!person) {
      const why = `no Slack/Duo user for ${change.actor.name}`;
      if (verdict.revertPlan && patched(PATCHES.nobodyToAskReverts)) return nobodyToAsk(why, `Unattributed risky change by ${change.actor.name}`);
      await page(`Unattributed risky change by ${change.actor.name}: ${where}`, 'critical');
      return finish('ESCALATED', `${why}: there is nobody to ask`);
    }
    const engineer: Person = person;

    // ---- page tier: page now, still ask ----
    if (verdict.tier === 'page') {
      await page(`${where} by ${change.actor.name}`, 'critical');
    }

    // ---- ask ----
    deadlineMs = Date.now() + verdict.deadlineSeconds * 1000;
    phase = 'AWAITING_ANSWER';
    const deadline = new Date(deadlineMs).toISOString();
    moveTo({ kind: 'asking', person: person.displayName, deadline });
    // A burst of confirm-tier changes by one person is one ask and one Duo push (README "How a review runs": Noise).
    const batchSeconds = input.confirmBatchSeconds ?? 0;
    let batched = false;
    if (verdict.tier === 'confirm' && batchSeconds > 0 && patched(PATCHES.confirmBatch)) {
      const batchId = await joinConfirmBatch({ change, reviewId, reviewUrl: input.reviewUrl, note }, engineer, batchSeconds, deadlineMs);
      if (batchId) {
        batched = true;
        const word = (): ConfirmBatchResult | undefined => batchResultFor(batchResults, batchId);
        const came = await atWait(() =>
          condition(() => security !== undefined || word() !== undefined, msUntilDeadline(), titled(`Deadline for ${engineer.displayName}'s answer (batch)`)),
        );
        if (security) return applySecurityDecision();
        const r = word();
        if (!came || !r) return timedOut();
        note(r.kind === 'released' ? 'batch.released' : 'batch.answered', `${batchId}: ${r.detail}`);
        if (r.kind === 'answered' && r.answer) {
          const n = r.reviewIds.length;
          answer = { answer: r.answer, by: r.by ?? engineer.slackUserId, at: new Date().toISOString() };
          note('engineer.answered', r.answer === 'yes' ? `yes, for all ${n} changes of ${batchId}` : `no, for the ${n} changes of ${batchId}`);
          if (r.answer === 'no') return denied(`${engineer.displayName} said the ${n} changes of one batch were not all theirs`);
          note('duo.answered', `${r.duo ?? 'none'}: one push for ${n} changes (${batchId})`);
          if (r.duo === 'allow') {
            await acceptAsTrusted();
            return finish('CONFIRMED', `${engineer.displayName} confirmed with Duo, one push for ${n} changes (${batchId})`);
          }
          if (r.duo === 'bypass') return duoBypass(engineer, `Duo let ${engineer.displayName} through without a push for ${n} changes (${batchId})`);
          if (r.duo === 'deny') return denied(`${engineer.displayName} denied the Duo push for ${n} changes`);
          if (r.duo === 'fraud') return denied(`${engineer.displayName} marked the Duo push for ${n} changes as fraud`);
          answer = undefined;
        }
      }
    }
    await showMessage({ kind: 'ask', deadline });
    if (!message) {
      if (verdict.revertPlan && patched(PATCHES.nobodyToAskReverts)) {
        return nobodyToAsk(`${person.displayName} cannot be reached in Slack`, `Could not reach ${person.displayName} in Slack`);
      }
      await page(`Could not reach ${person.displayName} in Slack about: ${change.summary}`, 'critical');
      return finish('ESCALATED', 'the Slack message could not be delivered');
    }

    // Reminder at half the deadline, while the engineer still owes an answer. (A cancelled review skips it.)
    // (After a batch released the review, still at half the deadline.)
    const reminderAt = batched ? Math.max(1, (deadlineMs ?? 0) - verdict.deadlineSeconds * 500 - Date.now()) : verdict.deadlineSeconds * 500;
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
          if (isCancellation(err)) return;
          note('slack.failed', failureMessage(err));
        }
      }
    })().catch(() => undefined);

    const answered = await atWait(() =>
      condition(() => security !== undefined || answer !== undefined, msUntilDeadline(), titled(`Deadline for ${engineer.displayName}'s answer`)),
    );
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
        const txid = await pushDuo(person, `Duo push ${duoPushes} of ${maxPushes} to ${person.displayName}`);
        note('duo.pushed', `push ${duoPushes} of ${maxPushes} to ${person.duoUsername}`);
        const raced = await atWait(() => raceDuo(txid));
        if (raced.kind === 'security') return applySecurityDecision();
        if (raced.kind === 'deadline') return timedOut();
        const status = raced.status;
        note('duo.answered', `${status.result} (${status.status})`);
        if ((status.result === 'bypass' || status.status === 'bypass') && patched(PATCHES.duoBypass)) {
          return duoBypass(person, `Duo answered ${status.result} (${status.status}: ${status.statusMessage}) without a push`);
        }
        if (status.result === 'allow') {
          if (incidentOpen && patched(PATCHES.pageStaysOpen)) {
            // A page-tier incident stays with security: the engineer's confirmation is added to it, never resolves it,
            // and does not move the trusted baseline (security's approval does).
            await page(`${person.displayName} confirmed with Duo (the incident stays with security): ${where}`, 'critical', {
              engineerConfirmed: true,
            });
            return finish('CONFIRMED', `${person.displayName} confirmed with Duo; the page stays open for security to close`);
          }
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
        if (isCancellation(err)) throw err;
        const type = failureType(err);
        if (type === FailureTypes.DuoBypass) return duoBypass(person, failureMessage(err));
        if (type === FailureTypes.DuoDenied) return denied(`Duo refused ${person.displayName}: ${failureMessage(err)}`);
        if (type === FailureTypes.DuoNotEnrolled || type === FailureTypes.UnknownPerson) {
          await page(`${person.displayName} said yes but cannot be verified with Duo: ${change.summary}`, 'critical');
          return finish('ESCALATED', `Duo cannot verify ${person.displayName}: ${failureMessage(err)}`);
        }
        duoFailure =
          type === FailureTypes.DuoPushUncertain
            ? `the Duo push may not have reached the phone (${failureMessage(err)})`
            : `Duo could not be reached (${failureMessage(err)})`;
        note('duo.failed', duoFailure);
      }

      // The push expired or failed: the engineer may ask for another (bounded), until the deadline.
      phase = 'DUO_FAILED';
      duoRetryRequested = false;
      moveTo({ kind: 'duo-failed', person: person.displayName, reason: duoFailure, pushes: duoPushes, maxPushes, deadline });
      await showMessage({ kind: 'duo-failed', reason: duoFailure, pushes: duoPushes, maxPushes });
      const woke = await atWait(() =>
        condition(
          () => security !== undefined || duoRetryRequested,
          msUntilDeadline(),
          titled(`Deadline for ${engineer.displayName} to ask for another Duo push`),
        ),
      );
      if (security) return applySecurityDecision();
      if (!woke) return timedOut();
    }
  }

  /** Run a wait that acts on security's override (the override's validator accepts only while one runs). */
  async function atWait<T>(wait: () => Promise<T>): Promise<T> {
    awaiting = true;
    try {
      return await wait();
    } finally {
      awaiting = false;
    }
  }

  /** One Duo push to `to`; resolves with its txid. */
  async function pushDuo(to: Person, title: string, purpose?: string): Promise<string> {
    if (!patched(PATCHES.duoPushOnce)) {
      const { txid } = await duo.sendDuoPush.executeWithOptions(titled(title), [{ duoUsername: to.duoUsername, change, reviewId }]);
      return txid;
    }
    // preauth may be retried (it sends nothing); the push has one attempt (activities/duo.ts).
    await duo.checkDuoUser.executeWithOptions(titled(`Check that Duo can ask ${to.displayName} with a push`), [{ duoUsername: to.duoUsername }]);
    const { txid } = await duoOnce.sendDuoPush.executeWithOptions(titled(title), [
      { duoUsername: to.duoUsername, change, reviewId, ...(purpose ? { purpose } : {}) },
    ]);
    return txid;
  }

  // ---- outcomes with pages ----

  /** A Duo bypass user said yes: Duo lets them through without a push, so nothing proves it was them. */
  async function duoBypass(p: Person, detail: string): Promise<ReviewOutcome> {
    note('duo.bypass', detail);
    await page(`${p.displayName} said yes, but Duo lets them through without a push (bypass user): ${where}`, 'critical', { duo: detail });
    return finish(
      'ESCALATED',
      `${p.displayName} is a Duo bypass user: Duo let them through without a push, so nothing confirmed it was them; security was paged`,
    );
  }

  /** Root, nobody mapped to the actor, or an engineer Slack cannot reach, and a revert plan: revert, then page. */
  async function nobodyToAsk(why: string, headline: string): Promise<ReviewOutcome> {
    const ok = await revert(`${why}: nobody to ask`);
    await page(`${headline}, nobody to ask: ${ok ? 'reverted' : 'REVERT FAILED'}: ${where}`, 'critical', {
      reverted: ok,
      revertPlan: verdict.revertPlan?.description ?? null,
    });
    return ok
      ? finish('REVERTED', `${why}: there is nobody to ask, so vouch reverted the change and paged security`)
      : finish('REVERT_FAILED', `${why}: there is nobody to ask; the revert FAILED and security was paged`);
  }

  /** Cancelled through Temporal (not by vouch): page security, end CANCELLED. Runs in a non-cancellable scope. */
  async function cancelledFromOutside(): Promise<ReviewOutcome> {
    awaiting = false;
    note('review.cancelled', `cancelled through Temporal during ${phase}: vouch never cancels a review`);
    await page(`Review CANCELLED through Temporal (not by vouch) during ${phase}: ${where}`, 'critical', { cancelledDuring: phase });
    return finish('CANCELLED', `the review was cancelled through Temporal during ${phase} (vouch never cancels a review); security was paged`);
  }

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
      if (isCancellation(err)) throw err;
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
