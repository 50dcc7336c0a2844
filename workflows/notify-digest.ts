// One person's notify digest (README "How a review runs": Noise): the notify-tier changes a person makes in one
// account within one window go out as one Slack DM (and one message to security's channel) instead of one each. Each
// change keeps its own review workflow, which joins the digest (activities/digest.ts, signal-with-start), waits for it
// and ends NOTIFIED. Deterministic: no I/O but activities, no clock but Temporal's.
//
// The window opens with the first change and closes windowSeconds later; changes that arrive while the DM is being
// sent open the next window. The workflow ends when a window closes with nothing new (a later change starts a new
// run under the same id), and continues as new when its history grows long.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { joinNotifyDigestSignal, notifyDigestSentSignal } from './messages';
import { failureMessage, slack, titled } from './review-activities';
import { notifyDigestText } from '../src/core/notify-digest';
import type { NotifyDigestEntry, NotifyDigestSent, NotifyDigestStart } from '../src/core/types';

export interface NotifyDigestOutcome {
  /** DMs sent, and the reviews they listed, one list per DM. */
  digests: Array<{ reviewIds: string[]; told: boolean }>;
}

export async function notifyDigestWorkflow(start: NotifyDigestStart): Promise<NotifyDigestOutcome> {
  const digestId = workflowInfo().workflowId;
  const pending: NotifyDigestEntry[] = [...(start.pending ?? [])];
  const seen = new Set(pending.map((e) => e.reviewId));
  const digests: NotifyDigestOutcome['digests'] = [];
  // The heading names the person by the directory's e-mail: the display name may fall back to the principal's name,
  // which the caller may have chosen (a role session name).
  const who = start.person.email ?? start.person.displayName;

  setHandler(joinNotifyDigestSignal, (entry) => {
    // A retried join (or a replayed signal) lists its review once.
    if (seen.has(entry.reviewId)) return;
    seen.add(entry.reviewId);
    pending.push(entry);
  });

  for (;;) {
    if (pending.length === 0) {
      // Signals delivered with the last activation are handled before the workflow may end.
      await condition(allHandlersFinished);
      if (pending.length === 0) return { digests };
    }
    await sleep(start.windowSeconds * 1000, titled(`Collect ${who}'s notify-tier changes for ${start.windowSeconds} s`));
    const batch = pending.splice(0);
    const text = notifyDigestText(who, batch, start.windowSeconds);
    const what = batch.length === 1 ? 'one change' : `${batch.length} changes`;
    let told = false;
    let detail: string;
    try {
      await slack.notifyPerson.executeWithOptions(titled(`DM ${who} one digest of ${what}`), [{ slackUserId: start.person.slackUserId, text }]);
      told = true;
      detail = `told ${who} in one DM of ${what}`;
    } catch (err) {
      if (isCancellation(err)) throw err;
      detail = `the digest DM to ${who} failed: ${failureMessage(err)}`;
    }
    if (start.notifyChannel) {
      try {
        await slack.notifyChannel.executeWithOptions(titled(`Tell ${start.notifyChannel} about ${who}'s ${what}`), [
          { channel: start.notifyChannel, text },
        ]);
        detail += `; ${start.notifyChannel} told once`;
      } catch (err) {
        if (isCancellation(err)) throw err;
        detail += `; telling ${start.notifyChannel} failed: ${failureMessage(err)}`;
      }
    }
    const sent: NotifyDigestSent = { digestId, reviewIds: batch.map((e) => e.reviewId), told, detail };
    digests.push({ reviewIds: sent.reviewIds, told });
    // Each member review ends NOTIFIED with this; one that has already ended (its own deadline) is skipped.
    await Promise.all(
      batch.map((e) =>
        getExternalWorkflowHandle(e.reviewId)
          .signal(notifyDigestSentSignal, sent)
          .catch((err: unknown) => {
            if (isCancellation(err)) throw err;
          }),
      ),
    );
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof notifyDigestWorkflow>({ ...start, pending: pending.splice(0) });
    }
  }
}
