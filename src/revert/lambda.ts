// Lambda: a permission added to a function's resource policy (AddPermission) is removed by its statement id.
import { GetPolicyCommand, RemovePermissionCommand } from '@aws-sdk/client-lambda';
import { parsePolicyDocument } from './baseline/types';
import { isRecord } from '../core/text';
import { eventPlan, none, str, type PlanArgs, type PlanDecision } from './plan-common';
import { unless } from './failures';
import { need, onlyKeys, sdkInput, type Handler, type ServiceReverts } from './handler';

// ---- plan ----

function planLambdaPermission({ req }: PlanArgs): PlanDecision {
  const fn = str(req.functionName);
  const sid = str(req.statementId);
  if (!fn || !sid) return none('AddPermission without functionName and statementId');
  const qualifier = str(req.qualifier);
  return {
    plan: eventPlan(
      'lambda',
      'RemovePermission',
      { FunctionName: fn, StatementId: sid, ...(qualifier ? { Qualifier: qualifier } : {}) },
      `remove permission ${sid} (principal ${String(req.principal ?? '?')}) from ${fn}${qualifier ? `:${qualifier}` : ''}`,
    ),
    reason: 'function and statement id from the request',
  };
}

// ---- run ----

const lambdaPermission: Handler = {
  service: 'lambda',
  operation: 'RemovePermission',
  iam: { write: ['lambda:RemovePermission'], read: ['lambda:GetPolicy'] },
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
    const doc = parsePolicyDocument(res?.Policy);
    const statements = isRecord(doc) && Array.isArray(doc.Statement) ? doc.Statement : [];
    return { statementIds: statements.filter(isRecord).map((s) => String(s.Sid ?? '')).sort() };
  },
  pending: (s, ctx) => ((s as { statementIds: string[] }).statementIds.includes(ctx.args.StatementId as string) ? [`statement ${String(ctx.args.StatementId)} present`] : []),
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
