// GuardDuty: a detector disabled with UpdateDetector is enabled again (the detector id comes from the record).
import { GetDetectorCommand, UpdateDetectorCommand } from '@aws-sdk/client-guardduty';
import { bool, eventPlan, none, str, type PlanArgs, type PlanDecision } from './plan-common';
import { forbidden, orGone } from './failures';
import { need, onlyKeys, type Handler, type ServiceReverts } from './handler';

// ---- plan ----

function planGuardDuty({ req }: PlanArgs): PlanDecision {
  const detector = str(req.detectorId);
  if (bool(req.enable) !== false) return none('UpdateDetector did not disable the detector: nothing to revert');
  if (!detector) return none('UpdateDetector without detectorId');
  return {
    plan: eventPlan('guardduty', 'UpdateDetector', { DetectorId: detector, Enable: true }, `re-enable GuardDuty detector ${detector}`),
    reason: 'detector id from the request',
  };
}

// ---- run ----

const guardDuty: Handler = {
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

export const guarddutyReverts: ServiceReverts = {
  planners: {
    UpdateDetector: { eventSources: ['guardduty.amazonaws.com'], from: 'event', produces: ['guardduty:UpdateDetector'], plan: planGuardDuty },
  },
  handlers: [guardDuty],
};
