// Carrying out a revert plan: the handler of its kind checks it (only known calls, only in the safe direction), reads
// the resource (before), stops when nothing is left to undo ("already reverted": a second run is a no-op), makes the
// call(s) (with dryRun: EC2's DryRun where the API has it, otherwise nothing), and reads the resource again (after),
// failing with RevertNotVerified when the change is still there. Reverts run as the role session
// `vouch-revert-<eventId>`, so vouch recognises its own calls in CloudTrail and never reverts them.
import { type AwsService, type RevertInput, type RevertResult } from '../core/types';
import { isRecord } from '../core/text';
import { handlerFor } from './catalogue';
import { revertSessionName, type AwsClientFor, type AwsClients } from './clients';
import { forbidden, revertFailure, RevertFailure } from './failures';
import { runHandler, type RunContext } from './handler';

/**
 * Runs `input.plan` in `input.account`/`input.region` with the clients `clientFor` makes, and proves it. Every
 * failure is a RevertFailure naming the step it happened at.
 */
export async function revertChange(input: RevertInput, clientFor: AwsClientFor): Promise<RevertResult> {
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
          c = clientFor(service, input.account, input.region, session);
        } catch (err) {
          if (err instanceof RevertFailure) throw err;
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
    throw revertFailure(err, ctx.step);
  }
}
