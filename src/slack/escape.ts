// The one way text from an AWS record (session names, resource names, request values, summaries, reasons) is made
// safe for Slack, whatever the path: Block Kit mrkdwn, the fallback `text`, reminders, DMs, channel messages and
// ephemeral replies. Slack's documented escaping
// (https://docs.slack.dev/messaging/formatting-message-text#escaping-text): `&` → `&amp;`, `<` → `&lt;`,
// `>` → `&gt;`, and nothing else entity-encoded. With `<` escaped, no `<!channel>`, `<!here>`, `<@U…>`,
// `<!subteam^…>` or disguised link (`<https://evil|aws.amazon.com>`) can be formed by a record. Besides that:
// - the words Slack may turn into broadcast mentions when it parses a message (`@channel`, `@here`, `@everyone`)
//   get a word joiner after the `@`, so they read the same and notify nobody;
// - bidirectional controls (which can make `evil.com/moc.aws` read as something else) are dropped;
// - line breaks and other control characters become spaces in inline values, so a value cannot start a new line
//   that looks like vouch's own ("*Who:* …") or a block quote.
// vouch's own markup (its links to the review, date tokens, `*bold*` labels) is added around escaped values, never
// through this function.

const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// C0 and C1 controls and the Unicode line/paragraph separators; tab and newline are handled by the caller's mode.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]/g;
const BROADCASTS = /@(channel|here|everyone)\b/gi;
const WORD_JOINER = '\u2060';

export interface EscapeOptions {
  /** Keep line breaks (for vouch's own multi-line texts); default false: one line. */
  multiline?: boolean;
}

/** `text` made safe to put into any Slack text field (mrkdwn or a message's `text`). */
export function escapeSlackText(text: string, opts: EscapeOptions = {}): string {
  let out = text.replace(BIDI_CONTROLS, '').replace(CONTROLS, ' ');
  out = opts.multiline ? out.replace(/\r\n?/g, '\n').replace(/\t/g, ' ') : out.replace(/[\r\n\t]+/g, ' ');
  return out
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(BROADCASTS, `@${WORD_JOINER}$1`);
}

/**
 * Text for a Block Kit `plain_text` object (headers, button labels, dialog text). Slack shows plain_text as written
 * (it forms no mentions or links, and shows an `&amp;` there as is), so only controls are removed; vouch puts only
 * its own labels there and every record value in escaped mrkdwn.
 */
export function plainSlackText(text: string): string {
  return text.replace(BIDI_CONTROLS, '').replace(CONTROLS, ' ').replace(/[\r\n\t]+/g, ' ');
}
