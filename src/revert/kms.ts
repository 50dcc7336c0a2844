// KMS: a key scheduled for deletion gets its deletion cancelled and is enabled again (CancelKeyDeletion leaves it
// Disabled); a disabled key is enabled again. The key id comes from the record.
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
    plan: eventPlan('kms', 'CancelKeyDeletion', { KeyId: key }, `cancel the deletion of ${key} and enable it again`, [
      { service: 'kms', operation: 'EnableKey', input: { KeyId: key } },
    ]),
    reason: 'CancelKeyDeletion leaves the key Disabled, so EnableKey follows',
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
  iam: { write: ['kms:CancelKeyDeletion', 'kms:EnableKey'], read: ['kms:DescribeKey'] },
  check(a) {
    checkKey(a, 'CancelKeyDeletion');
  },
  read: readKey,
  pending(s, ctx) {
    const state = (s as { keyState?: string }).keyState;
    const enableToo = (ctx.plan.then ?? []).some((t) => t.operation === 'EnableKey');
    if (state === 'PendingDeletion') return ['deletion scheduled'];
    return enableToo && state !== 'Enabled' ? [`key ${String(state)}`] : [];
  },
  async apply(ctx, state) {
    const kms = ctx.client('kms');
    const id = ctx.args.KeyId as string;
    if ((state as { keyState?: string }).keyState === 'PendingDeletion') {
      ctx.step = `CancelKeyDeletion ${id}`;
      await kms.send(new CancelKeyDeletionCommand({ KeyId: id }));
    }
    if ((ctx.plan.then ?? []).some((t) => t.operation === 'EnableKey')) {
      ctx.step = `EnableKey ${id}`;
      await kms.send(new EnableKeyCommand({ KeyId: id }));
    }
  },
};

const kmsEnable: Handler = {
  service: 'kms',
  operation: 'EnableKey',
  iam: { write: ['kms:EnableKey'], read: ['kms:DescribeKey'] },
  check: (a) => checkKey(a, 'EnableKey'),
  read: readKey,
  pending: (s) => ((s as { keyState?: string }).keyState === 'Enabled' ? [] : [`key ${String((s as { keyState?: string }).keyState)}`]),
  async apply(ctx) {
    await ctx.client('kms').send(new EnableKeyCommand({ KeyId: ctx.args.KeyId as string }));
  },
};

const KMS = ['kms.amazonaws.com'];

export const kmsReverts: ServiceReverts = {
  planners: {
    ScheduleKeyDeletion: { eventSources: KMS, from: 'event', produces: ['kms:CancelKeyDeletion', 'kms:EnableKey'], plan: planKmsDeletion },
    DisableKey: { eventSources: KMS, from: 'event', produces: ['kms:EnableKey'], plan: planKmsDisable },
  },
  handlers: [kmsCancelDeletion, kmsEnable],
};
