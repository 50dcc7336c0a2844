// Turns a Slack `block_actions` payload (a button click) into the workflow Update it stands for.
// Pure: no I/O, no clock. Used by the click handler (click-handler.ts) for both receivers: Socket Mode's
// 'interactive' envelope carries the same JSON as the HTTP `payload` field
// (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload).
import { z } from 'zod';
import { parseActionId } from './blocks';
import type { BatchDecisionRequest, DecisionRequest, DuoRetryRequest } from '../core/types';

interface ClickCommandBase {
  /** The review's workflow id (the button's value). */
  workflowId: string;
  /**
   * Temporal Update id: the same button on the same rendering of the same message, clicked by the same person,
   * always gives the same id, so double clicks dedupe in Temporal. See `clickUpdateId`.
   */
  updateId: string;
  actionId: string;
  clicker: { id: string; teamId?: string };
  /** Conversation the message lives in (DM `D…`); where an ephemeral reply goes. */
  channelId?: string;
  /** The `ts` of the message the button was on (container.message_ts): the workflow accepts only its own message. */
  messageTs: string;
}

export type ClickCommand =
  | (ClickCommandBase & { update: 'decision'; args: [DecisionRequest] })
  | (ClickCommandBase & { update: 'duoRetry'; args: [DuoRetryRequest] })
  /** A confirm batch's buttons: the value is the batch's workflow id, which takes the answer for the reviews it listed. */
  | (ClickCommandBase & { update: 'batchDecision'; args: [BatchDecisionRequest] });

export interface IgnoredClick {
  ignored: string;
}

/** A payload that claims to be a click but lacks what vouch needs. `field` is the dotted path of the culprit. */
export class ClickPayloadError extends Error {
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`block_actions payload: ${field} ${problem}`);
    this.name = 'ClickPayloadError';
    this.field = field;
  }
}

const nonEmpty = z.string().min(1);

// Only the fields vouch reads are declared; Slack sends many more (response_url, trigger_id, state, …) and they
// are let through.
const actionSchema = z.object({
  type: z.string().optional(),
  action_id: nonEmpty,
  block_id: z.string().optional(),
  value: z.string().optional(),
  action_ts: z.string().optional(),
});

const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({
    id: nonEmpty,
    team_id: z.string().optional(),
    username: z.string().optional(),
    name: z.string().optional(),
  }),
  team: z.object({ id: nonEmpty }).nullish(),
  container: z
    .object({
      type: z.string().optional(),
      message_ts: z.string().optional(),
      channel_id: z.string().optional(),
    })
    .optional(),
  channel: z.object({ id: nonEmpty }).nullish(),
  message: z.object({ ts: z.string().optional() }).nullish(),
  actions: z.array(actionSchema).min(1),
});

function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(payload)';
}

function describeIssue(issue: z.core.$ZodIssue): ClickPayloadError {
  const field = fieldPath(issue.path);
  if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) {
    return new ClickPayloadError(field, 'is missing');
  }
  if (issue.code === 'too_small') return new ClickPayloadError(field, 'is empty');
  return new ClickPayloadError(field, `is invalid (${issue.message})`);
}

/** The Update id for a click; stable across double clicks, new for each re-rendered message (new block_id). */
export function clickUpdateId(parts: { messageTs: string; blockId?: string; actionId: string; userId: string }): string {
  const { messageTs, blockId, actionId, userId } = parts;
  // blocks.ts gives every rendering a new block_id, so a second "send another Duo push" after a second failed
  // push is a new Update rather than a duplicate of the first one.
  return blockId ? `${messageTs}:${blockId}:${actionId}:${userId}` : `${messageTs}:${actionId}:${userId}`;
}

const MAX_WORKFLOW_ID = 1000;

/**
 * Reads a Slack interaction payload (already JSON-parsed). Returns the Update to deliver, `{ ignored }` for
 * interactions vouch does not handle (other payload types, other apps' action ids), and throws ClickPayloadError
 * naming the field when a vouch click is malformed.
 */
export function interpretClick(payload: unknown): ClickCommand | IgnoredClick {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new ClickPayloadError('(payload)', 'is not a JSON object');
  }
  const type = (payload as { type?: unknown }).type;
  if (type === undefined) throw new ClickPayloadError('type', 'is missing');
  if (type !== 'block_actions') return { ignored: `payload type ${String(type)} is not handled` };

  const parsed = blockActionsSchema.safeParse(payload);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw first ? describeIssue(first) : new ClickPayloadError('(payload)', 'is invalid');
  }
  const p = parsed.data;
  // A button click carries exactly one action.
  const [action] = p.actions;
  if (!action) throw new ClickPayloadError('actions', 'is empty');
  const actionId = action.action_id;
  // Action ids rendered by blocks.ts; each button's `value` is the review's workflow id.
  const meaning = parseActionId(actionId);
  if (!meaning) return { ignored: `action ${actionId} is not a vouch action` };

  const workflowId = action.value;
  if (workflowId === undefined) throw new ClickPayloadError('actions[0].value', 'is missing');
  if (workflowId.trim() === '') throw new ClickPayloadError('actions[0].value', 'is empty');
  if (workflowId.length > MAX_WORKFLOW_ID) {
    throw new ClickPayloadError('actions[0].value', `is longer than ${MAX_WORKFLOW_ID} characters`);
  }

  // The message the button is on, as Slack says (the payload is signed): the workflow compares it with the message it
  // posted, so a click on any other message (an older copy, another review's DM) changes nothing.
  const messageTs = p.container?.message_ts || p.message?.ts;
  if (!messageTs) throw new ClickPayloadError('container.message_ts', 'is missing');

  const userId = p.user.id;
  const teamId = p.user.team_id || p.team?.id;
  const channelId = p.container?.channel_id || p.channel?.id;
  const base: ClickCommandBase = {
    workflowId,
    updateId: clickUpdateId({ messageTs, blockId: action.block_id || undefined, actionId, userId }),
    actionId,
    clicker: teamId ? { id: userId, teamId } : { id: userId },
    messageTs,
    ...(channelId ? { channelId } : {}),
  };
  if (meaning.action === 'batchYes' || meaning.action === 'batchNo') {
    const answer = meaning.action === 'batchYes' ? 'yes' : 'no';
    return { ...base, update: 'batchDecision', args: [{ slackUserId: userId, answer, messageTs }] };
  }
  if (meaning.action !== 'duoRetry') {
    return { ...base, update: 'decision', args: [{ slackUserId: userId, answer: meaning.action, messageTs }] };
  }
  const retry: DuoRetryRequest = { slackUserId: userId, messageTs };
  if (meaning.duoAttempt !== undefined) retry.duoAttempt = meaning.duoAttempt;
  return { ...base, update: 'duoRetry', args: [retry] };
}

export function isIgnored(result: ClickCommand | IgnoredClick): result is IgnoredClick {
  return 'ignored' in result;
}
