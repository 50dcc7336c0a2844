// A loopback stand-in for PagerDuty's Events API v2 (POST /v2/enqueue and /v2/change/enqueue), over HTTPS because
// @pagerduty/pdjs always calls https://<server>/v2/enqueue. It validates each event as PagerDuty's Events v2 schema
// describes it (restated by hand from the public documentation, see docs/vendors.md §3.1), keeps incidents by
// dedup_key, and can be scripted to fail. It also powers the local demo sandbox (the 'event' emitter).
import { EventEmitter } from 'node:events';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { loopbackCert } from './tls';

export type PagerDutyAction = 'trigger' | 'acknowledge' | 'resolve';
export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';

export interface PagerDutyStandInOptions {
  /** The integration (routing) key events must carry: 32 characters. */
  routingKey: string;
}

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
  private server: https.Server | undefined;
  private failures: { failure: PagerDutyFailure; left: number }[] = [];
  private readonly stalled = new Set<ServerResponse>();

  constructor(options: PagerDutyStandInOptions) {
    super();
    if (options.routingKey.length !== 32) throw new Error('PagerDutyStandIn: routingKey must be 32 characters');
    this.routingKey = options.routingKey;
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

    if (path !== '/v2/enqueue' && path !== '/v2/change/enqueue') {
      answer(404, { status: 'not found', message: `No route for ${path}` });
      return;
    }
    if (req.method !== 'POST') {
      answer(405, { status: 'method not allowed', message: 'Use POST' }, { allow: 'POST' });
      return;
    }

    const scripted = this.takeFailure();
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
    if (!isObject(body)) {
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
      const details = isObject(payload.custom_details) ? payload.custom_details : {};
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
  if (!isObject(payload)) return ["'payload' must be an object"];
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
  if (payload.custom_details !== undefined && !isObject(payload.custom_details)) {
    errors.push("'payload.custom_details' must be an object");
  }
  return errors;
}

function validateLinks(links: unknown): string[] {
  if (links === undefined) return [];
  if (!Array.isArray(links)) return ["'links' must be an array"];
  const errors: string[] = [];
  links.forEach((link: unknown, i) => {
    if (!isObject(link)) errors.push(`'links[${i}]' must be an object`);
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
    if (!isObject(image)) errors.push(`'images[${i}]' must be an object`);
    else if (typeof image.src !== 'string' || !image.src.startsWith('https://')) {
      errors.push(`'images[${i}].src' must be an https URL`);
    }
  });
  return errors;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
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
