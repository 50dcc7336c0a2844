// Reading one page of CloudTrail LookupEvents for one account and Region and handing its records to intake, for the
// durable poller (workflows/lookup-poller.ts, through the thin activity in activities/cloudtrail-lookup.ts).
//
// LookupEvents allows two requests per second per account and Region (AWS CloudTrail API Reference, LookupEvents).
// The poller runs one request at a time per account+region and passes the time of its previous request; the page
// waits until `minIntervalMs` after it before calling, whichever worker it runs on. A ThrottlingException (someone
// else used the budget) is a retryable `RateLimited` failure: Temporal's retry policy owns the backoff (the SDK's
// retries are off).
import type { Client } from '@temporalio/client';
import { paginateLookupEvents, type CloudTrailClient, type LookupEventsCommandOutput } from '@aws-sdk/client-cloudtrail';
import type { LookupPageInput, LookupPageResult, LookupTarget, PageCounts } from '../core/lookup';
import { FailureTypes } from '../core/types';

/** One event of a page, as intake receives it: the CloudTrail record is the `CloudTrailEvent` JSON string. */
export interface LookupRecord {
  /** `lookup://<account>/<region>#<EventId>` */
  source: string;
  eventId?: string;
  cloudTrailEvent?: string;
}

export interface LookupDeps {
  /** A CloudTrail client in the target account and Region (assuming its role), with SDK retries off. */
  clientFor(target: LookupTarget): CloudTrailClient;
  /**
   * Processes one page's records (start reviews, dead-letter the unusable ones). Throws when a record could not be
   * finished for a transient reason: the page then fails retryably and is fetched again (duplicates are found, not
   * doubled). `temporal` is the worker's client, for implementations that have none of their own.
   */
  ingestPage(target: LookupTarget, records: LookupRecord[], temporal: Client | undefined): Promise<PageCounts>;
}

/** A page that could not be read or ingested: `type` names it for the workflow, `retryable` says whether to retry. */
export class LookupFailure extends Error {
  constructor(
    message: string,
    readonly type: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'LookupFailure';
  }
}

const DEFAULT_MIN_INTERVAL_MS = 600;

/** CloudTrail errors that will not pass by retrying the same request. */
const PERMANENT: Record<string, string> = {
  InvalidLookupAttributesException: 'InvalidLookup',
  InvalidTimeRangeException: 'InvalidLookup',
  InvalidMaxResultsException: 'InvalidLookup',
  InvalidEventCategoryException: 'InvalidLookup',
  InvalidNextTokenException: 'InvalidNextToken',
  OperationNotPermittedException: 'InvalidLookup',
  UnsupportedOperationException: 'InvalidLookup',
  AccessDenied: FailureTypes.InvalidCredentials,
  AccessDeniedException: FailureTypes.InvalidCredentials,
  UnrecognizedClientException: FailureTypes.InvalidCredentials,
  InvalidClientTokenId: FailureTypes.InvalidCredentials,
  InvalidSignatureException: FailureTypes.InvalidCredentials,
  IncompleteSignatureException: FailureTypes.InvalidCredentials,
  MissingAuthenticationTokenException: FailureTypes.InvalidCredentials,
};

const THROTTLED = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded']);

export interface PageContext {
  /** Aborts the request (the activity's cancellation). */
  signal?: AbortSignal;
  /** Waits (the activity context's cancellable sleep). */
  sleep(ms: number): Promise<void>;
  /** The worker's Temporal client, handed to `ingestPage`. */
  temporal?: Client;
  now?: () => number;
}

/** Fetches one page of LookupEvents and ingests its records. Throws LookupFailure for failures with a known type. */
export async function readLookupPage(deps: LookupDeps, input: LookupPageInput, ctx: PageContext): Promise<LookupPageResult> {
  const now = ctx.now ?? Date.now;
  const target: LookupTarget = {
    account: input.account,
    region: input.region,
    ...(input.roleArn ? { roleArn: input.roleArn } : {}),
    ...(input.externalId ? { externalId: input.externalId } : {}),
  };
  const minInterval = input.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
  if (input.lastRequestAt !== undefined) {
    const wait = input.lastRequestAt + minInterval - now();
    if (wait > 0) await ctx.sleep(wait);
  }
  const attribute = input.lookupAttribute === undefined ? { key: 'ReadOnly' as const, value: 'false' } : input.lookupAttribute;
  const requestedAt = now();
  let res: LookupEventsCommandOutput | undefined;
  try {
    // The SDK's paginator, one page at a time: the poller keeps NextToken in its workflow state between pages (its
    // checkpoint), so each activity reads the page at that token and stops; the generator makes no further request.
    const pages = paginateLookupEvents(
      { client: deps.clientFor(target), pageSize: input.maxResults ?? 50, ...(input.nextToken ? { startingToken: input.nextToken } : {}) },
      {
        StartTime: new Date(input.startTime),
        EndTime: new Date(input.endTime),
        ...(attribute ? { LookupAttributes: [{ AttributeKey: attribute.key, AttributeValue: attribute.value }] } : {}),
      },
      ...(ctx.signal ? [{ abortSignal: ctx.signal }] : []),
    );
    res = (await pages.next()).value;
    await pages.return(undefined);
  } catch (err) {
    const name = (err as { name?: string }).name ?? 'Error';
    const message = `LookupEvents in ${input.account}/${input.region}: ${name}: ${(err as Error).message}`;
    if (THROTTLED.has(name)) throw new LookupFailure(message, FailureTypes.RateLimited, true);
    const permanent = PERMANENT[name];
    if (permanent) throw new LookupFailure(message, permanent, false);
    throw new LookupFailure(message, 'LookupFailed', true);
  }
  const events = res?.Events ?? [];
  const records: LookupRecord[] = events.map((e, i) => ({
    source: `lookup://${input.account}/${input.region}#${e.EventId ?? `page-${requestedAt}-${i}`}`,
    ...(e.EventId ? { eventId: e.EventId } : {}),
    ...(e.CloudTrailEvent !== undefined ? { cloudTrailEvent: e.CloudTrailEvent } : {}),
  }));
  let counts: PageCounts;
  try {
    counts = await deps.ingestPage(target, records, ctx.temporal);
  } catch (err) {
    throw new LookupFailure(`intake of a LookupEvents page failed: ${(err as Error).message}`, 'IntakeUnavailable', true);
  }
  const newest = events.reduce<number | undefined>((max, e) => {
    const t = e.EventTime?.getTime();
    return t !== undefined && (max === undefined || t > max) ? t : max;
  }, undefined);
  return {
    ...(res?.NextToken ? { nextToken: res.NextToken } : {}),
    requestedAt,
    events: events.length,
    counts,
    ...(newest !== undefined ? { newestEventTime: new Date(newest).toISOString() } : {}),
  };
}
