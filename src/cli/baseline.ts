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
import { parseArgs } from 'node:util';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Duration } from '@temporalio/common';
import { awsSchema, baselineSchema, loadConfig, temporalSchema } from './config';

export { baselineSchema };
import { createAwsClientFactory } from '../revert';
import { captureScope, GLOBAL_KINDS, REGIONAL_KINDS } from '../revert/baseline/capture';
import { diffBaseline } from '../revert/baseline/diff';
import { createBaselineStore, type BaselineStore } from '../revert/baseline/store';
import { captureIntoStore } from '../revert/baseline/index';
import { GLOBAL_SCOPE, RESOURCE_KINDS, resourceKey, type ResourceKind } from '../revert/baseline/types';
import { ensureBaselineSchedule } from '../revert/baseline/schedule';
import { connectClient } from './temporal-client';

/** Environment of the baseline commands (the lead may merge it into src/cli/config.ts's worker schema). */

const USAGE = `usage: vouch baseline <capture|show|diff|schedule> [options]

  capture   [--account ID]... [--region R]... [--kinds K,K] [--store LOC]
  show      --account ID [--region R|global] [--resource KIND:ID] [--store LOC]
  diff      [--account ID] [--region R]... [--kinds K,K] [--store LOC]      exit 1 when the live state differs
  schedule  --account ID... [--region R]... [--every DURATION] [--kinds K,K]   (Temporal schedule vouch-baseline-refresh)

  --account defaults to the caller's account (STS GetCallerIdentity), --region to AWS_REGION or us-east-1,
  --store to VOUCH_BASELINE_STORE or .data/baseline (a folder, or s3://bucket/prefix).
  kinds: ${RESOURCE_KINDS.join(', ')}`;

class UsageError extends Error {}

function out(line: unknown): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function kindsFrom(v: string | undefined): ResourceKind[] {
  if (!v) return [...RESOURCE_KINDS];
  const kinds = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = kinds.filter((k) => !RESOURCE_KINDS.includes(k as ResourceKind));
  if (bad.length) throw new UsageError(`unknown --kinds ${bad.join(', ')} (known: ${RESOURCE_KINDS.join(', ')})`);
  return kinds as ResourceKind[];
}

function regionsFrom(v: string[] | undefined): string[] {
  const regions = v?.length ? v : [process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1'];
  for (const r of regions) {
    if (r !== GLOBAL_SCOPE && !/^[a-z]{2}(-[a-z]+)+-\d+[a-z]?$/.test(r)) throw new UsageError(`--region ${r} is not an AWS region`);
  }
  return regions;
}

export interface BaselineCommandEnv {
  env?: Record<string, string | undefined>;
  /** For tests: AWS credentials instead of the default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export async function baselineCommand(argv: string[], opts: BaselineCommandEnv = {}): Promise<number> {
  const [sub, ...rest] = argv;
  let values: {
    account?: string[];
    region?: string[];
    store?: string;
    kinds?: string;
    resource?: string;
    every?: string;
  };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        account: { type: 'string', multiple: true },
        region: { type: 'string', multiple: true },
        store: { type: 'string' },
        kinds: { type: 'string' },
        resource: { type: 'string' },
        every: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`vouch baseline: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  try {
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
        const regions = regionsFrom(values.region).filter((r) => r !== GLOBAL_SCOPE);
        const kinds = kindsFrom(values.kinds);
        for (const account of await accounts()) {
          const summaries = await captureIntoStore({ clientFor: factory.clientFor, store, account, regions, kinds });
          for (const s of summaries) out({ ...s, store: store.location });
        }
        return 0;
      }
      case 'show':
        return await show(store, (await accounts())[0] as string, values.region?.[0] ?? GLOBAL_SCOPE, values.resource);
      case 'diff': {
        const regions = regionsFrom(values.region).filter((r) => r !== GLOBAL_SCOPE);
        const kinds = kindsFrom(values.kinds);
        let differs = false;
        for (const account of await accounts()) {
          const clients = { clientFor: factory.clientFor, account, sessionName: `vouch-baseline-${Date.now()}` };
          const scopes = [
            ...regions.map((r) => ({ scope: r, kinds: kinds.filter((k) => REGIONAL_KINDS.includes(k)) })),
            { scope: GLOBAL_SCOPE, kinds: kinds.filter((k) => GLOBAL_KINDS.includes(k)) },
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
      case 'schedule': {
        if (!values.account?.length) throw new UsageError('schedule needs --account (one per account to refresh)');
        const regions = regionsFrom(values.region).filter((r) => r !== GLOBAL_SCOPE);
        const kinds = values.kinds ? kindsFrom(values.kinds) : undefined;
        const temporal = loadConfig(temporalSchema, env);
        const { client, connection } = await connectClient(temporal);
        try {
          const result = await ensureBaselineSchedule(client, {
            taskQueue: temporal.TEMPORAL_TASK_QUEUE,
            every: (values.every ?? '6 hours') as Duration,
            input: { targets: (await accounts()).map((account) => ({ account, regions })), ...(kinds ? { kinds } : {}) },
          });
          out({ schedule: 'vouch-baseline-refresh', result, every: values.every ?? '6 hours' });
        } finally {
          await connection.close();
        }
        return 0;
      }
      default:
        process.stderr.write(`${sub ? `vouch baseline: unknown subcommand "${sub}"\n\n` : ''}${USAGE}\n`);
        return 2;
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`vouch baseline: ${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
}

async function show(store: BaselineStore, account: string, scope: string, resource?: string): Promise<number> {
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
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  return 0;
}
