// CloudTrail: a trail whose logging was stopped is started again (from the record); a trail whose settings or event
// selectors were changed (UpdateTrail, PutEventSelectors) gets back the ones of the trusted baseline.
import {
  GetEventSelectorsCommand,
  GetTrailCommand,
  GetTrailStatusCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  UpdateTrailCommand,
  type AdvancedEventSelector,
  type CloudTrailClient,
  type EventSelector,
  type Trail,
} from '@aws-sdk/client-cloudtrail';
import { canonicalJson, type TrailConfig } from './baseline/types';
import {
  baselinePlan,
  bool,
  eventPlan,
  isDecision,
  none,
  str,
  trusted,
  trustedNote,
  type PlanArgs,
  type PlanDecision,
} from './plan-common';
import { isRecord } from '../core/text';
import { forbidden, Gone, orGone, unless } from './failures';
import { need, onlyKeys, sdkInput, type Handler, type ServiceReverts } from './handler';

// ---- plan ----

function planStartLogging({ req }: PlanArgs): PlanDecision {
  const name = str(req.name);
  if (!name) return none('StopLogging without the trail name');
  return { plan: eventPlan('cloudtrail', 'StartLogging', { Name: name }, `start logging on trail ${name}`), reason: 'trail name from the request' };
}

/** UpdateTrail request key → [UpdateTrail input key, GetTrail key, kind]. */
const TRAIL_FIELDS: [string, string, keyof TrailConfig, 'string' | 'boolean'][] = [
  ['s3BucketName', 'S3BucketName', 'S3BucketName', 'string'],
  ['s3KeyPrefix', 'S3KeyPrefix', 'S3KeyPrefix', 'string'],
  ['snsTopicName', 'SnsTopicName', 'SnsTopicName', 'string'],
  ['includeGlobalServiceEvents', 'IncludeGlobalServiceEvents', 'IncludeGlobalServiceEvents', 'boolean'],
  ['isMultiRegionTrail', 'IsMultiRegionTrail', 'IsMultiRegionTrail', 'boolean'],
  ['enableLogFileValidation', 'EnableLogFileValidation', 'LogFileValidationEnabled', 'boolean'],
  ['cloudWatchLogsLogGroupArn', 'CloudWatchLogsLogGroupArn', 'CloudWatchLogsLogGroupArn', 'string'],
  ['cloudWatchLogsRoleArn', 'CloudWatchLogsRoleArn', 'CloudWatchLogsRoleArn', 'string'],
  ['kmsKeyId', 'KmsKeyId', 'KmsKeyId', 'string'],
  ['isOrganizationTrail', 'IsOrganizationTrail', 'IsOrganizationTrail', 'boolean'],
];

/** `UpdateTrail` input key → the `GetTrail` key it is read back from. */
const TRAIL_READBACK: Record<string, keyof TrailConfig> = Object.fromEntries(TRAIL_FIELDS.map(([, i, g]) => [i, g]));

function planUpdateTrail(a: PlanArgs): PlanDecision {
  const t = trusted<TrailConfig>(a);
  if (isDecision(t)) return t;
  const input: Record<string, unknown> = { Name: str(a.req.name) ?? t.target.id };
  const restored: string[] = [];
  const kept: string[] = [];
  for (const [reqKey, inputKey, configKey, kind] of TRAIL_FIELDS) {
    if (!(reqKey in a.req)) continue;
    const trustedValue = t.config[configKey];
    const now = kind === 'boolean' ? bool(a.req[reqKey]) : (a.req[reqKey] ?? '');
    if (trustedValue !== undefined) {
      if (trustedValue === now) continue;
      input[inputKey] = trustedValue;
      restored.push(`${inputKey}=${JSON.stringify(trustedValue)}`);
    } else if (kind === 'string' && reqKey !== 'kmsKeyId' && now !== '') {
      input[inputKey] = ''; // unset in the trusted state: clear it
      restored.push(`${inputKey} cleared`);
    } else if (reqKey === 'kmsKeyId') {
      kept.push('KmsKeyId (the trusted trail had no key; encrypting is not undone)');
    }
  }
  if (!restored.length) {
    return none(`UpdateTrail on ${t.target.id} left every setting it names as in the ${trustedNote(t.version)}: nothing to revert`);
  }
  return {
    plan: baselinePlan(
      'cloudtrail',
      'UpdateTrail',
      input,
      `restore trail ${t.target.id}: ${restored.join(', ')}${kept.length ? `; kept ${kept.join(', ')}` : ''}`,
    ),
    reason: `settings the change named, put back from the ${trustedNote(t.version)}`,
  };
}

/** CloudTrail writes request keys in lower camel case; the SDK (and the baseline) use PascalCase. */
function pascalKeys(v: unknown, depth = 0): unknown {
  if (depth > 16) return v;
  if (Array.isArray(v)) return v.map((x) => pascalKeys(x, depth + 1));
  if (isRecord(v)) {
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k.charAt(0).toUpperCase() + k.slice(1), pascalKeys(x, depth + 1)]),
    );
  }
  return v;
}

function planEventSelectors(a: PlanArgs): PlanDecision {
  const t = trusted<TrailConfig>(a);
  if (isDecision(t)) return t;
  const trailName = str(a.req.trailName) ?? t.target.id;
  const basic = t.config.EventSelectors ?? [];
  const advanced = t.config.AdvancedEventSelectors ?? [];
  const key = basic.length ? 'EventSelectors' : advanced.length ? 'AdvancedEventSelectors' : undefined;
  if (!key) return none(`the ${trustedNote(t.version)} of trail ${t.target.id} has no event selectors to restore; paging instead`);
  const selectors = key === 'EventSelectors' ? basic : advanced;
  const requested = pascalKeys(key === 'EventSelectors' ? a.req.eventSelectors : a.req.advancedEventSelectors);
  if (requested !== undefined && canonicalJson(requested) === canonicalJson(selectors)) {
    return none(`PutEventSelectors on ${t.target.id} set the selectors of the ${trustedNote(t.version)}: nothing to revert`);
  }
  return {
    plan: baselinePlan(
      'cloudtrail',
      'PutEventSelectors',
      { TrailName: trailName, [key]: selectors },
      `restore the ${selectors.length} ${key === 'EventSelectors' ? 'event' : 'advanced event'} selector(s) of trail ${t.target.id}`,
    ),
    reason: `selectors put back from the ${trustedNote(t.version)}`,
  };
}

// ---- run ----

const TRAIL_GONE = ['TrailNotFoundException'];

/** A trail's settings as GetTrail returns them, or null when there is no such trail. Also the baseline's read. */
export function getTrail(ct: CloudTrailClient, name: string): Promise<Trail | null> {
  return unless(TRAIL_GONE, null, async () => (await ct.send(new GetTrailCommand({ Name: name }))).Trail ?? null);
}

/** A trail's basic and advanced event selectors (empty lists when it has none). Also the baseline's read. */
export async function getEventSelectors(
  ct: CloudTrailClient,
  name: string,
): Promise<{ EventSelectors: EventSelector[]; AdvancedEventSelectors: AdvancedEventSelector[] }> {
  const res = await ct.send(new GetEventSelectorsCommand({ TrailName: name }));
  return { EventSelectors: res.EventSelectors ?? [], AdvancedEventSelectors: res.AdvancedEventSelectors ?? [] };
}

// Logging stopped: started again.

const startLogging: Handler = {
  service: 'cloudtrail',
  operation: 'StartLogging',
  iam: { write: ['cloudtrail:StartLogging'], read: ['cloudtrail:GetTrailStatus'] },
  check(a) {
    need(a, 'Name');
    onlyKeys(a, ['Name'], 'StartLogging');
  },
  async read(ctx) {
    const name = ctx.args.Name as string;
    const res = await orGone(TRAIL_GONE, `trail ${name}`, () =>
      ctx.client('cloudtrail').send(new GetTrailStatusCommand({ Name: name })),
    );
    return { isLogging: res.IsLogging === true };
  },
  pending: (s) => ((s as { isLogging: boolean }).isLogging ? [] : ['logging stopped']),
  async apply(ctx) {
    await ctx.client('cloudtrail').send(new StartLoggingCommand({ Name: ctx.args.Name as string }));
  },
};

// Trail settings and event selectors, put back from the baseline.

const TRAIL_INPUT_KEYS = Object.keys(TRAIL_READBACK);

function trailValue(v: unknown): unknown {
  return v === '' || v === null ? undefined : v;
}

const updateTrail: Handler = {
  service: 'cloudtrail',
  operation: 'UpdateTrail',
  iam: { write: ['cloudtrail:UpdateTrail'], read: ['cloudtrail:GetTrail'] },
  check(a) {
    need(a, 'Name');
    onlyKeys(a, ['Name', ...TRAIL_INPUT_KEYS], 'UpdateTrail');
    if (Object.keys(a).length < 2) throw forbidden('UpdateTrail revert restores no setting');
  },
  async read(ctx) {
    const name = ctx.args.Name as string;
    const trail = await getTrail(ctx.client('cloudtrail'), name);
    if (!trail) throw new Gone(`trail ${name}`, 'TrailNotFoundException');
    const t = trail as Record<string, unknown>;
    return Object.fromEntries(TRAIL_INPUT_KEYS.map((k) => [TRAIL_READBACK[k], trailValue(t[TRAIL_READBACK[k] as string])]));
  },
  pending(s, ctx) {
    const state = s as Record<string, unknown>;
    return TRAIL_INPUT_KEYS.filter((k) => k in ctx.args)
      .filter((k) => trailValue(state[TRAIL_READBACK[k] as string]) !== trailValue(ctx.args[k]))
      .map((k) => `${k} is ${JSON.stringify(state[TRAIL_READBACK[k] as string] ?? null)}, trusted ${JSON.stringify(ctx.args[k])}`);
  },
  async apply(ctx) {
    await ctx.client('cloudtrail').send(new UpdateTrailCommand(sdkInput(ctx)));
  },
};

const eventSelectors: Handler = {
  service: 'cloudtrail',
  operation: 'PutEventSelectors',
  iam: { write: ['cloudtrail:PutEventSelectors'], read: ['cloudtrail:GetEventSelectors'] },
  check(a) {
    need(a, 'TrailName');
    const keys = ['EventSelectors', 'AdvancedEventSelectors'].filter((k) => Array.isArray(a[k]) && (a[k] as unknown[]).length);
    if (keys.length !== 1) throw forbidden('PutEventSelectors revert needs exactly one of EventSelectors / AdvancedEventSelectors');
    onlyKeys(a, ['TrailName', ...keys], 'PutEventSelectors');
  },
  async read(ctx) {
    const name = ctx.args.TrailName as string;
    return orGone(TRAIL_GONE, `trail ${name}`, () => getEventSelectors(ctx.client('cloudtrail'), name));
  },
  pending(s, ctx) {
    const key = ctx.args.EventSelectors ? 'EventSelectors' : 'AdvancedEventSelectors';
    return canonicalJson((s as Record<string, unknown>)[key]) === canonicalJson(ctx.args[key]) ? [] : [`${key} differ from the trusted ones`];
  },
  async apply(ctx) {
    await ctx.client('cloudtrail').send(new PutEventSelectorsCommand(sdkInput(ctx)));
  },
};

const CLOUDTRAIL = ['cloudtrail.amazonaws.com'];

export const cloudtrailReverts: ServiceReverts = {
  planners: {
    StopLogging: { eventSources: CLOUDTRAIL, from: 'event', produces: ['cloudtrail:StartLogging'], plan: planStartLogging },
    UpdateTrail: { eventSources: CLOUDTRAIL, from: 'baseline', produces: ['cloudtrail:UpdateTrail'], plan: planUpdateTrail },
    PutEventSelectors: { eventSources: CLOUDTRAIL, from: 'baseline', produces: ['cloudtrail:PutEventSelectors'], plan: planEventSelectors },
  },
  handlers: [startLogging, updateTrail, eventSelectors],
};
