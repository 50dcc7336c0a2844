// AWS Config: a configuration recorder stopped with StopConfigurationRecorder is started again.
import { DescribeConfigurationRecorderStatusCommand, StartConfigurationRecorderCommand } from '@aws-sdk/client-config-service';
import { eventPlan, none, str, type PlanArgs, type PlanDecision } from './plan-common';
import { orGone } from './failures';
import { need, onlyKeys, type Handler, type ServiceReverts } from './handler';

// ---- plan ----

function planConfigRecorder({ req }: PlanArgs): PlanDecision {
  const name = str(req.configurationRecorderName);
  if (!name) return none('StopConfigurationRecorder without configurationRecorderName');
  return {
    plan: eventPlan(
      'config',
      'StartConfigurationRecorder',
      { ConfigurationRecorderName: name },
      `restart AWS Config recorder ${name}`,
    ),
    reason: 'recorder name from the request',
  };
}

// ---- run ----

const configRecorder: Handler = {
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

export const configReverts: ServiceReverts = {
  planners: {
    StopConfigurationRecorder: {
      eventSources: ['config.amazonaws.com'],
      from: 'event',
      produces: ['config:StartConfigurationRecorder'],
      plan: planConfigRecorder,
    },
  },
  handlers: [configRecorder],
};
