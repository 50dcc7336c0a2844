// Connect people on escalation: find who is on call for security right now (PagerDuty REST API v2 through
// @pagerduty/pdjs's `api()`), find them in Slack by e-mail, open ONE conversation with them and the engineer, and post
// the change with the review link, so the two talk within minutes of the page.
//
//   GET https://api.pagerduty.com/oncalls?escalation_policy_ids[]=P…&include[]=users&earliest=true
//       Authorization: Token token=<REST API key>, Accept: application/vnd.pagerduty+json;version=2 (pdjs sets both)
//   → the entries at the lowest escalation level are the people paged first; their e-mail comes with include[]=users,
//     else from GET /users/{id}
//   → Slack users.lookupByEmail for each → conversations.open(users: "Uoncall,Uengineer") → chat.postMessage
//
// pdjs is bounded as in activities/pagerduty.ts: its three hard-coded 429 retries sleep RATE_LIMIT_RETRY_MS (not
// 20 s), `requestTimeout` is off and an AbortSignal.timeout bounds the call (and fires on activity cancellation);
// Temporal's retry policy owns the backoff. The REST key is a secret: it never appears in a failure message.
//
// Failures: nobody on call → NobodyOnCall; on-call people not in Slack → OnCallNotInSlack (both non-retryable: a
// person must fix the schedule or the directory); 401/403 → InvalidCredentials; 400/404 → VendorRejected; 429 →
// RateLimited with nextRetryDelay; 5xx, network errors and non-JSON bodies → PagerDutyUnavailable (retryable).
// Slack errors map as in activities/slack.ts.
import type https from 'node:https';
import { ApplicationFailure } from '@temporalio/activity';
import { api } from '@pagerduty/pdjs';
import type { APIParameters, APIResponse } from '@pagerduty/pdjs/build/src/api';
import { ErrorCode, type WebAPIPlatformError, type WebClient } from '@slack/web-api';
import { FailureTypes, type Change } from '../src/core/types';
import { RATE_LIMIT_RETRY_MS } from './pagerduty';
import { truncate } from '../src/core/text';
import { escapeSlackText } from '../src/slack/escape';
import { abortSignal, isRecord, scrub, statusFailure } from './pagerduty-http';
import { toActivityFailure } from './slack';

export const OnCallFailureTypes = {
  /** The escalation policy has nobody on call right now. */
  NobodyOnCall: 'NobodyOnCall',
  /** Someone is on call, but none of them has a Slack account with their PagerDuty e-mail. */
  OnCallNotInSlack: 'OnCallNotInSlack',
  /** PagerDuty's REST API failed in a way worth retrying (5xx, network, timeout, a proxy's HTML page). */
  PagerDutyUnavailable: 'PagerDutyUnavailable',
  /** PAGERDUTY_API_TOKEN / PAGERDUTY_ESCALATION_POLICY_ID are not set: vouch cannot know who is on call. */
  OnCallNotConfigured: 'OnCallNotConfigured',
} as const;

export interface OnCallDeps {
  /** The bot's WebClient (the same fail-fast client the Slack activities use). */
  slack: WebClient;
  /** Without it connectOnCall fails at once with OnCallNotConfigured (non-retryable). */
  oncall?: {
    /** PagerDuty REST API key (read-only is enough). A secret: never logged. */
    apiToken: string;
    /** The security team's escalation policy (P…). */
    escalationPolicyId: string;
    /** Host[:port] of the REST API. Default api.pagerduty.com. */
    server?: string;
    /** For tests and proxies, e.g. an agent that trusts the stand-in's certificate. */
    agent?: https.Agent;
    /** Bound on each REST call. Default 10000 ms. */
    timeoutMs?: number;
  };
}

export interface ConnectOnCallInput {
  reviewId: string;
  change: Change;
  reviewUrl: string;
  /** One line for people: why security was paged. */
  summary: string;
  /** The engineer who made the change, when known (unknown actors and root have none). */
  engineerSlackUserId?: string;
}

export interface ConnectOnCallResult {
  /** The conversation (G… for several people, D… for one). */
  channel: string | null;
  /** Slack user ids of the on-call people in it. */
  oncall: string[];
  /** For the review's timeline: who was connected with whom, and who could not be. */
  message: string;
  /** ts of the posted message. */
  ts?: string;
}

const DEFAULT_PAGERDUTY_API_SERVER = 'api.pagerduty.com';
const DEFAULT_TIMEOUT_MS = 10_000;
/** conversations.open takes at most 8 users; one place is the engineer's. */
const MAX_ONCALL_PEOPLE = 7;
const MAX_TEXT = 3000;

interface OnCallPerson {
  pagerdutyId: string;
  name: string;
  email?: string;
  level: number;
}

export function createOnCallActivities(deps: OnCallDeps) {
  const { slack } = deps;
  const config = deps.oncall ?? { apiToken: '', escalationPolicyId: '' };
  const server = config.server ?? DEFAULT_PAGERDUTY_API_SERVER;

  /** One REST GET through pdjs, bounded, with its status mapped to a Temporal failure. */
  async function restGet(endpoint: string, queryParameters: Record<string, string | string[]> = {}): Promise<unknown> {
    const params = {
      token: config.apiToken,
      server,
      endpoint,
      method: 'GET',
      queryParameters,
      signal: abortSignal(config.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      retryTimeout: RATE_LIMIT_RETRY_MS,
      requestTimeout: 0,
      ...(config.agent ? { agent: config.agent } : {}),
    } as APIParameters & { agent?: https.Agent };
    let res: APIResponse;
    try {
      res = await api(params);
    } catch (err) {
      // pdjs rejects with its response object when the body is not JSON (a proxy's HTML page), else with the error.
      const reason =
        err instanceof Error
          ? `${err.name}: ${err.message}`
          : isRecord(err) && typeof err.status === 'number'
            ? `HTTP ${err.status} with a body that is not JSON`
            : String(err);
      throw ApplicationFailure.create({
        type: OnCallFailureTypes.PagerDutyUnavailable,
        message: scrub(`PagerDuty GET ${endpoint} failed: ${reason}`, config.apiToken),
      });
    }
    if (res.status === 200) return res.data as unknown;
    throw restFailure(endpoint, res.status, res.data as unknown, res.headers.get('retry-after'), config.apiToken);
  }

  /** The people at the lowest escalation level on call now, with their e-mail when PagerDuty included it. */
  async function whoIsOnCall(): Promise<OnCallPerson[]> {
    const data = await restGet('/oncalls', {
      'escalation_policy_ids[]': [config.escalationPolicyId],
      'include[]': ['users'],
      earliest: 'true',
    });
    const entries = isRecord(data) && Array.isArray(data.oncalls) ? data.oncalls : undefined;
    if (!entries) {
      throw ApplicationFailure.create({
        type: FailureTypes.VendorRejected,
        nonRetryable: true,
        message: 'PagerDuty GET /oncalls answered 200 without an "oncalls" array',
      });
    }
    const people: OnCallPerson[] = [];
    for (const entry of entries) {
      if (!isRecord(entry) || !isRecord(entry.user) || typeof entry.user.id !== 'string') continue;
      const level = typeof entry.escalation_level === 'number' ? entry.escalation_level : Number.MAX_SAFE_INTEGER;
      const user = entry.user;
      const userId = user.id as string;
      const email = typeof user.email === 'string' && user.email !== '' ? user.email : undefined;
      const name = typeof user.name === 'string' ? user.name : typeof user.summary === 'string' ? user.summary : userId;
      people.push({ pagerdutyId: userId, name, level, ...(email ? { email } : {}) });
    }
    if (people.length === 0) return [];
    const first = Math.min(...people.map((p) => p.level));
    const unique = new Map<string, OnCallPerson>();
    for (const p of people) if (p.level === first && !unique.has(p.pagerdutyId)) unique.set(p.pagerdutyId, p);
    return [...unique.values()].slice(0, MAX_ONCALL_PEOPLE);
  }

  async function emailOf(person: OnCallPerson): Promise<string | undefined> {
    if (person.email) return person.email;
    const data = await restGet(`/users/${encodeURIComponent(person.pagerdutyId)}`);
    const user = isRecord(data) && isRecord(data.user) ? data.user : undefined;
    return user && typeof user.email === 'string' && user.email !== '' ? user.email : undefined;
  }

  /** The Slack user with this e-mail; undefined when Slack has none (or a deactivated one). */
  async function slackUserFor(email: string): Promise<string | undefined> {
    try {
      const res = await slack.users.lookupByEmail({ email });
      if (!res.user?.id || res.user.deleted) return undefined;
      return res.user.id;
    } catch (err) {
      if (errorCode(err) === ErrorCode.PlatformError && (err as WebAPIPlatformError).data.error === 'users_not_found') {
        return undefined;
      }
      throw toActivityFailure('users.lookupByEmail', err);
    }
  }

  return {
    /**
     * Open one Slack conversation with security's on-call engineer(s) and the engineer who made the change, and post
     * the change and the review link there. Idempotent enough for retries: conversations.open returns the same
     * conversation for the same people; a retry after a successful post may post the message again.
     */
    async connectOnCall(input: ConnectOnCallInput): Promise<ConnectOnCallResult> {
      if (!deps.oncall) {
        throw ApplicationFailure.create({
          type: OnCallFailureTypes.OnCallNotConfigured,
          nonRetryable: true,
          message: 'On-call lookup is not configured: set PAGERDUTY_API_TOKEN and PAGERDUTY_ESCALATION_POLICY_ID',
        });
      }
      const people = await whoIsOnCall();
      if (people.length === 0) {
        throw ApplicationFailure.create({
          type: OnCallFailureTypes.NobodyOnCall,
          nonRetryable: true,
          message: `Nobody is on call for PagerDuty escalation policy ${config.escalationPolicyId}`,
        });
      }
      const inSlack: { id: string; name: string }[] = [];
      const missing: string[] = [];
      for (const person of people) {
        const email = await emailOf(person);
        const id = email ? await slackUserFor(email) : undefined;
        if (id) inSlack.push({ id, name: person.name });
        else missing.push(`${person.name} (${email ?? 'no e-mail in PagerDuty'})`);
      }
      if (inSlack.length === 0) {
        throw ApplicationFailure.create({
          type: OnCallFailureTypes.OnCallNotInSlack,
          nonRetryable: true,
          message: `No Slack user for the on-call engineer(s) of ${config.escalationPolicyId}: ${missing.join(', ')}`,
        });
      }
      const members = [...new Set([...inSlack.map((p) => p.id), ...(input.engineerSlackUserId ? [input.engineerSlackUserId] : [])])];
      let channel: string | undefined;
      try {
        const res = await slack.conversations.open({ users: members.join(',') });
        channel = res.channel?.id;
      } catch (err) {
        throw toActivityFailure('conversations.open', err);
      }
      if (!channel) {
        throw ApplicationFailure.create({
          type: FailureTypes.VendorRejected,
          nonRetryable: true,
          message: `Slack conversations.open returned no channel for ${members.join(',')}`,
        });
      }
      const text = renderText(input, inSlack.map((p) => p.id));
      let ts: string | undefined;
      try {
        const posted = await slack.chat.postMessage({ channel, text, unfurl_links: false, unfurl_media: false });
        ts = posted.ts;
      } catch (err) {
        throw toActivityFailure('chat.postMessage', err);
      }
      const who = inSlack.map((p) => p.name).join(', ');
      const withWhom = input.engineerSlackUserId ? ` with <@${input.engineerSlackUserId}>` : '';
      const notFound = missing.length > 0 ? `; not in Slack: ${missing.join(', ')}` : '';
      return {
        channel,
        oncall: inSlack.map((p) => p.id),
        message: `connected on-call ${who}${withWhom} in ${channel}${notFound}`,
        ...(ts ? { ts } : {}),
      };
    },
  };
}

function renderText(input: ConnectOnCallInput, oncall: string[]): string {
  const { change } = input;
  // Mentions are vouch's own (Slack user ids it looked up); every record value is escaped (src/slack/escape.ts).
  const e = (text: string): string => escapeSlackText(text);
  const mention = (ids: string[]): string => ids.map((id) => `<@${id}>`).join(' ');
  const engineer = input.engineerSlackUserId
    ? `<@${input.engineerSlackUserId}> made this change`
    : `Nobody could be asked about this change (actor: ${e(change.actor.name)})`;
  const lines = [
    `:rotating_light: ${mention(oncall)} — security was paged: ${e(input.summary)}`,
    `${engineer}. Please talk here.`,
    `*Change:* ${e(change.summary)}`,
    `*What:* ${e(change.eventName)} (${e(change.eventSource)}) in ${e(change.account)}/${e(change.region)} at ${e(change.eventTime)}`,
    `*Who:* ${e(change.actor.type)} ${e(change.actor.arn ?? change.actor.name)}${change.sourceIp ? ` from ${e(change.sourceIp)}` : ''}`,
    `*Review:* ${e(input.reviewUrl)}`,
  ];
  return truncate(lines.join('\n'), MAX_TEXT);
}

function restFailure(
  endpoint: string,
  status: number,
  data: unknown,
  retryAfter: string | null,
  token: string,
): ApplicationFailure {
  const body = isRecord(data) && isRecord(data.error) ? data.error : {};
  const said = [typeof body.message === 'string' ? body.message : '', ...(Array.isArray(body.errors) ? body.errors.map(String) : [])]
    .filter((s) => s !== '')
    .join('; ') || 'no details';
  return statusFailure({
    what: `PagerDuty GET ${endpoint}`,
    status,
    said,
    retryAfter,
    secret: token,
    credentialHint: 'PAGERDUTY_API_TOKEN',
    unavailableType: OnCallFailureTypes.PagerDutyUnavailable,
  });
}

function errorCode(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
