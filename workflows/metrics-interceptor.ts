// Review metrics from inside the workflow sandbox, without touching the review workflow itself: a workflow inbound
// interceptor (registered on the worker with `interceptors.workflowModules`) that wraps the review's main function.
// It counts each review when it starts (by tier and rule), each outcome (by tier and outcome) and, for confirmed
// reviews, the time from the review's start to the confirmation. Emission goes through the SDK's `metricMeter`,
// which drops every emission while the workflow is replaying, so a replay (cache eviction, worker restart) never
// counts a review twice; the values land in the worker Runtime's metrics exporter (src/cli/metrics.ts serves them).
// Deterministic: only workflow time (Date.now() inside a workflow is the activation's time) and workflowInfo().
import {
  metricMeter,
  workflowInfo,
  type Next,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';
import { REVIEW_METRICS, WORKFLOW_TYPE } from './messages';
import type { ReviewInput, ReviewOutcome } from '../src/core/types';


/** Label used for a review whose verdict names no rule. */
const NO_RULE = 'none';

class ReviewMetricsInterceptor implements WorkflowInboundCallsInterceptor {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const info = workflowInfo();
    const review = input.args[0] as Partial<ReviewInput> | undefined;
    const tier = review?.verdict?.tier;
    if (info.workflowType !== WORKFLOW_TYPE || !tier) return next(input);

    const rules = review.verdict?.rules?.length ? review.verdict.rules : [NO_RULE];
    const started = metricMeter.createCounter(REVIEW_METRICS.started, 'reviews', 'Reviews started, by tier and rule');
    for (const rule of new Set(rules)) started.add(1, { tier, rule });

    const result = (await next(input)) as ReviewOutcome | undefined;
    const outcome = result?.outcome ?? 'UNKNOWN';
    metricMeter
      .createCounter(REVIEW_METRICS.outcomes, 'reviews', 'Reviews finished, by tier and outcome')
      .add(1, { tier, outcome });
    if (outcome === 'CONFIRMED') {
      const seconds = Math.max(0, (Date.now() - info.startTime.getTime()) / 1000);
      metricMeter
        .createHistogram(REVIEW_METRICS.timeToConfirm, 'float', 's', 'Seconds from the start of a review to its confirmation')
        .record(seconds, { tier });
    }
    return result;
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ inbound: [new ReviewMetricsInterceptor()] });
