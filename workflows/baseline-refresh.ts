// The scheduled refresh of the trusted baseline: one pass over the configured accounts, started by the Temporal
// schedule `vouch-baseline-refresh` (src/revert/baseline/schedule.ts, `vouch baseline schedule`). Each account is one
// activity (retried on its own); an account that still fails does not stop the others, and the run then fails
// naming it, so the failure shows in the Temporal UI while the other accounts' baselines are saved.
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { BaselineActivities, RefreshBaselineResult } from '../activities/baseline';

export interface BaselineRefreshTarget {
  account: string;
  regions: string[];
}

export interface BaselineRefreshInput {
  targets: BaselineRefreshTarget[];
  kinds?: string[];
}

export interface BaselineRefreshOutcome {
  account: string;
  scopes?: RefreshBaselineResult;
  error?: string;
}

const { refreshBaseline } = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '15 minutes',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    maximumAttempts: 5,
    nonRetryableErrorTypes: ['RevertForbidden', 'InvalidCredentials', 'BaselineStoreError', 'BadInput', 'VendorRejected'],
  },
});

export async function baselineRefreshWorkflow(input: BaselineRefreshInput): Promise<BaselineRefreshOutcome[]> {
  const outcomes: BaselineRefreshOutcome[] = [];
  for (const t of input.targets) {
    try {
      const scopes = await refreshBaseline({ account: t.account, regions: t.regions, ...(input.kinds ? { kinds: input.kinds } : {}) });
      outcomes.push({ account: t.account, scopes });
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause;
      outcomes.push({ account: t.account, error: cause?.message ?? (err as Error).message });
    }
  }
  const failed = outcomes.filter((o) => o.error);
  if (failed.length) {
    throw ApplicationFailure.create({
      message: `baseline refresh failed for ${failed.map((f) => `${f.account}: ${f.error}`).join('; ')}`,
      type: 'BaselineRefreshFailed',
      nonRetryable: true,
      details: [outcomes],
    });
  }
  return outcomes;
}
