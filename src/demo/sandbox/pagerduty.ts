// A loopback stand-in for PagerDuty's Events API v2 (POST /v2/enqueue and /v2/change/enqueue), over HTTPS because
// @pagerduty/pdjs always calls https://<server>/v2/enqueue. It validates each event as PagerDuty's Events v2 schema
// describes it (restated by hand from https://developer.pagerduty.com/docs/events-api-v2/trigger-events/), keeps incidents by
// dedup_key, and can be scripted to fail. It also powers the local demo sandbox (the 'event' emitter).
//
// It also serves the two REST API v2 reads vouch makes to find who is on call (activities/oncall.ts), as
// https://api.pagerduty.com would through pdjs's `api()`: `GET /oncalls` and `GET /users/{id}`. Those check what
// PagerDuty checks — `Authorization: Token token=<REST API key>`, `Accept: application/vnd.pagerduty+json;version=2`,
// the query parameters of listOnCalls (PagerDuty/api-schema reference/REST/openapiv3.json: `include[]` one of
// users|schedules|escalation_policies, `escalation_policy_ids[]`, `user_ids[]`, `schedule_ids[]`, `earliest`,
// `since`/`until`, `limit`/`offset`/`total`) — and answer with the spec's shapes (`{oncalls, limit, offset, more,
// total}`; user references unless `include[]=users`; errors as `{error: {message, code, errors?}}`). As on
// PagerDuty, an unknown query parameter is ignored (so `escalation_policy_ids` without `[]` filters nothing).
import { EventEmitter } from 'node:events';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { loopbackCert } from './tls';
import { isRecord } from '../../core/text';

export type PagerDutyAction = 'trigger' | 'acknowledge' | 'resolve';
export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';

export interface PagerDutyStandInOptions {
  /** The integration (routing) key events must carry: 32 characters. */
  routingKey: string;
  /** The REST API key `GET /oncalls` and `GET /users/{id}` must carry; without it every REST call answers 401. */
  restToken?: string;
}

/** A PagerDuty user, as the REST API's `GET /users/{id}` describes one. */
export interface PagerDutyRestUser {
  id: string;
  name: string;
  email: string;
  timeZone?: string;
}

/** Who is on call right now for an escalation policy, at which level (1 = first notified). */
export interface PagerDutyOnCallEntry {
  userId: string;
  level: number;
  scheduleId?: string;
}

/** A scripted REST failure for the next `times` REST requests (events are unaffected). */
export type PagerDutyRestFailure =
  | { status: 429; retryAfterSeconds?: number; times?: number }
  | { status: 401 | 403 | 404 | 500 | 502 | 503; times?: number }
  | { status: 'html'; times?: number };

export interface PagerDutyStandInAddress {
  /** What pdjs takes as `server`: host and port, no scheme. */
  server: string;
  /** PEM of the self-signed certificate, for `new https.Agent({ ca })`. */
  ca: string;
}

/** One request as it arrived, and what the stand-in answered. */
export interface ReceivedPagerDutyRequest {
  at: string;
  method: string;
  path: string;
  /** The query string as sent, without the '?' ('' when none). */
  query: string;
  headers: Record<string, string | string[] | undefined>;
  /** The raw body, exactly as sent (tests search it for values that must never arrive). */
  rawBody: string;
  /** The parsed body, when it was JSON. */
  body: unknown;
  status: number;
  response: unknown;
}

/** An accepted (202) alert event. */
export interface PagerDutyEvent {
  at: string;
  action: PagerDutyAction;
  dedupKey: string;
  body: Record<string, unknown>;
}

export interface PagerDutyIncident {
  dedupKey: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  severity: PagerDutySeverity;
  summary: string;
  openedAt: string;
  resolvedAt: string | null;
  /** Every event that applied to this incident, in order (the first is the trigger that opened it). */
  events: PagerDutyEvent[];
  /** custom_details of each trigger, in order. */
  customDetailsHistory: Record<string, unknown>[];
}

/** An accepted change event (POST /v2/change/enqueue). */
export interface PagerDutyChangeEvent {
  at: string;
  body: Record<string, unknown>;
}

export type PagerDutyStandInEvent =
  | { kind: 'trigger' | 'acknowledge' | 'resolve'; dedupKey: string; incident: PagerDutyIncident | null }
  | { kind: 'change'; summary: string }
  | { kind: 'rejected'; status: number; path: string; errors: string[] };

/** A scripted failure, served (without validation) to the next `times` requests. */
export type PagerDutyFailure =
  | { status: 429; retryAfterSeconds?: number; times?: number }
  | { status: 400 | 401 | 403 | 500 | 502 | 503; times?: number }
  /** Accept the connection and never answer (until stop()): for client timeouts. */
  | { status: 'stall'; times?: number };

/** What a fault hook sees of one Events API request: its path and its JSON body (undefined when unreadable). */
export interface PagerDutyCall {
  path: string;
  body: unknown;
}

const ACTIONS: readonly string[] = ['trigger', 'acknowledge', 'resolve'];
const SEVERITIES: readonly string[] = ['critical', 'error', 'warning', 'info'];
const MAX_BODY_BYTES = 512 * 1024; // PagerDuty limits an event to 512 KB.

export class PagerDutyStandIn extends EventEmitter {
  readonly received: ReceivedPagerDutyRequest[] = [];
  readonly events: PagerDutyEvent[] = [];
  readonly changeEvents: PagerDutyChangeEvent[] = [];
  /** Every incident ever opened, oldest first; a trigger after a resolve opens a new one with the same key. */
  readonly incidents: PagerDutyIncident[] = [];

  private readonly routingKey: string;
  private readonly restToken: string | undefined;
  private readonly restUsers = new Map<string, PagerDutyRestUser>();
  private readonly onCalls = new Map<string, PagerDutyOnCallEntry[]>();
  private restFailures: { failure: PagerDutyRestFailure; left: number }[] = [];
  private server: https.Server | undefined;
  private failures: { failure: PagerDutyFailure; left: number }[] = [];
  /** Consulted for each Events API request the failNext queue does not answer: the failure to serve, if any. */
  faultHook: ((call: PagerDutyCall) => PagerDutyFailure | undefined) | undefined;
  private readonly stalled = new Set<ServerResponse>();

  constructor(options: PagerDutyStandInOptions) {
    super();
    if (options.routingKey.length !== 32) throw new Error('PagerDutyStandIn: routingKey must be 32 characters');
    this.routingKey = options.routingKey;
    this.restToken = options.restToken;
  }

  /** Add (or replace) a user the REST API knows. */
  addRestUser(user: PagerDutyRestUser): void {
    this.restUsers.set(user.id, { ...user });
  }

  /** Who is on call now for `policyId` (replaces the previous list; [] = nobody). */
  setOnCall(policyId: string, entries: PagerDutyOnCallEntry[]): void {
    this.onCalls.set(policyId, entries.map((e) => ({ ...e })));
  }

  /** Serve `failure` to the next REST request(s) instead of answering it. */
  failNextRest(failure: PagerDutyRestFailure): void {
    this.restFailures.push({ failure, left: failure.times ?? 1 });
  }

  async start(): Promise<PagerDutyStandInAddress> {
    if (this.server) throw new Error('PagerDutyStandIn already started');
    const { key, cert } = await loopbackCert();
    const server = https.createServer({ key, cert }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.reply(res, 500, { status: 'error', message: String(err) });
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return { server: `127.0.0.1:${port}`, ca: cert };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const res of this.stalled) res.destroy();
    this.stalled.clear();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Serve `failure` to the next request (or the next `failure.times` requests) instead of processing it. */
  failNext(failure: PagerDutyFailure): void {
    this.failures.push({ failure, left: failure.times ?? 1 });
  }

  /** The incident currently (or last) keyed by `dedupKey`. */
  incident(dedupKey: string): PagerDutyIncident | undefined {
    for (let i = this.incidents.length - 1; i >= 0; i--) {
      const incident = this.incidents[i];
      if (incident?.dedupKey === dedupKey) return incident;
    }
    return undefined;
  }

  /** Forget everything received and any pending scripted failures. */
  reset(): void {
    this.received.length = 0;
    this.events.length = 0;
    this.changeEvents.length = 0;
    this.incidents.length = 0;
    this.failures = [];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readBody(req);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const record: ReceivedPagerDutyRequest = {
      at: new Date().toISOString(),
      method: req.method ?? '',
      path,
      query: (req.url ?? '').includes('?') ? (req.url ?? '').slice((req.url ?? '').indexOf('?') + 1) : '',
      headers: { ...req.headers },
      rawBody: rawBody ?? '',
      body: undefined,
      status: 0,
      response: undefined,
    };
    this.received.push(record);
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      record.status = status;
      record.response = body;
      this.reply(res, status, body, headers);
    };
    const reject = (errors: string[]): void => {
      answer(400, { status: 'invalid event', message: 'Event object is invalid', errors });
      this.emit('event', { kind: 'rejected', status: 400, path, errors } satisfies PagerDutyStandInEvent);
    };

    if (path === '/oncalls' || path.startsWith('/users/')) {
      this.handleRest(req, res, record, path, answer);
      return;
    }
    if (path !== '/v2/enqueue' && path !== '/v2/change/enqueue') {
      answer(404, { status: 'not found', message: `No route for ${path}` });
      return;
    }
    if (req.method !== 'POST') {
      answer(405, { status: 'method not allowed', message: 'Use POST' }, { allow: 'POST' });
      return;
    }

    const scripted = this.takeFailure() ?? this.faultHook?.({ path, body: peekJson(rawBody) });
    if (scripted) {
      this.serveFailure(scripted, res, record, answer);
      return;
    }

    if (rawBody === undefined) {
      answer(413, { status: 'invalid event', message: 'Event object is too large', errors: ['body exceeds 512 KB'] });
      return;
    }
    const contentType = String(req.headers['content-type'] ?? '');
    if (!/^application\/json\b/i.test(contentType)) {
      reject([`Content-Type must be application/json, got '${contentType}'`]);
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(rawBody);
    } catch {
      reject(['Request body is not valid JSON']);
      return;
    }
    record.body = body;
    if (!isRecord(body)) {
      reject(['Event must be a JSON object']);
      return;
    }

    if (path === '/v2/change/enqueue') {
      const errors = this.validateChange(body);
      if (errors.length > 0) return reject(errors);
      const summary = String((body.payload as Record<string, unknown>).summary);
      this.changeEvents.push({ at: record.at, body });
      answer(202, { status: 'success', message: 'Change event processed' });
      this.emit('event', { kind: 'change', summary } satisfies PagerDutyStandInEvent);
      return;
    }

    const errors = this.validateEvent(body);
    if (errors.length > 0) return reject(errors);
    const action = body.event_action as PagerDutyAction;
    const dedupKey = typeof body.dedup_key === 'string' && body.dedup_key !== '' ? body.dedup_key : newDedupKey();
    const event: PagerDutyEvent = { at: record.at, action, dedupKey, body };
    this.events.push(event);
    const incident = this.apply(event);
    answer(202, { status: 'success', message: 'Event processed', dedup_key: dedupKey });
    this.emit('event', { kind: action, dedupKey, incident } satisfies PagerDutyStandInEvent);
  }

  /** Dedup semantics: events with an open alert's key apply to it; a trigger after a resolve opens a new one. */
  private apply(event: PagerDutyEvent): PagerDutyIncident | null {
    const current = this.incident(event.dedupKey);
    const open = current && current.status !== 'resolved' ? current : undefined;
    const payload = (event.body.payload ?? {}) as Record<string, unknown>;
    if (event.action === 'trigger') {
      const details = isRecord(payload.custom_details) ? payload.custom_details : {};
      if (open) {
        open.events.push(event);
        open.customDetailsHistory.push(details);
        return open;
      }
      const incident: PagerDutyIncident = {
        dedupKey: event.dedupKey,
        status: 'triggered',
        severity: payload.severity as PagerDutySeverity,
        summary: String(payload.summary),
        openedAt: event.at,
        resolvedAt: null,
        events: [event],
        customDetailsHistory: [details],
      };
      this.incidents.push(incident);
      return incident;
    }
    // acknowledge / resolve for an unknown or closed alert: accepted (202) and dropped, as PagerDuty does.
    if (!open) return null;
    open.events.push(event);
    if (event.action === 'acknowledge') open.status = 'acknowledged';
    else {
      open.status = 'resolved';
      open.resolvedAt = event.at;
    }
    return open;
  }

  private validateEvent(body: Record<string, unknown>): string[] {
    const errors = this.validateRoutingKey(body.routing_key);
    const action = body.event_action;
    if (action === undefined) errors.push("'event_action' is missing or blank");
    else if (typeof action !== 'string' || !ACTIONS.includes(action)) {
      errors.push("'event_action' must be one of trigger, acknowledge, resolve");
    }
    const dedupKey = body.dedup_key;
    if (dedupKey !== undefined && dedupKey !== null) {
      if (typeof dedupKey !== 'string') errors.push("'dedup_key' must be a string");
      else if (dedupKey.length > 255) errors.push("'dedup_key' must be at most 255 characters");
    }
    if ((action === 'acknowledge' || action === 'resolve') && (typeof dedupKey !== 'string' || dedupKey === '')) {
      errors.push(`'dedup_key' is required for ${action} events`);
    }
    if (action === 'trigger' && body.payload === undefined) errors.push("'payload' is missing");
    if (body.payload !== undefined) errors.push(...validatePayload(body.payload, 'alert'));
    for (const field of ['client', 'client_url'] as const) {
      if (body[field] !== undefined && typeof body[field] !== 'string') errors.push(`'${field}' must be a string`);
    }
    errors.push(...validateLinks(body.links), ...validateImages(body.images));
    return errors;
  }

  private validateChange(body: Record<string, unknown>): string[] {
    const errors = this.validateRoutingKey(body.routing_key);
    if (body.payload === undefined) errors.push("'payload' is missing");
    else errors.push(...validatePayload(body.payload, 'change'));
    errors.push(...validateLinks(body.links), ...validateImages(body.images));
    return errors;
  }

  private validateRoutingKey(value: unknown): string[] {
    if (value === undefined || value === null || value === '') return ["'routing_key' is missing or blank"];
    if (typeof value !== 'string' || value.length !== 32) return ["'routing_key' must be 32 characters"];
    if (value !== this.routingKey) return ["'routing_key' is invalid: no integration has this key"];
    return [];
  }

  private takeFailure(): PagerDutyFailure | undefined {
    const next = this.failures[0];
    if (!next) return undefined;
    next.left -= 1;
    if (next.left <= 0) this.failures.shift();
    return next.failure;
  }

  private serveFailure(
    failure: PagerDutyFailure,
    res: ServerResponse,
    record: ReceivedPagerDutyRequest,
    answer: (status: number, body: unknown, headers?: Record<string, string>) => void,
  ): void {
    if (failure.status === 'stall') {
      this.stalled.add(res);
      res.on('close', () => this.stalled.delete(res));
      return;
    }
    const status = failure.status;
    let body: unknown;
    const headers: Record<string, string> = {};
    if (status === 429) {
      body = { status: 'throttle event', message: 'Requests for this service are arriving too quickly' };
      if (failure.retryAfterSeconds !== undefined) headers['retry-after'] = String(failure.retryAfterSeconds);
    } else if (status === 400) {
      body = { status: 'invalid event', message: 'Event object is invalid', errors: ['scripted failure'] };
    } else if (status === 401 || status === 403) {
      body = { status: 'unauthorized', message: 'Not authorized' };
    } else {
      body = { status: 'error', message: 'Internal server error' };
    }
    answer(status, body, headers);
    this.emit('event', {
      kind: 'rejected',
      status,
      path: record.path,
      errors: ['scripted failure'],
    } satisfies PagerDutyStandInEvent);
  }

  // ---- REST API v2 (GET /oncalls, GET /users/{id}) ----

  private handleRest(
    req: IncomingMessage,
    res: ServerResponse,
    record: ReceivedPagerDutyRequest,
    path: string,
    answer: (status: number, body: unknown, headers?: Record<string, string>) => void,
  ): void {
    const error = (status: number, message: string, code: number, errors?: string[]): void =>
      answer(status, { error: { message, code, ...(errors ? { errors } : {}) } });
    if (req.method !== 'GET') return error(405, 'Method Not Allowed', 2100);
    // Authentication first, as PagerDuty does: a wrong token never learns whether a resource exists.
    const auth = String(req.headers.authorization ?? '');
    const match = /^Token token=(\S+)$/.exec(auth);
    if (!match || this.restToken === undefined || match[1] !== this.restToken) {
      return error(401, 'Unauthorized', 2006, [match ? 'the API token is invalid' : 'expected Authorization: Token token=<key>']);
    }
    const accept = String(req.headers.accept ?? '');
    if (!/^application\/vnd\.pagerduty\+json;\s*version=2$/i.test(accept.trim())) {
      return error(406, 'Not Acceptable', 2001, [`Accept must be application/vnd.pagerduty+json;version=2, got '${accept}'`]);
    }
    const scripted = this.takeRestFailure();
    if (scripted) {
      if (scripted.status === 'html') {
        // A proxy's error page: not JSON.
        const html = '<html><body>Bad Gateway</body></html>';
        record.status = 502;
        record.response = html;
        res.writeHead(502, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(html) });
        res.end(html);
        return;
      }
      if (scripted.status === 429) {
        const headers: Record<string, string> = {};
        if (scripted.retryAfterSeconds !== undefined) headers['retry-after'] = String(scripted.retryAfterSeconds);
        answer(429, { error: { message: 'Too Many Requests', code: 2020 } }, headers);
        return;
      }
      const messages: Record<number, [string, number]> = {
        401: ['Unauthorized', 2006],
        403: ['Access Denied', 2010],
        404: ['Not Found', 2100],
        500: ['Internal Server Error', 1001],
        502: ['Bad Gateway', 1001],
        503: ['Service Unavailable', 1001],
      };
      const [message, code] = messages[scripted.status] ?? ['Error', 1001];
      return error(scripted.status, message, code);
    }
    const query = new URL(req.url ?? '/', 'https://127.0.0.1').searchParams;
    if (path === '/oncalls') return this.listOnCalls(query, answer, error);
    const id = decodeURIComponent(path.slice('/users/'.length));
    const user = this.restUsers.get(id);
    if (!user || id.includes('/')) return error(404, 'Not Found', 2100);
    answer(200, { user: this.userObject(user) });
  }

  private listOnCalls(
    query: URLSearchParams,
    answer: (status: number, body: unknown) => void,
    error: (status: number, message: string, code: number, errors?: string[]) => void,
  ): void {
    const problems: string[] = [];
    const includes = query.getAll('include[]');
    for (const inc of includes) {
      if (!['users', 'schedules', 'escalation_policies'].includes(inc)) {
        problems.push(`include[] must be one of users, schedules, escalation_policies (got '${inc}')`);
      }
    }
    const earliest = query.get('earliest');
    if (earliest !== null && earliest !== 'true' && earliest !== 'false') problems.push("earliest must be 'true' or 'false'");
    const limit = query.get('limit') === null ? 25 : Number(query.get('limit'));
    const offset = query.get('offset') === null ? 0 : Number(query.get('offset'));
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) problems.push('limit must be an integer from 1 to 100');
    if (!Number.isInteger(offset) || offset < 0) problems.push('offset must be a non-negative integer');
    const now = Date.now();
    const since = query.get('since');
    const until = query.get('until');
    for (const [name, value] of [['since', since], ['until', until]] as const) {
      if (value !== null && Number.isNaN(Date.parse(value))) problems.push(`${name} must be an ISO 8601 date-time`);
    }
    if (since !== null && until !== null && Date.parse(until) < Date.parse(since)) problems.push('until must not be before since');
    if (problems.length > 0) return error(400, 'Invalid Input Provided', 2001, problems);

    const policyFilter = query.getAll('escalation_policy_ids[]');
    const userFilter = query.getAll('user_ids[]');
    const scheduleFilter = query.getAll('schedule_ids[]');
    // Every stored entry is "on call now": from an hour ago to a day from now.
    const start = new Date(now - 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const end = new Date(now + 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const all: Record<string, unknown>[] = [];
    const seen = new Set<string>();
    for (const [policyId, entries] of this.onCalls) {
      if (policyFilter.length > 0 && !policyFilter.includes(policyId)) continue;
      for (const entry of entries) {
        if (userFilter.length > 0 && !userFilter.includes(entry.userId)) continue;
        if (scheduleFilter.length > 0 && (!entry.scheduleId || !scheduleFilter.includes(entry.scheduleId))) continue;
        const key = `${policyId}/${entry.level}/${entry.userId}`;
        if (earliest === 'true' && seen.has(key)) continue;
        seen.add(key);
        const user = this.restUsers.get(entry.userId);
        all.push({
          escalation_policy: includes.includes('escalation_policies')
            ? { id: policyId, type: 'escalation_policy', summary: policyId, name: policyId, self: `https://api.pagerduty.com/escalation_policies/${policyId}` }
            : reference('escalation_policy', policyId, policyId),
          escalation_level: entry.level,
          schedule: entry.scheduleId ? reference('schedule', entry.scheduleId, entry.scheduleId) : null,
          user:
            includes.includes('users') && user
              ? this.userObject(user)
              : reference('user', entry.userId, user?.name ?? entry.userId),
          start,
          end,
        });
      }
    }
    const page = all.slice(offset, offset + limit);
    answer(200, {
      oncalls: page,
      limit,
      offset,
      more: offset + limit < all.length,
      total: query.get('total') === 'true' ? all.length : null,
    });
  }

  private userObject(user: PagerDutyRestUser): Record<string, unknown> {
    return {
      id: user.id,
      type: 'user',
      summary: user.name,
      self: `https://api.pagerduty.com/users/${user.id}`,
      html_url: `https://vouch-sandbox.pagerduty.com/users/${user.id}`,
      name: user.name,
      email: user.email,
      time_zone: user.timeZone ?? 'Etc/UTC',
      color: 'purple',
      role: 'user',
      description: null,
      invitation_sent: false,
      job_title: 'Security engineer',
      teams: [],
      contact_methods: [],
      notification_rules: [],
    };
  }

  private takeRestFailure(): PagerDutyRestFailure | undefined {
    const next = this.restFailures[0];
    if (!next) return undefined;
    next.left -= 1;
    if (next.left <= 0) this.restFailures.shift();
    return next.failure;
  }

  private reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }
}

function validatePayload(payload: unknown, kind: 'alert' | 'change'): string[] {
  if (!isRecord(payload)) return ["'payload' must be an object"];
  const errors: string[] = [];
  const summary = payload.summary;
  if (typeof summary !== 'string' || summary.trim() === '') errors.push("'payload.summary' is missing or blank");
  else if (summary.length > 1024) errors.push("'payload.summary' must be at most 1024 characters");
  const source = payload.source;
  if (kind === 'alert' && (typeof source !== 'string' || source.trim() === '')) {
    errors.push("'payload.source' is missing or blank");
  } else if (source !== undefined && typeof source !== 'string') {
    errors.push("'payload.source' must be a string");
  }
  if (kind === 'alert') {
    const severity = payload.severity;
    if (severity === undefined) errors.push("'payload.severity' is missing");
    else if (typeof severity !== 'string' || !SEVERITIES.includes(severity)) {
      errors.push("'payload.severity' must be one of critical, error, warning, info");
    }
    for (const field of ['component', 'group', 'class'] as const) {
      if (payload[field] !== undefined && typeof payload[field] !== 'string') {
        errors.push(`'payload.${field}' must be a string`);
      }
    }
  }
  const timestamp = payload.timestamp;
  if (timestamp !== undefined && (typeof timestamp !== 'string' || !isIsoDateTime(timestamp))) {
    errors.push("'payload.timestamp' must be an ISO 8601 date-time");
  }
  if (payload.custom_details !== undefined && !isRecord(payload.custom_details)) {
    errors.push("'payload.custom_details' must be an object");
  }
  return errors;
}

function validateLinks(links: unknown): string[] {
  if (links === undefined) return [];
  if (!Array.isArray(links)) return ["'links' must be an array"];
  const errors: string[] = [];
  links.forEach((link: unknown, i) => {
    if (!isRecord(link)) errors.push(`'links[${i}]' must be an object`);
    else if (typeof link.href !== 'string' || link.href === '') errors.push(`'links[${i}].href' is missing`);
    else if (link.text !== undefined && typeof link.text !== 'string') {
      errors.push(`'links[${i}].text' must be a string`);
    }
  });
  return errors;
}

function validateImages(images: unknown): string[] {
  if (images === undefined) return [];
  if (!Array.isArray(images)) return ["'images' must be an array"];
  const errors: string[] = [];
  images.forEach((image: unknown, i) => {
    if (!isRecord(image)) errors.push(`'images[${i}]' must be an object`);
    else if (typeof image.src !== 'string' || !image.src.startsWith('https://')) {
      errors.push(`'images[${i}].src' must be an https URL`);
    }
  });
  return errors;
}

function reference(type: string, id: string, summary: string): Record<string, unknown> {
  const plural = type === 'escalation_policy' ? 'escalation_policies' : `${type}s`;
  return {
    id,
    type: `${type}_reference`,
    summary,
    self: `https://api.pagerduty.com/${plural}/${id}`,
    html_url: `https://vouch-sandbox.pagerduty.com/${plural}/${id}`,
  };
}

function isIsoDateTime(value: string): boolean {
  const shape = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
  return shape.test(value) && !Number.isNaN(Date.parse(value));
}

function newDedupKey(): string {
  return randomBytes(16).toString('hex');
}

/** The body as text, or undefined when it is larger than PagerDuty accepts. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size <= MAX_BODY_BYTES) chunks.push(buf);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8');
}

function peekJson(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}
