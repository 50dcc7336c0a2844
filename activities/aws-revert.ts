// The AWS revert activity: src/revert's executor (revertChange) as a Temporal activity. It checks the input, runs the
// plan with the injected clients, and turns a RevertFailure into the ApplicationFailure the workflow branches on.
import { ApplicationFailure } from '@temporalio/activity';
import { FailureTypes, type RevertInput, type RevertResult } from '../src/core/types';
import { isRecord } from '../src/core/text';
import { revertChange, RevertFailure, revertFailure, type AwsClientFor } from '../src/revert';

export interface AwsDeps {
  /** The SDK client of a service, acting in an account and region as a role session (createAwsClientFactory). */
  clientFor: AwsClientFor;
  /** Set when this worker runs no revert (VOUCH_REVERTS=off): every revert fails RevertsDisabled with this reason. */
  revertsDisabled?: string;
}

/** AWS region names: us-east-1, eu-central-2, us-gov-west-1, us-isob-east-1, ap-southeast-5, … */
const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

/** The Temporal form of a RevertFailure (or of anything else thrown at `step`). */
export function toApplicationFailure(err: unknown, step: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const f = err instanceof RevertFailure ? err : revertFailure(err, step);
  return ApplicationFailure.create({
    message: f.message,
    type: f.type,
    nonRetryable: f.nonRetryable,
    ...(f.nextRetryDelayMs !== undefined ? { nextRetryDelay: f.nextRetryDelayMs } : {}),
    ...(f.details !== undefined ? { details: f.details } : {}),
    ...(f.cause instanceof Error ? { cause: f.cause } : {}),
  });
}

function rejectInput(message: string, type: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type, nonRetryable: true });
}

export function createAwsActivities(deps: AwsDeps) {
  return {
    /**
     * Runs a revert plan and verifies it by reading the resource back; idempotent (a second run reports
     * changed: false); with `dryRun`, asks EC2 (DryRun) or only reports what it would do.
     */
    async revertChange(input: RevertInput): Promise<RevertResult> {
      if (deps.revertsDisabled) throw rejectInput(`no revert ran: ${deps.revertsDisabled}`, FailureTypes.RevertsDisabled);
      if (!isRecord(input) || !isRecord(input.plan)) throw rejectInput('revert input has no plan', 'BadInput');
      if (typeof input.region !== 'string' || !AWS_REGION.test(input.region)) {
        // Not a region AWS has (e.g. an anonymised record): no endpoint will ever answer; say so at once.
        throw rejectInput(`cannot revert in "${String(input.region)}": not an AWS region name`, FailureTypes.VendorRejected);
      }
      try {
        return await revertChange(input, deps.clientFor);
      } catch (err) {
        throw toApplicationFailure(err, 'revert');
      }
    },
  };
}
