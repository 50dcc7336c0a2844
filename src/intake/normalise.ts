// Reading CloudTrail records and normalising each into one `Change`, whatever its variant.
// Bad input gets an error that names the source, the record index and the field.
import { isSensitiveKey, REDACTED } from '../core/redact';
import { isRecord } from '../core/records';
import { securityGroupRules, type SecurityGroupRule } from '../core/security-group-rules';
import { CLOUDTRAIL_TIME, readHeader, RecordError, type RecordHeader } from './record-check';
import { checkEnvelope, isEnvelope } from './provenance';
import type { Actor, ActorType, Change } from '../core/types';

/**
 * A Change plus the record facts the policy reads that the workflow contract does not carry (yet): whether the call
 * only read, the event type, and `additionalEventData` (ConsoleLogin's MFAUsed). All optional: a plain Change works.
 */
export interface NormalisedChange extends Change {
  readOnly?: boolean;
  eventType?: string;
  additionalEventData?: Record<string, unknown>;
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
          out.push(...recordsOf(JSON.parse(line), source, out.length));
        } catch (lineErr) {
          out.push(new RecordError(source, out.length, '(json)', `is not valid JSON: ${(lineErr as Error).message}`));
        }
      }
      return out;
    }
    throw new RecordError(source, 0, '(json)', `is not valid JSON: ${(err as Error).message}`);
  }
  return recordsOf(doc, source);
}

/** The records of one parsed document: a `{"Records":[…]}` file, an array, or one record (envelopes unwrapped). */
function recordsOf(doc: unknown, source: string, first = 0): unknown[] {
  const list = Array.isArray(doc)
    ? doc
    : doc !== null && typeof doc === 'object' && Array.isArray((doc as { Records?: unknown }).Records)
      ? (doc as { Records: unknown[] }).Records
      : null;
  if (!list) return [unwrapEnvelope(doc, source, first)];
  // In place: the list is ours (fresh from JSON.parse), and most files have no envelopes to unwrap.
  for (let i = 0; i < list.length; i++) {
    const d = list[i];
    if (d !== null && typeof d === 'object' && 'detail-type' in d) list[i] = unwrapEnvelope(d, source, first + i);
  }
  return list;
}

/**
 * EventBridge "AWS API Call via CloudTrail" envelopes carry the record in `detail`; one that fails the provenance
 * checks (an aws.* source, that detail-type, the envelope's account = the record's) becomes a RecordError naming
 * why. Anything that is not an envelope is returned as it is.
 */
export function unwrapEnvelope(doc: unknown, source = 'envelope', index = 0): unknown {
  if (!isEnvelope(doc)) return doc;
  const checked = checkEnvelope(doc);
  if (checked.ok) return checked.record;
  // RecordError writes "<field> <problem>": the reason's own leading field name is not repeated.
  const problem = checked.reason.startsWith(`${checked.field} `) ? checked.reason.slice(checked.field.length + 1) : checked.reason;
  return new RecordError(source, index, `envelope ${checked.field}`, problem);
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
  const identityCenterUserId = str(obj(identity.onBehalfOf) ?? {}, 'userId');
  if (identityCenterUserId) actor.identityCenterUserId = identityCenterUserId;
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
function summarise(eventName: string, request: Record<string, unknown> | null): string {
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

/** Normalise one record; throws RecordError naming the field when a required one is missing or of the wrong type. */
export function normalise(raw: unknown, source: string, index: number): NormalisedChange {
  return normaliseHeader(readHeader(raw, source, index));
}
