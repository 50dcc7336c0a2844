// A loopback stand-in for CloudTrail's LookupEvents (moto has only trails), as
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html describes it. It speaks the wire
// @aws-sdk/client-cloudtrail speaks: `POST /`, `X-Amz-Target: CloudTrail_20131101.LookupEvents`,
// `Content-Type: application/x-amz-json-1.1`, a SigV4 `Authorization` header whose scope names the service
// `cloudtrail`, and answers `{"Events":[{EventId, EventName, ReadOnly, AccessKeyId, EventTime, EventSource, Username,
// Resources, CloudTrailEvent}], "NextToken"}` with the records it was given, newest first.
//
// What it checks as CloudTrail does: the operation; the SigV4 signature itself (test/standins/sigv4.ts: recomputed
// with the caller's secret key, its scope naming the service, X-Amz-Date within 5 minutes of now); the request members
// and their types, at most one lookup attribute from the documented keys, MaxResults 1–50,
// StartTime ≤ EndTime, a NextToken only with the parameters that produced it (InvalidNextTokenException otherwise),
// and the rate: above `ratePerSecond` requests in any second per account and Region it answers ThrottlingException
// (HTTP 400, JSON error body, as the JSON 1.1 protocol's common throttling error; the SDK reads the type from
// `__type`). Each caller sees the records of its own account (from the access key: `accountOf`) and its signed
// Region only.
import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isRecord } from '../../src/core/text';
import { checkSigV4, type SigV4Refusal } from './sigv4';

/** The secret key every known access key signs with, unless the stand-in is given another. */
export const STANDIN_SECRET = 'test-secret';

/** A record to serve: a CloudTrail record object, or raw `CloudTrailEvent` text with the fields LookupEvents shows. */
export type ServedEvent =
  | Record<string, unknown>
  | { raw: string; eventId: string; eventName: string; eventTime: string; account: string; region: string; readOnly?: boolean };

export interface CloudTrailStandInOptions {
  records?: ServedEvent[];
  /** The caller's account from its access key id (SigV4 Credential). Default: `defaultAccount` for every key. */
  accountOf?: (accessKeyId: string) => string | undefined | Promise<string | undefined>;
  defaultAccount?: string;
  /** Requests allowed in any one second per account and Region. Default 2 (the API's documented limit). */
  ratePerSecond?: number;
  /** The secret access key of every known access key. Default STANDIN_SECRET. */
  secretAccessKey?: string;
  /** The secret of one access key (e.g. temporary credentials another service issued); overrides secretAccessKey. */
  secretOf?: (accessKeyId: string) => string | undefined | Promise<string | undefined>;
  /** Now (epoch ms), for the X-Amz-Date window. Default Date.now(). */
  now?: () => number;
}

export interface LookupRequestLog {
  /** Epoch ms of arrival. */
  at: number;
  account: string | undefined;
  region: string | undefined;
  accessKeyId: string | undefined;
  body: Record<string, unknown> | undefined;
  status: number;
  error?: string;
  events?: number;
  nextToken?: boolean;
}

interface Stored {
  seq: number;
  account: string;
  region: string;
  eventId: string;
  eventName: string;
  eventSource: string;
  eventTime: number; // epoch ms
  readOnly: boolean;
  accessKeyId?: string;
  username?: string;
  resources: Array<{ ResourceType?: string; ResourceName?: string }>;
  text: string;
}

const TARGET = 'CloudTrail_20131101.LookupEvents';
const ATTRIBUTE_KEYS = new Set(['EventId', 'EventName', 'ReadOnly', 'Username', 'ResourceType', 'ResourceName', 'EventSource', 'AccessKeyId']);
const MEMBERS = new Set(['LookupAttributes', 'StartTime', 'EndTime', 'EventCategory', 'MaxResults', 'NextToken']);

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return isRecord(v) ? v : undefined;
}

function usernameOf(identity: Record<string, unknown> | undefined): string | undefined {
  if (!identity) return undefined;
  if (typeof identity.userName === 'string') return identity.userName;
  if (identity.type === 'Root') return 'root';
  if (typeof identity.arn === 'string' && identity.type === 'AssumedRole') return identity.arn.split('/').pop();
  if (typeof identity.principalId === 'string') return identity.principalId.split(':').pop();
  return undefined;
}

function store(e: ServedEvent, seq: number): Stored {
  if (typeof e.raw === 'string') {
    const r = e as Extract<ServedEvent, { raw: string }>;
    return {
      seq,
      account: r.account,
      region: r.region,
      eventId: r.eventId,
      eventName: r.eventName,
      eventSource: 'unknown',
      eventTime: Date.parse(r.eventTime),
      readOnly: r.readOnly ?? false,
      resources: [],
      text: r.raw,
    };
  }
  const rec = e as Record<string, unknown>;
  const identity = obj(rec.userIdentity);
  const account = (rec.recipientAccountId ?? identity?.accountId) as string | undefined;
  const time = Date.parse(String(rec.eventTime));
  if (!account || Number.isNaN(time) || typeof rec.eventID !== 'string') {
    throw new Error(`cannot serve a record without recipientAccountId, eventTime and eventID (${String(rec.eventID)})`);
  }
  const resources = Array.isArray(rec.resources)
    ? (rec.resources as unknown[]).map((r) => ({
        ...(typeof obj(r)?.type === 'string' ? { ResourceType: obj(r)?.type as string } : {}),
        ...(typeof obj(r)?.ARN === 'string' ? { ResourceName: obj(r)?.ARN as string } : {}),
      }))
    : [];
  return {
    seq,
    account,
    region: typeof rec.awsRegion === 'string' ? rec.awsRegion : 'us-east-1',
    eventId: rec.eventID,
    eventName: String(rec.eventName),
    eventSource: String(rec.eventSource),
    eventTime: time,
    readOnly: rec.readOnly === true,
    ...(typeof identity?.accessKeyId === 'string' ? { accessKeyId: identity.accessKeyId } : {}),
    ...(usernameOf(identity) ? { username: usernameOf(identity) } : {}),
    resources,
    text: JSON.stringify(rec),
  };
}

function matches(s: Stored, key: string, value: string): boolean {
  switch (key) {
    case 'EventId':
      return s.eventId === value;
    case 'EventName':
      return s.eventName === value;
    case 'ReadOnly':
      return String(s.readOnly) === value;
    case 'Username':
      return s.username === value;
    case 'EventSource':
      return s.eventSource === value;
    case 'AccessKeyId':
      return s.accessKeyId === value;
    case 'ResourceType':
      return s.resources.some((r) => r.ResourceType === value);
    case 'ResourceName':
      return s.resources.some((r) => r.ResourceName === value);
    default:
      return false;
  }
}

/** How CloudTrail's JSON protocol answers each SigV4 refusal. */
const SIGV4_ERRORS: Record<SigV4Refusal, { type: string; status: number }> = {
  MissingAuthenticationToken: { type: 'MissingAuthenticationTokenException', status: 403 },
  IncompleteSignature: { type: 'IncompleteSignatureException', status: 403 },
  WrongService: { type: 'InvalidSignatureException', status: 403 },
  UnknownAccessKey: { type: 'UnrecognizedClientException', status: 400 },
  SignatureExpired: { type: 'InvalidSignatureException', status: 400 },
  SignatureDoesNotMatch: { type: 'InvalidSignatureException', status: 403 },
};

export class CloudTrailStandIn {
  readonly requests: LookupRequestLog[] = [];
  private readonly events: Stored[] = [];
  private readonly tokens = new Map<string, { key: string; list: Stored[]; offset: number }>();
  private readonly recent = new Map<string, number[]>();
  private forcedThrottles = 0;
  private seq = 0;
  private server?: http.Server;
  url = '';

  constructor(private readonly opts: CloudTrailStandInOptions = {}) {
    this.add(opts.records ?? []);
  }

  /** Serves more records (e.g. events that "arrive" while a poller runs). */
  add(records: ServedEvent[]): void {
    for (const r of records) this.events.push(store(r, this.seq++));
  }

  /** The next `n` requests are answered ThrottlingException, as when another client used the account's budget. */
  throttleNext(n: number): void {
    this.forcedThrottles += n;
  }

  /**
   * What a caller sent, refused requests included, per account+Region: the most requests in any 1-second window and
   * the shortest gap between two requests. (Counting only accepted requests would measure the stand-in's own limit.)
   */
  sentRate(filter: (r: LookupRequestLog) => boolean = () => true): { requests: number; maxPerSecond: number; minGapMs: number } {
    const byKey = new Map<string, number[]>();
    let requests = 0;
    for (const r of this.requests) {
      if (!filter(r)) continue;
      requests += 1;
      const k = `${r.account}/${r.region}`;
      byKey.set(k, [...(byKey.get(k) ?? []), r.at]);
    }
    let maxPerSecond = 0;
    let minGapMs = Infinity;
    for (const times of byKey.values()) {
      times.sort((a, b) => a - b);
      for (let i = 0; i < times.length; i++) {
        if (i > 0) minGapMs = Math.min(minGapMs, (times[i] as number) - (times[i - 1] as number));
        let n = 0;
        for (let j = i; j < times.length && (times[j] as number) - (times[i] as number) < 1000; j++) n++;
        maxPerSecond = Math.max(maxPerSecond, n);
      }
    }
    return { requests, maxPerSecond, minGapMs };
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.reply(res, 500, { __type: 'InternalFailure', message: String(err) });
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private reply(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/x-amz-json-1.1',
      'Content-Length': Buffer.byteLength(text),
      'x-amzn-RequestId': randomBytes(16).toString('hex'),
      ...(status >= 400 && obj(body)?.__type ? { 'x-amzn-ErrorType': String(obj(body)?.__type) } : {}),
    });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const log: LookupRequestLog = { at: Date.now(), account: undefined, region: undefined, accessKeyId: undefined, body: undefined, status: 0 };
    this.requests.push(log);
    try {
      const out = await this.lookup(req, raw, log);
      log.status = 200;
      log.events = (out.Events as unknown[]).length;
      log.nextToken = Boolean(out.NextToken);
      this.reply(res, 200, out);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError('InternalFailure', (err as Error).message, 500);
      log.status = e.status;
      log.error = e.type;
      this.reply(res, e.status, { __type: e.type, message: e.message });
    }
  }

  private async lookup(req: IncomingMessage, raw: string, log: LookupRequestLog): Promise<Record<string, unknown>> {
    if (req.method !== 'POST' || (req.url ?? '/') !== '/') throw new ApiError('UnknownOperationException', `${req.method} ${req.url} is not an operation`, 404);
    const target = req.headers['x-amz-target'];
    if (target !== TARGET) throw new ApiError('UnknownOperationException', `X-Amz-Target must be ${TARGET} (this stand-in serves LookupEvents only), got ${String(target)}`);
    const type = String(req.headers['content-type'] ?? '');
    if (!type.startsWith('application/x-amz-json-1.1')) throw new ApiError('SerializationException', `Content-Type must be application/x-amz-json-1.1, got ${type}`);
    const claimed = /Credential=([^/,\s]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
    const known = claimed === undefined ? undefined : this.opts.accountOf ? await this.opts.accountOf(claimed) : this.opts.defaultAccount;
    const secret = !known || claimed === undefined ? undefined : this.opts.secretOf ? await this.opts.secretOf(claimed) : (this.opts.secretAccessKey ?? STANDIN_SECRET);
    const auth = checkSigV4(
      { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body: raw },
      { service: 'cloudtrail', secretOf: () => secret, now: (this.opts.now ?? Date.now)() },
    );
    log.accessKeyId = auth.accessKeyId;
    log.region = auth.region;
    if (!auth.ok) {
      const e = SIGV4_ERRORS[auth.refusal];
      throw new ApiError(e.type, auth.message, e.status);
    }
    const account = known as string;
    log.account = account;

    // Rate: a sliding one-second window of accepted requests per account and Region.
    const key = `${account}/${auth.region}`;
    const now = Date.now();
    const times = (this.recent.get(key) ?? []).filter((t) => now - t < 1000);
    this.recent.set(key, times);
    if (this.forcedThrottles > 0) {
      this.forcedThrottles -= 1;
      throw new ApiError('ThrottlingException', 'Rate exceeded');
    }
    if (times.length >= (this.opts.ratePerSecond ?? 2)) throw new ApiError('ThrottlingException', 'Rate exceeded');

    let body: Record<string, unknown>;
    try {
      body = obj(JSON.parse(raw || '{}')) ?? {};
    } catch {
      throw new ApiError('SerializationException', 'Request body is not valid JSON');
    }
    log.body = body;
    for (const k of Object.keys(body)) {
      if (!MEMBERS.has(k)) throw new ApiError('SerializationException', `Unknown member ${k} in LookupEventsRequest`);
    }
    const attrs = body.LookupAttributes;
    if (attrs !== undefined && !Array.isArray(attrs)) throw new ApiError('SerializationException', 'LookupAttributes must be a list');
    if (Array.isArray(attrs) && attrs.length > 1) throw new ApiError('InvalidLookupAttributesException', 'You can specify only one lookup attribute.');
    const attr = Array.isArray(attrs) ? obj(attrs[0]) : undefined;
    if (attr && (!ATTRIBUTE_KEYS.has(String(attr.AttributeKey)) || typeof attr.AttributeValue !== 'string')) {
      throw new ApiError('InvalidLookupAttributesException', `Invalid lookup attribute ${JSON.stringify(attr)}`);
    }
    for (const k of ['StartTime', 'EndTime']) {
      if (body[k] !== undefined && typeof body[k] !== 'number') throw new ApiError('SerializationException', `${k} must be a timestamp (epoch seconds)`);
    }
    const start = body.StartTime !== undefined ? (body.StartTime as number) * 1000 : 0;
    const end = body.EndTime !== undefined ? (body.EndTime as number) * 1000 : now;
    if (start > end) throw new ApiError('InvalidTimeRangeException', 'StartTime must be before EndTime');
    const max = body.MaxResults === undefined ? 50 : body.MaxResults;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 50) {
      throw new ApiError('InvalidMaxResultsException', 'MaxResults must be between 1 and 50');
    }
    if (body.EventCategory !== undefined && body.EventCategory !== 'insight') {
      throw new ApiError('InvalidEventCategoryException', 'EventCategory must be insight');
    }
    times.push(now);

    const paramsKey = JSON.stringify([account, auth.region, attr ?? null, body.StartTime ?? null, body.EndTime ?? null, body.EventCategory ?? null, max]);
    let list: Stored[];
    let offset = 0;
    if (body.NextToken !== undefined) {
      const t = typeof body.NextToken === 'string' ? this.tokens.get(body.NextToken) : undefined;
      if (!t || t.key !== paramsKey) {
        throw new ApiError('InvalidNextTokenException', 'Invalid NextToken: it is unknown, or the other parameters changed');
      }
      list = t.list;
      offset = t.offset;
    } else if (body.EventCategory === 'insight') {
      list = [];
    } else {
      list = this.events
        .filter((s) => s.account === account && s.region === auth.region && s.eventTime >= start && s.eventTime <= end)
        .filter((s) => !attr || matches(s, String(attr.AttributeKey), String(attr.AttributeValue)))
        .sort((a, b) => b.eventTime - a.eventTime || b.seq - a.seq);
    }
    const page = list.slice(offset, offset + max);
    const out: Record<string, unknown> = {
      Events: page.map((s) => ({
        EventId: s.eventId,
        EventName: s.eventName,
        ReadOnly: String(s.readOnly),
        ...(s.accessKeyId ? { AccessKeyId: s.accessKeyId } : {}),
        EventTime: s.eventTime / 1000,
        EventSource: s.eventSource,
        ...(s.username ? { Username: s.username } : {}),
        Resources: s.resources,
        CloudTrailEvent: s.text,
      })),
    };
    if (offset + max < list.length) {
      const token = randomBytes(24).toString('base64url');
      this.tokens.set(token, { key: paramsKey, list, offset: offset + max });
      out.NextToken = token;
    }
    return out;
  }
}

export async function startCloudTrailStandIn(opts: CloudTrailStandInOptions = {}): Promise<CloudTrailStandIn> {
  return new CloudTrailStandIn(opts).start();
}
