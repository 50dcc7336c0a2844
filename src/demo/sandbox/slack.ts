// A loopback stand-in for the Slack Web API (POST <url>/api/<method>), for tests and the demo sandbox.
// It checks what Slack checks for the methods vouch uses: the bot token in `Authorization: Bearer`, the token's scopes
// and each method's rate tier (slack-rules.ts), a form-encoded body, each method's required arguments, Block Kit
// structure and limits, and that updates target a message that exists and that the bot posted. Method behaviour and error codes follow https://docs.slack.dev/reference/methods and
// https://github.com/slackapi/slack-api-specs (the Web API's OpenAPI description). Failures can be scripted per method.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isRecord } from '../../core/text';
import { manifestBotScopes, missingScope, SlackRateLimiter } from './slack-rules';

export interface SlackUser {
  id: string;
  email: string;
  name: string;
  realName?: string;
  /** A deactivated account. */
  deleted?: boolean;
}

export interface SlackChannel {
  id: string;
  name: string;
}

export interface SlackStandInOptions {
  /** The bot token (xoxb-…) every call must carry. */
  token: string;
  users?: SlackUser[];
  /** Public channels the bot is a member of (C… ids). */
  channels?: SlackChannel[];
  teamId?: string;
  botUserId?: string;
  /** The bot token's scopes. Default: the bot scopes of src/deploy/slack-app-manifest.yaml. */
  scopes?: string[];
  /** Clock of the rate-limit buckets (epoch ms). Default Date.now. */
  now?: () => number;
}

/** What the next call(s) of a method answer instead of the normal reply. */
export type ScriptedFailure =
  | { status: 429; retryAfter?: number }
  | { status: number; body?: string }
  | { error: string }
  | { delayMs: number }
  /** The call takes effect (e.g. the message is posted), then the connection drops before any reply. */
  | { lostReply: true };

/** Message metadata as chat.postMessage takes it (https://docs.slack.dev/messaging/message-metadata). */
export interface MessageMetadata {
  event_type: string;
  event_payload: Record<string, unknown>;
}

/**
 * A fault chosen by looking at the call (fault tests): a ScriptedFailure, or `replyAfterMs`: the call is carried out
 * and its answer held that long, as when a reply is lost on the way back because the caller died meanwhile.
 */
export type SlackFault = ScriptedFailure | { replyAfterMs: number };

/** What a fault hook sees of one authenticated call (the `token` parameter masked). */
export interface SlackCall {
  method: string;
  params: Record<string, string>;
}

export interface ReceivedRequest {
  method: string;
  /** Form parameters as sent (a `token` parameter is masked). */
  params: Record<string, string>;
  at: Date;
  status: number;
  ok: boolean;
  error?: string;
}

export interface Conversation {
  id: string;
  type: 'im' | 'mpim' | 'channel';
  /** Human members (the bot is implied). */
  users: string[];
  name?: string;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  /** The bot user that posted it. */
  user: string;
  text: string;
  /** Latest blocks (after any updates); undefined when the message has none. */
  blocks?: unknown[];
  threadTs?: string;
  replies: StoredMessage[];
  /** How many times chat.update changed it. */
  edits: number;
  metadata?: MessageMetadata;
}

export interface EphemeralMessage {
  channel: string;
  user: string;
  messageTs: string;
  text: string;
  blocks?: unknown[];
  threadTs?: string;
}

export type SlackStandInEvent =
  | { type: 'conversation.opened'; conversation: Conversation }
  | { type: 'message.posted'; message: StoredMessage; to?: string }
  | { type: 'message.updated'; message: StoredMessage; to?: string }
  | { type: 'ephemeral.posted'; ephemeral: EphemeralMessage };

type Params = Record<string, string>;
type Reply = Record<string, unknown>;

class SlackError extends Error {
  constructor(
    readonly slackError: string,
    readonly extra: Reply = {},
  ) {
    super(slackError);
  }
}

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_TEXT = 40000;

/** Methods this stand-in serves; anything else answers `unknown_method` (HTTP 404, as Slack does). */
const METHODS = [
  'auth.test',
  'users.lookupByEmail',
  'conversations.open',
  'conversations.history',
  'chat.postMessage',
  'chat.update',
  'chat.postEphemeral',
] as const;
type Method = (typeof METHODS)[number];

function isMethod(name: string): name is Method {
  return (METHODS as readonly string[]).includes(name);
}

export class SlackStandIn extends EventEmitter {
  /** Every call received, in order, with the answer it got. */
  readonly requests: ReceivedRequest[] = [];
  /** Top-level messages in post order (replies live in `replies` of their parent). */
  readonly messages: StoredMessage[] = [];
  readonly ephemerals: EphemeralMessage[] = [];

  private readonly token: string;
  private readonly teamId: string;
  private readonly botUserId: string;
  private readonly users = new Map<string, SlackUser>();
  private readonly conversations = new Map<string, Conversation>();
  private readonly byTs = new Map<string, StoredMessage>();
  private readonly failures = new Map<string, ScriptedFailure[]>();
  private server: http.Server | undefined;
  private tsSeq = 0;
  private readonly scopes: string[];
  private readonly limiter: SlackRateLimiter;
  /** Consulted for each authenticated call the failNext queue does not answer: the fault to serve, if any. */
  faultHook: ((call: SlackCall) => SlackFault | undefined) | undefined;

  constructor(opts: SlackStandInOptions) {
    super();
    if (!opts.token) throw new Error('SlackStandIn needs a bot token');
    this.token = opts.token;
    this.teamId = opts.teamId ?? 'T0VOUCH00';
    this.botUserId = opts.botUserId ?? 'U0VOUCHBOT';
    this.scopes = opts.scopes ?? manifestBotScopes();
    this.limiter = new SlackRateLimiter(opts.now);
    for (const user of opts.users ?? []) this.addUser(user);
    for (const channel of opts.channels ?? []) {
      this.conversations.set(channel.id, { id: channel.id, type: 'channel', users: [], name: channel.name });
    }
  }

  async start(): Promise<{ url: string; apiUrl: string }> {
    if (this.server) throw new Error('SlackStandIn already started');
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`stand-in error: ${(err as Error).message}`);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    return { url: this.url, apiUrl: `${this.url}/api/` };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  get url(): string {
    if (!this.server) throw new Error('SlackStandIn is not started');
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  addUser(user: SlackUser): void {
    this.users.set(user.id, { ...user });
  }

  /** Make the next `times` calls of `method` fail as described (in addition to any already queued). */
  failNext(method: string, failure: ScriptedFailure, times = 1): void {
    const queue = this.failures.get(method) ?? [];
    for (let i = 0; i < times; i += 1) queue.push(failure);
    this.failures.set(method, queue);
  }

  /** A message a person wrote in a conversation the bot is in (the bot cannot edit it). */
  addUserMessage(channel: string, userId: string, text: string): StoredMessage {
    const conv = this.conversations.get(channel);
    if (!conv) throw new Error(`no conversation ${channel}`);
    const message: StoredMessage = { channel, ts: this.nextTs(), user: userId, text, replies: [], edits: 0 };
    this.byTs.set(`${channel}/${message.ts}`, message);
    this.messages.push(message);
    return snapshot(message);
  }

  /** Forget messages, conversations, requests, scripted failures and spent rate limits (users and channels stay). */
  reset(): void {
    this.requests.length = 0;
    this.messages.length = 0;
    this.ephemerals.length = 0;
    this.byTs.clear();
    this.failures.clear();
    this.limiter.reset();
    for (const [id, conv] of this.conversations) if (conv.type !== 'channel') this.conversations.delete(id);
  }

  conversation(id: string): Conversation | undefined {
    return this.conversations.get(id);
  }

  /** The DM channel id the bot has open with `userId`, if any. */
  dmChannelOf(userId: string): string | undefined {
    for (const conv of this.conversations.values()) {
      if (conv.type === 'im' && conv.users[0] === userId) return conv.id;
    }
    return undefined;
  }

  /** A message or thread reply by channel and ts. */
  message(channel: string, ts: string): StoredMessage | undefined {
    return this.byTs.get(`${channel}/${ts}`);
  }

  /** Top-level messages in a channel. */
  messagesIn(channel: string): StoredMessage[] {
    return this.messages.filter((m) => m.channel === channel);
  }

  override emit(event: 'event', payload: SlackStandInEvent): boolean;
  override emit(event: string | symbol, ...args: unknown[]): boolean;
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    return super.emit(event, ...args);
  }

  override on(event: 'event', listener: (payload: SlackStandInEvent) => void): this;
  override on(event: string | symbol, listener: (...args: never[]) => void): this;
  override on(event: string | symbol, listener: (...args: never[]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  // ---- HTTP ----

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const match = /^\/api\/([A-Za-z.]+)$/.exec(path);
    const method = match?.[1] ?? path;
    let maskedParams: Params = {};
    const send = (status: number, body: Reply | string, headers: Record<string, string> = {}): void => {
      const ok = typeof body === 'object' && body.ok === true;
      const error = typeof body === 'object' && typeof body.error === 'string' ? body.error : undefined;
      this.requests.push({ method, params: maskedParams, at: new Date(), status, ok, ...(error ? { error } : {}) });
      if (res.destroyed) return;
      const isJson = typeof body === 'object';
      res.writeHead(status, {
        'content-type': isJson ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
        ...headers,
      });
      res.end(isJson ? JSON.stringify(body) : body);
    };

    if (!match || !isMethod(method)) {
      send(404, { ok: false, error: 'unknown_method', req_method: method });
      return;
    }
    if (req.method !== 'POST') {
      send(405, { ok: false, error: 'invalid_request', detail: 'vouch only POSTs to the Web API' });
      return;
    }

    let raw: string;
    try {
      raw = await readBody(req);
    } catch {
      send(413, { ok: false, error: 'request_too_large' });
      return;
    }
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (contentType !== 'application/x-www-form-urlencoded') {
      send(200, { ok: false, error: 'invalid_form_data', detail: `unexpected content-type ${contentType || '(none)'}` });
      return;
    }
    const params: Params = Object.fromEntries(new URLSearchParams(raw));
    maskedParams = { ...params, ...(params.token !== undefined ? { token: '<masked>' } : {}) };

    const authError = this.checkAuth(req.headers.authorization, params.token);
    if (authError) {
      send(200, { ok: false, error: authError });
      return;
    }

    // The token's scopes, then the method's rate tier (slack-rules.ts).
    const scopeHeaders = { 'x-oauth-scopes': this.scopes.join(',') };
    const noScope = missingScope(method, params, this.scopes);
    if (noScope) {
      send(200, { ok: false, ...noScope }, { ...scopeHeaders, 'x-accepted-oauth-scopes': noScope.needed });
      return;
    }
    const rate = this.limiter.take(method, method === 'chat.postMessage' ? params.channel : undefined);
    if (!rate.ok) {
      send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(rate.retryAfter) });
      return;
    }

    const scripted: SlackFault | undefined = this.failures.get(method)?.shift() ?? this.faultHook?.({ method, params: maskedParams });
    const replyAfterMs = scripted && 'replyAfterMs' in scripted ? scripted.replyAfterMs : 0;
    const failure = scripted && !('replyAfterMs' in scripted) ? scripted : undefined;
    if (failure) {
      if ('lostReply' in failure) {
        // Slack did the work; the reply never reaches the caller.
        try {
          this.dispatch(method, params);
        } catch {
          // a failing call has no effect to keep
        }
        this.requests.push({ method, params: maskedParams, at: new Date(), status: 0, ok: false, error: 'reply lost' });
        req.socket.destroy();
        return;
      }
      if ('delayMs' in failure) {
        await new Promise((resolve) => setTimeout(resolve, failure.delayMs));
      } else if ('error' in failure) {
        send(200, { ok: false, error: failure.error });
        return;
      } else if (failure.status === 429) {
        const retryAfter = 'retryAfter' in failure ? failure.retryAfter : undefined;
        send(429, { ok: false, error: 'ratelimited' }, retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {});
        return;
      } else {
        const body = 'body' in failure && failure.body !== undefined ? failure.body : `<html><body>${failure.status}</body></html>`;
        send(failure.status, body);
        return;
      }
    }

    try {
      const reply = { ok: true, ...this.dispatch(method, params) };
      if (replyAfterMs > 0) await new Promise((resolve) => setTimeout(resolve, replyAfterMs).unref());
      send(200, reply);
    } catch (err) {
      if (err instanceof SlackError) {
        send(200, { ok: false, error: err.slackError, ...err.extra });
        return;
      }
      throw err;
    }
  }

  private checkAuth(header: string | undefined, bodyToken: string | undefined): string | undefined {
    let presented: string | undefined;
    if (header !== undefined) {
      const bearer = /^Bearer (\S+)$/.exec(header.trim());
      if (!bearer) return 'invalid_auth';
      presented = bearer[1];
    } else {
      presented = bodyToken;
    }
    if (!presented) return 'not_authed';
    return presented === this.token ? undefined : 'invalid_auth';
  }

  private dispatch(method: Method, p: Params): Reply {
    switch (method) {
      case 'auth.test':
        return {
          url: 'https://vouch-sandbox.slack.com/',
          team: 'vouch sandbox',
          user: 'vouch',
          team_id: this.teamId,
          user_id: this.botUserId,
          bot_id: 'B0VOUCHBOT',
          is_enterprise_install: false,
        };
      case 'users.lookupByEmail':
        return this.lookupByEmail(p);
      case 'conversations.open':
        return this.openConversation(p);
      case 'conversations.history':
        return this.history(p);
      case 'chat.postMessage':
        return this.postMessage(p);
      case 'chat.update':
        return this.updateMessage(p);
      case 'chat.postEphemeral':
        return this.postEphemeral(p);
    }
  }

  // ---- methods ----

  private lookupByEmail(p: Params): Reply {
    const email = required(p, 'email').toLowerCase();
    const user = [...this.users.values()].find((u) => u.email.toLowerCase() === email);
    if (!user) throw new SlackError('users_not_found');
    return { user: this.userObject(user) };
  }

  private openConversation(p: Params): Reply {
    if (p.channel) {
      const conv = this.conversations.get(p.channel);
      if (!conv) throw new SlackError('channel_not_found');
      return { no_op: true, already_open: true, channel: this.channelObject(conv) };
    }
    if (!p.users) throw new SlackError('users_list_not_supplied');
    const ids = p.users.split(',').map((u) => u.trim()).filter(Boolean);
    if (ids.length === 0) throw new SlackError('users_list_not_supplied');
    if (ids.length > 8) throw new SlackError('too_many_users');
    for (const id of ids) {
      const user = this.users.get(id);
      if (!user) throw new SlackError('user_not_found');
      if (user.deleted) throw new SlackError('user_disabled');
    }
    const { conversation, created } = this.openWith(ids);
    return {
      ...(created ? {} : { no_op: true, already_open: true }),
      channel: this.channelObject(conversation),
    };
  }

  private postMessage(p: Params): Reply {
    if (!p.channel) throw new SlackError('channel_not_found');
    const conv = this.resolveChannel(p.channel);
    const { text, blocks } = messageContent(p);
    const metadata = messageMetadata(p);
    let parent: StoredMessage | undefined;
    if (p.thread_ts) {
      parent = this.byTs.get(`${conv.id}/${p.thread_ts}`);
      if (!parent) throw new SlackError('thread_not_found');
      // Replies to a reply land in the root thread, as in Slack.
      if (parent.threadTs) parent = this.byTs.get(`${conv.id}/${parent.threadTs}`) ?? parent;
    }
    const message: StoredMessage = {
      channel: conv.id,
      ts: this.nextTs(),
      user: this.botUserId,
      text,
      ...(blocks ? { blocks } : {}),
      ...(parent ? { threadTs: parent.ts } : {}),
      replies: [],
      edits: 0,
      ...(metadata ? { metadata } : {}),
    };
    this.byTs.set(`${conv.id}/${message.ts}`, message);
    if (parent) parent.replies.push(message);
    else this.messages.push(message);
    this.emit('event', { type: 'message.posted', message: snapshot(message), ...recipient(conv) });
    return { channel: conv.id, ts: message.ts, message: this.messageObject(message) };
  }

  /**
   * conversations.history: top-level messages of a conversation the bot is in, newest first; `oldest`/`latest`
   * bound them (exclusive unless `inclusive`), `limit` (default 100, at most 999) and `cursor` page them, and message
   * metadata is included only with `include_all_metadata`.
   */
  private history(p: Params): Reply {
    const channel = required(p, 'channel');
    const conv = this.conversations.get(channel);
    if (!conv) throw new SlackError('channel_not_found');
    const limit = p.limit === undefined || p.limit === '' ? 100 : Number(p.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new SlackError('invalid_limit');
    const inclusive = p.inclusive === 'true' || p.inclusive === '1';
    const withMetadata = p.include_all_metadata === 'true' || p.include_all_metadata === '1';
    const after = (ts: string, bound: string | undefined, lower: boolean): boolean => {
      if (bound === undefined || bound === '') return true;
      const [a, b] = [Number(ts), Number(bound)];
      return lower ? (inclusive ? a >= b : a > b) : inclusive ? a <= b : a < b;
    };
    const all = this.messages
      .filter((m) => m.channel === conv.id && after(m.ts, p.oldest, true) && after(m.ts, p.latest, false))
      .reverse();
    let start = 0;
    if (p.cursor) {
      const from = Buffer.from(p.cursor, 'base64').toString('utf8');
      const at = /^next_ts:(\d+\.\d+)$/.exec(from)?.[1];
      if (!at) throw new SlackError('invalid_cursor');
      start = all.findIndex((m) => Number(m.ts) <= Number(at));
      if (start < 0) start = all.length;
    }
    const page = all.slice(start, start + Math.min(limit, 999));
    const next = all[start + page.length];
    return {
      messages: page.map((m) => ({ ...this.messageObject(m), ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}) })),
      has_more: next !== undefined,
      pin_count: 0,
      ...(next ? { response_metadata: { next_cursor: Buffer.from(`next_ts:${next.ts}`).toString('base64') } } : {}),
    };
  }

  private updateMessage(p: Params): Reply {
    const channel = required(p, 'channel');
    const ts = required(p, 'ts');
    const conv = this.conversations.get(channel);
    if (!conv) throw new SlackError('channel_not_found');
    const message = this.byTs.get(`${channel}/${ts}`);
    if (!message) throw new SlackError('message_not_found');
    if (message.user !== this.botUserId) throw new SlackError('cant_update_message');
    const { text, blocks } = messageContent(p);
    message.text = text;
    if (blocks) message.blocks = blocks;
    else delete message.blocks;
    message.edits += 1;
    this.emit('event', { type: 'message.updated', message: snapshot(message), ...recipient(conv) });
    return { channel, ts, text, message: this.messageObject(message) };
  }

  private postEphemeral(p: Params): Reply {
    const channel = required(p, 'channel');
    const userId = required(p, 'user');
    const conv = this.resolveChannel(channel);
    const user = this.users.get(userId);
    if (!user) throw new SlackError('user_not_found');
    if (conv.type !== 'channel' && !conv.users.includes(userId)) throw new SlackError('user_not_in_channel');
    const { text, blocks } = messageContent(p);
    const ephemeral: EphemeralMessage = {
      channel: conv.id,
      user: userId,
      messageTs: this.nextTs(),
      text,
      ...(blocks ? { blocks } : {}),
      ...(p.thread_ts ? { threadTs: p.thread_ts } : {}),
    };
    this.ephemerals.push(ephemeral);
    this.emit('event', { type: 'ephemeral.posted', ephemeral: structuredClone(ephemeral) });
    return { message_ts: ephemeral.messageTs };
  }

  // ---- state helpers ----

  /** A D…/G…/C… id, or a user id (U…/W…), which Slack turns into the bot's DM with that user. */
  private resolveChannel(id: string): Conversation {
    const existing = this.conversations.get(id);
    if (existing) return existing;
    const user = this.users.get(id);
    if (user) {
      if (user.deleted) throw new SlackError('user_disabled');
      return this.openWith([id]).conversation;
    }
    throw new SlackError('channel_not_found');
  }

  private openWith(userIds: string[]): { conversation: Conversation; created: boolean } {
    const sorted = [...new Set(userIds)].sort();
    const id =
      sorted.length === 1
        ? `D${(sorted[0] as string).slice(1)}`
        : `G${createHash('sha256').update(sorted.join(',')).digest('hex').slice(0, 10).toUpperCase()}`;
    const existing = this.conversations.get(id);
    if (existing) return { conversation: existing, created: false };
    const conversation: Conversation = { id, type: sorted.length === 1 ? 'im' : 'mpim', users: sorted };
    this.conversations.set(id, conversation);
    this.emit('event', { type: 'conversation.opened', conversation: structuredClone(conversation) });
    return { conversation, created: true };
  }

  private nextTs(): string {
    this.tsSeq += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.tsSeq).padStart(6, '0')}`;
  }

  private userObject(user: SlackUser): Reply {
    return {
      id: user.id,
      team_id: this.teamId,
      name: user.name,
      deleted: user.deleted ?? false,
      real_name: user.realName ?? user.name,
      is_bot: false,
      profile: {
        email: user.email,
        real_name: user.realName ?? user.name,
        display_name: user.name,
      },
    };
  }

  private channelObject(conv: Conversation): Reply {
    return conv.type === 'im'
      ? { id: conv.id, is_im: true, user: conv.users[0] }
      : { id: conv.id, is_im: false, ...(conv.name ? { name: conv.name } : {}) };
  }

  private messageObject(message: StoredMessage): Reply {
    return {
      type: 'message',
      user: this.botUserId,
      bot_id: 'B0VOUCHBOT',
      text: message.text,
      ts: message.ts,
      ...(message.blocks ? { blocks: message.blocks } : {}),
      ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
    };
  }
}

function required(p: Params, name: string): string {
  const value = p[name];
  if (value === undefined || value === '') {
    throw new SlackError('invalid_arguments', {
      response_metadata: { messages: [`[ERROR] missing required field: ${name}`] },
    });
  }
  return value;
}

/** `text` and/or `blocks` of a post or update, validated as Slack does. */
function messageContent(p: Params): { text: string; blocks?: unknown[] } {
  let blocks: unknown[] | undefined;
  if (p.blocks !== undefined && p.blocks !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(p.blocks);
    } catch {
      throw new SlackError('invalid_blocks_format');
    }
    if (!Array.isArray(parsed)) throw new SlackError('invalid_blocks_format');
    const errors = validateBlocks(parsed);
    if (errors.length > 0) {
      throw new SlackError('invalid_blocks', {
        errors,
        response_metadata: { messages: errors.map((e) => `[ERROR] ${e}`) },
      });
    }
    if (parsed.length > 0) blocks = parsed;
  }
  const text = p.text ?? '';
  if (!text && !blocks && !p.attachments) throw new SlackError('no_text');
  if (text.length > MAX_TEXT) throw new SlackError('msg_too_long');
  return { text, ...(blocks ? { blocks } : {}) };
}

/** The `metadata` argument: a JSON object with a string event_type and an object event_payload, as Slack requires. */
function messageMetadata(p: Params): MessageMetadata | undefined {
  if (p.metadata === undefined || p.metadata === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(p.metadata);
  } catch {
    throw new SlackError('invalid_metadata_format');
  }
  if (!isRecord(parsed) || typeof parsed.event_type !== 'string' || !/^\w{1,255}$/.test(parsed.event_type) || !isRecord(parsed.event_payload)) {
    throw new SlackError('invalid_metadata_schema');
  }
  return { event_type: parsed.event_type, event_payload: parsed.event_payload };
}

function recipient(conv: Conversation): { to?: string } {
  return conv.type === 'im' && conv.users[0] ? { to: conv.users[0] } : {};
}

function snapshot(message: StoredMessage): StoredMessage {
  return structuredClone(message);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// ---- Block Kit validation (limits per @slack/types 3.2.0 block-kit/*.d.ts and docs.slack.dev/reference/block-kit) ----

const BLOCK_KEYS: Record<string, string[]> = {
  section: ['type', 'block_id', 'text', 'fields', 'accessory', 'expand'],
  header: ['type', 'block_id', 'text'],
  context: ['type', 'block_id', 'elements'],
  actions: ['type', 'block_id', 'elements'],
  divider: ['type', 'block_id'],
};
/** Block types Slack accepts that vouch does not use; only their block_id is checked. */
const OTHER_BLOCK_TYPES = new Set(['image', 'input', 'file', 'rich_text', 'video', 'markdown', 'call']);

/** Problems Slack would report for these blocks; empty when they are valid. */
export function validateBlocks(blocks: unknown): string[] {
  const errors: string[] = [];
  if (!Array.isArray(blocks)) return ['blocks must be an array'];
  if (blocks.length > 50) errors.push(`no more than 50 blocks allowed (got ${blocks.length})`);
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => {
    const at = `blocks[${i}]`;
    if (!isRecord(block)) {
      errors.push(`${at}: must be an object`);
      return;
    }
    if (block.block_id !== undefined) {
      if (typeof block.block_id !== 'string' || block.block_id.length === 0 || block.block_id.length > 255) {
        errors.push(`${at}.block_id: must be a string of 1 to 255 characters`);
      } else if (blockIds.has(block.block_id)) {
        errors.push(`${at}.block_id: duplicate block_id ${block.block_id}`);
      } else {
        blockIds.add(block.block_id);
      }
    }
    const type = typeof block.type === 'string' ? block.type : '';
    const allowed = BLOCK_KEYS[type];
    if (!allowed) {
      if (!OTHER_BLOCK_TYPES.has(type)) errors.push(`${at}.type: unsupported block type ${JSON.stringify(block.type)}`);
      return;
    }
    for (const key of Object.keys(block)) {
      if (!allowed.includes(key)) errors.push(`${at}: unexpected property ${key}`);
    }
    switch (type) {
      case 'section': {
        if (block.text === undefined && block.fields === undefined) errors.push(`${at}: needs text or fields`);
        if (block.text !== undefined) checkTextObject(block.text, `${at}.text`, 3000, errors);
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields) || block.fields.length === 0 || block.fields.length > 10) {
            errors.push(`${at}.fields: must hold 1 to 10 text objects`);
          } else {
            block.fields.forEach((f, j) => checkTextObject(f, `${at}.fields[${j}]`, 2000, errors));
          }
        }
        if (block.accessory !== undefined) checkElement(block.accessory, `${at}.accessory`, errors);
        break;
      }
      case 'header':
        checkTextObject(block.text, `${at}.text`, 150, errors, 'plain_text');
        break;
      case 'context': {
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 10) {
          errors.push(`${at}.elements: must hold 1 to 10 elements`);
          break;
        }
        block.elements.forEach((el, j) => {
          if (isRecord(el) && el.type === 'image') return;
          checkTextObject(el, `${at}.elements[${j}]`, 3000, errors);
        });
        break;
      }
      case 'actions': {
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 25) {
          errors.push(`${at}.elements: must hold 1 to 25 elements`);
          break;
        }
        const actionIds = new Set<string>();
        block.elements.forEach((el, j) => {
          checkElement(el, `${at}.elements[${j}]`, errors);
          if (isRecord(el) && typeof el.action_id === 'string') {
            if (actionIds.has(el.action_id)) errors.push(`${at}.elements[${j}].action_id: duplicate ${el.action_id}`);
            actionIds.add(el.action_id);
          }
        });
        break;
      }
    }
  });
  return errors;
}

function checkTextObject(
  value: unknown,
  at: string,
  max: number,
  errors: string[],
  only?: 'plain_text' | 'mrkdwn',
): void {
  if (!isRecord(value)) {
    errors.push(`${at}: must be a text object`);
    return;
  }
  if (value.type !== 'plain_text' && value.type !== 'mrkdwn') {
    errors.push(`${at}.type: must be plain_text or mrkdwn`);
    return;
  }
  if (only && value.type !== only) errors.push(`${at}.type: must be ${only}`);
  const allowed = value.type === 'plain_text' ? ['type', 'text', 'emoji'] : ['type', 'text', 'verbatim'];
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) errors.push(`${at}: unexpected property ${key}`);
  }
  if (typeof value.text !== 'string' || value.text.trim().length === 0) {
    errors.push(`${at}.text: must be a non-empty string`);
  } else if (value.text.length > max) {
    errors.push(`${at}.text: must be at most ${max} characters (got ${value.text.length})`);
  }
}

function checkElement(value: unknown, at: string, errors: string[]): void {
  if (!isRecord(value)) {
    errors.push(`${at}: must be an object`);
    return;
  }
  if (value.action_id !== undefined && (typeof value.action_id !== 'string' || value.action_id.length > 255)) {
    errors.push(`${at}.action_id: must be a string of at most 255 characters`);
  }
  if (value.type !== 'button') return; // other interactive elements are not used by vouch
  const allowed = ['type', 'action_id', 'text', 'value', 'url', 'style', 'confirm', 'accessibility_label'];
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) errors.push(`${at}: unexpected property ${key}`);
  }
  checkTextObject(value.text, `${at}.text`, 75, errors, 'plain_text');
  if (value.value !== undefined && (typeof value.value !== 'string' || value.value.length > 2000)) {
    errors.push(`${at}.value: must be a string of at most 2000 characters`);
  }
  if (value.url !== undefined && (typeof value.url !== 'string' || value.url.length > 3000)) {
    errors.push(`${at}.url: must be a string of at most 3000 characters`);
  }
  if (value.style !== undefined && value.style !== 'primary' && value.style !== 'danger') {
    errors.push(`${at}.style: must be primary or danger`);
  }
  if (value.confirm !== undefined) {
    const c = value.confirm;
    if (!isRecord(c)) {
      errors.push(`${at}.confirm: must be an object`);
      return;
    }
    checkTextObject(c.title, `${at}.confirm.title`, 100, errors, 'plain_text');
    checkTextObject(c.text, `${at}.confirm.text`, 300, errors);
    checkTextObject(c.confirm, `${at}.confirm.confirm`, 30, errors, 'plain_text');
    checkTextObject(c.deny, `${at}.confirm.deny`, 30, errors, 'plain_text');
    if (c.style !== undefined && c.style !== 'primary' && c.style !== 'danger') {
      errors.push(`${at}.confirm.style: must be primary or danger`);
    }
  }
}
