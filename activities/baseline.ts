// Baseline activities: a confirmed change becomes the trusted state of its resource (acceptTrustedChange), and the
// scheduled refresh reads the watched configuration into the store (refreshBaseline). Reads only: never a revert.
import { ApplicationFailure } from '@temporalio/activity';
import type { Change } from '../src/core/types';
import { toApplicationFailure } from './aws-revert';
import {
  acceptIntoStore,
  BaselineStoreError,
  captureIntoStore,
  RESOURCE_KINDS,
  type AwsClientFor,
  type BaselineStore,
  type ResourceKind,
  type ScopeSummary,
} from '../src/revert';

export interface BaselineDeps {
  /** Where the trusted baseline lives (src/revert/baseline/store.ts: a folder, or s3://bucket/prefix). */
  baselineStore: BaselineStore;
  /** Per-service AWS clients in the target account (createAwsClientFactory). */
  clientFor: AwsClientFor;
}

export interface AcceptTrustedChangeInput {
  change: Change;
}

export interface AcceptTrustedChangeResult {
  updated: boolean;
  message: string;
}

export interface RefreshBaselineInput {
  account: string;
  regions: string[];
  /** Default: every kind (trails, bucket policies, IAM roles, users, groups). */
  kinds?: string[];
}

export type RefreshBaselineResult = ScopeSummary[];

function failure(err: unknown, step: string): ApplicationFailure {
  if (err instanceof BaselineStoreError) {
    return ApplicationFailure.create({ message: `${step}: ${err.message}`, type: 'BaselineStoreError', nonRetryable: true });
  }
  return toApplicationFailure(err, step);
}

function kindsOf(kinds: string[] | undefined): ResourceKind[] | undefined {
  if (!kinds) return undefined;
  const bad = kinds.filter((k) => !RESOURCE_KINDS.includes(k as ResourceKind));
  if (bad.length) {
    throw ApplicationFailure.create({
      message: `unknown baseline kind(s): ${bad.join(', ')} (known: ${RESOURCE_KINDS.join(', ')})`,
      type: 'BadInput',
      nonRetryable: true,
    });
  }
  return kinds as ResourceKind[];
}

export function createBaselineActivities(deps: BaselineDeps) {
  return {
    /** Re-reads the resource a confirmed change touched and records it as its new trusted state. */
    async acceptTrustedChange(input: AcceptTrustedChangeInput): Promise<AcceptTrustedChangeResult> {
      try {
        return await acceptIntoStore({ clientFor: deps.clientFor, store: deps.baselineStore, change: input.change });
      } catch (err) {
        throw failure(err, `acceptTrustedChange ${input.change.eventName} ${input.change.eventId}`);
      }
    },

    /** Reads the watched configuration of one account (its regions and the global scope) into the store. */
    async refreshBaseline(input: RefreshBaselineInput): Promise<RefreshBaselineResult> {
      const kinds = kindsOf(input.kinds);
      const badRegion = (input.regions ?? []).find((r) => !/^[a-z]{2}(-[a-z]+)+-\d+[a-z]?$/.test(r));
      if (!/^\d{12}$/.test(String(input.account)) || badRegion !== undefined) {
        throw ApplicationFailure.create({
          message: badRegion !== undefined ? `not an AWS region: ${JSON.stringify(badRegion)}` : `not an AWS account id: ${JSON.stringify(input.account)}`,
          type: 'BadInput',
          nonRetryable: true,
        });
      }
      try {
        return await captureIntoStore({
          clientFor: deps.clientFor,
          store: deps.baselineStore,
          account: input.account,
          regions: input.regions,
          ...(kinds ? { kinds } : {}),
        });
      } catch (err) {
        throw failure(err, `refreshBaseline ${input.account} ${input.regions.join(',')}`);
      }
    },
  };
}

export type BaselineActivities = ReturnType<typeof createBaselineActivities>;
