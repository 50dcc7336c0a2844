// The accounts vouch watches, from one YAML or JSON file (VOUCH_ACCOUNTS_FILE or `--accounts FILE`):
//
//   defaults:
//     regions: [us-east-1, eu-west-1]
//     roleArn: arn:aws:iam::{account}:role/vouch-intake   # {account} is replaced; omit to use vouch's own credentials
//     externalId: vouch                                   # optional, sent with AssumeRole
//   accounts:
//     - id: "111122223333"
//       name: production
//     - id: "444455556666"
//       regions: [us-east-1]                              # overrides the default
//       roleArn: arn:aws:iam::444455556666:role/audit-reader
//
// Each account's role is assumed through STS with the AWS SDK's `fromTemporaryCredentials` credential provider,
// session name `vouch-intake`, one refreshing provider per role; CloudTrail clients are cached per account and
// Region. The file is checked by one zod schema; mistakes are reported all at once, each with its path and line.
import fs from 'node:fs';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { z } from 'zod';
import type { LookupTarget } from '../core/lookup';
import { pathText, readYaml } from '../core/yaml-lines';

/** Credentials as the SDK takes them (static or a provider); derived so no extra package is needed. */
type Credentials = NonNullable<Parameters<typeof fromTemporaryCredentials>[0]['masterCredentials']>;
type CredentialProvider = ReturnType<typeof fromTemporaryCredentials>;

const INTAKE_SESSION_NAME = 'vouch-intake';

const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}|\{account\}):role\/[\w+=,.@/-]{1,512}$/;

const accountId = z.union([z.string(), z.number()]).transform((v, ctx) => {
  if (typeof v === 'number') {
    const s = String(v);
    if (Number.isInteger(v) && s.length === 12) return s;
    ctx.addIssue({ code: 'custom', message: 'must be a 12-digit account id in quotes ("012345678901"): unquoted digits are read as a number' });
    return z.NEVER;
  }
  if (!/^\d{12}$/.test(v)) {
    ctx.addIssue({ code: 'custom', message: `must be a 12-digit account id, got ${JSON.stringify(v.slice(0, 40))}` });
    return z.NEVER;
  }
  return v;
});

const regions = z
  .array(z.string().regex(REGION, 'must be an AWS Region like us-east-1'))
  .min(1, 'must list at least one Region');
const roleArn = z.string().regex(ROLE_ARN, 'must look like arn:aws:iam::111122223333:role/NAME (or {account} for the id)');
const externalId = z.string().regex(/^[\w+=,.@:/-]{2,1224}$/, 'must be 2–1224 characters of [A-Za-z0-9+=,.@:/_-]');

const accountSchema = z
  .object({
    id: accountId,
    name: z.string().min(1).optional(),
    regions: regions.optional(),
    roleArn: roleArn.optional(),
    externalId: externalId.optional(),
  })
  .strict();

const fileSchema = z
  .object({
    defaults: z
      .object({ regions: regions.optional(), roleArn: roleArn.optional(), externalId: externalId.optional() })
      .strict()
      .optional(),
    accounts: z.array(accountSchema).min(1, 'must list at least one account'),
  })
  .strict()
  // The checks that need the whole file, once every entry has the right shape.
  .superRefine((file, ctx) => {
    const seen = new Map<string, number>();
    file.accounts.forEach((a, i) => {
      const first = seen.get(a.id);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['accounts', i, 'id'], message: `repeats account ${a.id} (first at accounts[${first}])` });
      else seen.set(a.id, i);
      const role = roleOf(a, file.defaults);
      const roleAccount = role ? /:iam::(\d{12}):/.exec(role)?.[1] : undefined;
      if (role && roleAccount !== a.id) ctx.addIssue({ code: 'custom', path: ['accounts', i, 'roleArn'], message: `is a role in account ${roleAccount}, not in ${a.id}` });
      if (!a.regions && !file.defaults?.regions) ctx.addIssue({ code: 'custom', path: ['accounts', i, 'regions'], message: 'is required (no defaults.regions either)' });
    });
  })
  .transform((file): AccountConfig[] =>
    file.accounts.map((a) => {
      const role = roleOf(a, file.defaults);
      const ext = a.externalId ?? file.defaults?.externalId;
      return {
        id: a.id,
        ...(a.name ? { name: a.name } : {}),
        regions: [...new Set(a.regions ?? file.defaults?.regions ?? [])],
        ...(role ? { roleArn: role } : {}),
        ...(ext ? { externalId: ext } : {}),
      };
    }),
  );

/** The account's role with `{account}` filled in (its own, else the default). */
function roleOf(a: { id: string; roleArn?: string }, defaults: { roleArn?: string } | undefined): string | undefined {
  return (a.roleArn ?? defaults?.roleArn)?.split('{account}').join(a.id);
}

export interface AccountConfig {
  id: string;
  name?: string;
  regions: string[];
  /** Resolved (no `{account}` left); absent: vouch's own credentials act in this account. */
  roleArn?: string;
  externalId?: string;
}

export class AccountsError extends Error {
  constructor(
    readonly file: string,
    readonly problems: Array<{ line?: number; path: string; message: string }>,
  ) {
    super(
      `${file}: ${problems.length} problem(s):\n${problems
        .map((p) => `  - ${p.line ? `line ${p.line}: ` : ''}${p.path || '(top)'} ${p.message}`)
        .join('\n')}`,
    );
    this.name = 'AccountsError';
  }
}

/** Parses and checks an accounts file's text (YAML, of which JSON is a subset). */
export function parseAccounts(text: string, file = 'accounts'): AccountConfig[] {
  const yaml = readYaml(text);
  if (yaml.errors.length > 0) throw new AccountsError(file, yaml.errors.map((e) => ({ line: e.line, path: '', message: e.message })));
  const parsed = fileSchema.safeParse(yaml.value);
  if (!parsed.success) {
    throw new AccountsError(
      file,
      parsed.error.issues.map((i) => ({ line: yaml.lineOf(i.path) || undefined, path: pathText(i.path), message: i.message })),
    );
  }
  return parsed.data;
}

export function loadAccounts(file: string): AccountConfig[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new AccountsError(file, [{ path: '', message: `cannot be read: ${(err as Error).message}` }]);
  }
  return parseAccounts(text, file);
}

/** One target per account and Region. */
export function lookupTargets(accounts: AccountConfig[]): LookupTarget[] {
  return accounts.flatMap((a) =>
    a.regions.map((region) => ({
      account: a.id,
      region,
      ...(a.roleArn ? { roleArn: a.roleArn } : {}),
      ...(a.externalId ? { externalId: a.externalId } : {}),
    })),
  );
}

export interface CredentialOptions {
  /** STS endpoint override (moto in tests); otherwise the SDK's default (or AWS_ENDPOINT_URL_STS). */
  stsEndpoint?: string;
  /** Region for STS calls. Default: the target's Region. */
  stsRegion?: string;
  /** Credentials that call AssumeRole; the SDK's default chain when absent. */
  masterCredentials?: Credentials;
  sessionName?: string;
  /** Seconds. Default 3600. */
  durationSeconds?: number;
}

/** Keeps a role's credentials until five minutes before they expire, so every client of the account shares them. */
function memoize(provider: CredentialProvider): CredentialProvider {
  let current: ReturnType<CredentialProvider> | undefined;
  let expires = 0;
  return (props) => {
    const stale = expires > 0 && Date.now() > expires - 5 * 60_000;
    if (!current || stale || (props as { forceRefresh?: boolean } | undefined)?.forceRefresh) {
      const next = provider(props).then((c) => {
        expires = c.expiration?.getTime() ?? 0;
        return c;
      });
      next.catch(() => {
        if (current === next) current = undefined; // never cache a failure
      });
      current = next;
    }
    return current;
  };
}

/**
 * Credentials per role: one `fromTemporaryCredentials` provider per (role, external id), which assumes the role on
 * first use and refreshes itself before expiry. Targets without a role get `undefined` (the default chain).
 */
export function createCredentialCache(opts: CredentialOptions = {}) {
  const providers = new Map<string, CredentialProvider>();
  return (target: { roleArn?: string; externalId?: string; region: string }): CredentialProvider | undefined => {
    if (!target.roleArn) return undefined;
    const key = `${target.roleArn}\0${target.externalId ?? ''}`;
    let p = providers.get(key);
    if (!p) {
      p = memoize(fromTemporaryCredentials({
        params: {
          RoleArn: target.roleArn,
          RoleSessionName: opts.sessionName ?? INTAKE_SESSION_NAME,
          DurationSeconds: opts.durationSeconds ?? 3600,
          ...(target.externalId ? { ExternalId: target.externalId } : {}),
        },
        ...(opts.masterCredentials ? { masterCredentials: opts.masterCredentials } : {}),
        clientConfig: {
          region: opts.stsRegion ?? target.region,
          maxAttempts: 2,
          ...(opts.stsEndpoint ? { endpoint: opts.stsEndpoint } : {}),
        },
      }));
      providers.set(key, p);
    }
    return p;
  };
}

export interface CloudTrailClientOptions extends CredentialOptions {
  /** CloudTrail endpoint override (the loopback stand-in); otherwise the SDK's default (or AWS_ENDPOINT_URL_CLOUDTRAIL). */
  cloudTrailEndpoint?: string;
  /** Static credentials for targets without a role (tests); the default chain otherwise. */
  defaultCredentials?: Credentials;
}

/** CloudTrail clients per (account, Region, role), with SDK retries off: Temporal's retry policy owns the backoff. */
export function createCloudTrailClients(opts: CloudTrailClientOptions = {}): (target: LookupTarget) => CloudTrailClient {
  const credentialsFor = createCredentialCache(opts);
  const clients = new Map<string, CloudTrailClient>();
  return (target) => {
    const key = `${target.account}\0${target.region}\0${target.roleArn ?? ''}\0${target.externalId ?? ''}`;
    let c = clients.get(key);
    if (!c) {
      const credentials = credentialsFor(target) ?? opts.defaultCredentials;
      c = new CloudTrailClient({
        region: target.region,
        maxAttempts: 1,
        ...(credentials ? { credentials } : {}),
        ...(opts.cloudTrailEndpoint ? { endpoint: opts.cloudTrailEndpoint } : {}),
      });
      clients.set(key, c);
    }
    return c;
  };
}
