// Many accounts from one deployment: the accounts file (checked, mistakes with their lines), one role per account
// assumed through STS on moto_server (fromTemporaryCredentials), LookupEvents in each account as that account (the
// stand-in asks moto whose key it is), and `vouch ingest --from lookup` starting one poller per account and Region.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createCloudTrailLookupActivities } from '../../activities/cloudtrail-lookup';
import type { LookupRecord } from '../../src/intake/lookup-page';
import { AccountsError, createCloudTrailClients, createCredentialCache, lookupTargets, parseAccounts } from '../../src/intake/accounts';
import { ingestCommand } from '../../src/cli/ingest';
import { runCommand } from '../../src/cli/program';
import { loadIntakeConfig } from '../../src/cli/intake-settings';
import { startCloudTrailStandIn, type CloudTrailStandIn } from '../standins/cloudtrail';
import { startMoto, type MotoServer } from '../../src/demo/sandbox/moto';
import { lookupPollerWorkflowId } from '../../workflows/messages';
import { startDevServer } from '../helpers/temporal';
import { loadRecords, retime, type Rec } from './helpers/records';

const MASTER = { accessKeyId: 'AKIAVOUCHDEPLOYMENT1', secretAccessKey: 'deployment-secret' };
const MOTO_DEFAULT_ACCOUNT = '123456789012';
let moto: MotoServer;
let env: TestWorkflowEnvironment;
let standIn: CloudTrailStandIn;

const IDS = Array.from({ length: 16 }, (_, i) => `2000000000${String(i).padStart(2, '0')}`);
const AUDIT = IDS[3] as string;

/** 16 accounts, two Regions by default, one (AUDIT) with its own role and Region. */
function accountsYaml(ids: string[]): string {
  return [
    '# accounts vouch polls',
    'defaults:',
    '  regions: [us-east-1, eu-west-1]',
    '  roleArn: arn:aws:iam::{account}:role/vouch-intake',
    '  externalId: vouch-ext-1',
    'accounts:',
    ...ids.map((id, i) =>
      id === AUDIT
        ? `  - id: "${id}"\n    name: audit\n    regions: [us-west-2]\n    roleArn: arn:aws:iam::${id}:role/audit-reader`
        : `  - id: "${id}"\n    name: acct-${i}`,
    ),
    '',
  ].join('\n');
}



before(async () => {
  [moto, env] = await Promise.all([startMoto(), startDevServer()]);
  const sts = (key: string) =>
    new STSClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: key, secretAccessKey: 'any' }, maxAttempts: 1 });
  standIn = await startCloudTrailStandIn({
    // Whose key is it? moto knows the accounts of the keys its AssumeRole handed out.
    accountOf: async (key) => {
      const id = await sts(key).send(new GetCallerIdentityCommand({}));
      return id.Account === MOTO_DEFAULT_ACCOUNT ? undefined : id.Account;
    },
    // The secret of that temporary key, from moto's own records, so the stand-in checks the signature itself.
    secretOf: async (key) => {
      const data = (await (await fetch(`${moto.endpoint}/moto-api/data.json`)).json()) as { iam?: { AccessKey?: Array<{ access_key_id: string; secret_access_key: string }> } };
      return data.iam?.AccessKey?.find((k) => k.access_key_id === key)?.secret_access_key;
    },
  });
});
after(async () => {
  await standIn?.stop();
  await moto?.stop();
  await env?.teardown();
});

describe('accounts file', () => {
  test('16 accounts: defaults, per-account overrides, {account} in role ARNs; JSON works too', () => {
    const accounts = parseAccounts(accountsYaml(IDS), 'accounts.yaml');
    assert.equal(accounts.length, 16);
    assert.deepEqual(accounts[0], {
      id: IDS[0],
      name: 'acct-0',
      regions: ['us-east-1', 'eu-west-1'],
      roleArn: `arn:aws:iam::${IDS[0]}:role/vouch-intake`,
      externalId: 'vouch-ext-1',
    });
    assert.equal(accounts[3]?.roleArn, `arn:aws:iam::${IDS[3]}:role/audit-reader`);
    assert.deepEqual(accounts[3]?.regions, ['us-west-2']);
    assert.equal(lookupTargets(accounts).length, 15 * 2 + 1);
    const json = parseAccounts(JSON.stringify({ accounts: [{ id: IDS[0], regions: ['ap-southeast-2'] }] }), 'a.json');
    assert.deepEqual(json, [{ id: IDS[0], regions: ['ap-southeast-2'] }], 'no role: vouch acts with its own credentials');
  });

  test('every mistake is reported at once, with its line', () => {
    const text = [
      'defaults:',
      '  regions: [us-east-1]',
      'accounts:',
      '  - id: 012345678901', // line 4: unquoted, YAML reads a number and drops the zero
      '  - id: "111122223333"',
      '    regions: [mars-north-1]', // line 6
      '  - id: "444455556666"',
      '    roleArn: arn:aws:iam::111122223333:role/vouch-intake', // line 8: another account's role
      '  - id: "111122223333"', // line 9: repeated
      '    colour: blue', // line 10: unknown key
      '',
    ].join('\n');
    assert.throws(() => parseAccounts(text, 'accounts.yaml'), (err: unknown) => {
      assert.ok(err instanceof AccountsError);
      const lines = err.problems.map((p) => `${p.line}: ${p.path} ${p.message}`);
      assert.ok(lines.some((l) => /^4: accounts\[0\]\.id must be a 12-digit account id in quotes/.test(l)), lines.join('\n'));
      assert.ok(lines.some((l) => /^6: accounts\[1\]\.regions\[0\] must be an AWS Region/.test(l)), lines.join('\n'));
      assert.ok(lines.some((l) => /^9: accounts\[3\] .*colour/.test(l)), lines.join('\n'));
      assert.match(err.message, /^accounts\.yaml: \d+ problem\(s\):/);
      return true;
    });
    // The checks that need the whole file come next (the schema must pass first).
    const semantic = [
      'accounts:',
      '  - id: "444455556666"',
      '    regions: [us-east-1]',
      '    roleArn: arn:aws:iam::111122223333:role/vouch-intake',
      '  - id: "444455556666"',
      '    regions: [us-east-1]',
      '  - id: "777788889999"',
      '',
    ].join('\n');
    assert.throws(() => parseAccounts(semantic, 'accounts.yaml'), (err: unknown) => {
      assert.ok(err instanceof AccountsError);
      const lines = err.problems.map((p) => `${p.line}: ${p.path} ${p.message}`);
      assert.deepEqual(lines, [
        '4: accounts[0].roleArn is a role in account 111122223333, not in 444455556666',
        '5: accounts[1].id repeats account 444455556666 (first at accounts[0])',
        '7: accounts[2].regions is required (no defaults.regions either)',
      ]);
      return true;
    });
    assert.throws(() => parseAccounts('accounts: [\n  {id: "1"', 'broken.yaml'), (err: unknown) => err instanceof AccountsError && /line \d+:/.test(err.message));
  });
});

describe('roles across accounts (STS on moto)', () => {
  test('each account gets its own assumed-role credentials, cached per role', async () => {
    const credentialsFor = createCredentialCache({ stsEndpoint: moto.endpoint, masterCredentials: MASTER });
    const targets = lookupTargets(parseAccounts(accountsYaml(IDS)));
    const seen = new Set<string>();
    for (const t of targets) {
      const provider = credentialsFor(t);
      assert.ok(provider);
      const creds = await provider();
      assert.equal(await provider().then((c) => c.accessKeyId), creds.accessKeyId, 'cached until near expiry');
      const who = await new STSClient({ region: t.region, endpoint: moto.endpoint, credentials: creds }).send(new GetCallerIdentityCommand({}));
      const role = t.roleArn?.split('/').pop();
      assert.equal(who.Arn, `arn:aws:sts::${t.account}:assumed-role/${role}/vouch-intake`);
      seen.add(creds.accessKeyId);
    }
    assert.equal(seen.size, 16, 'one role session per account, shared by its Regions');
    assert.equal(credentialsFor({ region: 'us-east-1' }), undefined, 'no role: the default chain');
  });

  test('LookupEvents in 16 accounts, each as itself: every account sees only its own events', async () => {
    const { records } = loadRecords();
    const base = retime(records.filter((r) => r.readOnly === false).slice(0, 3), Date.now() - 60_000);
    const targets = lookupTargets(parseAccounts(accountsYaml(IDS)));
    for (const t of targets) {
      standIn.add(base.map((r, i) => ({ ...r, recipientAccountId: t.account, awsRegion: t.region, eventID: `${t.account}-${t.region}-${i}` })));
    }
    const got = new Map<string, LookupRecord[]>();
    const activities = createCloudTrailLookupActivities({
      cloudtrailLookup: {
        clientFor: createCloudTrailClients({ stsEndpoint: moto.endpoint, cloudTrailEndpoint: standIn.url, masterCredentials: MASTER }),
        ingestPage: async (t, recs) => {
          got.set(`${t.account}/${t.region}`, recs);
          return { ignored: 0, started: recs.length, existing: 0, deadLettered: 0 };
        },
      },
    });
    const start = new Date(Date.now() - 3600_000).toISOString();
    const end = new Date().toISOString();
    await Promise.all(
      targets.map((t) => new MockActivityEnvironment().run(activities.lookupCloudTrailPage, { ...t, startTime: start, endTime: end })),
    );
    assert.equal(got.size, targets.length);
    for (const t of targets) {
      const ids = (got.get(`${t.account}/${t.region}`) ?? []).map((r) => (JSON.parse(r.cloudTrailEvent ?? '{}') as Rec).eventID);
      assert.deepEqual(ids.sort(), base.map((_, i) => `${t.account}-${t.region}-${i}`).sort());
    }
    // An account whose role vouch cannot use: a permanent failure, named, not retried.
    const unknown = createCloudTrailLookupActivities({
      cloudtrailLookup: {
        clientFor: createCloudTrailClients({ cloudTrailEndpoint: standIn.url, defaultCredentials: { accessKeyId: 'AKIANOBODY0000000000', secretAccessKey: 'x' } }),
        ingestPage: async () => ({ ignored: 0, started: 0, existing: 0, deadLettered: 0 }),
      },
    });
    await assert.rejects(
      new MockActivityEnvironment().run(unknown.lookupCloudTrailPage, { account: '999999999999', region: 'us-east-1', startTime: start, endTime: end }),
      (err: unknown) => err instanceof ApplicationFailure && err.type === 'InvalidCredentials' && err.nonRetryable === true && /UnrecognizedClientException/.test(err.message),
    );
  });

  test('vouch ingest --from lookup starts one poller per account and Region, finds them the second time, and names orphans', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-accounts-'));
    const file = path.join(dir, 'accounts.yaml');
    fs.writeFileSync(file, accountsYaml(IDS));
    // No worker: they just sit. The dev server keeps closed workflows 24 h: the maximum age must be shorter.
    const config = loadIntakeConfig({ TEMPORAL_TASK_QUEUE: `pollers-${process.pid}`, VOUCH_INTAKE_MAX_AGE_SECONDS: '3600' });
    const run = async (args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const deps = { client: env.client, config, stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } };
      const code = await runCommand(ingestCommand(deps), args, deps);
      return { code, lines: out.join('').trim().split('\n').map((l) => JSON.parse(l) as { workflowId: string; status: string }), stderr: err.join('') };
    };
    const first = await run(['--from', 'lookup', '--accounts', file, '--poll-interval', '30']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.lines.length, 31);
    assert.deepEqual([...new Set(first.lines.map((l) => l.status))], ['started']);
    assert.ok(first.lines.some((l) => l.workflowId === lookupPollerWorkflowId(IDS[3] as string, 'us-west-2')));
    const desc = await env.client.workflow.getHandle(lookupPollerWorkflowId(IDS[0] as string, 'eu-west-1')).describe();
    assert.equal(desc.type, 'lookupPollerWorkflow');
    assert.equal(desc.status.name, 'RUNNING');

    // The same file again: nothing new. One account fewer: its pollers are named as orphans.
    fs.writeFileSync(file, accountsYaml(IDS.slice(1)));
    const second = await run(['--from', 'lookup', '--accounts', file]);
    assert.equal(second.lines.length, 29, second.stderr);
    assert.deepEqual([...new Set(second.lines.map((l) => l.status))], ['existing']);
    for (const region of ['us-east-1', 'eu-west-1']) {
      assert.match(second.stderr, new RegExp(`poller ${lookupPollerWorkflowId(IDS[0] as string, region)} runs but its account/Region is not in`));
    }
  });
});
