// Plays Slack's side of interactivity: builds the `block_actions` payload a button click produces
// (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload), signs it the way Slack does
// (https://docs.slack.dev/authentication/verifying-requests-from-slack) and POSTs it as `payload=<json>` to vouch's
// handler. Used by the tests and by the demo sandbox's buttons.
import { createHmac, randomBytes } from 'node:crypto';

export interface ClickSpec {
  userId: string;
  teamId: string;
  /** The button's value: the review's workflow id. */
  workflowId: string;
  /** vouch_yes | vouch_no | vouch_duo_retry, or anything else for "another app's button". */
  actionId: string;
  /** DM channel id (`D…`). */
  channelId: string;
  /** The message's ts, e.g. '1700000000.000100'. */
  messageTs: string;
  userName?: string;
  teamDomain?: string;
  blockId?: string;
  buttonText?: string;
  apiAppId?: string;
  /** Seconds since the epoch with microseconds, as Slack writes it; defaults to now. */
  actionTs?: string;
  messageText?: string;
}

export interface SlackButtonAction {
  type: 'button';
  action_id: string;
  block_id: string;
  text: { type: 'plain_text'; text: string; emoji: boolean };
  value: string;
  style?: 'primary' | 'danger';
  action_ts: string;
}

/** The JSON Slack puts in the `payload` form field for a button click in a bot's DM. */
export interface BlockActionsPayloadJson {
  type: 'block_actions';
  user: { id: string; username: string; name: string; team_id: string };
  api_app_id: string;
  token: string;
  container: { type: 'message'; message_ts: string; channel_id: string; is_ephemeral: boolean };
  trigger_id: string;
  team: { id: string; domain: string };
  enterprise: null;
  is_enterprise_install: boolean;
  channel: { id: string; name: string };
  message: {
    type: 'message';
    subtype?: string;
    text: string;
    user: string;
    ts: string;
    bot_id: string;
    app_id: string;
    blocks: unknown[];
    team: string;
  };
  state: { values: Record<string, unknown> };
  response_url: string;
  actions: SlackButtonAction[];
}

function nowActionTs(): string {
  const ms = Date.now();
  return `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1000).padStart(6, '0')}`;
}

function defaultButtonText(actionId: string): string {
  switch (actionId) {
    case 'vouch_yes':
      return 'Yes, this was me';
    case 'vouch_no':
      return "No, this wasn't me";
    case 'vouch_duo_retry':
      return 'Send another Duo push';
    default:
      return 'Click me';
  }
}

/** A realistic `block_actions` payload for one button click (field set per bolt 5.1.0 `block-action.d.ts`). */
export function buildBlockActionsPayload(spec: ClickSpec): BlockActionsPayloadJson {
  const blockId = spec.blockId ?? 'vouch_actions';
  const apiAppId = spec.apiAppId ?? 'A0VOUCHAPP';
  const buttonText = spec.buttonText ?? defaultButtonText(spec.actionId);
  const style: SlackButtonAction['style'] =
    spec.actionId === 'vouch_yes' ? 'primary' : spec.actionId === 'vouch_no' ? 'danger' : undefined;
  const action: SlackButtonAction = {
    type: 'button',
    action_id: spec.actionId,
    block_id: blockId,
    text: { type: 'plain_text', text: buttonText, emoji: true },
    value: spec.workflowId,
    ...(style ? { style } : {}),
    action_ts: spec.actionTs ?? nowActionTs(),
  };
  const text = spec.messageText ?? 'vouch: did you make this AWS change?';
  return {
    type: 'block_actions',
    user: {
      id: spec.userId,
      username: spec.userName ?? 'engineer',
      name: spec.userName ?? 'engineer',
      team_id: spec.teamId,
    },
    api_app_id: apiAppId,
    // The legacy verification token; vouch ignores it and relies on the signature.
    token: 'legacyVerificationToken',
    container: { type: 'message', message_ts: spec.messageTs, channel_id: spec.channelId, is_ephemeral: false },
    trigger_id: `${Math.floor(Date.now() / 1000)}.${randomBytes(4).readUInt32BE()}.${randomBytes(16).toString('hex')}`,
    team: { id: spec.teamId, domain: spec.teamDomain ?? 'example' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: spec.channelId, name: 'directmessage' },
    message: {
      type: 'message',
      text,
      user: 'U0VOUCHBOT',
      ts: spec.messageTs,
      bot_id: 'B0VOUCHBOT',
      app_id: apiAppId,
      team: spec.teamId,
      blocks: [
        { type: 'section', block_id: 'vouch_summary', text: { type: 'mrkdwn', text, verbatim: false } },
        {
          type: 'actions',
          block_id: blockId,
          elements: [
            {
              type: 'button',
              action_id: spec.actionId,
              text: { type: 'plain_text', text: buttonText, emoji: true },
              value: spec.workflowId,
              ...(style ? { style } : {}),
            },
          ],
        },
      ],
    },
    state: { values: {} },
    response_url: `https://hooks.slack.com/actions/${spec.teamId}/${Date.now()}/${randomBytes(12).toString('hex')}`,
    actions: [action],
  };
}

/** `application/x-www-form-urlencoded` body with one `payload` field holding the JSON, as Slack sends it. */
export function encodeInteractionBody(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export interface SlackSignatureHeaders {
  'x-slack-signature': string;
  'x-slack-request-timestamp': string;
}

/** Slack's request signature: v0=hex(HMAC-SHA256(secret, "v0:<ts>:<raw body>")), sent with X-Slack-Request-Timestamp. */
export function signSlackRequest(
  body: string,
  signingSecret: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): SlackSignatureHeaders {
  const hash = createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex');
  return { 'x-slack-signature': `v0=${hash}`, 'x-slack-request-timestamp': String(timestamp) };
}

export interface PostClickOptions {
  /** Unix seconds put in X-Slack-Request-Timestamp and signed over; defaults to now. */
  timestamp?: number;
  /** Headers to leave out (to play a request that is not from Slack). */
  omitHeaders?: Array<keyof SlackSignatureHeaders>;
  /** Replaces the computed signature (e.g. one made with the wrong secret). */
  signature?: string;
  /** Sends this body instead of `payload=<json>`, signed as usual (raw form bodies such as `ssl_check=1`). */
  rawBody?: string;
  signal?: AbortSignal;
}

export interface PostClickResult {
  status: number;
  body: string;
  /** Milliseconds from sending to the response's status line: Slack gives up after 3000. */
  elapsedMs: number;
}

/** Signs and POSTs a click to an interactivity URL, like Slack does. */
export async function postClick(
  url: string,
  payload: unknown,
  signingSecret: string,
  opts: PostClickOptions = {},
): Promise<PostClickResult> {
  const body = opts.rawBody ?? encodeInteractionBody(payload);
  const signed = signSlackRequest(body, signingSecret, opts.timestamp);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    'x-slack-signature': opts.signature ?? signed['x-slack-signature'],
    'x-slack-request-timestamp': signed['x-slack-request-timestamp'],
  };
  for (const name of opts.omitHeaders ?? []) delete headers[name];
  const started = Date.now();
  const res = await fetch(url, { method: 'POST', headers, body, signal: opts.signal ?? AbortSignal.timeout(10_000) });
  const elapsedMs = Date.now() - started;
  return { status: res.status, body: await res.text(), elapsedMs };
}
