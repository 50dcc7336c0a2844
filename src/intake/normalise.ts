// Reading CloudTrail records and normalising each into one `Change`, whatever its variant.
// Bad input gets an error that names the source, the record index and the field.
import { isSensitiveKey, REDACTED } from '../core/redact';
import { isRecord } from '../core/records';
import { securityGroupRules, type SecurityGroupRule } from '../core/security-group-rules';
import type { Actor, ActorType, Change } from '../core/types';

export type CloudTrailRecord = Record<string, unknown>;

/**
 * A Change plus the record facts the policy reads that the workflow contract does not carry (yet): whether the call
 * only read, the event type, and `additionalEventData` (ConsoleLogin's MFAUsed). All optional: a plain Change works.
 */
export interface NormalisedChange extends Change {
  readOnly?: boolean;
  eventType?: string;
  additionalEventData?: Record<string, unknown>;
}

/** A record that cannot be used, with where it came from and which field is wrong. */
export class RecordError extends Error {
  constructor(
    readonly source: string,
    readonly index: number,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${source}#${index}: ${field} ${problem}`);
    this.name = 'RecordError';
  }
}

/**
 * Records from text: a `{"Records":[…]}` file (as CloudTrail delivers to S3), a JSON array, one record, an
 * EventBridge envelope (`detail` holds the record) or JSON lines. Throws RecordError when the text is not JSON.
 */
export function parseRecords(text: string, source: string): unknown[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text); // JSON.parse skips surrounding whitespace itself: no copy of a large text
  } catch (err) {
    const trimmed = text.trim();
    if (trimmed === '') return [];
    // JSON lines: one record (or one {"Records":[…]} / array) per line.
    const lines = trimmed.split(/\r?\n/).filter((l) => l.trim() !== '');
    if (lines.length > 1) {
      const out: unknown[] = [];
      for (const line of lines) {
        try {
          out.push(...recordsOf(JSON.parse(line)));
        } catch (lineErr) {
          out.push(new RecordError(source, out.length, '(json)', `is not valid JSON: ${(lineErr as Error).message}`));
        }
      }
      return out;
    }
    throw new RecordError(source, 0, '(json)', `is not valid JSON: ${(err as Error).message}`);
  }
  return recordsOf(doc);
}

/** The records of one parsed document: a `{"Records":[…]}` file, an array, or one record (envelopes unwrapped). */
function recordsOf(doc: unknown): unknown[] {
  const list = Array.isArray(doc)
    ? doc
    : doc !== null && typeof doc === 'object' && Array.isArray((doc as { Records?: unknown }).Records)
      ? (doc as { Records: unknown[] }).Records
      : null;
  if (!list) return [unwrap(doc)];
  // In place: the list is ours (fresh from JSON.parse), and most files have no envelopes to unwrap.
  for (let i = 0; i < list.length; i++) {
    const d = list[i];
    if (d !== null && typeof d === 'object' && 'detail-type' in d) list[i] = unwrap(d);
  }
  return list;
}

/** EventBridge "AWS API Call via CloudTrail" envelopes carry the record in `detail`. */
function unwrap(doc: unknown): unknown {
  if (doc !== null && typeof doc === 'object' && 'detail-type' in doc && 'detail' in doc) {
    const env = doc as { detail: unknown; account?: string };
    if (env.detail && typeof env.detail === 'object') {
      const rec = { ...(env.detail as Record<string, unknown>) };
      if (rec.recipientAccountId === undefined && env.account) rec.recipientAccountId = env.account;
      return rec;
    }
  }
  return doc;
}

function str(rec: Record<string, unknown>, key: string): string | undefined {
  const v = rec[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return isRecord(v) ? v : undefined;
}

const ACTOR_TYPES = new Set<ActorType>([
  'IAMUser',
  'AssumedRole',
  'IdentityCenterUser',
  'Root',
  'AWSService',
  'FederatedUser',
  'AWSAccount',
]);

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export function actorOf(identity: Record<string, unknown> | undefined): Actor {
  if (!identity) return { type: 'Unknown', name: 'unknown' };
  // Service events (e.g. SharedSnapshotVolumeCreated) carry only {accountId, invokedBy}: that is a service.
  const rawType = str(identity, 'type') ?? (str(identity, 'invokedBy') ? 'AWSService' : 'Unknown');
  const type: ActorType = ACTOR_TYPES.has(rawType as ActorType) ? (rawType as ActorType) : 'Unknown';
  const arn = str(identity, 'arn');
  const accessKeyId = str(identity, 'accessKeyId');
  const issuer = obj(obj(identity.sessionContext)?.sessionIssuer);
  let name: string;
  switch (type) {
    case 'IAMUser':
      name = str(identity, 'userName') ?? arn?.split('/').pop() ?? 'unknown';
      break;
    case 'AssumedRole':
    case 'FederatedUser':
      // arn:aws:sts::ACCT:assumed-role/ROLE/SESSION → the session name (often the person's e-mail with SSO).
      name = arn ? arn.slice(arn.lastIndexOf('/') + 1) : str(identity, 'principalId')?.split(':').pop() ?? 'unknown';
      break;
    case 'IdentityCenterUser':
      name =
        str(identity, 'userName') ??
        str(obj(identity.onBehalfOf) ?? {}, 'userId') ??
        str(identity, 'principalId') ??
        'unknown';
      break;
    case 'Root':
      name = 'root';
      break;
    case 'AWSService':
      name = str(identity, 'invokedBy') ?? 'aws-service';
      break;
    default:
      name = str(identity, 'userName') ?? str(identity, 'principalId') ?? 'unknown';
  }
  const sourceIdentity = str(identity, 'sourceIdentity');
  const email = isEmail(sourceIdentity) ? sourceIdentity : isEmail(name) ? name : undefined;
  // Built field by field (no spreads): this runs for every record, ignored or not.
  const actor: Actor = { type, name };
  if (arn) actor.arn = arn;
  if (email) actor.email = email;
  const issuerArn = issuer ? str(issuer, 'arn') : undefined;
  if (issuerArn) actor.sessionIssuerArn = issuerArn;
  if (accessKeyId) actor.accessKeyId = accessKeyId;
  return actor;
}

function isEmail(c: string | undefined): c is string {
  return c !== undefined && c.includes('@') && EMAIL.test(c);
}

/** "tcp/22", "udp/1000-2000", "all ports" (all traffic), "all tcp ports", "icmp". */
function portText(r: SecurityGroupRule): string {
  if (r.protocol === '-1') return 'all ports';
  if (r.protocol === 'icmp' || r.protocol === 'icmpv6') return r.protocol;
  if (r.allPorts) return `all ${r.protocol} ports`;
  return r.fromPort === r.toPort ? `${r.protocol}/${r.fromPort}` : `${r.protocol}/${r.fromPort}-${r.toPort}`;
}

/** One line for humans. */
export function summarise(eventName: string, request: Record<string, unknown> | null): string {
  const req = request ?? {};
  if (/^(Authorize|Revoke)SecurityGroup(Ingress|Egress)$/.test(eventName)) {
    const group = str(req, 'groupId') ?? str(req, 'groupName') ?? 'a security group';
    // The request's rules only: the response's rule set repeats them.
    const rules = securityGroupRules({ eventName, request: req, response: null });
    const verb = eventName.startsWith('Authorize') ? 'opened to' : 'closed for';
    const parts = [...new Set(rules.flatMap((r) => (r.cidr ? [`${r.cidr} on ${portText(r)}`] : [])))];
    return parts.length ? `${group} ${verb} ${parts.join(', ')}` : `${eventName} on ${group}`;
  }
  const target =
    str(req, 'name') ??
    str(req, 'bucketName') ??
    str(req, 'userName') ??
    str(req, 'roleName') ??
    str(req, 'groupId') ??
    str(req, 'keyId') ??
    str(req, 'detectorId') ??
    str(req, 'functionName');
  return target ? `${eventName} on ${target}` : eventName;
}

/** The checked fields of a record: enough to decide that a record is ignored without normalising all of it. */
export interface RecordHeader {
  rec: Record<string, unknown>;
  eventId: string;
  eventName: string;
  eventSource: string;
  account: string;
  eventTime: string;
  identity: Record<string, unknown> | undefined;
  readOnly: boolean | undefined;
  errorCode: string | undefined;
}

function need(rec: Record<string, unknown>, key: string, source: string, index: number): string {
  const v = rec[key];
  if (v === undefined || v === null || v === '') throw new RecordError(source, index, key, 'is missing');
  if (typeof v !== 'string') throw new RecordError(source, index, key, `must be a string, got ${typeof v}`);
  return v;
}

const ACCOUNT_ID = /^\d{12}$/;
/** CloudTrail's own time format, checked without Date.parse (the hot path); anything else goes to Date.parse. */
const CLOUDTRAIL_TIME = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?Z$/;

/**
 * Check one record and read its key fields; throws RecordError naming the field when a required one is missing or of
 * the wrong type. `eventVersion` is not checked (1.05 … 1.11 and later all read the same way).
 */
export function readHeader(raw: unknown, source: string, index: number): RecordHeader {
  if (raw instanceof RecordError) throw raw;
  const rec = obj(raw);
  if (!rec) throw new RecordError(source, index, '(record)', `must be a JSON object, got ${raw === null ? 'null' : typeof raw}`);
  const eventId = need(rec, 'eventID', source, index);
  const eventName = need(rec, 'eventName', source, index);
  const eventSource = need(rec, 'eventSource', source, index);
  const identity = obj(rec.userIdentity);
  if (rec.userIdentity !== undefined && rec.userIdentity !== null && !identity) {
    throw new RecordError(source, index, 'userIdentity', `must be an object, got ${Array.isArray(rec.userIdentity) ? 'an array' : typeof rec.userIdentity}`);
  }
  const recipient = rec.recipientAccountId;
  const account = typeof recipient === 'string' && recipient !== '' ? recipient : identity ? str(identity, 'accountId') : undefined;
  if (!account) throw new RecordError(source, index, 'recipientAccountId', 'is missing (and userIdentity.accountId too)');
  if (!ACCOUNT_ID.test(account)) throw new RecordError(source, index, 'recipientAccountId', `must be a 12-digit account id, got "${account.slice(0, 40)}"`);
  const eventTime = need(rec, 'eventTime', source, index);
  if (!CLOUDTRAIL_TIME.test(eventTime) && Number.isNaN(Date.parse(eventTime))) throw new RecordError(source, index, 'eventTime', `is not a timestamp: "${eventTime.slice(0, 40)}"`);
  const rp = rec.requestParameters;
  if (rp !== undefined && rp !== null && !obj(rp)) throw new RecordError(source, index, 'requestParameters', 'must be an object or null');
  const re = rec.responseElements;
  if (re !== undefined && re !== null && !obj(re)) throw new RecordError(source, index, 'responseElements', 'must be an object or null');
  const ro = rec.readOnly;
  let readOnly: boolean | undefined;
  if (typeof ro === 'boolean') readOnly = ro;
  else if (ro === 'true' || ro === 'false') readOnly = ro === 'true';
  else if (ro !== undefined && ro !== null) throw new RecordError(source, index, 'readOnly', `must be a boolean, got ${typeof ro}`);
  // A failed call has errorCode, errorMessage or both (risky-changes.md §3.1).
  const ec = rec.errorCode;
  const em = rec.errorMessage;
  const errorCode = typeof ec === 'string' && ec !== '' ? ec : typeof em === 'string' && em !== '' ? 'UnknownError' : undefined;
  return { rec, eventId, eventName, eventSource, account, eventTime, identity, readOnly, errorCode };
}

const sensitiveCache = new Map<string, boolean>();
function sensitive(key: string): boolean {
  let s = sensitiveCache.get(key);
  if (s === undefined) {
    s = isSensitiveKey(key);
    if (sensitiveCache.size > 10_000) sensitiveCache.clear();
    sensitiveCache.set(key, s);
  }
  return s;
}

/**
 * `redact` with the same result, faster: sensitive-key checks are cached per key name, and parts that hold nothing
 * sensitive are shared with the record instead of copied (the record is fresh from JSON.parse and not used again).
 */
export function redactShared<T>(value: T, depth = 0): T {
  if (depth > 32) return REDACTED as unknown as T;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const r = child(v, depth);
      if (r !== v) (out ??= value.slice())[i] = r;
    }
    return (out ?? value) as unknown as T;
  }
  if (value !== null && typeof value === 'object') {
    let out: Record<string, unknown> | undefined;
    const rec = value as Record<string, unknown>;
    for (const k of Object.keys(rec)) {
      const v = rec[k];
      const r = sensitive(k) && v !== null && v !== undefined && v !== '' ? REDACTED : child(v, depth);
      if (r !== v) {
        out ??= { ...rec };
        // defineProperty, not assignment: a "__proto__" key from JSON must stay an own (redacted) property.
        Object.defineProperty(out, k, { value: r, enumerable: true, writable: true, configurable: true });
      }
    }
    return (out ?? value) as T;
  }
  return value;
}

function child(v: unknown, depth: number): unknown {
  if (depth + 1 > 32) return REDACTED;
  return v !== null && typeof v === 'object' ? redactShared(v, depth + 1) : v;
}

/** `new Date(t).toISOString()`, without the Date for CloudTrail's own format (…:SSZ or …:SS.fffZ). */
function isoTime(t: string): string {
  // Days 29–31 go through Date, which rolls an impossible 02-31 over to March.
  if (CLOUDTRAIL_TIME.test(t) && t.slice(8, 10) <= '28') {
    if (t.length === 20) return `${t.slice(0, 19)}.000Z`;
    if (t.length === 24) return t;
  }
  return new Date(t).toISOString();
}

/** The full, redacted Change of a checked record (`actor`: actorOf(h.identity), when the caller has it already). */
export function normaliseHeader(h: RecordHeader, actor?: Actor): NormalisedChange {
  const rec = h.rec;
  const request = redactShared(obj(rec.requestParameters) ?? {});
  const response = obj(rec.responseElements) ? redactShared(obj(rec.responseElements) as Record<string, unknown>) : null;
  const extra = obj(rec.additionalEventData);
  const eventType = str(rec, 'eventType');
  const sourceIp = str(rec, 'sourceIPAddress');
  const userAgent = str(rec, 'userAgent');
  return {
    eventId: h.eventId,
    eventTime: isoTime(h.eventTime),
    account: h.account,
    region: str(rec, 'awsRegion') ?? 'us-east-1',
    eventSource: h.eventSource,
    eventName: h.eventName,
    actor: actor ?? actorOf(h.identity),
    ...(sourceIp ? { sourceIp } : {}),
    ...(userAgent ? { userAgent } : {}),
    request,
    response,
    ...(h.errorCode ? { errorCode: h.errorCode } : {}),
    summary: summarise(h.eventName, request),
    ...(h.readOnly !== undefined ? { readOnly: h.readOnly } : {}),
    ...(eventType ? { eventType } : {}),
    ...(extra ? { additionalEventData: redactShared(extra) } : {}),
  };
}

/**
 * Normalise one record; throws RecordError naming the field when a required one is missing or of the wrong type.
 * `eventVersion` is not checked (1.05 … 1.11 and later all read the same way).
 */
export function normalise(raw: unknown, source: string, index: number): NormalisedChange {
  return normaliseHeader(readHeader(raw, source, index));
}
