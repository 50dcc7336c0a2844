// Reading CloudTrail records and normalising each into one `Change`, whatever its variant.
// Bad input gets an error that names the source, the record index and the field.
import { redact } from '../workflows/redact';
import type { Actor, ActorType, Change } from '../workflows/types';

export type CloudTrailRecord = Record<string, unknown>;

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
  const trimmed = text.trim();
  if (trimmed === '') return [];
  let doc: unknown;
  try {
    doc = JSON.parse(trimmed);
  } catch (err) {
    // JSON lines: one record per line.
    const lines = trimmed.split(/\r?\n/).filter((l) => l.trim() !== '');
    if (lines.length > 1) {
      return lines.map((line, i) => {
        try {
          return unwrap(JSON.parse(line));
        } catch (lineErr) {
          return new RecordError(source, i, '(json)', `is not valid JSON: ${(lineErr as Error).message}`);
        }
      });
    }
    throw new RecordError(source, 0, '(json)', `is not valid JSON: ${(err as Error).message}`);
  }
  if (Array.isArray(doc)) return doc.map(unwrap);
  if (doc !== null && typeof doc === 'object' && Array.isArray((doc as { Records?: unknown }).Records)) {
    return (doc as { Records: unknown[] }).Records.map(unwrap);
  }
  return [unwrap(doc)];
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
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
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
  const rawType = str(identity, 'type') ?? 'Unknown';
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
      name = arn?.split('/').pop() ?? str(identity, 'principalId')?.split(':').pop() ?? 'unknown';
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
  const email = [sourceIdentity, name].find((c) => c !== undefined && EMAIL.test(c));
  return {
    type,
    name,
    ...(arn ? { arn } : {}),
    ...(email ? { email } : {}),
    ...(issuer && str(issuer, 'arn') ? { sessionIssuerArn: str(issuer, 'arn') } : {}),
    ...(accessKeyId ? { accessKeyId } : {}),
  };
}

interface Permission {
  protocol: string;
  from?: number;
  to?: number;
  cidrs: string[];
}

/** Ingress/egress permissions from both request shapes: flat (CLI) and nested `ipPermissions.items[]`. */
export function securityGroupPermissions(request: Record<string, unknown>): Permission[] {
  const out: Permission[] = [];
  const flatCidr = str(request, 'cidrIp') ?? str(request, 'cidrIpv6');
  if (flatCidr) {
    out.push({
      protocol: str(request, 'ipProtocol') ?? '-1',
      from: typeof request.fromPort === 'number' ? request.fromPort : undefined,
      to: typeof request.toPort === 'number' ? request.toPort : undefined,
      cidrs: [flatCidr],
    });
  }
  const items = obj(request.ipPermissions)?.items;
  if (Array.isArray(items)) {
    for (const raw of items) {
      const p = obj(raw);
      if (!p) continue;
      const cidrs: string[] = [];
      for (const r of (obj(p.ipRanges)?.items as unknown[] | undefined) ?? []) {
        const c = str(obj(r) ?? {}, 'cidrIp');
        if (c) cidrs.push(c);
      }
      for (const r of (obj(p.ipv6Ranges)?.items as unknown[] | undefined) ?? []) {
        const c = str(obj(r) ?? {}, 'cidrIpv6');
        if (c) cidrs.push(c);
      }
      out.push({
        protocol: str(p, 'ipProtocol') ?? '-1',
        from: typeof p.fromPort === 'number' ? p.fromPort : undefined,
        to: typeof p.toPort === 'number' ? p.toPort : undefined,
        cidrs,
      });
    }
  }
  return out;
}

function portText(p: Permission): string {
  if (p.protocol === '-1' || p.protocol === 'all') return 'all ports';
  if (p.from === undefined) return p.protocol;
  return p.from === p.to || p.to === undefined ? `${p.protocol}/${p.from}` : `${p.protocol}/${p.from}-${p.to}`;
}

/** One line for humans. */
export function summarise(eventName: string, request: Record<string, unknown> | null): string {
  const req = request ?? {};
  if (/^(Authorize|Revoke)SecurityGroup(Ingress|Egress)$/.test(eventName)) {
    const group = str(req, 'groupId') ?? str(req, 'groupName') ?? 'a security group';
    const perms = securityGroupPermissions(req);
    const verb = eventName.startsWith('Authorize') ? 'opened to' : 'closed for';
    const parts = perms.flatMap((p) => p.cidrs.map((c) => `${c} on ${portText(p)}`));
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

/** Normalise one record; throws RecordError naming the field when a required one is missing or of the wrong type. */
export function normalise(raw: unknown, source: string, index: number): Change {
  if (raw instanceof RecordError) throw raw;
  const rec = obj(raw);
  if (!rec) throw new RecordError(source, index, '(record)', `must be a JSON object, got ${raw === null ? 'null' : typeof raw}`);
  const need = (key: string): string => {
    const v = rec[key];
    if (v === undefined || v === null || v === '') throw new RecordError(source, index, key, 'is missing');
    if (typeof v !== 'string') throw new RecordError(source, index, key, `must be a string, got ${typeof v}`);
    return v;
  };
  const eventId = need('eventID');
  const eventName = need('eventName');
  const eventSource = need('eventSource');
  const identity = obj(rec.userIdentity);
  const account = str(rec, 'recipientAccountId') ?? (identity ? str(identity, 'accountId') : undefined);
  if (!account) throw new RecordError(source, index, 'recipientAccountId', 'is missing (and userIdentity.accountId too)');
  if (!/^\d{12}$/.test(account)) throw new RecordError(source, index, 'recipientAccountId', `must be a 12-digit account id, got "${account.slice(0, 40)}"`);
  const eventTime = need('eventTime');
  if (Number.isNaN(Date.parse(eventTime))) throw new RecordError(source, index, 'eventTime', `is not a timestamp: "${eventTime.slice(0, 40)}"`);
  const region = str(rec, 'awsRegion') ?? 'us-east-1';
  if (rec.requestParameters !== undefined && rec.requestParameters !== null && !obj(rec.requestParameters)) {
    throw new RecordError(source, index, 'requestParameters', 'must be an object or null');
  }
  if (rec.responseElements !== undefined && rec.responseElements !== null && !obj(rec.responseElements)) {
    throw new RecordError(source, index, 'responseElements', 'must be an object or null');
  }
  const request = redact(obj(rec.requestParameters) ?? {});
  const response = obj(rec.responseElements) ? redact(obj(rec.responseElements) as Record<string, unknown>) : null;
  const errorCode = str(rec, 'errorCode');
  return {
    eventId,
    eventTime: new Date(eventTime).toISOString(),
    account,
    region,
    eventSource,
    eventName,
    actor: actorOf(identity),
    ...(str(rec, 'sourceIPAddress') ? { sourceIp: str(rec, 'sourceIPAddress') } : {}),
    ...(str(rec, 'userAgent') ? { userAgent: str(rec, 'userAgent') } : {}),
    request,
    response,
    ...(errorCode ? { errorCode } : {}),
    summary: summarise(eventName, request),
  };
}
