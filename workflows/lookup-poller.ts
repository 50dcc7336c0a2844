// The durable CloudTrail poller: one workflow per account and Region (id `vouch-lookup-<account>-<region>`).
//
// Each poll reads the window [checkpoint − overlap, now] page by page (one activity per page, NextToken kept in
// workflow state), then moves the checkpoint to the window's end and sleeps on a durable timer. The overlap catches
// events CloudTrail delivers late ("about 5 minutes", not guaranteed:
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html); the review workflow id
// (account + eventID) makes the re-read events find their reviews instead of starting new ones. The checkpoint and a
// window in progress live in the workflow's state, so a worker restart resumes where it was, and continue-as-new
// carries them over. Requests are spaced by the activity (≤ 2/s per account and Region).
//
// Deterministic code only: no Node builtins, nothing from src/.
import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
  defineQuery,
} from '@temporalio/workflow';
import type { createCloudTrailLookupActivities } from '../activities/cloudtrail-lookup';
import type { LookupAttributeFilter, LookupPageResult } from '../src/core/lookup';

export interface LookupTotals {
  polls: number;
  pages: number;
  events: number;
  ignored: number;
  started: number;
  existing: number;
  deadLettered: number;
  errors: number;
}

export interface LookupWindow {
  startTime: string;
  endTime: string;
  nextToken?: string;
  pages: number;
}

/** What the poller carries across pages, worker restarts and continue-as-new. */
export interface LookupPollerState {
  /** Everything with an eventTime up to here has been read (late deliveries are caught by the overlap). ISO. */
  checkpoint: string;
  /** The window being read, when a poll is in progress. */
  window?: LookupWindow;
  /** Epoch ms of the last LookupEvents request. */
  lastRequestAt?: number;
  totals: LookupTotals;
  /** The failure the poller is currently retrying after (cleared by the next good page); `totals.errors` counts all. */
  lastError?: { at: string; type: string; message: string };
  /** How many times this poller has continued as new. */
  generation: number;
}

export interface LookupPollerInput {
  account: string;
  region: string;
  /** Role assumed in the account (STS); without it the worker's own credentials are used. */
  roleArn?: string;
  externalId?: string;
  /** First start only: where the first window begins (ISO). Default: `initialLookbackSeconds` before now. */
  startFrom?: string;
  /** Default 3600. */
  initialLookbackSeconds?: number;
  /** Pause between polls. Default 60. */
  pollIntervalSeconds?: number;
  /** How far each window reaches back before the checkpoint. Default 900 (15 min). */
  overlapSeconds?: number;
  /** 1–50. Default 50. */
  maxResults?: number;
  /** Minimum spacing of LookupEvents requests. Default 600 ms (under the API's 2 per second). */
  minRequestIntervalMs?: number;
  /** LookupAttributes filter. Default ReadOnly=false (changes only); null for every management event. */
  lookupAttribute?: LookupAttributeFilter | null;
  /** Continue as new after this many history events (and whenever the server suggests it). Default 10 000. */
  maxHistoryEvents?: number;
  /** Carried over by continue-as-new; never set by callers. */
  state?: LookupPollerState;
}

export interface LookupPollerStatus extends LookupPollerState {
  account: string;
  region: string;
  runId: string;
}

/** The poller's checkpoint and counts. */
export const lookupPollerStatusQuery = defineQuery<LookupPollerStatus>('lookupPollerStatus');


const { lookupCloudTrailPage } = proxyActivities<ReturnType<typeof createCloudTrailLookupActivities>>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 8,
  },
});

/** LookupEvents only reaches back 90 days. */
const MAX_LOOKBACK_MS = 90 * 24 * 3600 * 1000 - 60_000;

function zeroTotals(): LookupTotals {
  return { polls: 0, pages: 0, events: 0, ignored: 0, started: 0, existing: 0, deadLettered: 0, errors: 0 };
}

function failureType(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return cause.type ?? 'ApplicationFailure';
  return (cause as { name?: string } | undefined)?.name ?? 'Error';
}

function failureMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return (cause as { message?: string } | undefined)?.message ?? String(err);
}

export async function lookupPollerWorkflow(input: LookupPollerInput): Promise<never> {
  const now0 = Date.now();
  const state: LookupPollerState = input.state ?? {
    checkpoint: new Date(
      input.startFrom ? Date.parse(input.startFrom) : now0 - (input.initialLookbackSeconds ?? 3600) * 1000,
    ).toISOString(),
    totals: zeroTotals(),
    generation: 0,
  };
  setHandler(lookupPollerStatusQuery, () => ({
    ...state,
    account: input.account,
    region: input.region,
    runId: workflowInfo().runId,
  }));

  const pollMs = (input.pollIntervalSeconds ?? 60) * 1000;
  const overlapMs = (input.overlapSeconds ?? 900) * 1000;
  const maxHistory = input.maxHistoryEvents ?? 10_000;

  for (;;) {
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength >= maxHistory) {
      const next: LookupPollerInput = { ...input, state: { ...state, generation: state.generation + 1 } };
      delete next.startFrom;
      await continueAsNew<typeof lookupPollerWorkflow>(next);
    }
    if (!state.window) {
      const now = Date.now();
      const start = Math.max(Date.parse(state.checkpoint) - overlapMs, now - MAX_LOOKBACK_MS);
      state.window = { startTime: new Date(Math.min(start, now)).toISOString(), endTime: new Date(now).toISOString(), pages: 0 };
    }
    const window: LookupWindow = state.window;
    let page: LookupPageResult;
    try {
      page = await lookupCloudTrailPage({
        account: input.account,
        region: input.region,
        ...(input.roleArn ? { roleArn: input.roleArn } : {}),
        ...(input.externalId ? { externalId: input.externalId } : {}),
        startTime: window.startTime,
        endTime: window.endTime,
        ...(window.nextToken ? { nextToken: window.nextToken } : {}),
        ...(input.maxResults ? { maxResults: input.maxResults } : {}),
        ...(input.lookupAttribute !== undefined ? { lookupAttribute: input.lookupAttribute } : {}),
        ...(state.lastRequestAt !== undefined ? { lastRequestAt: state.lastRequestAt } : {}),
        ...(input.minRequestIntervalMs ? { minIntervalMs: input.minRequestIntervalMs } : {}),
      });
    } catch (err) {
      // Retries exhausted or a permanent failure (role not assumable, bad token): keep the checkpoint, note the
      // error where the status query shows it, and try again after a poll interval. The poller never dies.
      const type = failureType(err);
      state.totals.errors += 1;
      state.lastError = { at: new Date(Date.now()).toISOString(), type, message: failureMessage(err).slice(0, 500) };
      if (type === 'InvalidNextToken') {
        // The token expired: read the window again from its first page (what was started is found, not doubled).
        state.window = { startTime: window.startTime, endTime: window.endTime, pages: 0 };
      }
      await sleep(pollMs);
      continue;
    }
    state.lastRequestAt = page.requestedAt;
    delete state.lastError; // recovered
    window.pages += 1;
    state.totals.pages += 1;
    state.totals.events += page.events;
    state.totals.ignored += page.counts.ignored;
    state.totals.started += page.counts.started;
    state.totals.existing += page.counts.existing;
    state.totals.deadLettered += page.counts.deadLettered;
    if (page.nextToken) {
      window.nextToken = page.nextToken;
    } else {
      state.checkpoint = window.endTime;
      state.window = undefined;
      state.totals.polls += 1;
    }
    if (!state.window) await sleep(pollMs);
  }
}
