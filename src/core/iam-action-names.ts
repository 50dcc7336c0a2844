// CloudTrail event → IAM action: which `service:Action` of AWS's action catalogue a record is about. Pure data and
// string work; the catalogue itself (access levels) is loaded by src/policy/iam-catalogue.ts.
//
// Most records need nothing: the eventSource's host is the IAM service prefix (`guardduty.amazonaws.com` →
// `guardduty`) and the eventName is the action. The exceptions are listed here as data, each with where AWS says so:
// - a few eventSources whose prefix differs (CloudWatch logs its API as `monitoring`, SES as `email`, …);
// - version suffixes on event names (Lambda `AddPermission20150331v2`, CloudFront `CreateDistribution2020_05_31`);
// - APIs whose CloudTrail name is not the IAM action (S3 `PutBucketLifecycle` is `s3:PutLifecycleConfiguration`,
//   `DeleteBucketCors` is `s3:PutBucketCORS`; Lambda `Invoke` is `lambda:InvokeFunction`; API Gateway names its
//   actions by HTTP verb);
// - services that log some of their APIs under a sibling's eventSource (IAM Identity Center: sso / sso-directory /
//   identitystore; Route 53 domains).

/** eventSource → IAM service prefix, where the host is not the prefix. */
export const SOURCE_SERVICE: Readonly<Record<string, string>> = Object.freeze({
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/logging_cw_api_calls.html (eventSource monitoring.amazonaws.com)
  'monitoring.amazonaws.com': 'cloudwatch',
  // https://docs.aws.amazon.com/ses/latest/dg/logging-using-cloudtrail.html (eventSource email.amazonaws.com, actions ses:)
  'email.amazonaws.com': 'ses',
  // https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/overview.html (actions tag:)
  'tagging.amazonaws.com': 'tag',
  // https://docs.aws.amazon.com/cloudcontrolapi/latest/userguide/security.html (Cloud Control uses cloudformation:CreateResource …)
  'cloudcontrolapi.amazonaws.com': 'cloudformation',
  // https://docs.aws.amazon.com/lexv2/latest/dg/cloudtrail.html (models.lex / runtime.lex, actions lex:)
  'models.lex.amazonaws.com': 'lex',
  'runtime.lex.amazonaws.com': 'lex',
  // https://docs.aws.amazon.com/servicecatalog/latest/arguide/logging-using-cloudtrail.html (AppRegistry, actions servicecatalog:)
  'servicecatalog-appregistry.amazonaws.com': 'servicecatalog',
  // S3 control-plane APIs (account Block Public Access, access points) are s3: actions.
  's3-control.amazonaws.com': 's3',
  'api.mediatailor.amazonaws.com': 'mediatailor',
});

/**
 * Where a service also logs APIs that belong to a sibling's IAM prefix: tried after the service's own actions.
 * IAM Identity Center: https://docs.aws.amazon.com/singlesignon/latest/userguide/sso-info-in-cloudtrail.html (events
 * from sso, sso-directory and identitystore); Route 53 domains: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/logging-using-cloudtrail.html.
 */
export const SIBLING_SERVICES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  sso: ['sso-directory', 'identitystore'],
  'sso-directory': ['sso', 'identitystore'],
  identitystore: ['sso-directory', 'sso'],
  route53: ['route53domains'],
  route53domains: ['route53'],
});

/**
 * Event names that are not their IAM action, per service (the event name on the left, the action on the right).
 * S3: "Required permissions for Amazon S3 API operations",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html, and the CloudTrail event
 * list, https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html.
 * Lambda: https://docs.aws.amazon.com/lambda/latest/dg/lambda-api-permissions-ref.html (Invoke → lambda:InvokeFunction).
 */
export const EVENT_ACTION: Readonly<Record<string, Readonly<Record<string, string>>>> = Object.freeze({
  s3: Object.freeze({
    ListBuckets: 'ListAllMyBuckets',
    HeadBucket: 'ListBucket',
    ListObjects: 'ListBucket',
    ListObjectsV2: 'ListBucket',
    ListObjectVersions: 'ListBucketVersions',
    ListMultipartUploads: 'ListBucketMultipartUploads',
    ListParts: 'ListMultipartUploadParts',
    HeadObject: 'GetObject',
    SelectObjectContent: 'GetObject',
    CopyObject: 'PutObject',
    UploadPart: 'PutObject',
    UploadPartCopy: 'PutObject',
    CreateMultipartUpload: 'PutObject',
    CompleteMultipartUpload: 'PutObject',
    PostObject: 'PutObject',
    DeleteObjects: 'DeleteObject',
    GetBucketLifecycle: 'GetLifecycleConfiguration',
    GetBucketLifecycleConfiguration: 'GetLifecycleConfiguration',
    PutBucketLifecycle: 'PutLifecycleConfiguration',
    PutBucketLifecycleConfiguration: 'PutLifecycleConfiguration',
    DeleteBucketLifecycle: 'PutLifecycleConfiguration',
    GetBucketReplication: 'GetReplicationConfiguration',
    PutBucketReplication: 'PutReplicationConfiguration',
    DeleteBucketReplication: 'PutReplicationConfiguration',
    GetBucketEncryption: 'GetEncryptionConfiguration',
    PutBucketEncryption: 'PutEncryptionConfiguration',
    DeleteBucketEncryption: 'PutEncryptionConfiguration',
    DeleteBucketCors: 'PutBucketCORS',
    DeleteBucketTagging: 'PutBucketTagging',
    DeleteBucketOwnershipControls: 'PutBucketOwnershipControls',
    DeleteBucketPublicAccessBlock: 'PutBucketPublicAccessBlock',
    GetPublicAccessBlock: 'GetAccountPublicAccessBlock',
    PutPublicAccessBlock: 'PutAccountPublicAccessBlock',
    DeletePublicAccessBlock: 'PutAccountPublicAccessBlock',
    DeleteAccountPublicAccessBlock: 'PutAccountPublicAccessBlock',
    GetBucketNotificationConfiguration: 'GetBucketNotification',
    PutBucketNotificationConfiguration: 'PutBucketNotification',
    GetObjectLockConfiguration: 'GetBucketObjectLockConfiguration',
    PutObjectLockConfiguration: 'PutBucketObjectLockConfiguration',
    GetBucketIntelligentTieringConfiguration: 'GetIntelligentTieringConfiguration',
    PutBucketIntelligentTieringConfiguration: 'PutIntelligentTieringConfiguration',
    DeleteBucketIntelligentTieringConfiguration: 'PutIntelligentTieringConfiguration',
    GetBucketAnalyticsConfiguration: 'GetAnalyticsConfiguration',
    PutBucketAnalyticsConfiguration: 'PutAnalyticsConfiguration',
    DeleteBucketAnalyticsConfiguration: 'PutAnalyticsConfiguration',
    GetBucketInventoryConfiguration: 'GetInventoryConfiguration',
    PutBucketInventoryConfiguration: 'PutInventoryConfiguration',
    DeleteBucketInventoryConfiguration: 'PutInventoryConfiguration',
    GetBucketMetricsConfiguration: 'GetMetricsConfiguration',
    PutBucketMetricsConfiguration: 'PutMetricsConfiguration',
    DeleteBucketMetricsConfiguration: 'PutMetricsConfiguration',
    GetBucketAccelerateConfiguration: 'GetAccelerateConfiguration',
    PutBucketAccelerateConfiguration: 'PutAccelerateConfiguration',
  }),
  lambda: Object.freeze({
    Invoke: 'InvokeFunction',
    InvokeWithResponseStream: 'InvokeFunction',
  }),
});

/**
 * API Gateway's IAM actions are HTTP verbs on resource paths (apigateway:POST, PATCH, PUT, DELETE, GET), while
 * CloudTrail names the API operation: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonapigatewaymanagement.html
 * and https://docs.aws.amazon.com/apigateway/latest/developerguide/cloudtrail.html. Read by the operation's verb.
 */
export const API_GATEWAY_VERBS: ReadonlyArray<readonly [RegExp, string]> = Object.freeze([
  [/^(Create|Import|Generate|Test|Tag)/, 'POST'],
  [/^(Update|Reset)/, 'PATCH'],
  [/^Put/, 'PUT'],
  [/^(Delete|Flush|Untag)/, 'DELETE'],
  [/^(Get|List)/, 'GET'],
] as const);

/** `AddPermission20150331v2` → `AddPermission`; `CreateDistribution2020_05_31` → `CreateDistribution`. */
export function baseEventName(name: string): string {
  const m = /^([A-Za-z]+?)(\d{8}(v\d+)?|\d{4}_\d{2}_\d{2})$/.exec(name);
  return m ? (m[1] as string) : name;
}

/** The IAM service prefix of an eventSource (`ec2.amazonaws.com` → `ec2`). */
export function serviceOfSource(eventSource: string): string {
  const mapped = SOURCE_SERVICE[eventSource];
  if (mapped) return mapped;
  return eventSource.endsWith('.amazonaws.com') ? eventSource.slice(0, -'.amazonaws.com'.length) : eventSource;
}

export interface ActionName {
  service: string;
  /** The action as IAM spells it when the tables say so, else the event name without its version suffix. */
  action: string;
}

/** The IAM actions a record may be about, best first: the service's own, then its siblings'. */
export function actionCandidates(eventSource: string, eventName: string): ActionName[] {
  const service = serviceOfSource(eventSource);
  const base = baseEventName(eventName);
  const own = actionIn(service, base);
  const out: ActionName[] = [{ service, action: own }];
  for (const sibling of SIBLING_SERVICES[service] ?? []) out.push({ service: sibling, action: actionIn(sibling, base) });
  return out;
}

function actionIn(service: string, base: string): string {
  const mapped = EVENT_ACTION[service]?.[base];
  if (mapped) return mapped;
  if (service === 'apigateway') {
    for (const [re, verb] of API_GATEWAY_VERBS) if (re.test(base)) return verb;
  }
  return base;
}
