// The local vendor sandbox page (README, "The demo: `npm run demo`"): one loopback web page that shows, live over Server-Sent Events, what
// vouch does to the vendors' stand-ins, and lets a person play the engineer:
//   - Slack: every DM vouch sends, rendered from the Block Kit blocks the Slack stand-in stores, updated in place when
//     vouch edits the message; its buttons make this server send a correctly signed `block_actions` request to the
//     real interactivity handler (the same code path the demo's --auto answers use);
//   - Duo: each push, with approve / deny (DuoStandIn.decide);
//   - PagerDuty: incidents as they open, gain events and resolve;
//   - reviews: each review's state from Temporal (status query, result), with the revert it ran against moto (the
//     before/after the revert activity read back) or, without moto, the revert plan as a dry run.
// Text shown on the page comes from CloudTrail: the page only ever sets it with textContent (never innerHTML), and a
// Content-Security-Policy forbids inline scripts. Static assets live in ./web (plain HTML/JS/CSS, no bundler).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { statusQuery } from '../../../workflows/messages';
import type { ReviewInput, ReviewOutcome, RevertPlan, TimelineEntry } from '../../core/types';
import { isRecord } from '../../core/text';
import type { DuoStandIn, DuoStandInEvent } from './duo';
import type { PagerDutyIncident, PagerDutyStandIn, PagerDutyStandInEvent } from './pagerduty';
import type { EphemeralMessage, SlackStandIn, SlackStandInEvent, SlackUser, StoredMessage } from './slack';
import { buildBlockActionsPayload, postClick } from './slack-interactions';

const ASSETS = path.join(__dirname, 'web');
const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const MAX_BODY_BYTES = 16 * 1024;
const HEARTBEAT_MS = 15_000;

export type AwsMode = { mode: 'moto'; endpoint: string } | { mode: 'dry-run' };

export interface SandboxWebOptions {
  slack: SlackStandIn;
  duo: DuoStandIn;
  pagerduty: PagerDutyStandIn;
  /** vouch's Slack interactivity endpoint (…/slack/interactions): where the page's button clicks are sent. */
  interactionsUrl: string;
  /** The Slack app's signing secret the handler verifies clicks with. */
  signingSecret: string;
  /** Slack workspace id put in click payloads. */
  teamId: string;
  /** The Slack users of the sandbox workspace (names for DMs and clicks). */
  users: SlackUser[];
  /** To show each review's state, outcome and revert; without it the page shows vendors only. */
  temporal?: { client: Client; namespace: string };
  /** Temporal Web UI base URL, linked from the page's header. */
  uiBaseUrl?: string;
  aws?: AwsMode;
  /** Fixed port; 0 (any free port) by default. Always bound to 127.0.0.1. */
  port?: number;
  /** How often open reviews are polled. Default 1000 ms. */
  pollMs?: number;
}

export interface ClickRecord {
  at: string;
  actionId: string;
  label: string;
  userId: string;
  /** HTTP status of vouch's handler (0 when it could not be reached). */
  status: number;
  elapsedMs: number;
  error?: string;
}

export interface SlackMessageView {
  key: string;
  channel: string;
  ts: string;
  to: { id: string; name: string } | null;
  text: string;
  blocks: unknown[];
  edits: number;
  replies: Array<{ ts: string; text: string; reviewUrl: string | null }>;
  reviewId: string | null;
  reviewUrl: string | null;
  clicks: ClickRecord[];
  ephemerals: Array<{ user: string; text: string }>;
  postedAt: string;
  updatedAt: string;
}

export interface DuoPushView {
  txid: string;
  username: string;
  pushType: string | null;
  pushinfo: Record<string, string>;
  createdAt: string;
  /** waiting | allow | deny | fraud | timeout | push_failed */
  state: string;
  decidedBy: string | null;
  reviewId: string | null;
}

export interface IncidentView {
  key: string;
  dedupKey: string;
  status: PagerDutyIncident['status'];
  severity: PagerDutyIncident['severity'];
  summary: string;
  openedAt: string;
  resolvedAt: string | null;
  reviewUrl: string | null;
  events: Array<{ at: string; action: string; severity: string | null; summary: string | null }>;
}

export interface RevertView {
  /**
   * ran (moto or a real account), failed, skipped (no plan), dry-run (no AWS emulator: the plan is only shown),
   * pending (the review is open and has a plan), not-needed (the review ended without calling for a revert).
   */
  state: 'pending' | 'ran' | 'failed' | 'skipped' | 'dry-run' | 'not-needed';
  plan: RevertPlan | null;
  message: string | null;
  before: unknown;
  after: unknown;
}

export interface ReviewView {
  id: string;
  url: string | null;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED… */
  status: string;
  tier: string | null;
  summary: string | null;
  outcome: string;
  reason: string | null;
  phase: string | null;
  revert: RevertView | null;
  timeline: TimelineEntry[];
  error: string | null;
}

export interface SandboxState {
  info: { temporalUi: string | null; namespace: string | null; interactionsUrl: string; aws: AwsMode };
  messages: SlackMessageView[];
  pushes: DuoPushView[];
  incidents: IncidentView[];
  reviews: ReviewView[];
}

export type SandboxUpdate =
  | { kind: 'message'; item: SlackMessageView }
  | { kind: 'push'; item: DuoPushView }
  | { kind: 'incident'; item: IncidentView }
  | { kind: 'review'; item: ReviewView };

class SandboxRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface ButtonInfo {
  actionId: string;
  value: string;
  label: string;
}

/** Buttons of a Block Kit message (actions blocks and section accessories). */
function buttonsOf(blocks: unknown[] | undefined): ButtonInfo[] {
  const out: ButtonInfo[] = [];
  const take = (el: unknown): void => {
    if (!isRecord(el) || el.type !== 'button' || typeof el.action_id !== 'string') return;
    const text = isRecord(el.text) && typeof el.text.text === 'string' ? el.text.text : el.action_id;
    out.push({ actionId: el.action_id, value: typeof el.value === 'string' ? el.value : '', label: text });
  };
  for (const block of blocks ?? []) {
    if (!isRecord(block)) continue;
    if (block.type === 'actions' && Array.isArray(block.elements)) block.elements.forEach(take);
    if (block.type === 'section') take(block.accessory);
  }
  return out;
}

/** The Temporal Web UI link to a review inside a message: a mrkdwn `<url|label>` or a bare URL in plain text. */
function reviewLinkIn(texts: string[]): string | null {
  for (const text of texts) {
    const m = /<(https?:\/\/[^|>\s]+\/workflows\/[^|>\s]+)(?:\|[^>]*)?>/.exec(text) ?? /(https?:\/\/\S+\/workflows\/[^\s<>|)]+)/.exec(text);
    if (m?.[1]) return m[1].replace(/&amp;/g, '&');
  }
  return null;
}

function blockTexts(blocks: unknown[] | undefined): string[] {
  const out: string[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth > 8 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach((x) => walk(x, depth + 1));
    const o = v as Record<string, unknown>;
    if (typeof o.text === 'string') out.push(o.text);
    for (const [k, x] of Object.entries(o)) if (k !== 'text' || typeof x !== 'string') walk(x, depth + 1);
  };
  walk(blocks ?? [], 0);
  return out;
}

const VOUCH_ID = /^vouch-[\w.@:-]+$/;

export class SandboxWeb {
  private server: http.Server | undefined;
  private readonly clients = new Set<http.ServerResponse>();
  private readonly messages = new Map<string, SlackMessageView>();
  private readonly pushes = new Map<string, DuoPushView>();
  private readonly incidents = new Map<PagerDutyIncident, IncidentView>();
  private readonly reviews = new Map<string, ReviewView>();
  private readonly reviewInputs = new Map<string, ReviewInput | null>();
  private readonly finished = new Set<string>();
  private readonly listeners: Array<() => void> = [];
  private readonly users: Map<string, SlackUser>;
  private readonly aws: AwsMode;
  private incidentSeq = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private polling = false;
  private stopped = false;

  constructor(private readonly opts: SandboxWebOptions) {
    this.users = new Map(opts.users.map((u) => [u.id, u]));
    this.aws = opts.aws ?? { mode: 'dry-run' };
  }

  // ---- lifecycle ----

  async start(): Promise<{ url: string }> {
    if (this.server) throw new Error('SandboxWeb already started');
    for (const m of this.opts.slack.messages) this.onSlack({ type: 'message.posted', message: m, ...this.recipientOf(m.channel) });
    for (const i of this.opts.pagerduty.incidents) this.onIncident(i);
    for (const tx of this.opts.duo.transactions()) {
      this.pushes.set(tx.txid, {
        txid: tx.txid,
        username: tx.username,
        pushType: tx.pushType ?? null,
        pushinfo: tx.pushinfo,
        createdAt: tx.createdAt,
        state: tx.status === 'pushed' ? 'waiting' : tx.status,
        decidedBy: null,
        reviewId: validId(tx.pushinfo.review),
      });
    }
    const onSlack = (ev: SlackStandInEvent): void => this.onSlack(ev);
    const onDuo = (ev: DuoStandInEvent): void => this.onDuo(ev);
    const onPd = (ev: PagerDutyStandInEvent): void => {
      if ((ev.kind === 'trigger' || ev.kind === 'acknowledge' || ev.kind === 'resolve') && ev.incident) this.onIncident(ev.incident);
    };
    this.opts.slack.on('event', onSlack);
    this.opts.duo.on('event', onDuo);
    this.opts.pagerduty.on('event', onPd);
    this.listeners.push(
      () => this.opts.slack.off('event', onSlack),
      () => this.opts.duo.off('event', onDuo),
      () => this.opts.pagerduty.off('event', onPd),
    );

    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        const status = err instanceof SandboxRequestError ? err.status : 500;
        if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) }));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.heartbeat = setInterval(() => {
      for (const c of this.clients) c.write(': keep-alive\n\n');
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
    if (this.opts.temporal) {
      this.poller = setInterval(() => void this.pollReviews(), this.opts.pollMs ?? 1000);
      this.poller.unref();
    }
    return { url: this.url };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const off of this.listeners.splice(0)) off();
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.poller) clearInterval(this.poller);
    const server = this.server;
    this.server = undefined;
    for (const c of this.clients) c.end();
    this.clients.clear();
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  get url(): string {
    if (!this.server) throw new Error('SandboxWeb is not started');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Everything the page shows, as JSON. */
  state(): SandboxState {
    return {
      info: {
        temporalUi: this.opts.uiBaseUrl ?? null,
        namespace: this.opts.temporal?.namespace ?? null,
        interactionsUrl: this.opts.interactionsUrl,
        aws: this.aws,
      },
      messages: [...this.messages.values()],
      pushes: [...this.pushes.values()],
      incidents: [...this.incidents.values()],
      reviews: [...this.reviews.values()],
    };
  }

  /** Follow a review on the page (reviews named by Slack buttons, Duo pushes and incidents are followed anyway). */
  trackReview(workflowId: string): void {
    if (!VOUCH_ID.test(workflowId) || this.reviews.has(workflowId) || !this.opts.temporal) return;
    const view: ReviewView = {
      id: workflowId,
      url: this.opts.uiBaseUrl ? reviewUrl(this.opts.uiBaseUrl, this.opts.temporal.namespace, workflowId) : null,
      status: 'RUNNING',
      tier: null,
      summary: null,
      outcome: 'PENDING',
      reason: null,
      phase: null,
      revert: null,
      timeline: [],
      error: null,
    };
    this.reviews.set(workflowId, view);
    this.broadcast({ kind: 'review', item: view });
  }

  // ---- actions (the page's buttons; the demo's --auto answers use the same calls) ----

  /**
   * Click a button of a stored Slack message as the DM's recipient (or `asUser`): a `block_actions` payload signed
   * with the app's signing secret, POSTed to vouch's interactivity handler.
   */
  async clickButton(req: { channel: string; ts: string; actionId: string; asUser?: string }): Promise<ClickRecord> {
    const stored = this.opts.slack.message(req.channel, req.ts);
    if (!stored) throw new SandboxRequestError(404, `no message ${req.channel}/${req.ts}`);
    const button = buttonsOf(stored.blocks).find((b) => b.actionId === req.actionId);
    if (!button) throw new SandboxRequestError(409, `the message has no "${req.actionId}" button (any more)`);
    const userId = req.asUser ?? this.opts.slack.conversation(req.channel)?.users[0];
    if (!userId) throw new SandboxRequestError(409, `no user to click as in ${req.channel}`);
    const user = this.users.get(userId);
    const payload = buildBlockActionsPayload({
      userId,
      teamId: this.opts.teamId,
      workflowId: button.value,
      actionId: button.actionId,
      channelId: req.channel,
      messageTs: req.ts,
      buttonText: button.label,
      messageText: stored.text,
      ...(user ? { userName: user.name } : {}),
    });
    const record: ClickRecord = { at: new Date().toISOString(), actionId: button.actionId, label: button.label, userId, status: 0, elapsedMs: 0 };
    try {
      const res = await postClick(this.opts.interactionsUrl, payload, this.opts.signingSecret);
      record.status = res.status;
      record.elapsedMs = res.elapsedMs;
      if (res.status !== 200) record.error = res.body.slice(0, 300) || `HTTP ${res.status}`;
    } catch (err) {
      record.error = err instanceof Error ? err.message : String(err);
    }
    const view = this.messages.get(`${req.channel}/${req.ts}`);
    if (view) {
      view.clicks.push(record);
      this.broadcast({ kind: 'message', item: view });
    }
    return record;
  }

  /** Answer a pending Duo push as its user would on their phone. */
  decideDuo(txid: string, answer: 'allow' | 'deny'): DuoPushView {
    const push = this.pushes.get(txid);
    if (!push) throw new SandboxRequestError(404, `no Duo push ${txid}`);
    try {
      this.opts.duo.decide(txid, answer);
    } catch (err) {
      throw new SandboxRequestError(409, err instanceof Error ? err.message : String(err));
    }
    return push;
  }

  // ---- stand-in events → views ----

  private recipientOf(channel: string): { to?: string } {
    const conv = this.opts.slack.conversation(channel);
    return conv?.type === 'im' && conv.users[0] ? { to: conv.users[0] } : {};
  }

  private onSlack(ev: SlackStandInEvent): void {
    if (ev.type === 'conversation.opened') return;
    if (ev.type === 'ephemeral.posted') {
      this.onEphemeral(ev.ephemeral);
      return;
    }
    const m = ev.message;
    if (m.threadTs) {
      const parent = this.messages.get(`${m.channel}/${m.threadTs}`);
      if (!parent) return;
      const existing = parent.replies.find((r) => r.ts === m.ts);
      const reply = { ts: m.ts, text: m.text, reviewUrl: reviewLinkIn([m.text, ...blockTexts(m.blocks)]) };
      if (existing) Object.assign(existing, reply);
      else parent.replies.push(reply);
      parent.updatedAt = new Date().toISOString();
      this.broadcast({ kind: 'message', item: parent });
      return;
    }
    const key = `${m.channel}/${m.ts}`;
    const view = this.messages.get(key) ?? this.newMessageView(m, ev.to);
    this.fillMessage(view, m);
    this.messages.set(key, view);
    if (view.reviewId) this.trackReview(view.reviewId);
    this.broadcast({ kind: 'message', item: view });
  }

  private newMessageView(m: StoredMessage, to: string | undefined): SlackMessageView {
    const user = to ? this.users.get(to) : undefined;
    const now = new Date().toISOString();
    return {
      key: `${m.channel}/${m.ts}`,
      channel: m.channel,
      ts: m.ts,
      to: to ? { id: to, name: user?.name ?? to } : null,
      text: '',
      blocks: [],
      edits: 0,
      replies: [],
      reviewId: null,
      reviewUrl: null,
      clicks: [],
      ephemerals: [],
      postedAt: now,
      updatedAt: now,
    };
  }

  private fillMessage(view: SlackMessageView, m: StoredMessage): void {
    view.text = m.text;
    view.blocks = m.blocks ?? [];
    view.edits = m.edits;
    view.updatedAt = new Date().toISOString();
    const link = reviewLinkIn([...blockTexts(m.blocks), m.text]);
    const fromButton = buttonsOf(m.blocks).map((b) => b.value).find((v) => VOUCH_ID.test(v));
    const fromLink = link ? validId(decodeURIComponent(link.split('/workflows/')[1]?.split(/[/?#]/)[0] ?? '')) : null;
    view.reviewUrl = link ?? view.reviewUrl;
    view.reviewId = fromButton ?? fromLink ?? view.reviewId;
  }

  private onEphemeral(e: EphemeralMessage): void {
    // Refusals and confirmations from the handler, shown to the clicker only (here: under the message clicked).
    const view = [...this.messages.values()].reverse().find((m) => m.channel === e.channel);
    if (!view) return;
    view.ephemerals.push({ user: e.user, text: e.text });
    this.broadcast({ kind: 'message', item: view });
  }

  private onDuo(ev: DuoStandInEvent): void {
    if (ev.type === 'rejected') return;
    if (ev.type === 'push-sent') {
      const view: DuoPushView = {
        txid: ev.txid,
        username: ev.username,
        pushType: ev.pushType ?? null,
        pushinfo: ev.pushinfo,
        createdAt: ev.at,
        state: 'waiting',
        decidedBy: null,
        reviewId: validId(ev.pushinfo.review),
      };
      this.pushes.set(ev.txid, view);
      if (view.reviewId) this.trackReview(view.reviewId);
      this.broadcast({ kind: 'push', item: view });
      return;
    }
    const view = this.pushes.get(ev.txid);
    if (!view) return;
    if (ev.type === 'decided') {
      view.state = ev.answer;
      view.decidedBy = ev.by === 'api' ? 'the sandbox page' : 'script (--auto)';
    } else view.state = ev.type === 'expired' ? 'timeout' : 'push_failed';
    this.broadcast({ kind: 'push', item: view });
  }

  private onIncident(incident: PagerDutyIncident): void {
    let view = this.incidents.get(incident);
    if (!view) {
      this.incidentSeq += 1;
      view = { key: `pd-${this.incidentSeq}` } as IncidentView;
      this.incidents.set(incident, view);
    }
    const first = incident.events[0]?.body ?? {};
    const links = Array.isArray(first.links) ? (first.links as Array<{ href?: unknown }>) : [];
    const href = links.map((l) => l.href).find((h): h is string => typeof h === 'string' && /^https?:\/\//.test(h));
    const clientUrl = typeof first.client_url === 'string' && /^https?:\/\//.test(first.client_url) ? first.client_url : null;
    Object.assign(view, {
      dedupKey: incident.dedupKey,
      status: incident.status,
      severity: incident.severity,
      summary: incident.summary,
      openedAt: incident.openedAt,
      resolvedAt: incident.resolvedAt,
      reviewUrl: href ?? clientUrl,
      events: incident.events.map((e) => {
        const p = isRecord(e.body.payload) ? e.body.payload : {};
        return {
          at: e.at,
          action: e.action,
          severity: typeof p.severity === 'string' ? p.severity : null,
          summary: typeof p.summary === 'string' ? p.summary : null,
        };
      }),
    });
    if (VOUCH_ID.test(incident.dedupKey)) this.trackReview(incident.dedupKey);
    this.broadcast({ kind: 'incident', item: view });
  }

  // ---- reviews from Temporal ----

  private async pollReviews(): Promise<void> {
    if (this.polling || this.stopped || !this.opts.temporal) return;
    this.polling = true;
    try {
      const open = [...this.reviews.values()].filter((r) => !this.finished.has(r.id));
      await Promise.all(open.map((r) => this.refreshReview(r)));
    } finally {
      this.polling = false;
    }
  }

  /** Read one review from Temporal now (the poller does this every pollMs). */
  async refreshReview(view: ReviewView): Promise<void> {
    const temporal = this.opts.temporal;
    if (!temporal || this.stopped) return;
    const handle = temporal.client.workflow.getHandle(view.id);
    const before = JSON.stringify(view);
    try {
      if (!this.reviewInputs.has(view.id)) this.reviewInputs.set(view.id, await this.readInput(view.id));
      const input = this.reviewInputs.get(view.id) ?? null;
      const desc = await handle.describe();
      view.status = desc.status.name;
      const memo = desc.memo ?? {};
      if (typeof memo.summary === 'string') view.summary = memo.summary;
      if (input) {
        view.tier = input.verdict.tier;
        view.summary ??= input.change.summary;
        if (input.reviewUrl) view.url = input.reviewUrl;
      }
      if (desc.status.name === 'RUNNING') {
        const s = await handle.query(statusQuery);
        view.outcome = s.outcome;
        view.phase = s.phase;
        view.timeline = s.timeline;
      } else if (desc.status.name === 'COMPLETED') {
        const result = (await handle.result()) as ReviewOutcome;
        view.outcome = result.outcome;
        view.reason = result.reason;
        view.phase = 'DONE';
        view.timeline = result.timeline;
        this.finished.add(view.id);
      } else {
        view.phase = 'DONE';
        this.finished.add(view.id);
      }
      view.revert = revertView(input?.verdict.revertPlan ?? null, view.timeline, this.aws, view.outcome);
      view.error = null;
    } catch (err) {
      view.error = err instanceof Error ? err.message : String(err);
    }
    if (JSON.stringify(view) !== before) this.broadcast({ kind: 'review', item: view });
  }

  private async readInput(workflowId: string): Promise<ReviewInput | null> {
    const temporal = this.opts.temporal;
    if (!temporal) return null;
    const history = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (!payload) return null;
    return defaultPayloadConverter.fromPayload<ReviewInput>(payload);
  }

  // ---- HTTP ----

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    this.checkHost(req);
    const asset = STATIC[url.pathname];
    if (req.method === 'GET' && asset) {
      const body = await fs.promises.readFile(path.join(ASSETS, asset.file));
      res.writeHead(200, {
        'content-type': asset.type,
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
      });
      res.end(body);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/favicon.ico') {
      res.writeHead(204, { 'cache-control': 'max-age=86400' });
      res.end();
      return;
    }
    if (req.method === 'GET' && url.pathname === '/events') return this.openStream(res);
    if (req.method === 'GET' && url.pathname === '/api/state') return this.json(res, 200, this.state());
    if (req.method === 'POST' && url.pathname === '/api/slack/click') {
      const body = await this.readJson(req);
      const record = await this.clickButton({
        channel: str(body.channel, 'channel'),
        ts: str(body.ts, 'ts'),
        actionId: str(body.actionId, 'actionId'),
      });
      return this.json(res, 200, { ok: record.status === 200, click: record });
    }
    if (req.method === 'POST' && url.pathname === '/api/duo/decide') {
      const body = await this.readJson(req);
      const answer = body.answer;
      if (answer !== 'allow' && answer !== 'deny') throw new SandboxRequestError(400, 'answer must be "allow" or "deny"');
      return this.json(res, 200, { ok: true, push: this.decideDuo(str(body.txid, 'txid'), answer) });
    }
    throw new SandboxRequestError(404, `no route for ${req.method ?? 'GET'} ${url.pathname}`);
  }

  /** Loopback names only (DNS rebinding), and no cross-site POSTs. */
  private checkHost(req: http.IncomingMessage): void {
    const port = (this.server?.address() as AddressInfo | null)?.port;
    const allowed = [`127.0.0.1:${port}`, `localhost:${port}`];
    if (!allowed.includes(req.headers.host ?? '')) throw new SandboxRequestError(403, 'unexpected Host header');
    if (req.method !== 'GET') {
      const origin = req.headers.origin;
      if (origin !== undefined && !allowed.some((h) => origin === `http://${h}`)) {
        throw new SandboxRequestError(403, 'cross-origin request refused');
      }
      if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) {
        throw new SandboxRequestError(415, 'send application/json');
      }
    }
  }

  private openStream(res: http.ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`event: snapshot\ndata: ${JSON.stringify(this.state())}\n\n`);
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
  }

  private broadcast(update: SandboxUpdate): void {
    if (this.clients.size === 0) return;
    const frame = `event: update\ndata: ${JSON.stringify(update)}\n\n`;
    for (const c of this.clients) c.write(frame);
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  }

  private async readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) throw new SandboxRequestError(413, 'body too large');
      chunks.push(chunk as Buffer);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new SandboxRequestError(400, 'body is not JSON');
    }
    if (!isRecord(parsed)) throw new SandboxRequestError(400, 'body must be a JSON object');
    return parsed;
  }
}

/** What happened (or would happen) to the change in AWS, from the verdict's plan and the review's timeline. */
function revertView(plan: RevertPlan | null, timeline: TimelineEntry[], aws: AwsMode, outcome: string): RevertView | null {
  const done = timeline.find((t) => t.step === 'revert.done');
  const verified = timeline.find((t) => t.step === 'revert.verified');
  const failed = timeline.find((t) => t.step === 'revert.failed');
  const skipped = timeline.find((t) => t.step === 'revert.skipped');
  if (done) {
    const ba = /^before: (.*) after: (.*)$/s.exec(verified?.result ?? '');
    return { state: 'ran', plan, message: done.result, before: parseMaybe(ba?.[1]), after: parseMaybe(ba?.[2]) };
  }
  if (failed) {
    return { state: aws.mode === 'dry-run' ? 'dry-run' : 'failed', plan, message: failed.result, before: null, after: null };
  }
  if (skipped) return { state: 'skipped', plan, message: skipped.result, before: null, after: null };
  if (!plan) return null;
  if (outcome !== 'PENDING') {
    return { state: 'not-needed', plan, message: 'not reverted: the review did not call for it', before: null, after: null };
  }
  const message =
    aws.mode === 'dry-run'
      ? `dry run (no AWS emulator): vouch would call ${plan.service}:${plan.operation} if the review calls for a revert`
      : 'planned, if the review calls for a revert';
  return { state: aws.mode === 'dry-run' ? 'dry-run' : 'pending', plan, message, before: null, after: null };
}

function parseMaybe(text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function reviewUrl(base: string, namespace: string, workflowId: string): string {
  return `${base.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

function validId(v: unknown): string | null {
  return typeof v === 'string' && VOUCH_ID.test(v) ? v : null;
}

function str(v: unknown, name: string): string {
  if (typeof v !== 'string' || v === '' || v.length > 500) throw new SandboxRequestError(400, `${name} must be a non-empty string`);
  return v;
}
