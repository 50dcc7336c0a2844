// CloudTrail LookupEvents activity: one page for one account and Region, read and ingested by intake
// (src/intake/lookup-page.ts), for the durable poller (workflows/lookup-poller.ts). This file only adapts it: the
// activity context's sleep, cancellation and client in, ApplicationFailure with a string type out.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { LookupPageInput, LookupPageResult } from '../src/core/lookup';
import { LookupFailure, readLookupPage, type LookupDeps } from '../src/intake/lookup-page';

// The poller workflow imports its activity's contract from here (workflows may import activities only as types).

export interface CloudTrailLookupDeps {
  /** Absent in workers that do not poll CloudTrail: the activity then fails with `NotConfigured`. */
  cloudtrailLookup?: LookupDeps;
}

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
      const ctx = Context.current();
      const temporal = workerClient();
      try {
        return await readLookupPage(lookup, input, {
          signal: ctx.cancellationSignal,
          sleep: (ms) => ctx.sleep(ms),
          ...(temporal ? { temporal } : {}),
        });
      } catch (err) {
        if (err instanceof LookupFailure) {
          throw ApplicationFailure.create({ message: err.message, type: err.type, nonRetryable: !err.retryable });
        }
        throw err;
      }
    },
  };
}
