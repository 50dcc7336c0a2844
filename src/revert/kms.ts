// KMS: a key scheduled for deletion gets its deletion cancelled, and nothing more: CancelKeyDeletion leaves it Disabled
// (AWS KMS Developer Guide, "Scheduling and canceling key deletion"), and vouch does not enable it, because the record
// does not say whether it was enabled before, and a key someone disabled on purpose must stay disabled. A disabled key
// is enabled again only while it is still Disabled (not pending deletion since). The key id comes from the record.
import { CancelKeyDeletionCommand, DescribeKeyCommand, EnableKeyCommand } from '@aws-sdk/client-kms';
import { eventPlan, none, str, type PlanArgs, type PlanDecision } from './plan-common';
import { orGone } from './failures';
import { need, onlyKeys, type Handler, type RunContext, type ServiceReverts } from './handler';

// ---- plan ----

function kmsKey(req: Record<string, unknown>, res: Record<string, unknown> | null): string | undefined {
  const id = str(res?.keyId) ?? str(req.keyId);
  return id && !id.startsWith('alias/') ? id : undefined;
}

function planKmsDeletion({ req, res }: PlanArgs): PlanDecision {
  const key = kmsKey(req, res);
  if (!key) return none('ScheduleKeyDeletion without a key id (aliases cannot be scheduled)');
  return {
    plan: eventPlan('kms', 'CancelKeyDeletion', { KeyId: key }, `cancel the deletion of ${key} (it stays Disabled until someone enables it)`),
    reason: 'CancelKeyDeletion leaves the key Disabled; vouch does not enable it (the record does not say it was enabled)',
  };
}

function planKmsDisable({ req, res }: PlanArgs): PlanDecision {
  const key = kmsKey(req, res);
  if (!key) return none('DisableKey without a key id');
  return { plan: eventPlan('kms', 'EnableKey', { KeyId: key }, `enable ${key} again`), reason: 'key id from the request' };
}

// ---- run ----

async function readKey(ctx: RunContext): Promise<{ keyState?: string; enabled?: boolean }> {
  const id = ctx.args.KeyId as string;
  const res = await orGone(['NotFoundException'], `KMS key ${id}`, () => ctx.client('kms').send(new DescribeKeyCommand({ KeyId: id })));
  return { keyState: res.KeyMetadata?.KeyState, enabled: res.KeyMetadata?.Enabled };
}

function checkKey(a: Record<string, unknown>, op: string): void {
  need(a, 'KeyId', /^(arn:aws[\w-]*:kms:[\w-]+:\d{12}:key\/)?[0-9a-zA-Z-]+$/);
  onlyKeys(a, ['KeyId'], op);
}

const kmsCancelDeletion: Handler = {
  service: 'kms',
  operation: 'CancelKeyDeletion',
  then: ['kms:EnableKey'],
  iam: { write: ['kms:CancelKeyDeletion'], read: ['kms:DescribeKey'] },
  check(a) {
    checkKey(a, 'CancelKeyDeletion');
  },
  read: readKey,
  // Plans made before this change carry `then: EnableKey`; it is accepted and never run (see the top of this file).
  pending: (s) => ((s as { keyState?: string }).keyState === 'PendingDeletion' ? ['deletion scheduled'] : []),
  async apply(ctx) {
    const id = ctx.args.KeyId as string;
    ctx.step = `CancelKeyDeletion ${id}`;
    await ctx.client('kms').send(new CancelKeyDeletionCommand({ KeyId: id }));
  },
};

const kmsEnable: Handler = {
  service: 'kms',
  operation: 'EnableKey',
  iam: { write: ['kms:EnableKey'], read: ['kms:DescribeKey'] },
  check: (a) => checkKey(a, 'EnableKey'),
  read: readKey,
  pending: (s) => ((s as { keyState?: string }).keyState === 'Enabled' ? [] : [`key ${String((s as { keyState?: string }).keyState)}`]),
  // The change disabled the key: enable it only while it is still just Disabled (not pending deletion or import).
  mismatch: (s) => {
    const state = (s as { keyState?: string }).keyState;
    return state === 'Disabled' ? [] : [`the key is ${String(state)} now, not the Disabled state the change left`];
  },
  async apply(ctx) {
    await ctx.client('kms').send(new EnableKeyCommand({ KeyId: ctx.args.KeyId as string }));
  },
};

const KMS = ['kms.amazonaws.com'];

export const kmsReverts: ServiceReverts = {
  planners: {
    ScheduleKeyDeletion: { eventSources: KMS, from: 'event', produces: ['kms:CancelKeyDeletion'], plan: planKmsDeletion },
    DisableKey: { eventSources: KMS, from: 'event', produces: ['kms:EnableKey'], plan: planKmsDisable },
  },
  handlers: [kmsCancelDeletion, kmsEnable],
};
