// The review message in Block Kit, rendered from the workflow's MessageState. Pure apart from a fresh block_id nonce.
// Limits follow @slack/types 3.2.0 (https://docs.slack.dev/reference/block-kit/blocks). Everything shown comes from the change's summary
// and metadata (never raw request parameters), goes through escapeSlackText into mrkdwn marked `verbatim` (no
// injected links or mentions; plain_text carries vouch's own labels only), and has any value the change holds under a
// sensitive key scrubbed out, as defence in depth behind the normaliser.
import { randomUUID } from 'node:crypto';
import { isSensitiveKey, redact, REDACTED } from '../core/redact';
import { truncate } from '../core/text';
import type { Change, MessageState, Outcome, PostMessageInput, Verdict } from '../core/types';
import { escapeSlackText, plainSlackText } from './escape';

/**
 * action_id of each button; the Slack interaction handler dispatches on these. The button value is the review id.
 * The Duo-retry button's action_id also names the Duo attempt it was drawn for (`vouch_duo_retry:2`), so a click on
 * an older rendering can be told from one on the current message (see duoRetryActionId).
 */
export const ActionIds = {
  yes: 'vouch_yes',
  no: 'vouch_no',
  duoRetry: 'vouch_duo_retry',
  /** On a confirm batch's message (src/slack/batch-blocks.ts); the button value is the batch's workflow id. */
  batchYes: 'vouch_batch_yes',
  batchNo: 'vouch_batch_no',
} as const;

/** The `message.metadata.event_type` of every review message (https://docs.slack.dev/messaging/message-metadata). */
export const REVIEW_MESSAGE_EVENT_TYPE = 'vouch_review';

/** action_id of the "send another Duo push" button drawn after Duo attempt `attempt` (1-based) failed. */
export function duoRetryActionId(attempt: number): string {
  return `${ActionIds.duoRetry}:${attempt}`;
}

/**
 * Reads an action_id of a vouch button: which button, and for the Duo-retry button the attempt it was drawn for
 * (undefined for a button rendered before attempts were named). Undefined for anything that is not vouch's.
 */
export function parseActionId(actionId: string): { action: keyof typeof ActionIds; duoAttempt?: number } | undefined {
  if (actionId === ActionIds.yes) return { action: 'yes' };
  if (actionId === ActionIds.no) return { action: 'no' };
  if (actionId === ActionIds.duoRetry) return { action: 'duoRetry' };
  if (actionId === ActionIds.batchYes) return { action: 'batchYes' };
  if (actionId === ActionIds.batchNo) return { action: 'batchNo' };
  const m = /^vouch_duo_retry:([1-9]\d{0,3})$/.exec(actionId);
  return m ? { action: 'duoRetry', duoAttempt: Number(m[1]) } : undefined;
}

/** Block Kit limits (characters unless stated), per @slack/types 3.2.0 block-kit/*.d.ts. */
export const BlockKitLimits = {
  blocksPerMessage: 50,
  blockId: 255,
  actionId: 255,
  buttonText: 75,
  buttonValue: 2000,
  actionsElements: 25,
  contextElements: 10,
  sectionText: 3000,
  headerText: 150,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
} as const;

/** Fallback `text` is shown in notifications; keep it well under Slack's 40,000-character cap. */
const FALLBACK_TEXT_MAX = 3000;
const REASON_MAX = 300;
const REASONS_SHOWN = 10;

export interface RenderedMessage {
  text: string;
  blocks: unknown[];
}

export interface RenderOptions {
  /** Suffix for block_ids (default: random). Slack wants a new block_id on each update. */
  nonce?: string;
}

// ---- Block Kit shapes used here ----

interface PlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}

interface Mrkdwn {
  type: 'mrkdwn';
  text: string;
  /** true: Slack does not auto-link URLs or channel names nor parse mentions in it (our own markup still works). */
  verbatim: true;
}

interface Button {
  type: 'button';
  action_id: string;
  text: PlainText;
  value: string;
  style?: 'primary' | 'danger';
  confirm?: {
    title: PlainText;
    text: PlainText;
    confirm: PlainText;
    deny: PlainText;
    style?: 'primary' | 'danger';
  };
}

type Block =
  | { type: 'header'; block_id: string; text: PlainText }
  | { type: 'section'; block_id: string; text: PlainText | Mrkdwn }
  | { type: 'context'; block_id: string; elements: (PlainText | Mrkdwn)[] }
  | { type: 'actions'; block_id: string; elements: Button[] }
  | { type: 'divider'; block_id: string };

// ---- text helpers ----

/** Like truncate, for mrkdwn: never leaves half an `&amp;` entity or an unclosed `<…|…>` link/date token. */
function truncateMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = truncate(text, max).slice(0, -1);
  cut = cut.replace(/&[a-z#0-9]*$/i, '');
  const open = cut.lastIndexOf('<');
  if (open > cut.lastIndexOf('>')) cut = cut.slice(0, open);
  return `${cut}…`;
}

/** Inside `code` spans a backtick would end the span early. */
function code(text: string): string {
  return `\`${escapeSlackText(text.replace(/`/g, "'"))}\``;
}

function collectSensitiveValues(value: unknown, underSensitiveKey: boolean, out: Set<string>, depth = 0): void {
  if (depth > 32 || value === null || value === undefined) return;
  if (typeof value === 'string' || typeof value === 'number') {
    const text = String(value);
    // Very short values ("1", "on") would blank out ordinary words; they are not worth hiding either.
    if (underSensitiveKey && text.length >= 4 && text !== REDACTED) out.add(text);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collectSensitiveValues(item, underSensitiveKey, out, depth + 1);
    return;
  }
  if (typeof value === 'object') {
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      collectSensitiveValues(v, underSensitiveKey || isSensitiveKey(key), out, depth + 1);
    }
  }
}

/** A function that replaces every value the change holds under a sensitive key with REDACTED. */
function makeScrubber(change: Change): (text: string) => string {
  const secrets = new Set<string>();
  collectSensitiveValues(change.request, false, secrets);
  collectSensitiveValues(change.response, false, secrets);
  // Longest first, so a secret that contains another is removed whole.
  const ordered = [...secrets].sort((a, b) => b.length - a.length);
  return (text: string): string => {
    let out = text;
    for (const secret of ordered) out = out.split(secret).join(REDACTED);
    return out;
  };
}

/** "2024-05-01 10:15 UTC" for fallback text; a Slack date token (shown in the reader's time zone) in mrkdwn. */
export function formatTime(iso: string): { plain: string; mrkdwn: string } {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return { plain: iso, mrkdwn: escapeSlackText(iso) };
  const plain = `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return { plain, mrkdwn: `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} at {time}|${plain}>` };
}

export function linkTo(url: string, label: string): string | undefined {
  if (!/^https?:\/\/[^\s]+$/i.test(url) || url.length > 2000) return undefined;
  const safeUrl = url.replace(/&/g, '&amp;').replace(/</g, '%3C').replace(/>/g, '%3E').replace(/\|/g, '%7C');
  return `<${safeUrl}|${escapeSlackText(label)}>`;
}

const OUTCOME_LABELS: Record<Outcome, string> = {
  PENDING: '⏳ Waiting for an answer',
  CONFIRMED: '✅ Confirmed',
  DENIED: '🚫 Denied: security has been alerted',
  TIMED_OUT: '⌛ No answer in time: security has been paged',
  REVERTED: '↩️ Reverted',
  REVERT_FAILED: '⚠️ Revert failed: security has been paged',
  APPROVED: '✅ Approved by security',
  ESCALATED: '🚨 Escalated to security',
  NOTIFIED: 'ℹ️ For your information',
  PAGE_FAILED: '⚠️ Security could not be paged: their Slack channel was told',
  CANCELLED: '🛑 Review cancelled: security has been paged',
};

function outcomeLabel(outcome: Outcome): string {
  return OUTCOME_LABELS[outcome] ?? outcome;
}

function deadlineNote(verdict: Verdict): string {
  switch (verdict.tier) {
    case 'page':
      return 'Security has been paged as well; your answer tells them whether this was you.';
    case 'revert':
      return 'This kind of change is reverted automatically; your answer goes to security.';
    default:
      return 'Without an answer by then, security will be paged.';
  }
}

// ---- rendering ----

export function renderReviewMessage(input: PostMessageInput, opts: RenderOptions = {}): RenderedMessage {
  const change = redact(input.change);
  const verdict = redact(input.verdict);
  const scrub = makeScrubber(input.change);
  const nonce = (opts.nonce ?? randomUUID().replace(/-/g, '')).replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64);
  const reviewId = truncate(input.reviewId, BlockKitLimits.buttonValue);
  const blocks: Block[] = [];

  const blockId = (part: string): string => truncate(`vouch-${input.state.kind}-${part}-${nonce}`, BlockKitLimits.blockId);
  /** mrkdwn-safe, scrubbed text from a value that came from the change. */
  const md = (text: string): string => escapeSlackText(scrub(text));
  const plain = (text: string): string => scrub(text);

  const header = (text: string): void => {
    blocks.push({ type: 'header', block_id: blockId('header'), text: plainText(truncate(text, BlockKitLimits.headerText)) });
  };
  const section = (part: string, text: string): void => {
    blocks.push({ type: 'section', block_id: blockId(part), text: mrkdwn(truncateMrkdwn(text, BlockKitLimits.sectionText)) });
  };
  const context = (part: string, texts: string[]): void => {
    const elements = texts
      .filter((t) => t.length > 0)
      .slice(0, BlockKitLimits.contextElements)
      .map((t) => mrkdwn(truncateMrkdwn(t, BlockKitLimits.sectionText)));
    if (elements.length > 0) blocks.push({ type: 'context', block_id: blockId(part), elements });
  };
  const actions = (elements: Button[]): void => {
    blocks.push({ type: 'actions', block_id: blockId('actions'), elements });
  };
  const button = (actionId: string, text: string, style?: Button['style']): Button => ({
    type: 'button',
    action_id: truncate(actionId, BlockKitLimits.actionId),
    text: plainText(truncate(text, BlockKitLimits.buttonText)),
    value: reviewId,
    ...(style ? { style } : {}),
  });

  const when = formatTime(change.eventTime);
  const summary = change.summary.trim() || `${change.eventName} on ${change.eventSource}`;
  const actor = change.actor;
  const who =
    `${md(actor.name || 'unknown')} (${md(actor.type)})` +
    (actor.arn && actor.arn !== actor.name ? ` ${code(scrub(actor.arn))}` : '') +
    (actor.email && actor.email !== actor.name ? `, ${md(actor.email)}` : '');
  const details = [
    `*What changed:* ${md(truncate(summary, 1000))}`,
    `*API call:* ${code(scrub(change.eventName))} on ${code(scrub(change.eventSource))}`,
    `*Where:* account ${code(scrub(change.account))}, region ${code(scrub(change.region))}`,
    `*When:* ${when.mrkdwn}`,
    `*Who:* ${who}`,
  ].join('\n');
  const reasons = verdict.reasons.filter((r) => r.trim().length > 0);
  const reasonLines = reasons.slice(0, REASONS_SHOWN).map((r) => `• ${md(truncate(r.trim(), REASON_MAX))}`);
  if (reasons.length > REASONS_SHOWN) reasonLines.push(`…and ${reasons.length - REASONS_SHOWN} more`);
  const reviewLink = linkTo(input.reviewUrl, 'Open the review') ?? '';
  const where = `${change.account}/${change.region}`;
  let text: string;

  const state: MessageState = input.state;
  switch (state.kind) {
    case 'ask': {
      const deadline = formatTime(state.deadline);
      header('Did you make this AWS change?');
      section('details', details);
      if (reasonLines.length > 0) section('reasons', `*Why it needs a check:*\n${reasonLines.join('\n')}`);
      context('deadline', [`⏰ Please answer by *${deadline.mrkdwn}*. ${deadlineNote(verdict)}`, reviewLink]);
      const no = button(ActionIds.no, "No, this wasn't me", 'danger');
      no.confirm = {
        title: plainText('Report this change?'),
        text: plainText(
          truncate(
            verdict.revertPlan
              ? 'Security will be paged and the change may be reverted.'
              : 'Security will be paged about this change.',
            BlockKitLimits.confirmText,
          ),
        ),
        confirm: plainText("It wasn't me"),
        deny: plainText('Cancel'),
        style: 'danger',
      };
      actions([button(ActionIds.yes, 'Yes, this was me', 'primary'), no]);
      text = `Did you make this AWS change? ${plain(summary)} (${plain(change.eventName)}) in ${plain(where)}. Please answer by ${deadline.plain}.`;
      break;
    }
    case 'duo-pending': {
      header('Check your Duo app');
      section(
        'duo',
        `*Check your Duo app.* We sent a Duo push (number ${state.pushes}) to confirm that you made this change. Approve it to finish the review.`,
      );
      section('details', details);
      context('link', [reviewLink]);
      text = `Check your Duo app to confirm: ${plain(summary)} in ${plain(where)}.`;
      break;
    }
    case 'duo-failed': {
      const canRetry = state.pushes < state.maxPushes;
      header('Duo did not confirm the change');
      section(
        'duo',
        `*Duo push not approved:* ${md(truncate(state.reason, 1000))}\n` +
          (canRetry
            ? `You can send another push (${state.pushes} of ${state.maxPushes} used).`
            : `All ${state.maxPushes} Duo pushes have been used.`),
      );
      if (canRetry) actions([button(duoRetryActionId(state.pushes), 'Send another Duo push', 'primary')]);
      section('details', details);
      context('link', [reviewLink]);
      text = `Duo did not confirm (${plain(state.reason)}): ${plain(summary)} in ${plain(where)}.`;
      break;
    }
    case 'final': {
      const label = outcomeLabel(state.outcome);
      header(label);
      section('outcome', `*Outcome:* ${escapeSlackText(label)}\n*Reason:* ${md(truncate(state.reason, 1500))}`);
      section('details', details);
      context('link', [reviewLink]);
      text = `${label}: ${plain(summary)} in ${plain(where)}. ${plain(state.reason)}`;
      break;
    }
    case 'info': {
      const info = escapeSlackText(scrub(state.text).trim(), { multiline: true });
      section('info', info || '(no details)');
      section('details', details);
      context('link', [reviewLink]);
      text = plain(state.text).trim() || `Update on ${plain(summary)}`;
      break;
    }
    default: {
      const unknownState: never = state;
      throw new TypeError(`Unknown message state ${JSON.stringify(unknownState)}`);
    }
  }

  return { text: truncateMrkdwn(escapeSlackText(text), FALLBACK_TEXT_MAX), blocks };
}

export function plainText(text: string): PlainText {
  return { type: 'plain_text', text: plainSlackText(text), emoji: true };
}

export function mrkdwn(text: string): Mrkdwn {
  return { type: 'mrkdwn', text, verbatim: true };
}
