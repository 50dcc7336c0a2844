// The confirm batch's message in Block Kit (README "How a review runs": Noise): one ask that lists a person's
// confirm-tier changes of one window, each with its own review, and one pair of buttons whose value is the batch's
// workflow id. Record text goes through escapeSlackText into mrkdwn marked `verbatim`, as in blocks.ts.
import { randomUUID } from 'node:crypto';
import { truncate } from '../core/text';
import type { BatchMessageInput } from '../core/types';
import { ActionIds, BlockKitLimits, formatTime, linkTo, mrkdwn, plainText, type RenderedMessage } from './blocks';
import { escapeSlackText } from './escape';

/** The `message.metadata.event_type` of a batch message; its payload names the batch and the exact reviews listed. */
export const BATCH_MESSAGE_EVENT_TYPE = 'vouch_confirm_batch';

/** Room for the list in one section (Slack: 3,000 characters); lines past it are counted, not listed. */
const LIST_BUDGET = 2800;

export function renderBatchMessage(input: BatchMessageInput, opts: { nonce?: string } = {}): RenderedMessage {
  const nonce = (opts.nonce ?? randomUUID().replace(/-/g, '')).replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64);
  const blockId = (part: string): string => truncate(`vouch-batch-${input.state.kind}-${part}-${nonce}`, BlockKitLimits.blockId);
  const n = input.entries.length;
  let list = '';
  let listed = 0;
  for (const e of input.entries) {
    const link = linkTo(e.reviewUrl, 'review') ?? '';
    const line = `• ${escapeSlackText(truncate(e.what, 300))}${link ? ` (${link})` : ''}`;
    if (list.length + line.length + 1 > LIST_BUDGET) break;
    list += `${list ? '\n' : ''}${line}`;
    listed += 1;
  }
  if (listed < n) list += `\n…and ${n - listed} more; each change has its own review in the Temporal Web UI.`;
  const blocks: unknown[] = [];
  const value = truncate(input.batchId, BlockKitLimits.buttonValue);
  if (input.state.kind === 'ask') {
    const deadline = formatTime(input.state.deadline);
    blocks.push({ type: 'header', block_id: blockId('header'), text: plainText(`Did you make these ${n} AWS changes?`) });
    blocks.push({ type: 'section', block_id: blockId('list'), text: mrkdwn(list) });
    blocks.push({
      type: 'context',
      block_id: blockId('deadline'),
      elements: [mrkdwn(`⏰ Please answer by *${deadline.mrkdwn}*. One answer and one Duo push cover all ${n}; without an answer security will be paged about each.`)],
    });
    blocks.push({
      type: 'actions',
      block_id: blockId('actions'),
      elements: [
        { type: 'button', action_id: ActionIds.batchYes, text: plainText(`Yes, all ${n} were me`), value, style: 'primary' },
        {
          type: 'button',
          action_id: ActionIds.batchNo,
          text: plainText('No, not all were me'),
          value,
          style: 'danger',
          confirm: {
            title: plainText('Report these changes?'),
            text: plainText(`Security will be paged about each of these ${n} changes, and those with a revert plan reverted.`),
            confirm: plainText('Report them'),
            deny: plainText('Cancel'),
            style: 'danger',
          },
        },
      ],
    });
    return { text: `Did you make these ${n} AWS changes? Please answer by ${deadline.plain}.`, blocks };
  }
  const info = escapeSlackText(input.state.text, { multiline: true });
  blocks.push({ type: 'section', block_id: blockId('info'), text: mrkdwn(info) });
  blocks.push({ type: 'section', block_id: blockId('list'), text: mrkdwn(list) });
  return { text: info, blocks };
}
