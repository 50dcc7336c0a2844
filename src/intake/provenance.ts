// Provenance at intake: vouch reviews only CloudTrail records AWS delivered about the accounts it watches.
//
// - EventBridge envelopes ("AWS API Call via CloudTrail" events, as an EventBridge rule delivers them to SQS, or as
//   archived JSON lines) must come from an `aws.*` source (EventBridge refuses PutEvents with a source starting with
//   "aws.": only AWS services emit them; Amazon EventBridge User Guide, "Events from AWS services"), with that exact
//   detail-type, and the envelope's `account` must equal the record's `recipientAccountId`. Anything else is
//   dead-lettered with the reason, never reviewed.
// - Records of an account vouch does not watch (not in VOUCH_ACCOUNTS_FILE) are dead-lettered with the reason: a
//   record about someone else's account must neither DM our engineers nor drive a revert.
// - A LookupEvents page read with account X's role holds only X's records; one naming another account is refused.
import { isRecord } from '../core/records';

export const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';

/** An AWS service's EventBridge source: `aws.ec2`, `aws.iam`, `aws.s3`… */
const AWS_SOURCE = /^aws\.[a-z0-9][a-z0-9.-]*$/;
const ACCOUNT_ID = /^\d{12}$/;

export type EnvelopeCheck =
  | { ok: true; record: Record<string, unknown> }
  | { ok: false; field: string; reason: string };

function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

function shown(v: unknown): string {
  return JSON.stringify(v)?.slice(0, 80) ?? String(v);
}

/** Is this document an EventBridge envelope (rather than a bare CloudTrail record)? */
export function isEnvelope(doc: unknown): doc is Record<string, unknown> {
  return isRecord(doc) && 'detail-type' in doc;
}

/**
 * The CloudTrail record inside an EventBridge envelope, when the envelope is one AWS delivered for a CloudTrail
 * management event: `source` aws.*, detail-type "AWS API Call via CloudTrail", `detail` an object, and `account` equal
 * to the record's recipientAccountId. The record is a copy (a "__proto__" key stays an own property).
 */
export function checkEnvelope(doc: unknown): EnvelopeCheck {
  if (!isRecord(doc)) return { ok: false, field: '(body)', reason: `message body must be an EventBridge envelope (a JSON object), got ${kindOf(doc)}` };
  const detailType = doc['detail-type'];
  if (detailType === undefined) return { ok: false, field: 'detail-type', reason: 'message is not an EventBridge envelope: detail-type is missing' };
  if (detailType !== CLOUDTRAIL_DETAIL_TYPE) {
    return { ok: false, field: 'detail-type', reason: `detail-type must be "${CLOUDTRAIL_DETAIL_TYPE}", got ${shown(detailType)}` };
  }
  if (typeof doc.source !== 'string' || !AWS_SOURCE.test(doc.source)) {
    return {
      ok: false,
      field: 'source',
      reason: `source must be an AWS service's (aws.*), got ${shown(doc.source)}: only AWS emits CloudTrail events, anything else is forged`,
    };
  }
  if (!isRecord(doc.detail)) return { ok: false, field: 'detail', reason: `detail must be an object (the CloudTrail record), got ${kindOf(doc.detail)}` };
  if (typeof doc.account !== 'string' || !ACCOUNT_ID.test(doc.account)) {
    return { ok: false, field: 'account', reason: `account must be the 12-digit account the event was delivered for, got ${shown(doc.account)}` };
  }
  const record = { ...doc.detail };
  if (record.recipientAccountId !== doc.account) {
    return {
      ok: false,
      field: 'account',
      reason:
        record.recipientAccountId === undefined
          ? `the record has no recipientAccountId to match the envelope's account ${doc.account}`
          : `the envelope's account ${doc.account} is not the record's recipientAccountId ${shown(record.recipientAccountId)}`,
    };
  }
  return { ok: true, record };
}

/** The accounts vouch watches: only their records are reviewed. */
export interface AccountAllowList {
  has(account: string): boolean;
  /** Where the list comes from, for the reason of a dead letter: "VOUCH_ACCOUNTS_FILE accounts.yaml". */
  source: string;
}

export function accountAllowList(accounts: Iterable<string>, source: string): AccountAllowList {
  const set = new Set(accounts);
  return { has: (a) => set.has(a), source };
}
