// One person's confirm batch (README "How a review runs": Noise): the confirm-tier changes a person makes in one account
// within one window are asked about in one Slack message, confirmed with one Duo push. Each change keeps its own
// review workflow, which joins the batch (activities/digest.ts, signal-with-start), waits for the batch's word and then
// takes its own confirm / deny / timeout path, so pages and reverts stay per change. Deterministic: no I/O but
// activities, no clock but Temporal's.
//
// The window opens with the first change and closes windowSeconds later; the changes of a window are one batch. A batch
// of one is released to ask alone, exactly as without a batch. The message lists its reviews; an answer counts only
// from the person, on that message, before the earliest deadline it lists. Changes that join after it was posted are
// in the next batch. Without an answer the batch says nothing to its reviews: each times out on its own deadline.
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { batchDecisionUpdate, joinConfirmBatchSignal, confirmBatchResultSignal } from './messages';
import { duo, duoOnce, duoWait, failureMessage, failureType, slack, titled } from './review-activities';
import { FailureTypes } from '../src/core/types';
import { truncate } from '../src/core/text';
import type { Change, ConfirmBatchEntry, ConfirmBatchResult, ConfirmBatchStart, DuoStatus, EngineerAnswer, SlackMessageRef } from '../src/core/types';

/**
 * The most changes one batch message asks about: five lines of at most 300 characters and a review link each fit the
 * message's list in full (src/slack/batch-blocks.ts), so nothing a "yes" confirms is left unlisted.
 */
export const MAX_CONFIRM_BATCH = 5;

export interface ConfirmBatchOutcome {
  /** Batches, in order: the reviews each listed and what became of them. */
  batches: Array<{ reviewIds: string[]; messageTs?: string; result: string }>;
}

interface OpenBatch {
  message: SlackMessageRef;
  entries: ConfirmBatchEntry[];
  deadlineMs: number;
  answer?: { answer: EngineerAnswer; by: string };
}

export async function confirmBatchWorkflow(start: ConfirmBatchStart): Promise<ConfirmBatchOutcome> {
  const batchId = workflowInfo().workflowId;
  const person = start.person;
  const pending: ConfirmBatchEntry[] = [...(start.pending ?? [])];
  const seen = new Set(pending.map((e) => e.reviewId));
  /** Posted batch messages still taking an answer, by the message's ts. */
  const open = new Map<string, OpenBatch>();
  const batches: ConfirmBatchOutcome['batches'] = [];
  const running: Array<Promise<void>> = [];
  // Named by the directory's e-mail: the display name may fall back to a name the caller chose (a role session name).
  const who = person.email ?? person.displayName;

  setHandler(joinConfirmBatchSignal, (entry) => {
    // A retried join (or a replayed signal) lists its review once.
    if (seen.has(entry.reviewId)) return;
    seen.add(entry.reviewId);
    pending.push(entry);
  });

  setHandler(
    batchDecisionUpdate,
    (req) => {
      const b = open.get(req.messageTs ?? '') as OpenBatch;
      b.answer = { answer: req.answer, by: req.slackUserId };
      const n = b.entries.length;
      return {
        accepted: true,
        message:
          req.answer === 'yes'
            ? `Thanks. Approve the one Duo push on your phone to confirm these ${n} changes.`
            : `Thanks for telling us. Security has been paged about each of these ${n} changes.`,
      };
    },
    {
      validator: (req) => {
        if (req.slackUserId !== person.slackUserId) throw new Error(`Only <@${person.slackUserId}>, who made these changes, can answer for them.`);
        if (!req.messageTs) throw new Error('This click does not say which message it came from, so it cannot be matched to a batch.');
        const b = open.get(req.messageTs);
        if (!b) throw new Error('This button is not on an open batch message: it does nothing.');
        if (b.answer) throw new Error(`You already answered "${b.answer.answer}" for these changes.`);
        if (Date.now() >= b.deadlineMs) throw new Error(`The deadline passed at ${new Date(b.deadlineMs).toISOString()}; security was paged.`);
        if (req.answer !== 'yes' && req.answer !== 'no') throw new Error(`Unknown answer "${String(req.answer)}".`);
      },
      description: "The person's answer for every change a batch message lists.",
    },
  );

  /** Tell each listed review; one that has already ended (its own deadline) is skipped. */
  async function tell(entries: ConfirmBatchEntry[], result: Omit<ConfirmBatchResult, 'batchId' | 'reviewIds'>): Promise<void> {
    const sent: ConfirmBatchResult = { batchId, reviewIds: entries.map((e) => e.reviewId), ...result };
    batches.push({ reviewIds: sent.reviewIds, ...(sent.messageTs ? { messageTs: sent.messageTs } : {}), result: `${sent.kind}: ${sent.detail}` });
    await Promise.all(
      entries.map((e) =>
        getExternalWorkflowHandle(e.reviewId)
          .signal(confirmBatchResultSignal, sent)
          .catch((err: unknown) => {
            if (isCancellation(err)) throw err;
          }),
      ),
    );
  }

  async function showInfo(b: OpenBatch, text: string): Promise<void> {
    try {
      await slack.updateBatchMessage.executeWithOptions(titled(`Update the batch DM to ${who}`), [
        { batchId, slackUserId: person.slackUserId, entries: b.entries, state: { kind: 'info', text }, message: b.message },
      ]);
    } catch (err) {
      if (isCancellation(err)) throw err;
    }
  }

  /** The one Duo push for the batch's "yes". */
  async function pushOnce(b: OpenBatch): Promise<{ result: DuoStatus['result']; detail: string }> {
    const n = b.entries.length;
    try {
      await duo.checkDuoUser.executeWithOptions(titled(`Check that Duo can ask ${who} with a push`), [{ duoUsername: person.duoUsername }]);
      const { txid } = await duoOnce.sendDuoPush.executeWithOptions(titled(`One Duo push to ${who} for ${n} changes`), [
        { duoUsername: person.duoUsername, change: firstChange(b), reviewId: batchId, purpose: `confirm ${n} AWS changes you made (one push for all)` },
      ]);
      const status = await duoWait.awaitDuoResult.executeWithOptions(titled(`Wait for ${who}'s Duo answer for ${n} changes`), [{ txid }]);
      const result = status.status === 'bypass' ? 'bypass' : status.result;
      return { result, detail: `${status.result} (${status.status})` };
    } catch (err) {
      if (isCancellation(err)) throw err;
      const type = failureType(err);
      if (type === FailureTypes.DuoBypass) return { result: 'bypass', detail: failureMessage(err) };
      if (type === FailureTypes.DuoDenied) return { result: 'deny', detail: failureMessage(err) };
      return { result: 'failed', detail: failureMessage(err) };
    }
  }

  async function runBatch(entries: ConfirmBatchEntry[]): Promise<void> {
    if (entries.length === 1) {
      await tell(entries, { kind: 'released', detail: 'alone in its window: asked on its own' });
      return;
    }
    const deadlineMs = Math.min(...entries.map((e) => e.deadlineMs));
    let message: SlackMessageRef;
    try {
      message = await slack.postBatchMessage.executeWithOptions(titled(`DM ${who} one ask for ${entries.length} changes`), [
        { batchId, slackUserId: person.slackUserId, entries, state: { kind: 'ask', deadline: new Date(deadlineMs).toISOString() } },
      ]);
    } catch (err) {
      if (isCancellation(err)) throw err;
      await tell(entries, { kind: 'released', detail: `the batch DM failed (${failureMessage(err)}): asked on its own` });
      return;
    }
    const b: OpenBatch = { message, entries, deadlineMs };
    open.set(message.ts, b);
    const n = entries.length;
    await condition(() => b.answer !== undefined, Math.max(1, deadlineMs - Date.now()), titled(`Deadline for ${who}'s answer for ${n} changes`));
    open.delete(message.ts);
    const answer = b.answer;
    if (!answer) {
      await showInfo(b, `No answer by the deadline: security has been paged about each of these ${n} changes.`);
      batches.push({ reviewIds: entries.map((e) => e.reviewId), messageTs: message.ts, result: 'no answer: each review times out on its own' });
      return;
    }
    const base = { kind: 'answered' as const, messageTs: message.ts, answer: answer.answer, by: answer.by };
    if (answer.answer === 'no') {
      await showInfo(b, `You said these ${n} changes were not yours: security has been paged about each.`);
      await tell(entries, { ...base, detail: `${who} said these ${n} changes were not theirs` });
      return;
    }
    await showInfo(b, `Check your Duo app: one push confirms these ${n} changes.`);
    const duoAnswer = await pushOnce(b);
    const settled = ['allow', 'deny', 'fraud', 'bypass'].includes(duoAnswer.result);
    await showInfo(
      b,
      duoAnswer.result === 'allow'
        ? `Confirmed with Duo: these ${n} changes.`
        : settled
          ? `Duo did not confirm these ${n} changes (${duoAnswer.result}): security has been paged about each.`
          : `The Duo push did not go through (${duoAnswer.detail}): each change is asked about on its own.`,
    );
    if (!settled) {
      await tell(entries, { kind: 'released', messageTs: message.ts, detail: `the batch's Duo push did not settle it (${duoAnswer.detail}): asked on its own` });
      return;
    }
    await tell(entries, { ...base, duo: duoAnswer.result, detail: `one Duo push for ${n} changes: ${duoAnswer.detail}` });
  }

  for (;;) {
    await condition(() => pending.length > 0 || running.length === 0);
    if (pending.length === 0) {
      // Signals delivered with the last activation are handled before the workflow may end.
      await condition(allHandlersFinished);
      if (pending.length === 0 && running.length === 0) return { batches };
      continue;
    }
    await sleep(start.windowSeconds * 1000, titled(`Collect ${who}'s confirm-tier changes for ${start.windowSeconds} s`));
    // At most MAX_CONFIRM_BATCH changes per message, so the message lists every change one "yes" confirms (an author
    // cannot push a change out of sight behind a flood of others); the rest wait for the next message.
    const batch = pending.splice(0, MAX_CONFIRM_BATCH);
    const task: Promise<void> = runBatch(batch).finally(() => {
      running.splice(running.indexOf(task), 1);
    });
    running.push(task);
    if (workflowInfo().continueAsNewSuggested && open.size === 0) {
      await Promise.all(running);
      await condition(allHandlersFinished);
      await continueAsNew<typeof confirmBatchWorkflow>({ ...start, pending: pending.splice(0) });
    }
  }
}

/** What Duo Mobile shows for the batch's push: the first change's account and actor, and every change listed. */
function firstChange(b: OpenBatch): Change {
  const [first] = b.entries;
  if (!first) throw ApplicationFailure.create({ message: 'an empty batch has nothing to push for', nonRetryable: true });
  return { ...first.change, eventName: `${b.entries.length} changes`, summary: truncate(b.entries.map((e) => e.what).join('; '), 1000) };
}
