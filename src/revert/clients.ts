// AWS SDK v3 clients for the reverts and the baseline reads: one client per service a plan can name, acting in the
// target account (as the role session `vouch-revert-<eventId>` for a revert, `vouch-baseline-*` for the reads).
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
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { type AwsService } from '../core/types';
import { REVERT_SESSION_PREFIX } from './plan-common';

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

/**
 * Builds `clientFor`: one client per call, assuming the revert role in the target account when configured.
 * Credential providers are shared per account and session, so one revert assumes the role once.
 */
export function createAwsClientFactory(opts: AwsClientFactoryOptions = {}): AwsClientFactory {
  const providers = new Map<string, Credentials>();
  const credentialsFor = (account: string, region: string, sessionName: string): Credentials | undefined => {
    if (!opts.roleArnTemplate) return opts.credentials;
    const key = `${account}|${sessionName}`;
    let provider = providers.get(key);
    if (!provider) {
      provider = fromTemporaryCredentials({
        params: {
          RoleArn: opts.roleArnTemplate.split('{account}').join(account),
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

  const clientFor: AwsClientFor = (service, account, region, sessionName) => {
    if (!/^\d{12}$/.test(account)) throw new Error(`not an AWS account id: ${JSON.stringify(account)}`);
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
    return make() as AwsClients[typeof service];
  };

  return { clientFor };
}
