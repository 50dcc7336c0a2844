// Lambda: a permission added to a function's resource policy (AddPermission) is removed by its statement id.
import { GetFunctionConfigurationCommand, GetPolicyCommand, RemovePermissionCommand } from '@aws-sdk/client-lambda';
import { parsePolicyDocument } from './baseline/types';
import { isRecord } from '../core/text';
import { eventPlan, none, str, type PlanArgs, type PlanDecision } from './plan-common';
import { Gone, unless } from './failures';
import { need, onlyKeys, sdkInput, type Handler, type ServiceReverts } from './handler';

// ---- plan ----

function planLambdaPermission({ req }: PlanArgs): PlanDecision {
  const fn = str(req.functionName);
  const sid = str(req.statementId);
  if (!fn || !sid) return none('AddPermission without functionName and statementId');
  const qualifier = str(req.qualifier);
  const principal = str(req.principal);
  return {
    plan: {
      ...eventPlan(
        'lambda',
        'RemovePermission',
        { FunctionName: fn, StatementId: sid, ...(qualifier ? { Qualifier: qualifier } : {}) },
        `remove permission ${sid} (principal ${principal ?? '?'}) from ${fn}${qualifier ? `:${qualifier}` : ''}`,
      ),
      // The statement is removed only while it still grants what the change granted.
      ...(principal ? { expect: { principal } } : {}),
    },
    reason: 'function and statement id from the request',
  };
}

/**
 * The principals a policy statement names, as comparable strings: `*`, service names, ARNs; an account id is also
 * written as its root ARN (AddPermission takes `123456789012`, GetPolicy shows `arn:aws:iam::123456789012:root`).
 */
function principalsOf(p: unknown): string[] {
  const out: string[] = [];
  const add = (v: unknown): void => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(add);
    else if (isRecord(v)) Object.values(v).forEach(add);
  };
  add(p);
  return out;
}

function samePrincipal(live: string[], want: string): boolean {
  const forms = /^\d{12}$/.test(want) ? [want, `arn:aws:iam::${want}:root`] : [want];
  return live.length > 0 && live.every((l) => forms.includes(l) || (/^\d{12}$/.test(l) && forms.includes(`arn:aws:iam::${l}:root`)));
}

// ---- run ----

const lambdaPermission: Handler = {
  service: 'lambda',
  operation: 'RemovePermission',
  iam: { write: ['lambda:RemovePermission'], read: ['lambda:GetPolicy', 'lambda:GetFunctionConfiguration'] },
  check(a) {
    need(a, 'FunctionName');
    need(a, 'StatementId');
    if (a.Qualifier !== undefined) need(a, 'Qualifier');
    onlyKeys(a, ['FunctionName', 'StatementId', 'Qualifier'], 'RemovePermission');
  },
  async read(ctx) {
    const res = await unless(['ResourceNotFoundException'], undefined, () =>
      ctx.client('lambda').send(
        new GetPolicyCommand({
          FunctionName: ctx.args.FunctionName as string,
          ...(ctx.args.Qualifier ? { Qualifier: ctx.args.Qualifier as string } : {}),
        }),
      ),
    );
    if (!res) {
      // No policy at all: the function has no permission left (already reverted), unless the function is gone.
      const fn = await unless(['ResourceNotFoundException'], undefined, () =>
        ctx.client('lambda').send(
          new GetFunctionConfigurationCommand({
            FunctionName: ctx.args.FunctionName as string,
            ...(ctx.args.Qualifier ? { Qualifier: ctx.args.Qualifier as string } : {}),
          }),
        ),
      );
      if (fn) return { statementIds: [], principals: {} };
    }
    if (!res) throw new Gone(`function ${String(ctx.args.FunctionName)}${ctx.args.Qualifier ? `:${String(ctx.args.Qualifier)}` : ''} (or its policy)`, 'ResourceNotFoundException');
    const doc = parsePolicyDocument(res.Policy);
    const statements = (isRecord(doc) && Array.isArray(doc.Statement) ? doc.Statement : []).filter(isRecord);
    return {
      statementIds: statements.map((s) => String(s.Sid ?? '')).sort(),
      principals: Object.fromEntries(statements.map((s) => [String(s.Sid ?? ''), principalsOf(s.Principal)])),
    };
  },
  pending: (s, ctx) => ((s as { statementIds: string[] }).statementIds.includes(ctx.args.StatementId as string) ? [`statement ${String(ctx.args.StatementId)} present`] : []),
  mismatch(s, ctx) {
    const want = isRecord(ctx.plan.expect) ? str(ctx.plan.expect.principal) : undefined;
    if (!want) return [];
    const live = (s as { principals: Record<string, string[]> }).principals[ctx.args.StatementId as string] ?? [];
    return samePrincipal(live, want) ? [] : [`statement ${String(ctx.args.StatementId)} now grants ${live.join(', ') || 'nobody'}, the change granted ${want}`];
  },
  async apply(ctx) {
    await unless(['ResourceNotFoundException'], undefined, async () => {
      await ctx.client('lambda').send(new RemovePermissionCommand(sdkInput(ctx)));
    });
  },
};

export const lambdaReverts: ServiceReverts = {
  planners: {
    AddPermission: { eventSources: ['lambda.amazonaws.com'], from: 'event', produces: ['lambda:RemovePermission'], plan: planLambdaPermission },
  },
  handlers: [lambdaPermission],
};
