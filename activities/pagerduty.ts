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

export interface TriggerIncidentResult {
  dedupKey: string;
}

const DEFAULT_PAGERDUTY_SERVER = 'events.pagerduty.com';
const DEFAULT_PAGERDUTY_TIMEOUT_MS = 10_000;
/** pdjs sleeps this long between its three hard-coded 429 retries (its default is 20 s). */
export const RATE_LIMIT_RETRY_MS = 250;
const MAX_SUMMARY = 1024;
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
          summary: truncate(input.summary, MAX_SUMMARY),
          source,
          severity: input.severity,
          timestamp: change.eventTime,
          component: change.eventSource,
          group: change.account,
          class: change.eventName,
          custom_details: {
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
            reviewUrl: input.reviewUrl,
            ...input.details,
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

    /** Resolve the alert keyed by dedupKey. PagerDuty accepts (and ignores) a resolve for an alert that is not open. */
    async resolveIncident(input: ResolveIncidentInput): Promise<void> {
      const body: Omit<EventPayloadV2, 'routing_key'> = {
        event_action: 'resolve',
        dedup_key: input.dedupKey,
        ...(input.note
          ? {
              payload: {
                summary: truncate(input.note, MAX_SUMMARY),
                source,
                severity: 'info' as const,
                custom_details: { note: input.note },
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
