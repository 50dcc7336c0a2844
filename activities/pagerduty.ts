// PagerDuty activities: page security through the Events API v2 (via @pagerduty/pdjs) and resolve the page later.
//
// What pdjs 2.2.4 does on its own (build/src/common.js, events.js), and how this file bounds it:
// - It never rejects on an HTTP status; the status is mapped to a Temporal failure below.
// - On 429 it retries a fixed 3 times (hard-coded: the typed `retryCount` option is never read), sleeping
//   `retryTimeout` ms (default 20000) between tries, ignoring Retry-After, then resolves with the last 429.
//   `retryTimeout` is read from the options, so it is set to RATE_LIMIT_RETRY_MS: a rate-limited call gives up after
//   about 3 × 250 ms and Temporal owns the real backoff (RateLimited with nextRetryDelay).
// - `requestTimeout` (default 30000) only starts an empty setTimeout that is never cleared on errors and aborts
//   nothing, so it is disabled (0) and an AbortSignal.timeout(timeoutMs) is passed as `signal` instead; node-fetch v2
//   (under cross-fetch) honours it for the request and the body. The whole call is bounded by about timeoutMs + 250 ms,
//   and the same signal also fires when Temporal cancels the activity.
// - Extra options are spread into the fetch init, which is how `agent` (a test CA) reaches node-fetch.
// Nothing here logs, and no failure message carries the routing key.
//
// Text from the record (summary, names, request fields, anything in the details) is plain text to PagerDuty
// (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/: `summary` is text; `links` and `images` are
// where URLs go). vouch puts only its own review link in `links` and `client_url`, never an image, and passes every
// other string through plainText(): no control characters, no `<`/`>` (PagerDuty's Slack and e-mail notifications
// carry the summary on), URL schemes and `www.` defanged (`https[:]//`, `www[.]`) so no integration turns them into
// links, each string capped.
import type https from 'node:https';
import { ApplicationFailure } from '@temporalio/activity';
import { event } from '@pagerduty/pdjs';
import { redact } from '../src/core/redact';
import { FailureTypes, type IncidentInput } from '../src/core/types';
import { abortSignal, isRecord, retryAfterSeconds, scrub, statusFailure } from './pagerduty-http';
import { truncate } from '../src/core/text';

export { retryAfterSeconds, truncate };

type EventParameters = Parameters<typeof event>[0];
type EventPayloadV2 = EventParameters['data'];

export interface PagerDutyDeps {
  pagerduty: {
    /** Events API v2 integration key (32 characters). A secret: never logged. */
    routingKey: string;
    /** Host[:port] pdjs calls over HTTPS. Default events.pagerduty.com. */
    server?: string;
    /** For tests and proxies, e.g. an agent that trusts the stand-in's certificate. */
    agent?: https.Agent;
    /** Bound on one activity attempt's HTTP work. Default 10000 ms. */
    timeoutMs?: number;
    /** `payload.source` of every event. Default 'vouch'. */
    source?: string;
  };
}

export interface ResolveIncidentInput {
  dedupKey: string;
  /** Why it is resolved; sent as the resolve event's payload so it shows in the alert log. */
  note?: string;
}

export interface AlertInput {
  dedupKey: string;
  summary: string;
  severity: 'critical' | 'error' | 'warning' | 'info';
  /** payload.class, e.g. 'review-terminated'. */
  kind: string;
  details: Record<string, unknown>;
  /** vouch's own link to the review, when there is one. */
  reviewUrl?: string;
}

export interface TriggerIncidentResult {
  dedupKey: string;
}

const DEFAULT_PAGERDUTY_SERVER = 'events.pagerduty.com';
const DEFAULT_PAGERDUTY_TIMEOUT_MS = 10_000;
/** pdjs sleeps this long between its three hard-coded 429 retries (its default is 20 s). */
export const RATE_LIMIT_RETRY_MS = 250;
const MAX_SUMMARY = 1024;
/** Longest string in custom_details, and most entries of one list (e.g. the timeline). */
const MAX_DETAIL_STRING = 2000;
const MAX_DETAIL_ITEMS = 100;
const MAX_DETAIL_DEPTH = 6;

/**
 * Record text as inert plain text: control characters become spaces, `<` and `>` become ‹ ›, `scheme://` becomes
 * `scheme[:]//` and `www.` becomes `www[.]` (no linkifier matches either), then cut to `max` characters.
 */
export function plainText(text: string, max: number): string {
  const flat = text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/</g, '‹')
    .replace(/>/g, '›')
    .replace(/\b([a-z][a-z0-9+.-]{0,30}):\/\//gi, '$1[:]//')
    .replace(/\bwww\./gi, 'www[.]');
  return truncate(flat, max);
}

/** plainText() over every string (and key) of a JSON value, with lists and depth bounded. */
export function plainDetails(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return plainText(value, MAX_DETAIL_STRING);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DETAIL_DEPTH) return '…';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_DETAIL_ITEMS).map((v) => plainDetails(v, depth + 1));
    if (value.length > MAX_DETAIL_ITEMS) items.push(`… ${value.length - MAX_DETAIL_ITEMS} more`);
    return items;
  }
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .slice(0, MAX_DETAIL_ITEMS)
      .map(([k, v]) => [plainText(k, 100), plainDetails(v, depth + 1)]),
  );
}
/** Without Retry-After: 5 s, 10 s, 20 s, then 30 s per activity attempt. With it: its value, within 1 s – 5 min. */

export function createPagerDutyActivities(deps: PagerDutyDeps) {
  const config = deps.pagerduty;
  const source = config.source ?? 'vouch';

  async function send(action: 'trigger' | 'resolve', dedupKey: string, body: Omit<EventPayloadV2, 'routing_key'>) {
    // Everything that reaches PagerDuty passes redact(); the routing key is added afterwards, untouched.
    const data = { ...redact(body), routing_key: config.routingKey } as EventPayloadV2;
    const params: EventParameters & { agent?: https.Agent } = {
      data,
      server: config.server ?? DEFAULT_PAGERDUTY_SERVER,
      signal: abortSignal(config.timeoutMs ?? DEFAULT_PAGERDUTY_TIMEOUT_MS),
      retryTimeout: RATE_LIMIT_RETRY_MS,
      requestTimeout: 0,
      ...(config.agent ? { agent: config.agent } : {}),
    };
    let res: Awaited<ReturnType<typeof event>>;
    try {
      res = await event(params);
    } catch (err) {
      // Network error, timeout (AbortError) or a non-JSON body (e.g. a proxy's HTML 502): transient.
      const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      throw ApplicationFailure.create({
        type: 'PagerDutyUnavailable',
        message: scrub(`PagerDuty ${action} for ${dedupKey} failed: ${reason}`, config.routingKey),
      });
    }
    if (res.status === 202) return res.data as unknown;
    const retryAfter = res.headers.get('retry-after');
    throw failureFor(action, dedupKey, res.status, res.data as unknown, retryAfter, config.routingKey);
  }

  return {
    /**
     * Page: trigger (or add to) the alert keyed by input.dedupKey. Re-triggering an open alert with the same key adds
     * an event to it rather than paging again, so retries and later updates (the engineer's answer) are safe.
     */
    async triggerIncident(input: IncidentInput): Promise<TriggerIncidentResult> {
      const { change, verdict } = input;
      const body: Omit<EventPayloadV2, 'routing_key'> & Record<string, unknown> = {
        event_action: 'trigger',
        dedup_key: input.dedupKey,
        payload: {
          summary: plainText(input.summary, MAX_SUMMARY),
          source,
          severity: input.severity,
          timestamp: change.eventTime,
          component: plainText(change.eventSource, 255),
          group: plainText(change.account, 255),
          class: plainText(change.eventName, 255),
          custom_details: {
            ...(plainDetails({
              change: change.summary,
              account: change.account,
              region: change.region,
              actor: change.actor,
              ...(change.sourceIp ? { sourceIp: change.sourceIp } : {}),
              eventId: change.eventId,
              tier: verdict.tier,
              score: verdict.score,
              rules: verdict.rules,
              reasons: verdict.reasons,
              revertPlan: verdict.revertPlan ? verdict.revertPlan.description : 'none',
              ...input.details,
            }) as Record<string, unknown>),
            // vouch's own link (the UI base from config, the workflow id URL-encoded), the one URL in the event.
            reviewUrl: input.reviewUrl,
          },
        },
        client: 'vouch',
        client_url: input.reviewUrl,
        links: [{ href: input.reviewUrl, text: 'Review in Temporal' }],
      };
      const data = await send('trigger', input.dedupKey, body);
      const returned = isRecord(data) && typeof data.dedup_key === 'string' ? data.dedup_key : input.dedupKey;
      return { dedupKey: returned };
    },

    /**
     * A page about vouch itself rather than one change (e.g. a review terminated through Temporal): same checks, same
     * plain text, and the link (when given) is vouch's own review URL.
     */
    async triggerAlert(input: AlertInput): Promise<TriggerIncidentResult> {
      const body: Omit<EventPayloadV2, 'routing_key'> & Record<string, unknown> = {
        event_action: 'trigger',
        dedup_key: input.dedupKey,
        payload: {
          summary: plainText(input.summary, MAX_SUMMARY),
          source,
          severity: input.severity,
          component: 'vouch',
          class: plainText(input.kind, 255),
          custom_details: {
            ...(plainDetails(input.details) as Record<string, unknown>),
            ...(input.reviewUrl ? { reviewUrl: input.reviewUrl } : {}),
          },
        },
        client: 'vouch',
        ...(input.reviewUrl ? { client_url: input.reviewUrl, links: [{ href: input.reviewUrl, text: 'Review in Temporal' }] } : {}),
      };
      const data = await send('trigger', input.dedupKey, body);
      const returned = isRecord(data) && typeof data.dedup_key === 'string' ? data.dedup_key : input.dedupKey;
      return { dedupKey: returned };
    },

    /** Resolve the alert keyed by dedupKey. PagerDuty accepts (and ignores) a resolve for an alert that is not open. */
    async resolveIncident(input: ResolveIncidentInput): Promise<void> {
      const body: Omit<EventPayloadV2, 'routing_key'> = {
        event_action: 'resolve',
        dedup_key: input.dedupKey,
        ...(input.note
          ? {
              payload: {
                summary: plainText(input.note, MAX_SUMMARY),
                source,
                severity: 'info' as const,
                custom_details: { note: plainText(input.note, MAX_DETAIL_STRING) },
              },
            }
          : {}),
      } as Omit<EventPayloadV2, 'routing_key'>;
      await send('resolve', input.dedupKey, body);
    },
  };
}

function failureFor(
  action: string,
  dedupKey: string,
  status: number,
  data: unknown,
  retryAfter: string | null,
  routingKey: string,
): ApplicationFailure {
  const body = isRecord(data) ? data : {};
  const vendorMessage = typeof body.message === 'string' ? body.message : '';
  const errors = Array.isArray(body.errors) ? body.errors.map(String) : [];
  const what = `PagerDuty ${action} for ${dedupKey}`;
  const said = [vendorMessage, ...errors].filter((s) => s !== '').join('; ') || 'no details';
  const message = (text: string): string => scrub(text, routingKey);

  if (status === 400) {
    return ApplicationFailure.create({
      type: FailureTypes.VendorRejected,
      nonRetryable: true,
      message: message(`${what} rejected (400): ${said}`),
      details: [{ status, message: scrub(vendorMessage, routingKey), errors: errors.map((e) => scrub(e, routingKey)) }],
    });
  }
  return statusFailure({
    what,
    status,
    said,
    retryAfter,
    secret: routingKey,
    credentialHint: 'the routing key',
    unavailableType: 'PagerDutyUnavailable',
  });
}
