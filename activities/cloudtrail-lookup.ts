// CloudTrail LookupEvents activity: fetches ONE page for one account and region and hands its records to intake
// (reviews started, records dead-lettered), for the durable poller (workflows/lookup-poller.ts).
//
// vendors.md §4.1: at most two LookupEvents requests per second per account and Region. The poller runs one request
// at a time per account+region and passes the time of its previous request; the activity waits until
// `minIntervalMs` after it before calling, whichever worker it runs on. A ThrottlingException (someone else used
// the budget) is a retryable `RateLimited` failure: Temporal's retry policy owns the backoff (the SDK does not retry).
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { LookupEventsCommand, type CloudTrailClient, type LookupAttributeKey } from '@aws-sdk/client-cloudtrail';
import { FailureTypes } from '../src/core/types';

/** One account and Region to read, and how to get in (the role is assumed through STS when given). */
export interface LookupTarget {
  account: string;
  region: string;
  roleArn?: string;
  externalId?: string;
}

export interface LookupAttributeFilter {
  key: LookupAttributeKey;
  value: string;
}

export interface LookupPageInput extends LookupTarget {
  /** The window, ISO 8601; the same for every page of one window (NextToken is only valid with the same parameters). */
  startTime: string;
  endTime: string;
  nextToken?: string;
  /** 1–50. Default 50. */
  maxResults?: number;
  /** At most one attribute (the API's limit). Default: ReadOnly=false (changes only). null: every management event. */
  lookupAttribute?: LookupAttributeFilter | null;
  /** Epoch ms of the poller's previous request, to keep `minIntervalMs` between requests. */
  lastRequestAt?: number;
  /** Default 600 (under 2 requests per second, with a margin for clock and network jitter). */
  minIntervalMs?: number;
}

export interface PageCounts {
  ignored: number;
  started: number;
  existing: number;
  deadLettered: number;
}

export interface LookupPageResult {
  /** Present when the window has more pages. */
  nextToken?: string;
  /** Epoch ms when this page's request was sent. */
  requestedAt: number;
  events: number;
  counts: PageCounts;
  /** The newest EventTime on the page (ISO), when it had events. */
  newestEventTime?: string;
}

/** One event of a page, as intake receives it: the CloudTrail record is the `CloudTrailEvent` JSON string. */
export interface LookupRecord {
  /** `lookup://<account>/<region>#<EventId>` */
  source: string;
  eventId?: string;
  cloudTrailEvent?: string;
}

export interface CloudTrailLookupDeps {
  /** Absent in workers that do not poll CloudTrail: the activity then fails with `NotConfigured`. */
  cloudtrailLookup?: {
    /** A CloudTrail client in the target account and Region (assuming its role), with SDK retries off. */
    clientFor(target: LookupTarget): CloudTrailClient;
    /**
     * Processes one page's records (start reviews, dead-letter the unusable ones). Throws when a record could not be
     * finished for a transient reason: the activity then fails retryably and the page is fetched again (duplicates
     * are found, not doubled). `temporal` is the worker's client, for implementations that have none of their own.
     */
    ingestPage(target: LookupTarget, records: LookupRecord[], temporal: Client | undefined): Promise<PageCounts>;
  };
}

export const DEFAULT_MIN_INTERVAL_MS = 600;

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

function workerClient(): Client | undefined {
  try {
    return Context.current().client;
  } catch {
    return undefined;
  }
}

export function createCloudTrailLookupActivities(deps: CloudTrailLookupDeps) {
  return {
    /** Fetches one page of LookupEvents and ingests its records. */
    async lookupCloudTrailPage(input: LookupPageInput): Promise<LookupPageResult> {
      const lookup = deps.cloudtrailLookup;
      if (!lookup) {
        throw ApplicationFailure.nonRetryable('this worker has no CloudTrail lookup configured', 'NotConfigured');
      }
      const target: LookupTarget = {
        account: input.account,
        region: input.region,
        ...(input.roleArn ? { roleArn: input.roleArn } : {}),
        ...(input.externalId ? { externalId: input.externalId } : {}),
      };
      const minInterval = input.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
      if (input.lastRequestAt !== undefined) {
        const wait = input.lastRequestAt + minInterval - Date.now();
        if (wait > 0) await Context.current().sleep(wait);
      }
      const attribute = input.lookupAttribute === undefined ? { key: 'ReadOnly' as const, value: 'false' } : input.lookupAttribute;
      const requestedAt = Date.now();
      let res;
      try {
        res = await lookup.clientFor(target).send(
          new LookupEventsCommand({
            StartTime: new Date(input.startTime),
            EndTime: new Date(input.endTime),
            MaxResults: input.maxResults ?? 50,
            ...(input.nextToken ? { NextToken: input.nextToken } : {}),
            ...(attribute ? { LookupAttributes: [{ AttributeKey: attribute.key, AttributeValue: attribute.value }] } : {}),
          }),
          { abortSignal: Context.current().cancellationSignal },
        );
      } catch (err) {
        const name = (err as { name?: string }).name ?? 'Error';
        const message = `LookupEvents in ${input.account}/${input.region}: ${name}: ${(err as Error).message}`;
        if (THROTTLED.has(name)) throw ApplicationFailure.retryable(message, FailureTypes.RateLimited);
        const permanent = PERMANENT[name];
        if (permanent) throw ApplicationFailure.nonRetryable(message, permanent);
        throw ApplicationFailure.retryable(message, 'LookupFailed');
      }
      const events = res.Events ?? [];
      const records: LookupRecord[] = events.map((e, i) => ({
        source: `lookup://${input.account}/${input.region}#${e.EventId ?? `page-${requestedAt}-${i}`}`,
        ...(e.EventId ? { eventId: e.EventId } : {}),
        ...(e.CloudTrailEvent !== undefined ? { cloudTrailEvent: e.CloudTrailEvent } : {}),
      }));
      let counts: PageCounts;
      try {
        counts = await lookup.ingestPage(target, records, workerClient());
      } catch (err) {
        throw ApplicationFailure.retryable(`intake of a LookupEvents page failed: ${(err as Error).message}`, 'IntakeUnavailable');
      }
      const newest = events.reduce<number | undefined>((max, e) => {
        const t = e.EventTime?.getTime();
        return t !== undefined && (max === undefined || t > max) ? t : max;
      }, undefined);
      return {
        ...(res.NextToken ? { nextToken: res.NextToken } : {}),
        requestedAt,
        events: events.length,
        counts,
        ...(newest !== undefined ? { newestEventTime: new Date(newest).toISOString() } : {}),
      };
    },
  };
}
