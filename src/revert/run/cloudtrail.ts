import {
  GetEventSelectorsCommand,
  GetTrailCommand,
  GetTrailStatusCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  UpdateTrailCommand,
} from '@aws-sdk/client-cloudtrail';
import { canonicalJson } from '../baseline/types';
import { TRAIL_READBACK } from '../plans/baseline';
import { forbidden, orGone } from '../failures';
import { need, onlyKeys, sdkInput, type Handler } from '../handler';

// Logging and detection (rows 6, 10, 13). GuardDuty (10) and Config (13): guardduty-config-lambda.ts.

export const startLogging: Handler = {
  service: 'cloudtrail',
  operation: 'StartLogging',
  iam: { write: ['cloudtrail:StartLogging'], read: ['cloudtrail:GetTrailStatus'] },
  check(a) {
    need(a, 'Name');
    onlyKeys(a, ['Name'], 'StartLogging');
  },
  async read(ctx) {
    const name = ctx.args.Name as string;
    const res = await orGone(['TrailNotFoundException'], `trail ${name}`, () =>
      ctx.client('cloudtrail').send(new GetTrailStatusCommand({ Name: name })),
    );
    return { isLogging: res.IsLogging === true };
  },
  pending: (s) => ((s as { isLogging: boolean }).isLogging ? [] : ['logging stopped']),
  async apply(ctx) {
    await ctx.client('cloudtrail').send(new StartLoggingCommand({ Name: ctx.args.Name as string }));
  },
};

// CloudTrail settings from the baseline (rows 8–9).

const TRAIL_INPUT_KEYS = Object.keys(TRAIL_READBACK);

function trailValue(v: unknown): unknown {
  return v === '' || v === null ? undefined : v;
}

export const updateTrail: Handler = {
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
    const res = await orGone(['TrailNotFoundException'], `trail ${name}`, () => ctx.client('cloudtrail').send(new GetTrailCommand({ Name: name })));
    const t = (res.Trail ?? {}) as Record<string, unknown>;
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

export const eventSelectors: Handler = {
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
    const res = await orGone(['TrailNotFoundException'], `trail ${name}`, () =>
      ctx.client('cloudtrail').send(new GetEventSelectorsCommand({ TrailName: name })),
    );
    return { EventSelectors: res.EventSelectors ?? [], AdvancedEventSelectors: res.AdvancedEventSelectors ?? [] };
  },
  pending(s, ctx) {
    const key = ctx.args.EventSelectors ? 'EventSelectors' : 'AdvancedEventSelectors';
    return canonicalJson((s as Record<string, unknown>)[key]) === canonicalJson(ctx.args[key]) ? [] : [`${key} differ from the trusted ones`];
  },
  async apply(ctx) {
    await ctx.client('cloudtrail').send(new PutEventSelectorsCommand(sdkInput(ctx)));
  },
};
