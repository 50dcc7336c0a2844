// The contract between the LookupEvents poller workflow (workflows/lookup-poller.ts) and its activity
// (activities/cloudtrail-lookup.ts): one page of CloudTrail LookupEvents for one account and Region.

/** One account and Region to read, and how to get in (the role is assumed through STS when given). */
export interface LookupTarget {
  account: string;
  region: string;
  roleArn?: string;
  externalId?: string;
}

/** CloudTrail's LookupAttributes keys (the API's `LookupAttributeKey`). */
export type LookupAttributeKey =
  | 'AccessKeyId'
  | 'EventId'
  | 'EventName'
  | 'EventSource'
  | 'ReadOnly'
  | 'ResourceName'
  | 'ResourceType'
  | 'Username';

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
