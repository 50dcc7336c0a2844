import { bool, eventPlan, none, str, type PlanArgs, type PlanDecision } from '../plan-common';

// ---- logging and detection (rows 6, 10, 13) ----

export function planGuardDuty({ req }: PlanArgs): PlanDecision {
  const detector = str(req.detectorId);
  if (bool(req.enable) !== false) return none('UpdateDetector did not disable the detector: nothing to revert');
  if (!detector) return none('UpdateDetector without detectorId');
  return {
    plan: eventPlan('guardduty', 'UpdateDetector', { DetectorId: detector, Enable: true }, `re-enable GuardDuty detector ${detector}`),
    reason: 'detector id from the request',
  };
}

export function planConfigRecorder({ req }: PlanArgs): PlanDecision {
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
