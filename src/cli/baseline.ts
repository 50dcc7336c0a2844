// `vouch baseline capture|show|diff|schedule`: manage the trusted baseline from the command line.
//
//   capture  read the watched configuration of each --account (its --region(s) and the global scope) into the store;
//            one JSON line per account and scope: resources read, added / changed / removed since the last capture
//   show     print the stored baseline of an account (--region R or global; --resource KIND:ID for one resource)
//   diff     read the live configuration and print what differs from the trusted baseline; exit 1 when anything does
//   schedule create or update the Temporal schedule that refreshes the baseline (--every, default 6 hours)
//
// AWS access as the worker's: VOUCH_REVERT_ROLE_ARN_TEMPLATE (a role per account, session vouch-baseline-<time>),
// AWS_ENDPOINT_URL; the store from --store or VOUCH_BASELINE_STORE (a folder, default .data/baseline, or
// s3://bucket/prefix, written with vouch's own credentials).
import { Command } from 'commander';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Duration } from '@temporalio/common';
import { awsSchema, baselineSchema, loadConfig, temporalSchema } from './config';
import { createAwsClientFactory } from '../revert';
import { captureScope, GLOBAL_KINDS, REGIONAL_KINDS } from '../revert/baseline/capture';
import { diffBaseline } from '../revert/baseline/diff';
import { createBaselineStore, type BaselineStore } from '../revert/baseline/store';
import { captureIntoStore } from '../revert/baseline/index';
import { GLOBAL_SCOPE, RESOURCE_KINDS, resourceKey, type ResourceKind } from '../revert/baseline/types';
import { ensureBaselineSchedule } from '../revert/baseline/schedule';
import { act, UsageError, type Out } from './program';
import { formatRate, measure, ProgressLine, type ProgressStream } from './progress';
import { connectClient } from './temporal-client';

function kindsFrom(v: string | undefined): ResourceKind[] {
  if (!v) return [...RESOURCE_KINDS];
  const kinds = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = kinds.filter((k) => !RESOURCE_KINDS.includes(k as ResourceKind));
  if (bad.length) throw new UsageError(`unknown --kinds ${bad.join(', ')} (known: ${RESOURCE_KINDS.join(', ')})`);
  return kinds as ResourceKind[];
}

function regionsFrom(v: string[] | undefined, env: Record<string, string | undefined>): string[] {
  const regions = v?.length ? v : [env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1'];
  for (const r of regions) {
    if (r !== GLOBAL_SCOPE && !/^[a-z]{2}(-[a-z]+)+-\d+[a-z]?$/.test(r)) throw new UsageError(`--region ${r} is not an AWS region`);
  }
  return regions;
}

export interface BaselineCommandEnv {
  env?: Record<string, string | undefined>;
  /** For tests: AWS credentials instead of the default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  stdout?: Out;
  /** Where capture's progress line is drawn (default process.stderr, only when it is a terminal). */
  progress?: ProgressStream;
}

interface BaselineOptions {
  account?: string[];
  region?: string[];
  store?: string;
  kinds?: string;
  resource?: string;
  every?: string;
  progress?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function baselineCommand(opts: BaselineCommandEnv = {}): Command {
  const account = (c: Command, what: string): Command => c.option('--account <id>', what, collect);
  const region = (c: Command, what: string): Command => c.option('--region <region>', what, collect);
  const store = (c: Command): Command =>
    c.option('--store <location>', 'the baseline store: a folder or s3://bucket/prefix (default VOUCH_BASELINE_STORE or .data/baseline)');
  const kinds = (c: Command): Command => c.option('--kinds <kinds>', `comma-separated resource kinds (default all: ${RESOURCE_KINDS.join(', ')})`);
  const defaults = 'account: the caller\'s (STS GetCallerIdentity); region: AWS_REGION or us-east-1';

  const capture = new Command('capture').description(
    'read the watched configuration of each account (its regions and the global scope) into the store; one JSON line per account and scope',
  );
  account(capture, 'an account to capture (repeatable)');
  region(capture, 'a region to capture (repeatable)');
  kinds(capture);
  store(capture);
  capture.option('--no-progress', 'no progress line, even on a terminal').addHelpText('after', `\nDefaults: ${defaults}.`);

  const show = new Command('show').description("print the stored baseline of an account's region or global scope");
  account(show, 'the account');
  show.option('--region <region>', 'the region, or global (default)').option('--resource <kind:id>', 'only this resource, e.g. iam-role:app-deployer');
  store(show);

  const diff = new Command('diff').description('read the live configuration and print what differs from the trusted baseline; exit 1 when anything does');
  account(diff, 'an account to compare (repeatable)');
  region(diff, 'a region to compare (repeatable)');
  kinds(diff);
  store(diff);
  diff.addHelpText('after', `\nDefaults: ${defaults}.`);

  const schedule = new Command('schedule').description('create or update the Temporal schedule vouch-baseline-refresh that refreshes the baseline');
  account(schedule, 'an account to refresh (repeatable, at least one)');
  region(schedule, 'a region to refresh (repeatable)');
  schedule.option('--every <duration>', 'how often, e.g. "6 hours"', '6 hours');
  kinds(schedule);

  for (const sub of [capture, show, diff, schedule]) act(sub, (o: BaselineOptions, c: Command) => runBaseline(c.name(), o, opts));
  return new Command('baseline')
    .description('the trusted baseline of watched AWS configuration: capture, show, diff, schedule')
    .addCommand(capture)
    .addCommand(show)
    .addCommand(diff)
    .addCommand(schedule)
    .addHelpText(
      'after',
      '\nAWS access as the worker\'s: VOUCH_REVERT_ROLE_ARN_TEMPLATE (a role per account), AWS_ENDPOINT_URL; the store is ' +
        "written with vouch's own credentials.",
    );
}

async function runBaseline(sub: string, values: BaselineOptions, opts: BaselineCommandEnv): Promise<number> {
  const stdout = opts.stdout ?? process.stdout;
  const out = (line: unknown): void => void stdout.write(`${JSON.stringify(line)}\n`);
  const env = opts.env ?? process.env;
  const aws = loadConfig(awsSchema, env);
  const cfg = loadConfig(baselineSchema, env);
  const store = createBaselineStore(values.store ?? cfg.VOUCH_BASELINE_STORE, {
    ...(aws.AWS_ENDPOINT_URL ? { endpoint: aws.AWS_ENDPOINT_URL } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
  const factory = createAwsClientFactory({
    ...(aws.VOUCH_REVERT_ROLE_ARN_TEMPLATE ? { roleArnTemplate: aws.VOUCH_REVERT_ROLE_ARN_TEMPLATE } : {}),
    ...(aws.AWS_ENDPOINT_URL ? { endpoint: aws.AWS_ENDPOINT_URL } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
  const accounts = async (): Promise<string[]> => {
    if (values.account?.length) {
      for (const a of values.account) if (!/^\d{12}$/.test(a)) throw new UsageError(`--account ${a} is not a 12-digit account id`);
      return values.account;
    }
    const sts = new STSClient({
      region: 'us-east-1',
      maxAttempts: 2,
      ...(aws.AWS_ENDPOINT_URL ? { endpoint: aws.AWS_ENDPOINT_URL } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
    });
    const id = await sts.send(new GetCallerIdentityCommand({}));
    if (!id.Account) throw new Error('STS GetCallerIdentity returned no account: pass --account');
    return [id.Account];
  };

  switch (sub) {
    case 'capture': {
      const regions = regionsFrom(values.region, env).filter((r) => r !== GLOBAL_SCOPE);
      const wanted = kindsFrom(values.kinds);
      const scopes = [
        ...[...new Set(regions)].map((r) => ({ regions: [r], kinds: wanted.filter((k) => REGIONAL_KINDS.includes(k)) })),
        { regions: [] as string[], kinds: wanted.filter((k) => GLOBAL_KINDS.includes(k)) },
      ].filter((s) => s.kinds.length > 0);
      const targets = await accounts();
      let done = 0;
      let resources = 0;
      const total = targets.length * scopes.length;
      const progress = new ProgressLine(
        (elapsedMs) => {
          const { rate, eta } = measure({ done, total, items: resources }, elapsedMs);
          return `baseline capture: ${done}/${total} scopes, ${resources} resources read, ${formatRate(rate)} resources/s, ETA ${eta}`;
        },
        { enabled: values.progress !== false, ...(opts.progress ? { stream: opts.progress } : {}) },
      ).start();
      try {
        for (const account of targets) {
          const sessionName = `vouch-baseline-${Date.now()}`;
          for (const scope of scopes) {
            const summaries = await captureIntoStore({ clientFor: factory.clientFor, store, account, sessionName, ...scope });
            for (const summary of summaries) {
              resources += summary.resources;
              out({ ...summary, store: store.location });
            }
            done += 1;
            progress.update();
          }
        }
      } finally {
        progress.stop();
      }
      return 0;
    }
    case 'show':
      return await showBaseline(stdout, store, (await accounts())[0] as string, values.region?.[0] ?? GLOBAL_SCOPE, values.resource);
    case 'diff': {
      const regions = regionsFrom(values.region, env).filter((r) => r !== GLOBAL_SCOPE);
      const wanted = kindsFrom(values.kinds);
      let differs = false;
      for (const account of await accounts()) {
        const clients = { clientFor: factory.clientFor, account, sessionName: `vouch-baseline-${Date.now()}` };
        const scopes = [
          ...regions.map((r) => ({ scope: r, kinds: wanted.filter((k) => REGIONAL_KINDS.includes(k)) })),
          { scope: GLOBAL_SCOPE, kinds: wanted.filter((k) => GLOBAL_KINDS.includes(k)) },
        ].filter((s) => s.kinds.length);
        for (const s of scopes) {
          const live = await captureScope(clients, s.scope, s.kinds);
          const doc = await store.load(account, s.scope);
          if (!doc) {
            out({ account, scope: s.scope, error: `no trusted baseline in ${store.location}: run vouch baseline capture` });
            differs = true;
            continue;
          }
          for (const d of diffBaseline(doc, live)) {
            differs = true;
            out({ account, scope: s.scope, ...d });
          }
        }
      }
      return differs ? 1 : 0;
    }
    default: {
      if (!values.account?.length) throw new UsageError('schedule needs --account (one per account to refresh)');
      const regions = regionsFrom(values.region, env).filter((r) => r !== GLOBAL_SCOPE);
      const wanted = values.kinds ? kindsFrom(values.kinds) : undefined;
      const temporal = loadConfig(temporalSchema, env);
      const { client, connection } = await connectClient(temporal);
      try {
        const every = values.every ?? '6 hours';
        const result = await ensureBaselineSchedule(client, {
          taskQueue: temporal.TEMPORAL_TASK_QUEUE,
          every: every as Duration,
          input: { targets: (await accounts()).map((account) => ({ account, regions })), ...(wanted ? { kinds: wanted } : {}) },
        });
        out({ schedule: 'vouch-baseline-refresh', result, every });
      } finally {
        await connection.close();
      }
      return 0;
    }
  }
}

async function showBaseline(stdout: Out, store: BaselineStore, account: string, scope: string, resource?: string): Promise<number> {
  const out = (line: unknown): void => void stdout.write(`${JSON.stringify(line)}\n`);
  const doc = await store.load(account, scope);
  if (!doc) {
    process.stderr.write(`vouch baseline: no trusted baseline for ${account}/${scope} in ${store.location}\n`);
    return 1;
  }
  if (resource) {
    const [kind, ...idParts] = resource.split(':');
    const key = resourceKey(kind as ResourceKind, idParts.join(':'));
    const r = doc.resources[key];
    if (!r) {
      process.stderr.write(`vouch baseline: ${key} is not in the baseline of ${account}/${scope}\n`);
      return 1;
    }
    out(r);
    return 0;
  }
  stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  return 0;
}
