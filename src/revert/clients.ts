// AWS SDK v3 clients for the reverts and the baseline reads: one client per service a plan can name, acting in the
// target account (as the role session `vouch-revert-<eventId>` for a revert, `vouch-baseline-*` for the reads).
//
// The right account, proven: each client's credentials are those of the revert role *of the record's account*
// (`roleArnTemplate` with `{account}` filled in), and before its first call every client asks STS GetCallerIdentity
// with the same credentials whether they belong to that account. A mismatch fails RevertWrongAccount before any call
// reaches the service; a role that cannot be assumed fails RevertRoleUnavailable; with `requireRole` and no template
// every client refuses (RevertRoleUnavailable). See the README, "Threat model".
import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ControlClient } from '@aws-sdk/client-s3-control';
import { KMSClient } from '@aws-sdk/client-kms';
import { GuardDutyClient } from '@aws-sdk/client-guardduty';
import { ConfigServiceClient } from '@aws-sdk/client-config-service';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { FailureTypes, type AwsService } from '../core/types';
import { REVERT_SESSION_PREFIX } from './plan-common';
import { revertFailure, RevertFailure } from './failures';

// ---- clients ----

/** The SDK v3 client of each service a plan can name. */
export interface AwsClients {
  ec2: EC2Client;
  cloudtrail: CloudTrailClient;
  iam: IAMClient;
  s3: S3Client;
  s3control: S3ControlClient;
  kms: KMSClient;
  guardduty: GuardDutyClient;
  config: ConfigServiceClient;
  lambda: LambdaClient;
  rds: RDSClient;
}

export type AwsClientFor = <S extends AwsService>(
  service: S,
  account: string,
  region: string,
  sessionName: string,
) => AwsClients[S];

export interface AwsClientFactoryOptions {
  /** Role to assume in the target account, `{account}` replaced: `arn:aws:iam::{account}:role/vouch-revert`. */
  roleArnTemplate?: string;
  /** Endpoint override for every service (and STS when a role is assumed), e.g. a local moto_server. */
  endpoint?: string;
  /** Static credentials (the caller of AssumeRole when a template is set); the SDK's default chain otherwise. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /**
   * Refuse to act without `roleArnTemplate` (RevertRoleUnavailable): the worker sets it, so that vouch's own
   * credentials never act for a record of another account. Default false (tests and single-account tools).
   */
  requireRole?: boolean;
  /** Check with STS GetCallerIdentity that the credentials belong to the target account before any call. Default true. */
  verifyAccount?: boolean;
}

/** What createAwsClientFactory builds: spread it into the activities' dependencies. */
export interface AwsClientFactory {
  clientFor: AwsClientFor;
}

/** SDK retries are bounded to one extra attempt: Temporal's retry policy owns the backoff. */
const SDK_MAX_ATTEMPTS = 2;

/** `vouch-revert-<eventId>`, limited to AssumeRole's 2–64 characters of `[\w+=,.@-]`. */
export function revertSessionName(eventId: string): string {
  return sanitizeSessionName(`${REVERT_SESSION_PREFIX}${eventId}`);
}

function sanitizeSessionName(name: string): string {
  const clean = name.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  return clean.length >= 2 ? clean : `${REVERT_SESSION_PREFIX}${clean}`.slice(0, 64);
}

type Credentials = NonNullable<EC2ClientConfig['credentials']>;

/** The part of an SDK client's middleware stack vouch uses (every client has the same one; the union does not say so). */
interface MiddlewareStackLike {
  add(
    middleware: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>,
    options: { step: 'initialize'; name: string; priority: 'high' },
  ): void;
}

/**
 * Builds `clientFor`: one client per call, assuming the revert role in the target account when configured.
 * Credential providers are shared per account and session, so one revert assumes the role once.
 */
export function createAwsClientFactory(opts: AwsClientFactoryOptions = {}): AwsClientFactory {
  const providers = new Map<string, Credentials>();
  const roleArnOf = (account: string): string | undefined => opts.roleArnTemplate?.split('{account}').join(account);
  const credentialsFor = (account: string, region: string, sessionName: string): Credentials | undefined => {
    if (!opts.roleArnTemplate) return opts.credentials;
    const key = `${account}|${sessionName}`;
    let provider = providers.get(key);
    if (!provider) {
      provider = fromTemporaryCredentials({
        params: {
          RoleArn: roleArnOf(account) as string,
          RoleSessionName: sanitizeSessionName(sessionName),
          DurationSeconds: 900,
        },
        ...(opts.credentials ? { masterCredentials: opts.credentials } : {}),
        clientConfig: {
          region,
          maxAttempts: SDK_MAX_ATTEMPTS,
          ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
        },
      });
      if (providers.size >= 256) providers.delete(providers.keys().next().value as string);
      providers.set(key, provider);
    }
    return provider;
  };

  // One proof per (account, session): the credentials' own account, from STS, before the first call of any client.
  const proofs = new Map<string, Promise<void>>();
  const prove = (account: string, region: string, sessionName: string, credentials: Credentials | undefined): Promise<void> => {
    const key = `${account}|${sessionName}`;
    let proof = proofs.get(key);
    if (!proof) {
      proof = proveAccount({ account, region, credentials, roleArn: roleArnOf(account), ...(opts.endpoint ? { endpoint: opts.endpoint } : {}) });
      proof.catch(() => proofs.delete(key)); // a failed proof is asked again next time
      if (proofs.size >= 256) proofs.delete(proofs.keys().next().value as string);
      proofs.set(key, proof);
    }
    return proof;
  };

  const clientFor: AwsClientFor = (service, account, region, sessionName) => {
    if (!/^\d{12}$/.test(account)) throw new Error(`not an AWS account id: ${JSON.stringify(account)}`);
    if (opts.requireRole && !opts.roleArnTemplate) {
      throw new RevertFailure({
        message: `no revert role for account ${account}: VOUCH_REVERT_ROLE_ARN_TEMPLATE is not set, and vouch's own credentials never act for a record`,
        type: FailureTypes.RevertRoleUnavailable,
        nonRetryable: true,
      });
    }
    const credentials = credentialsFor(account, region, sessionName);
    const base = {
      region,
      maxAttempts: SDK_MAX_ATTEMPTS,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(credentials ? { credentials } : {}),
    };
    const make = (): AwsClients[keyof AwsClients] => {
      switch (service) {
        case 'ec2':
          return new EC2Client(base);
        case 'cloudtrail':
          return new CloudTrailClient(base);
        case 'iam':
          return new IAMClient(base);
        case 's3':
          return new S3Client({ ...base, ...(opts.endpoint ? { forcePathStyle: true } : {}) });
        case 's3control': {
          // The endpoint rules put the account id in front of the host ({AccountId}.host), which a local endpoint
          // cannot serve: against an override, send every call to the endpoint as given.
          const endpoint = opts.endpoint;
          return new S3ControlClient({ ...base, ...(endpoint ? { endpointProvider: () => ({ url: new URL(endpoint) }) } : {}) });
        }
        case 'kms':
          return new KMSClient(base);
        case 'guardduty':
          return new GuardDutyClient(base);
        case 'config':
          return new ConfigServiceClient(base);
        case 'lambda':
          return new LambdaClient(base);
        case 'rds':
          return new RDSClient(base);
        default:
          throw new Error(`no client for AWS service ${JSON.stringify(service)}`);
      }
    };
    const client = make();
    if (opts.verifyAccount !== false) {
      // Before anything else in the SDK's stack (even the retry step): no request leaves with unproven credentials.
      const stack = client.middlewareStack as unknown as MiddlewareStackLike;
      stack.add(
        (next) => async (args) => {
          await prove(account, region, sessionName, credentials);
          return next(args);
        },
        { step: 'initialize', name: 'vouchProveAccount', priority: 'high' },
      );
    }
    return client as AwsClients[typeof service];
  };

  return { clientFor };
}

/**
 * Asks STS GetCallerIdentity, with the credentials a client is about to use, which account they belong to; throws
 * RevertWrongAccount when it is not `account`, RevertRoleUnavailable when the role cannot be assumed, and a retryable
 * failure when STS could not be reached.
 */
async function proveAccount(o: {
  account: string;
  region: string;
  credentials: Credentials | undefined;
  roleArn: string | undefined;
  endpoint?: string;
}): Promise<void> {
  const sts = new STSClient({
    region: o.region,
    maxAttempts: SDK_MAX_ATTEMPTS,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    ...(o.credentials ? { credentials: o.credentials } : {}),
  });
  let actual: string | undefined;
  try {
    actual = (await sts.send(new GetCallerIdentityCommand({}))).Account;
  } catch (err) {
    const f = revertFailure(err, o.roleArn ? `AssumeRole ${o.roleArn} / GetCallerIdentity` : 'GetCallerIdentity');
    if (!f.nonRetryable) throw f;
    throw new RevertFailure({
      message: o.roleArn
        ? `cannot act in account ${o.account}: the revert role ${o.roleArn} cannot be assumed (${f.message})`
        : `cannot act in account ${o.account}: the credentials were refused (${f.message})`,
      type: FailureTypes.RevertRoleUnavailable,
      nonRetryable: true,
      ...(err instanceof Error ? { cause: err } : {}),
    });
  } finally {
    sts.destroy();
  }
  if (actual !== o.account) {
    throw new RevertFailure({
      message: `the credentials for account ${o.account} belong to account ${actual ?? '(none)'} (STS GetCallerIdentity): no call was made`,
      type: FailureTypes.RevertWrongAccount,
      nonRetryable: true,
    });
  }
}
