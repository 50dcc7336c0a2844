import { GetDetectorCommand, UpdateDetectorCommand } from '@aws-sdk/client-guardduty';
import { DescribeConfigurationRecorderStatusCommand, StartConfigurationRecorderCommand } from '@aws-sdk/client-config-service';
import { GetPolicyCommand, RemovePermissionCommand } from '@aws-sdk/client-lambda';
import { parsePolicyDocument } from '../baseline/types';
import { forbidden, isRecord, orGone, unless } from '../failures';
import { need, onlyKeys, sdkInput, type Handler } from '../handler';

// Logging and detection (rows 6, 10, 13). CloudTrail StartLogging (6): cloudtrail.ts.

export const guardDuty: Handler = {
  service: 'guardduty',
  operation: 'UpdateDetector',
  iam: { write: ['guardduty:UpdateDetector'], read: ['guardduty:GetDetector'] },
  check(a) {
    need(a, 'DetectorId');
    if (a.Enable !== true) throw forbidden('a GuardDuty revert may only enable the detector');
    onlyKeys(a, ['DetectorId', 'Enable'], 'UpdateDetector');
  },
  async read(ctx) {
    const id = ctx.args.DetectorId as string;
    const res = await orGone(['ResourceNotFoundException'], `detector ${id}`, () =>
      ctx.client('guardduty').send(new GetDetectorCommand({ DetectorId: id })),
    );
    return { status: res.Status };
  },
  pending: (s) => ((s as { status?: string }).status === 'ENABLED' ? [] : [`detector ${String((s as { status?: string }).status)}`]),
  async apply(ctx) {
    await ctx.client('guardduty').send(new UpdateDetectorCommand({ DetectorId: ctx.args.DetectorId as string, Enable: true }));
  },
};

export const configRecorder: Handler = {
  service: 'config',
  operation: 'StartConfigurationRecorder',
  iam: { write: ['config:StartConfigurationRecorder'], read: ['config:DescribeConfigurationRecorderStatus'] },
  check(a) {
    need(a, 'ConfigurationRecorderName');
    onlyKeys(a, ['ConfigurationRecorderName'], 'StartConfigurationRecorder');
  },
  async read(ctx) {
    const name = ctx.args.ConfigurationRecorderName as string;
    const res = await orGone(['NoSuchConfigurationRecorderException'], `configuration recorder ${name}`, () =>
      ctx.client('config').send(new DescribeConfigurationRecorderStatusCommand({ ConfigurationRecorderNames: [name] })),
    );
    const status = res.ConfigurationRecordersStatus?.find((r) => r.name === name);
    return { recording: status?.recording === true, lastStatus: status?.lastStatus };
  },
  pending: (s) => ((s as { recording: boolean }).recording ? [] : ['recorder stopped']),
  async apply(ctx) {
    await ctx.client('config').send(new StartConfigurationRecorderCommand({ ConfigurationRecorderName: ctx.args.ConfigurationRecorderName as string }));
  },
};

// Lambda (row 42).

export const lambdaPermission: Handler = {
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
