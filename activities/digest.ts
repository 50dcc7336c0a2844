// Joining a person's notify digest (and a confirm-tier review joining its person's batch): signal-with-start of the digest workflow (workflows/notify-digest.ts), so the
// first notify-tier change of a window starts it and later ones join it, atomically
// (https://docs.temporal.io/sending-messages#signal-with-start). The entry's review id makes a retried join harmless:
// the digest lists each review once.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import {
  CONFIRM_BATCH_WORKFLOW_TYPE,
  confirmBatchWorkflowId,
  joinConfirmBatchSignal,
  joinNotifyDigestSignal,
  NOTIFY_DIGEST_WORKFLOW_TYPE,
  notifyDigestWorkflowId,
} from '../workflows/messages';
import { escapeMarkdown, fitUtf8, SUMMARY_MAX_BYTES } from '../src/core/review-summary';
import type { JoinConfirmBatchInput, JoinNotifyDigestInput } from '../src/core/types';

export interface DigestDeps {
  /** The client to signal with; default the activity context's client (the worker's own connection). */
  digestClient?: Client;
}

export function createDigestActivities(deps: DigestDeps) {
  return {
    /** Adds one notify-tier review to its person's digest, starting the digest when none is open; returns its id. */
    async joinNotifyDigest(input: JoinNotifyDigestInput): Promise<{ digestId: string }> {
      const { start, entry } = input;
      if (!start.person.slackUserId) throw new Error('joinNotifyDigest: the person has no Slack user id');
      const client = deps.digestClient ?? Context.current().client;
      const workflowId = notifyDigestWorkflowId(start.account, start.person.slackUserId);
      await client.workflow.signalWithStart(NOTIFY_DIGEST_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: Context.current().info.taskQueue,
        args: [start],
        signal: joinNotifyDigestSignal,
        signalArgs: [entry],
        // The Web UI's line for the digest (the reviews it lists keep their own).
        staticSummary: fitUtf8(
          escapeMarkdown(`Notify digest: ${start.person.email ?? start.person.displayName}'s notify-tier changes in ${start.account}, one DM per ${start.windowSeconds} s`),
          SUMMARY_MAX_BYTES,
        ),
      });
      return { digestId: workflowId };
    },

    /** Adds one confirm-tier review to its person's batch (workflows/confirm-batch.ts), starting it when none is open. */
    async joinConfirmBatch(input: JoinConfirmBatchInput): Promise<{ batchId: string }> {
      const { start, entry } = input;
      if (!start.person.slackUserId) throw new Error('joinConfirmBatch: the person has no Slack user id');
      const client = deps.digestClient ?? Context.current().client;
      const workflowId = confirmBatchWorkflowId(start.account, start.person.slackUserId);
      await client.workflow.signalWithStart(CONFIRM_BATCH_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: Context.current().info.taskQueue,
        args: [start],
        signal: joinConfirmBatchSignal,
        signalArgs: [entry],
        staticSummary: fitUtf8(
          escapeMarkdown(`Confirm batch: ${start.person.email ?? start.person.displayName}'s confirm-tier changes in ${start.account}, one ask per ${start.windowSeconds} s`),
          SUMMARY_MAX_BYTES,
        ),
      });
      return { batchId: workflowId };
    },
  };
}
