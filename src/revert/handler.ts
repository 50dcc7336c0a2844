// The handler contract every revert handler implements, the shared checks and helpers, and the generic
// read → pending → apply → verify flow (runHandler).
import {
  FailureTypes,
  type AwsService,
  type RevertInput,
  type RevertPlan,
  type RevertResult,
} from '../core/types';
import { parsePolicyDocument, samePolicy } from './baseline/types';
import { isRecord } from '../core/text';
import { type AwsClients } from './clients';
import { type Planner } from './plan-common';
import { awsError, forbidden, Gone, RevertFailure, unless } from './failures';

// ---- handlers ----

/** One AWS service's part of the revert room: how to plan the undo of each event, and the handlers that carry it out. */
export interface ServiceReverts {
  /** CloudTrail event name → its planner. */
  planners: Record<string, Planner>;
  /** The plan kinds (service:Operation) this service runs. */
  handlers: Handler[];
}

export interface RunContext {
  input: RevertInput;
  plan: RevertPlan;
  /** The plan's input (checked). */
  args: Record<string, unknown>;
  client<S extends AwsService>(service: S): AwsClients[S];
  step: string;
}

export interface Handler {
  service: AwsService;
  operation: string;
  /** IAM actions the revert role needs: the call(s) made, and the reads that verify them. */
  iam: { write: string[]; read: string[] };
  /** Follow-up steps the plan may carry (`then`), as `service:Operation`. */
  then?: string[];
  /** EC2 calls that accept DryRun: a dry run asks AWS whether the call would be allowed. */
  dryRun?: boolean;
  /** Throws (RevertForbidden) unless the input is one this handler runs safely. */
  check(args: Record<string, unknown>, input: RevertInput): void;
  /** Reads the state the revert is about (before and after). May throw Gone. */
  read(ctx: RunContext): Promise<unknown>;
  /** What is still to undo in `state` (human phrases); empty when there is nothing. */
  pending(state: unknown, ctx: RunContext): string[];
  /**
   * How the live `state` differs from the change the plan undoes (`plan.expect`: another principal, CIDR, target or
   * state now), in human phrases; empty when it still matches. Non-empty: vouch does not act (RevertStateChanged).
   */
  mismatch?(state: unknown, ctx: RunContext): string[];
  /** Makes the call(s). `dryRun` only for handlers with `dryRun: true`. */
  apply(ctx: RunContext, state: unknown, dryRun: boolean): Promise<void>;
  /** A handler that runs the whole flow itself (security groups keep their own, tested messages). */
  run?(ctx: RunContext): Promise<RevertResult>;
}

/**
 * A fresh copy of the plan's input for an SDK command: some SDK middleware writes into the input object (the S3
 * flexible-checksums step adds ChecksumAlgorithm), and the plan must stay exactly as planned for the next run.
 */
export function sdkInput(ctx: RunContext, extra: Record<string, unknown> = {}): never {
  return structuredClone({ ...ctx.args, ...extra }) as never;
}

export function need(args: Record<string, unknown>, key: string, pattern?: RegExp): string {
  const v = args[key];
  if (typeof v !== 'string' || !v || (pattern && !pattern.test(v))) {
    throw forbidden(`revert plan has no valid ${key} (${JSON.stringify(v)})`);
  }
  return v;
}

export function onlyKeys(args: Record<string, unknown>, allowed: string[], op: string): void {
  const extra = Object.keys(args).filter((k) => !allowed.includes(k));
  if (extra.length) throw forbidden(`revert plan for ${op} has input vouch never sends: ${extra.join(', ')}`);
}

/** Sends `command` with DryRun: true; AWS answers DryRunOperation when the call would have succeeded. */
export async function ec2DryRun(send: () => Promise<unknown>): Promise<void> {
  try {
    await send();
  } catch (err) {
    if (awsError(err).code === 'DryRunOperation') return;
    throw err;
  }
  throw new RevertFailure({
    message: 'the endpoint ignored DryRun and made the call: treat it as a real revert and check the resource',
    type: 'DryRunIgnored',
    nonRetryable: true,
  });
}

/**
 * An EC2 handler's apply: `send` makes the call with `extra` added to its input; with `dryRun`, as a DryRun. Codes in
 * `alreadyDone` (the entry, route or attachment is gone already) are not errors: the read after the call decides.
 */
export async function applyEc2(
  dryRun: boolean,
  send: (extra: { DryRun?: true }) => Promise<unknown>,
  alreadyDone: readonly string[] = [],
): Promise<void> {
  if (dryRun) return ec2DryRun(() => send({ DryRun: true }));
  await unless(alreadyDone, undefined, async () => void (await send({})));
}

/** Every item of every page an SDK paginator yields. */
export async function collect<P, T>(pages: AsyncIterable<P>, items: (page: P) => T[] | undefined): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...(items(page) ?? []));
  return out;
}

export function checkPolicyDocument(a: Record<string, unknown>, key: string): void {
  const doc = need(a, key);
  if (parsePolicyDocument(doc) === undefined || typeof parsePolicyDocument(doc) !== 'object') {
    throw forbidden(`revert plan's ${key} is not a JSON policy document`);
  }
}

/** A policy document that is no longer the one the change left (`plan.expect.policy`; null: none). */
export function policyMismatch(live: unknown, ctx: RunContext, what: string): string[] {
  if (!isRecord(ctx.plan.expect) || !('policy' in ctx.plan.expect)) return [];
  const want = ctx.plan.expect.policy;
  if (want === null) return live === null ? [] : [`a ${what} was set after the change deleted it`];
  return live !== null && samePolicy(live, want) ? [] : [`the ${what} is no longer the one the change set (changed again since)`];
}

/** The resource is gone: nothing was reverted, and that is reported as such (never as REVERTED). */
export function targetGone(ctx: RunContext, what: string): RevertFailure {
  return new RevertFailure({
    message: `${ctx.plan.description}: ${what}; nothing was reverted (the resource is gone, so the change cannot be undone or checked)`,
    type: FailureTypes.RevertTargetGone,
    nonRetryable: true,
  });
}

/** The live resource no longer matches the change: vouch does not act on the record's word. */
export function stateChanged(ctx: RunContext, differs: string[], state: unknown): RevertFailure {
  return new RevertFailure({
    message: `${ctx.plan.description}: not reverted, the resource no longer matches the change: ${differs.join('; ')}`,
    type: FailureTypes.RevertStateChanged,
    nonRetryable: true,
    details: [{ live: state, expected: ctx.plan.expect ?? null }],
  });
}

export async function runHandler(h: Handler, ctx: RunContext): Promise<RevertResult> {
  if (h.run) return h.run(ctx);
  const what = `${h.service}:${h.operation}`;
  let before: unknown;
  try {
    ctx.step = `read ${what} (before)`;
    before = await h.read(ctx);
  } catch (err) {
    if (err instanceof Gone) throw targetGone(ctx, err.message);
    throw err;
  }
  const todo = h.pending(before, ctx);
  const differs = todo.length && h.mismatch ? h.mismatch(before, ctx) : [];
  if (differs.length) throw stateChanged(ctx, differs, before);
  if (!todo.length) {
    return {
      changed: false,
      before,
      after: before,
      message: `already reverted: nothing to undo (${ctx.plan.description})`,
      ...(ctx.input.dryRun ? { dryRun: true } : {}),
    };
  }
  if (ctx.input.dryRun) {
    if (h.dryRun) {
      ctx.step = `${what} (DryRun)`;
      await h.apply(ctx, before, true);
    }
    return {
      changed: false,
      before,
      after: before,
      dryRun: true,
      message: `dry run: would ${ctx.plan.description} (${todo.join('; ')})${
        h.dryRun ? '; EC2 DryRun says the call is allowed' : '; plan only, no call made'
      }`,
    };
  }
  ctx.step = what;
  await h.apply(ctx, before, false);
  ctx.step = `read ${what} (verify)`;
  let after: unknown;
  try {
    after = await h.read(ctx);
  } catch (err) {
    if (err instanceof Gone) throw new RevertFailure({ message: `${ctx.plan.description}: ${err.message} after the revert`, type: FailureTypes.RevertNotVerified, nonRetryable: true });
    throw err;
  }
  const left = h.pending(after, ctx);
  if (left.length) {
    throw new RevertFailure({
      message: `${ctx.plan.description}: not verified after the revert: ${left.join('; ')}`,
      type: FailureTypes.RevertNotVerified,
      nonRetryable: true,
      details: [{ before, after }],
    });
  }
  return { changed: true, before, after, message: `${ctx.plan.description}: done and verified (was: ${todo.join('; ')})` };
}
