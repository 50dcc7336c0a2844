// AWS revert activity: runs a revert plan (src/revert/plan.ts) with the SDK v3 client of its service, then proves it.
//
// vendors.md §4.4–4.6, risky-changes.md §3. Every plan kind vouch can run has a handler below that
//   1. checks the plan (only known calls, only in the safe direction: remove, revoke, detach, deactivate, enable …),
//   2. reads the resource (before),
//   3. stops when nothing is left to undo ("already reverted", changed: false: a second run is a no-op),
//   4. makes the call(s) (or, with dryRun, EC2's DryRun where the API has it, otherwise nothing: plan only),
//   5. reads the resource again (after) and fails with RevertNotVerified when the change is still there.
// "Not found" answers for the thing being removed count as already reverted. Reverts run under the role session
// `vouch-revert-<eventId>`, so vouch can recognise its own calls in CloudTrail. The handler table is also the source
// of the least-privilege IAM policy (src/cli/iam-policy.ts).
//
// The rooms live in activities/aws/: clients.ts (SDK clients), failures.ts (AWS error → ApplicationFailure),
// handler.ts (the Handler contract, shared helpers, the generic flow), one file per service's handlers, and
// catalogue.ts (the handler table). This file is the entry: the activity itself, and every name it always exported.
import { ApplicationFailure } from '@temporalio/activity';
import { FailureTypes, type AwsService, type RevertInput, type RevertResult } from '../src/core/types';
import { revertSessionName, type AwsClients, type AwsDeps } from '../src/revert/clients';
import { forbidden, isRecord, toFailure } from '../src/revert/failures';
import { runHandler, type RunContext } from '../src/revert/handler';
import { handlerFor } from '../src/revert/catalogue';

export {
  createAwsClientFactory,
  createEc2ClientFactory,
  revertSessionName,
  type AwsClientFactoryOptions,
  type AwsClientFor,
  type AwsClients,
  type AwsDeps,
  type Ec2ClientFactoryOptions,
} from '../src/revert/clients';
export { type RuleSummary } from '../src/revert/ec2-security-groups';
export { toFailure } from '../src/revert/failures';
export { revertCatalogue, type CatalogueEntry } from '../src/revert/catalogue';

/** AWS region names: us-east-1, eu-central-2, us-gov-west-1, us-isob-east-1, ap-southeast-5, … */
const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

export function createAwsActivities(deps: AwsDeps) {
  return {
    /**
     * Runs a revert plan and verifies it by reading the resource back; idempotent (a second run reports
     * changed: false); with `dryRun`, asks EC2 (DryRun) or only reports what it would do.
     */
    async revertChange(input: RevertInput): Promise<RevertResult> {
      if (!AWS_REGION.test(input.region)) {
        // Not a region AWS has (e.g. an anonymised record): no endpoint will ever answer; say so at once.
        throw ApplicationFailure.create({
          message: `cannot revert in "${input.region}": not an AWS region name`,
          type: FailureTypes.VendorRejected,
          nonRetryable: true,
        });
      }
      const plan = input.plan;
      const h = handlerFor(plan);
      const args = isRecord(plan.input) ? plan.input : {};
      h.check(args, input);
      const session = revertSessionName(input.eventId);
      const clients = new Map<AwsService, unknown>();
      const ctx: RunContext = {
        input,
        plan,
        args,
        step: 'client',
        client<S extends AwsService>(service: S): AwsClients[S] {
          let c = clients.get(service) as AwsClients[S] | undefined;
          if (!c) {
            try {
              if (service === 'ec2') c = deps.ec2For(input.account, input.region, session) as AwsClients[S];
              else if (deps.clientFor) c = deps.clientFor(service, input.account, input.region, session);
              else throw new Error(`no ${service} client configured`);
            } catch (err) {
              throw forbidden(`no ${service} client for ${input.account}/${input.region}: ${err instanceof Error ? err.message : String(err)}`);
            }
            clients.set(service, c);
          }
          return c;
        },
      };
      // Get the client before any call, so a missing or bad account fails as RevertForbidden up front.
      ctx.client(h.service);
      try {
        return await runHandler(h, ctx);
      } catch (err) {
        throw toFailure(err, ctx.step);
      }
    },
  };
}
