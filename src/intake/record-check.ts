// What makes a CloudTrail record usable: the fields vouch needs, checked by one zod schema, and the error that names
// the source, the record's index and the field when one is wrong.
//
// Every record read passes here (hundreds of thousands a minute in a backfill or `vouch classify`), so a plain check
// of the common, well-formed shape answers first; whatever it does not accept goes through the schema, which accepts
// the unusual-but-valid shapes and says what is wrong with the rest. The plain check only ever accepts what the schema
// accepts, with the same result (test/intake/normalise.test.ts holds them to it on every record of the shared data).
// `eventVersion` is not checked (1.05 … 1.11 and later all read the same way).
import { z } from 'zod';
import { isRecord } from '../core/records';

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

const ACCOUNT_ID = /^\d{12}$/;
/** CloudTrail's own time format, checked without Date.parse (the hot path); anything else goes to Date.parse. */
export const CLOUDTRAIL_TIME = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?Z$/;

function kindOf(v: unknown): string {
  return Array.isArray(v) ? 'an array' : typeof v;
}

const required = z
  .string({ error: (iss) => (iss.input === undefined || iss.input === null ? 'is missing' : `must be a string, got ${typeof iss.input}`) })
  .min(1, 'is missing');

const objectOrNull = z.custom<Record<string, unknown>>(isRecord, 'must be an object or null').nullish();

/** The account a record happened in: recipientAccountId, else (older and service records) userIdentity.accountId. */
function accountOf(rec: Record<string, unknown>): unknown {
  const recipient = rec.recipientAccountId;
  if (typeof recipient === 'string' && recipient !== '') return recipient;
  const identity = rec.userIdentity;
  return isRecord(identity) && typeof identity.accountId === 'string' && identity.accountId !== '' ? identity.accountId : undefined;
}

/** A usable record, field by field, in the order problems are reported. */
const recordSchema = z.preprocess(
  (raw) => (isRecord(raw) ? { ...raw, recipientAccountId: accountOf(raw) } : raw),
  z.looseObject(
    {
      eventID: required,
      eventName: required,
      eventSource: required,
      userIdentity: z.custom<Record<string, unknown>>(isRecord, { error: (iss) => `must be an object, got ${kindOf(iss.input)}` }).nullish(),
      recipientAccountId: z
        .string({ error: () => 'is missing (and userIdentity.accountId too)' })
        .regex(ACCOUNT_ID, { error: (iss) => `must be a 12-digit account id, got "${String(iss.input).slice(0, 40)}"` }),
      eventTime: required.refine((t) => CLOUDTRAIL_TIME.test(t) || !Number.isNaN(Date.parse(t)), {
        error: (iss) => `is not a timestamp: "${String(iss.input).slice(0, 40)}"`,
      }),
      requestParameters: objectOrNull,
      responseElements: objectOrNull,
      readOnly: z.union([z.boolean(), z.enum(['true', 'false'])], { error: (iss) => `must be a boolean, got ${typeof iss.input}` }).nullish(),
    },
    { error: (iss) => `must be a JSON object, got ${iss.input === null ? 'null' : typeof iss.input}` },
  ),
);

/** A failed call has errorCode, errorMessage or both. */
function errorCodeOf(rec: Record<string, unknown>): string | undefined {
  const ec = rec.errorCode;
  const em = rec.errorMessage;
  return typeof ec === 'string' && ec !== '' ? ec : typeof em === 'string' && em !== '' ? 'UnknownError' : undefined;
}

/** The schema's answer: the header, or a RecordError naming the first field that is wrong. */
export function checkHeader(raw: unknown, source: string, index: number): RecordHeader {
  if (raw instanceof RecordError) throw raw;
  const parsed = recordSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RecordError(source, index, issue?.path.length ? String(issue.path[0]) : '(record)', issue?.message ?? 'is not a CloudTrail record');
  }
  const rec = raw as Record<string, unknown>;
  const h = parsed.data;
  return {
    rec,
    eventId: h.eventID,
    eventName: h.eventName,
    eventSource: h.eventSource,
    account: h.recipientAccountId,
    eventTime: h.eventTime,
    identity: h.userIdentity ?? undefined,
    readOnly: typeof h.readOnly === 'boolean' ? h.readOnly : h.readOnly === 'true' ? true : h.readOnly === 'false' ? false : undefined,
    errorCode: errorCodeOf(rec),
  };
}

function text(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}

/** The common shape, checked plainly; undefined when the record needs the schema (unusual or wrong). */
function commonHeader(raw: unknown): RecordHeader | undefined {
  if (!isRecord(raw)) return undefined;
  const { eventID, eventName, eventSource, eventTime, userIdentity, recipientAccountId, requestParameters, responseElements, readOnly } = raw;
  if (!text(eventID) || !text(eventName) || !text(eventSource) || !text(eventTime) || !CLOUDTRAIL_TIME.test(eventTime)) return undefined;
  if (userIdentity !== undefined && userIdentity !== null && !isRecord(userIdentity)) return undefined;
  if (!text(recipientAccountId) || !ACCOUNT_ID.test(recipientAccountId)) return undefined;
  if (requestParameters !== undefined && requestParameters !== null && !isRecord(requestParameters)) return undefined;
  if (responseElements !== undefined && responseElements !== null && !isRecord(responseElements)) return undefined;
  if (readOnly !== undefined && typeof readOnly !== 'boolean') return undefined;
  return {
    rec: raw,
    eventId: eventID,
    eventName,
    eventSource,
    account: recipientAccountId,
    eventTime,
    identity: isRecord(userIdentity) ? userIdentity : undefined,
    readOnly,
    errorCode: errorCodeOf(raw),
  };
}

/** Check one record and read its key fields; throws RecordError naming the field when one is missing or wrong. */
export function readHeader(raw: unknown, source: string, index: number): RecordHeader {
  return commonHeader(raw) ?? checkHeader(raw, source, index);
}
