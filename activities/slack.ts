// Slack activities: find the person behind an actor, DM them the review message, keep it up to date, remind them.
// The WebClient comes from src/slack/client.ts, built to fail fast (no retry loop, 429s rejected at once, bounded
// timeout); Temporal's activity retry policy owns the backoff. Failures carry a FailureTypes `type` the workflow
// branches on. Every text that may hold record values goes through escapeSlackText (src/slack/escape.ts).
//
// One DM per review: the review message carries message metadata {event_type: vouch_review, event_payload:
// {reviewId}} (https://docs.slack.dev/messaging/message-metadata), and before posting, the activity reads the DM's
// recent history with include_all_metadata (conversations.history, scope im:history) for a message of its own bot
// carrying that review id. An attempt whose reply was lost after Slack had posted the message therefore finds it on
// the retry instead of posting a second message with live buttons. Slack documents no idempotency key for
// chat.postMessage (client_msg_id belongs to messages typed by people), so vouch does not rely on one.
import { ApplicationFailure } from '@temporalio/activity';
import {
  ErrorCode,
  type ChatPostMessageArguments,
  type WebAPIHTTPError,
  type WebClient,
  type WebAPIPlatformError,
  type WebAPIRateLimitedError,
  type WebAPIRequestError,
} from '@slack/web-api';
import { FailureTypes } from '../src/core/types';
import type {
  Actor,
  BatchMessageInput,
  Person,
  PostMessageInput,
  ReminderInput,
  SlackMessageRef,
  UpdateMessageInput,
} from '../src/core/types';
import type { PeopleDirectory } from './people';
import { renderReviewMessage, REVIEW_MESSAGE_EVENT_TYPE } from '../src/slack/blocks';
import { escapeSlackText } from '../src/slack/escape';
import { BATCH_MESSAGE_EVENT_TYPE, renderBatchMessage } from '../src/slack/batch-blocks';
import { truncate } from '../src/core/text';

export interface SlackDeps {
  slack: WebClient;
  directory: PeopleDirectory;
}

export interface NotifyPersonInput {
  slackUserId: string;
  text: string;
}

/** Slack truncates message text beyond about 4,000 characters. */
const MAX_PLAIN_TEXT = 4000;

/** How far back (before the change itself) the DM history is searched for the review's message. */
const HISTORY_SLACK_SECONDS = 3600;
/** conversations.history pages (of HISTORY_PAGE messages) read at most before deciding the message was not posted. */
const HISTORY_PAGES = 5;
const HISTORY_PAGE = 200;

/** Record text made safe for a plain Slack message, cut to what Slack shows. */
function safeText(text: string): string {
  return truncate(escapeSlackText(text, { multiline: true }), MAX_PLAIN_TEXT).replace(/&[a-z]*…$/, '…');
}

/** Slack error codes that mean the token or its scopes are wrong: retrying cannot help. */
const CREDENTIAL_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'missing_scope',
  'not_allowed_token_type',
]);

/** Slack error codes (with HTTP 200 and ok:false) that are transient on Slack's side. */
const TRANSIENT_PLATFORM_ERRORS = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

// ---- error mapping ----

function errorCode(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** Turn a @slack/web-api error into what Temporal should do with it. Every message names the Slack method. */
export function toActivityFailure(method: string, err: unknown): Error {
  const cause = err instanceof Error ? err : undefined;
  switch (errorCode(err)) {
    case ErrorCode.RateLimitedError: {
      const retryAfter = Math.max(1, Math.ceil((err as WebAPIRateLimitedError).retryAfter));
      return ApplicationFailure.create({
        type: FailureTypes.RateLimited,
        message: `Slack ${method} was rate limited; Slack asks to retry after ${retryAfter} s`,
        nextRetryDelay: `${retryAfter} seconds`,
        cause,
      });
    }
    case ErrorCode.PlatformError: {
      const data = (err as WebAPIPlatformError).data;
      const slackError = data.error;
      if (CREDENTIAL_ERRORS.has(slackError)) {
        const neededScope = (data as { needed?: unknown }).needed;
        const needed = typeof neededScope === 'string' ? ` (needed scope: ${neededScope})` : '';
        return ApplicationFailure.create({
          type: FailureTypes.InvalidCredentials,
          message: `Slack ${method} refused the bot token: ${slackError}${needed}`,
          nonRetryable: true,
          cause,
        });
      }
      if (slackError === 'ratelimited') {
        return ApplicationFailure.create({
          type: FailureTypes.RateLimited,
          message: `Slack ${method} was rate limited (ratelimited)`,
          cause,
        });
      }
      if (TRANSIENT_PLATFORM_ERRORS.has(slackError)) {
        return new Error(`Slack ${method} failed on Slack's side: ${slackError}`, { cause });
      }
      const details = (data.response_metadata?.messages ?? []).slice(0, 3).join('; ');
      return ApplicationFailure.create({
        type: FailureTypes.VendorRejected,
        message: `Slack ${method} rejected the request: ${slackError}${details ? ` (${details})` : ''}`,
        nonRetryable: true,
        cause,
      });
    }
    case ErrorCode.HTTPError: {
      const status = (err as WebAPIHTTPError).statusCode;
      if (status >= 500 || status === 408) {
        return new Error(`Slack ${method} failed with HTTP ${status}; will retry`, { cause });
      }
      return ApplicationFailure.create({
        type: FailureTypes.VendorRejected,
        message: `Slack ${method} answered HTTP ${status}`,
        nonRetryable: true,
        cause,
      });
    }
    case ErrorCode.RequestError: {
      const original = (err as WebAPIRequestError).original;
      return new Error(`Slack ${method} request failed: ${original?.message ?? 'network error'}`, { cause });
    }
    default:
      return new Error(`Slack ${method} failed: ${cause?.message ?? String(err)}`, { cause });
  }
}

async function call<T>(method: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toActivityFailure(method, err);
  }
}

function rejected(method: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureTypes.VendorRejected,
    message: `Slack ${method} ${message}`,
    nonRetryable: true,
  });
}

function describeActor(actor: Actor): string {
  return `${actor.type} ${actor.arn ?? actor.name}`;
}

/** @slack/types' block union, reached through web-api's argument types (the renderer returns plain JSON). */
type Blocks = Extract<ChatPostMessageArguments, { blocks: unknown }>['blocks'];

// ---- activities ----

export function createSlackActivities(deps: SlackDeps) {
  const { slack, directory } = deps;

  async function openDm(slackUserId: string): Promise<string> {
    const res = await call('conversations.open', () => slack.conversations.open({ users: slackUserId }));
    const channel = res.channel?.id;
    if (!channel) throw rejected('conversations.open', `returned no channel for user ${slackUserId}`);
    return channel;
  }

  function messageRef(method: string, res: { channel?: string; ts?: string }): SlackMessageRef {
    if (!res.channel || !res.ts) throw rejected(method, 'returned no channel/ts for the posted message');
    return { channel: res.channel, ts: res.ts };
  }

  // The bot's own user and bot ids (auth.test), so only messages vouch posted count as the review's message.
  let self: Promise<{ userId?: string; botId?: string }> | undefined;
  function whoAmI(): Promise<{ userId?: string; botId?: string }> {
    self ??= call('auth.test', () => slack.auth.test()).then(
      (res) => ({ ...(res.user_id ? { userId: res.user_id } : {}), ...(res.bot_id ? { botId: res.bot_id } : {}) }),
      (err: unknown) => {
        self = undefined;
        throw err;
      },
    );
    return self;
  }

  /** The review's message already in the DM, if an earlier attempt posted it (see the top of this file). */
  async function findReviewMessage(channel: string, reviewId: string, eventTime: string): Promise<SlackMessageRef | undefined> {
    const me = await whoAmI();
    const since = Date.parse(eventTime);
    const oldest = Number.isNaN(since) ? undefined : String(Math.max(0, Math.floor(since / 1000) - HISTORY_SLACK_SECONDS));
    let cursor: string | undefined;
    for (let page = 0; page < HISTORY_PAGES; page += 1) {
      const res = await call('conversations.history', () =>
        slack.conversations.history({
          channel,
          limit: HISTORY_PAGE,
          include_all_metadata: true,
          ...(oldest ? { oldest } : {}),
          ...(cursor ? { cursor } : {}),
        }),
      );
      const mine = (res.messages ?? []).find(
        (m) =>
          m.ts &&
          !m.thread_ts &&
          m.metadata?.event_type === REVIEW_MESSAGE_EVENT_TYPE &&
          (m.metadata.event_payload as { reviewId?: unknown } | undefined)?.reviewId === reviewId &&
          ((me.userId !== undefined && m.user === me.userId) || (me.botId !== undefined && m.bot_id === me.botId)),
      );
      if (mine?.ts) return { channel, ts: mine.ts };
      cursor = res.response_metadata?.next_cursor || undefined;
      if (!res.has_more || !cursor) return undefined;
    }
    return undefined;
  }

  return {
    /**
     * The person behind an actor, through a trusted identity only (activities/people.ts): the directory entry or the
     * e-mail of an Identity Center / IAM user, then Slack by e-mail if needed.
     */
    async resolvePerson(actor: Actor): Promise<Person> {
      const found = directory.match(actor);
      if (!found.entry) {
        throw ApplicationFailure.create({
          type: FailureTypes.UnknownPerson,
          message: `Nobody can be asked about this change: ${found.reason}`,
          nonRetryable: true,
        });
      }
      const entry = found.entry;
      let slackUserId = entry.slackUserId;
      let slackName: string | undefined;
      if (!slackUserId) {
        let res;
        try {
          res = await slack.users.lookupByEmail({ email: entry.email });
        } catch (err) {
          if (errorCode(err) === ErrorCode.PlatformError && (err as WebAPIPlatformError).data.error === 'users_not_found') {
            throw ApplicationFailure.create({
              type: FailureTypes.UnknownPerson,
              message: `Slack users.lookupByEmail found no Slack user with the e-mail ${entry.email} (for ${describeActor(actor)})`,
              nonRetryable: true,
            });
          }
          throw toActivityFailure('users.lookupByEmail', err);
        }
        const user = res.user;
        if (!user?.id) throw rejected('users.lookupByEmail', `returned no user for ${entry.email}`);
        if (user.deleted) {
          throw ApplicationFailure.create({
            type: FailureTypes.UnknownPerson,
            message: `Slack user ${user.id} (${entry.email}) is deactivated`,
            nonRetryable: true,
          });
        }
        slackUserId = user.id;
        slackName = user.profile?.real_name || user.real_name || user.profile?.display_name || user.name || undefined;
      }
      return {
        slackUserId,
        duoUsername: entry.duoUsername ?? entry.email,
        email: entry.email,
        // Never the record's own name for the actor: on a role that name is the session name, which the caller chose.
        displayName: entry.displayName ?? slackName ?? entry.email,
      };
    },

    /**
     * DM the review message to the person; returns where it landed so it can be updated later. Idempotent: when an
     * earlier attempt already posted it (its reply lost), that message is returned and nothing new is posted.
     */
    async postReviewMessage(input: PostMessageInput): Promise<SlackMessageRef> {
      const channel = await openDm(input.slackUserId);
      const existing = await findReviewMessage(channel, input.reviewId, input.change.eventTime);
      if (existing) return existing;
      const { text, blocks } = renderReviewMessage(input);
      const res = await call('chat.postMessage', () =>
        slack.chat.postMessage({
          channel,
          text,
          blocks: blocks as Blocks,
          unfurl_links: false,
          unfurl_media: false,
          metadata: { event_type: REVIEW_MESSAGE_EVENT_TYPE, event_payload: { reviewId: input.reviewId } },
        }),
      );
      return messageRef('chat.postMessage', res);
    },

    /** Re-render the review message in place (a final state has no buttons left). */
    async updateReviewMessage(input: UpdateMessageInput): Promise<void> {
      const { text, blocks } = renderReviewMessage(input);
      await call('chat.update', () =>
        slack.chat.update({ channel: input.message.channel, ts: input.message.ts, text, blocks: blocks as Blocks }),
      );
    },

    /**
     * DM a confirm batch's one ask (src/slack/batch-blocks.ts); its metadata names the batch and the exact reviews it
     * lists. Not deduplicated like the review message: a second copy from a retried post has its own ts, which the
     * batch never listed, so clicks on it do nothing.
     */
    async postBatchMessage(input: BatchMessageInput): Promise<SlackMessageRef> {
      const channel = await openDm(input.slackUserId);
      const { text, blocks } = renderBatchMessage(input);
      const res = await call('chat.postMessage', () =>
        slack.chat.postMessage({
          channel,
          text,
          blocks: blocks as Blocks,
          unfurl_links: false,
          unfurl_media: false,
          metadata: { event_type: BATCH_MESSAGE_EVENT_TYPE, event_payload: { batchId: input.batchId, reviewIds: input.entries.map((e) => e.reviewId).join(',') } },
        }),
      );
      return messageRef('chat.postMessage', res);
    },

    /** Re-render the batch message in place, without buttons. */
    async updateBatchMessage(input: BatchMessageInput): Promise<void> {
      const message = input.message;
      if (!message) throw rejected('chat.update', 'needs the batch message to update');
      const { text, blocks } = renderBatchMessage(input);
      await call('chat.update', () => slack.chat.update({ channel: message.channel, ts: message.ts, text, blocks: blocks as Blocks }));
    },

    /** A reminder as a threaded reply under the review message in the DM. */
    async sendReminder(input: ReminderInput): Promise<void> {
      await call('chat.postMessage', () =>
        slack.chat.postMessage({
          channel: input.message.channel,
          thread_ts: input.message.ts,
          text: safeText(input.text),
        }),
      );
    },

    /** A plain DM, e.g. to tell an engineer that their change was reverted. */
    async notifyPerson(input: NotifyPersonInput): Promise<SlackMessageRef> {
      const channel = await openDm(input.slackUserId);
      const res = await call('chat.postMessage', () =>
        slack.chat.postMessage({ channel, text: safeText(input.text), unfurl_links: false }),
      );
      return messageRef('chat.postMessage', res);
    },

    /** A plain message to a channel (notify-tier changes go to security's channel). */
    async notifyChannel(input: { channel: string; text: string }): Promise<SlackMessageRef> {
      const res = await call('chat.postMessage', () =>
        slack.chat.postMessage({ channel: input.channel, text: safeText(input.text), unfurl_links: false }),
      );
      return messageRef('chat.postMessage', res);
    },
  };
}
