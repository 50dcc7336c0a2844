// What a review says about itself in the Temporal Web UI: the one-line summary (Workflows list and the review's
// page), the static details in Markdown (set once at start) and the current details (kept up to date by the
// workflow as the review moves). Pure and deterministic, so the starter, the workflow and the tests share it.
//
// Temporal renders summary and details as Markdown (without images, HTML or scripts); a summary holds at most 200
// bytes and details 20 KB (https://docs.temporal.io/develop/typescript/enriching-ui). Every value that comes from a
// CloudTrail record can be chosen by whoever made the change, so it is escaped before it becomes Markdown.
import type { Change, Outcome, ReviewInput, TimelineEntry, Verdict } from './types';

/** Temporal's limit for a workflow's (and an activity's) summary. */
export const SUMMARY_MAX_BYTES = 200;
/** Temporal's limit for a workflow's details. */
export const DETAILS_MAX_BYTES = 20_000;
/** Timeline entries shown in the current details (the newest ones). */
const PROGRESS_STEPS = 8;

/** UTF-8 length of `text` (no TextEncoder: this runs in the workflow sandbox too). */
export function utf8Bytes(text: string): number {
  let n = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return n;
}

/** Cut `text` to at most `max` UTF-8 bytes, ending with an ellipsis when cut; never splits a character. */
export function fitUtf8(text: string, max: number): string {
  if (utf8Bytes(text) <= max) return text;
  const budget = max - 3; // "…" is three bytes
  let out = '';
  let used = 0;
  for (const ch of text) {
    const size = utf8Bytes(ch);
    if (used + size > budget) break;
    out += ch;
    used += size;
  }
  return `${out}…`;
}

/**
 * Escape Markdown so that text taken from a record reads as plain text: no links or images (brackets), emphasis,
 * code, HTML, headings, tables or strike-through. Parentheses stay: without brackets they make no link.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>#|~]/g, '\\$&').replace(/\r?\n/g, ' ');
}

/** Where a change happened: `account/region`. */
function where(change: Pick<Change, 'account' | 'region'>): string {
  return `${change.account}/${change.region}`;
}

function oneLine(change: Pick<Change, 'actor' | 'summary' | 'account' | 'region'>, escape: (s: string) => string): string {
  const head = `${escape(fitUtf8(change.actor.name.replace(/\s+/g, ' '), 64))}: `;
  const tail = ` in ${escape(where(change))}`;
  const room = Math.max(4, SUMMARY_MAX_BYTES - utf8Bytes(head) - utf8Bytes(tail));
  // A cut never leaves half an escape behind.
  const body = fitUtf8(escape(change.summary.replace(/\s+/g, ' ')), room).replace(/(^|[^\\])\\…$/, '$1…');
  return fitUtf8(`${head}${body}${tail}`, SUMMARY_MAX_BYTES);
}

/**
 * One line, plain text: who did what, where, e.g. "alice: sg-0abc opened to 0.0.0.0/0 on tcp/22 in
 * 111122223333/eu-west-1". At most SUMMARY_MAX_BYTES; a long change summary is cut, the actor and place are kept.
 */
export function reviewSummary(change: Pick<Change, 'actor' | 'summary' | 'account' | 'region'>): string {
  return oneLine(change, (s) => s);
}

/**
 * The same line as the value of the Text search attribute VouchSummary (the Web UI's list column). On PostgreSQL
 * visibility a Text value is cast to a tsvector *literal*, in which `:` starts a position and `'` and `\\` quote, so a
 * value holding one of them fails the whole visibility row and the review vanishes from the Web UI
 * (temporalio/temporal#11085). Record fields are chosen by whoever made the change, so those three characters are
 * written as look-alikes that are plain text to PostgreSQL: `∶` (U+2236), `’` (U+2019) and `⧵` (U+29F5).
 */
export function reviewSummarySearchText(change: Pick<Change, 'actor' | 'summary' | 'account' | 'region'>): string {
  return fitUtf8(reviewSummary(change).replace(/:/g, '\u2236').replace(/'/g, '\u2019').replace(/\\/g, '\u29f5'), SUMMARY_MAX_BYTES);
}

/** The same line as Temporal Markdown (what the Web UI renders): escaped, still within SUMMARY_MAX_BYTES. */
export function reviewSummaryMarkdown(change: Pick<Change, 'actor' | 'summary' | 'account' | 'region'>): string {
  return oneLine(change, escapeMarkdown);
}

function minutes(seconds: number): string {
  if (seconds % 60 !== 0) return `${seconds} s`;
  const m = seconds / 60;
  return m === 1 ? '1 min' : `${m} min`;
}

/** What happens to a review of this tier when nobody answers (or at once). */
function tierPlan(verdict: Verdict): string {
  switch (verdict.tier) {
    case 'notify':
      return 'The engineer is told; nothing to answer.';
    case 'revert':
      return 'Reverted at once; the engineer is told in Slack and security in PagerDuty.';
    case 'page':
      return `Security is paged at once; the engineer is still asked and has ${minutes(verdict.deadlineSeconds)} to answer.`;
    case 'confirm':
      return (
        `The engineer has ${minutes(verdict.deadlineSeconds)} from the Slack message to answer and confirm with Duo; ` +
        `after that security is paged${verdict.revertOnTimeout ? ' and the change is reverted' : ''}.`
      );
  }
}

/**
 * The static details, in Markdown: the change, tier, rules, reasons, deadline and revert plan. Set once when the
 * review starts (the live state is in the current details).
 */
export function reviewDetails(input: Pick<ReviewInput, 'change' | 'verdict'> & Partial<Pick<ReviewInput, 'dryRun'>>): string {
  const { change, verdict } = input;
  const md = escapeMarkdown;
  const actor = change.actor.arn ? `${md(change.actor.name)} (${md(change.actor.type)} ${md(change.actor.arn)})` : `${md(change.actor.name)} (${md(change.actor.type)})`;
  const lines = [
    `**${md(change.eventName)}** (${md(change.eventSource)}) in ${md(where(change))} at ${md(change.eventTime)}`,
    '',
    `**By:** ${actor}${change.sourceIp ? ` from ${md(change.sourceIp)}` : ''}`,
    '',
    `**Change:** ${md(change.summary)}`,
    '',
    `**Tier:** ${verdict.tier} (score ${verdict.score}). ${tierPlan(verdict)}`,
    '',
    `**Rules:** ${verdict.rules.length ? verdict.rules.map(md).join(', ') : 'none'}`,
    '',
    '**Reasons:**',
    '',
    ...(verdict.reasons.length ? verdict.reasons.map((r) => `- ${md(r)}`) : ['- none given']),
    '',
    `**Deadline:** ${verdict.tier === 'notify' || verdict.tier === 'revert' ? 'none' : minutes(verdict.deadlineSeconds)}`,
    '',
    `**Revert plan:** ${
      verdict.revertPlan
        ? `${md(verdict.revertPlan.description)} (${md(`${verdict.revertPlan.service}:${verdict.revertPlan.operation}`)}` +
          `${verdict.revertPlan.then?.length ? ` then ${verdict.revertPlan.then.map((s) => md(`${s.service}:${s.operation}`)).join(', ')}` : ''}` +
          `${verdict.revertPlan.source === 'baseline' ? ', from the trusted baseline' : ''})`
        : `none${verdict.revertReason ? `: ${md(verdict.revertReason)}` : ''}`
    }${input.dryRun ? ' (dry run: rehearsed, not applied)' : ''}`,
  ];
  return fitUtf8(lines.join('\n'), DETAILS_MAX_BYTES);
}

/** Where a review stands, for the current details. */
export type ReviewStage =
  | { kind: 'starting' }
  | { kind: 'asking'; person: string; deadline: string }
  | { kind: 'duo'; person: string; push: number; maxPushes: number; deadline: string }
  | { kind: 'duo-failed'; person: string; reason: string; pushes: number; maxPushes: number; deadline: string }
  | { kind: 'paging'; why: string }
  | { kind: 'reverting'; plan: string }
  | { kind: 'done'; outcome: Outcome; reason: string };

export interface ReviewProgress {
  stage: ReviewStage;
  /** This review's PagerDuty incident, once security has been paged. */
  incident?: 'open' | 'resolved';
  timeline: readonly TimelineEntry[];
}

function headline(stage: ReviewStage): string {
  const md = escapeMarkdown;
  switch (stage.kind) {
    case 'starting':
      return '**Starting**: finding who made the change';
    case 'asking':
      return `**Waiting for ${md(stage.person)}** to answer in Slack, until ${md(stage.deadline)}`;
    case 'duo':
      return `**Waiting for Duo**: push ${stage.push} of ${stage.maxPushes} to ${md(stage.person)}, until ${md(stage.deadline)}`;
    case 'duo-failed':
      return (
        `**Duo push failed** (${md(stage.reason)}): ${md(stage.person)} may ask for another ` +
        `(${stage.pushes} of ${stage.maxPushes} used) until ${md(stage.deadline)}`
      );
    case 'paging':
      return `**Paging security**: ${md(stage.why)}`;
    case 'reverting':
      return `**Reverting**: ${md(stage.plan)}`;
    case 'done':
      return `**${stage.outcome}**: ${md(stage.reason)}`;
  }
}

/** The current details, in Markdown: where the review stands, whether security was paged, the latest steps. */
export function reviewProgress(p: ReviewProgress): string {
  const steps = p.timeline.slice(-PROGRESS_STEPS).map((t) => `- ${t.at} ${t.step}: ${escapeMarkdown(fitUtf8(t.result, 300))}`);
  const lines = [
    headline(p.stage),
    ...(p.incident === 'open' ? ['', 'Security has been paged: the PagerDuty incident is open.'] : []),
    ...(p.incident === 'resolved' ? ['', 'Security was paged; the PagerDuty incident is resolved.'] : []),
    ...(steps.length ? ['', '**Latest steps:**', '', ...steps] : []),
  ];
  return fitUtf8(lines.join('\n'), DETAILS_MAX_BYTES);
}
