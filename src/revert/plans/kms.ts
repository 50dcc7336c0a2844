import { eventPlan, none, str, type PlanArgs, type PlanDecision } from '../plan-common';

// ---- KMS (rows 17–18) ----

function kmsKey(req: Record<string, unknown>, res: Record<string, unknown> | null): string | undefined {
  const id = str(res?.keyId) ?? str(req.keyId);
  return id && !id.startsWith('alias/') ? id : undefined;
}

export function planKmsDeletion({ req, res }: PlanArgs): PlanDecision {
  const key = kmsKey(req, res);
  if (!key) return none('ScheduleKeyDeletion without a key id (aliases cannot be scheduled)');
  return {
    plan: eventPlan('kms', 'CancelKeyDeletion', { KeyId: key }, `cancel the deletion of ${key} and enable it again`, [
      { service: 'kms', operation: 'EnableKey', input: { KeyId: key } },
    ]),
    reason: 'CancelKeyDeletion leaves the key Disabled, so EnableKey follows',
  };
}

export function planKmsDisable({ req, res }: PlanArgs): PlanDecision {
  const key = kmsKey(req, res);
  if (!key) return none('DisableKey without a key id');
  return { plan: eventPlan('kms', 'EnableKey', { KeyId: key }, `enable ${key} again`), reason: 'key id from the request' };
}
