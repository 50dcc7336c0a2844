// The floor: CloudTrail event → IAM action (the mapping AWS documents), access levels from AWS's action catalogue,
// and the shipped floor's tiers for the kinds of write the floor exists for. Expected IAM actions are written here
// from AWS's documentation (the links beside the tables in src/core/iam-action-names.ts), not read from the code.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { EVENT_ACTION } from '../../src/core/iam-action-names';
import { iamCatalogue } from '../../src/policy/iam-catalogue';
import { assess, classifier, loadPolicy, parsePolicy } from '../../src/policy';
import { normalise, parseRecords } from '../../src/intake/normalise';
import { ACCOUNT, assumedRole, change, quickAssess } from './records';

const catalogue = iamCatalogue();
const SHARED = path.resolve(__dirname, '../../../shared/data/cloudtrail');

function jsonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...jsonFiles(full));
    else if (e.name.endsWith('.json')) out.push(full);
  }
  return out.sort();
}

describe('CloudTrail event names as IAM actions', () => {
  const documented: [string, string, string][] = [
    // S3: the CloudTrail name is the API operation, the IAM action is the permission it needs.
    ['s3.amazonaws.com', 'PutBucketLifecycle', 's3:PutLifecycleConfiguration'],
    ['s3.amazonaws.com', 'DeleteBucketLifecycle', 's3:PutLifecycleConfiguration'],
    ['s3.amazonaws.com', 'DeleteBucketCors', 's3:PutBucketCORS'],
    ['s3.amazonaws.com', 'PutBucketReplication', 's3:PutReplicationConfiguration'],
    ['s3.amazonaws.com', 'DeleteBucketEncryption', 's3:PutEncryptionConfiguration'],
    ['s3.amazonaws.com', 'ListBuckets', 's3:ListAllMyBuckets'],
    ['s3.amazonaws.com', 'DeleteObjects', 's3:DeleteObject'],
    ['s3.amazonaws.com', 'PutObjectLockConfiguration', 's3:PutBucketObjectLockConfiguration'],
    ['s3.amazonaws.com', 'PutBucketPolicy', 's3:PutBucketPolicy'],
    // Lambda: API version suffixes, and Invoke.
    ['lambda.amazonaws.com', 'AddPermission20150331v2', 'lambda:AddPermission'],
    ['lambda.amazonaws.com', 'UpdateFunctionConfiguration20150331v2', 'lambda:UpdateFunctionConfiguration'],
    ['lambda.amazonaws.com', 'PublishLayerVersion20181031', 'lambda:PublishLayerVersion'],
    ['lambda.amazonaws.com', 'Invoke', 'lambda:InvokeFunction'],
    // CloudFront's dated suffix.
    ['cloudfront.amazonaws.com', 'UpdateDistribution2020_05_31', 'cloudfront:UpdateDistribution'],
    // eventSources whose host is not the IAM prefix.
    ['monitoring.amazonaws.com', 'DeleteAlarms', 'cloudwatch:DeleteAlarms'],
    ['email.amazonaws.com', 'SendEmail', 'ses:SendEmail'],
    ['cloudcontrolapi.amazonaws.com', 'CreateResource', 'cloudformation:CreateResource'],
    // API Gateway's actions are HTTP verbs.
    ['apigateway.amazonaws.com', 'CreateRestApi', 'apigateway:POST'],
    ['apigateway.amazonaws.com', 'UpdateStage', 'apigateway:PATCH'],
    ['apigateway.amazonaws.com', 'PutIntegration', 'apigateway:PUT'],
    ['apigateway.amazonaws.com', 'DeleteStage', 'apigateway:DELETE'],
    // Identity Center and Route 53 domains log some APIs under a sibling's source.
    ['sso.amazonaws.com', 'EnableExternalIdPConfigurationForDirectory', 'sso-directory:EnableExternalIdPConfigurationForDirectory'],
    ['sso-directory.amazonaws.com', 'AssociateDirectory', 'sso:AssociateDirectory'],
    ['route53.amazonaws.com', 'DisableDomainTransferLock', 'route53domains:DisableDomainTransferLock'],
    // Plain ones.
    ['iam.amazonaws.com', 'PutRolePolicy', 'iam:PutRolePolicy'],
    ['guardduty.amazonaws.com', 'DeleteDetector', 'guardduty:DeleteDetector'],
  ];

  test('the documented names resolve to their IAM actions, with AWS-documented access levels', () => {
    for (const [source, name, key] of documented) {
      const r = catalogue.resolve(source, name);
      assert.equal(r.known, true, `${source} ${name}`);
      assert.equal(r.key.toLowerCase(), key.toLowerCase(), `${source} ${name}`);
    }
    // Access levels as the Service Authorization Reference lists them.
    assert.equal(catalogue.resolve('iam.amazonaws.com', 'PutRolePolicy').level, 'Permissions management');
    assert.equal(catalogue.resolve('s3.amazonaws.com', 'PutBucketTagging').level, 'Tagging');
    assert.equal(catalogue.resolve('ec2.amazonaws.com', 'CreateSubnet').level, 'Write');
    assert.equal(catalogue.resolve('s3.amazonaws.com', 'ListBuckets').level, 'List');
    assert.equal(catalogue.resolve('guardduty.amazonaws.com', 'GetDetector').level, 'Read');
  });

  test('every target in the mapping tables exists in the catalogue (the tables stay true as the catalogue moves)', () => {
    for (const [service, table] of Object.entries(EVENT_ACTION)) {
      for (const [event, action] of Object.entries(table)) assert.ok(catalogue.get(service, action), `${service}: ${event} → ${action}`);
    }
  });

  test('a name the catalogue does not list is Unknown, kept as the event says it', () => {
    const r = catalogue.resolve('guardduty.amazonaws.com', 'DisableQuantumScanning');
    assert.deepEqual([r.known, r.level, r.key], [false, 'Unknown', 'guardduty:DisableQuantumScanning']);
  });

  const skip = fs.existsSync(SHARED) || process.env.CI === 'true' ? false : `${SHARED} is missing`;
  test('every API call in ../shared/data/cloudtrail maps to a catalogued action', { skip }, () => {
    const files = jsonFiles(SHARED);
    const unknown = new Set<string>();
    let calls = 0;
    for (const f of files) {
      for (const r of parseRecords(fs.readFileSync(f, 'utf8'), f) as Array<Record<string, unknown>>) {
        if (r.eventType !== 'AwsApiCall') continue;
        calls += 1;
        const hit = catalogue.resolve(String(r.eventSource), String(r.eventName));
        if (!hit.known) unknown.add(`${String(r.eventSource)} ${String(r.eventName)}`);
      }
    }
    assert.ok(calls > 2000);
    // The S3 console's storage-lens read, which IAM does not list as an action of its own.
    assert.deepEqual([...unknown].sort(), ['s3.amazonaws.com GetStorageLensDashboardDataInternal']);
  });

  test('wildcards expand case-insensitively, against the whole catalogue', () => {
    const put = catalogue.expand('iam:put*').map((a) => a.name);
    assert.ok(put.includes('PutRolePolicy') && put.includes('PutUserPermissionsBoundary'));
    assert.ok(put.every((n) => n.startsWith('Put')));
    assert.equal(catalogue.expand('*').length, catalogue.size);
    assert.ok(catalogue.expand('*:PassRole').some((a) => a.key === 'iam:PassRole'));
    assert.deepEqual(catalogue.expand('nosuchservice:*'), []);
  });
});

describe('the shipped floor', () => {
  const policy = loadPolicy();
  const call = (source: string, name: string, extra: Record<string, unknown> = {}) => assess(change({ eventSource: source, eventName: name, ...extra }), policy);

  test('each kind of write the floor is for gets its tier', () => {
    const cases: [string, string, string, string][] = [
      ['organizations.amazonaws.com', 'DetachPolicy', 'page', 'floor-detection-off'],
      ['bedrock.amazonaws.com', 'DeleteGuardrail', 'page', 'floor-detection-off'],
      ['guardduty.amazonaws.com', 'ArchiveFindings', 'page', 'floor-detection-off'],
      ['securityhub.amazonaws.com', 'BatchDisableStandards', 'page', 'floor-detection-off'],
      ['macie2.amazonaws.com', 'DeleteMember', 'page', 'floor-detection-off'],
      ['guardduty.amazonaws.com', 'UpdateMalwareScanSettings', 'notify', 'floor-detection-changed'],
      ['monitoring.amazonaws.com', 'DeleteAlarms', 'confirm', 'floor-alarms-logs-rules-off'],
      ['logs.amazonaws.com', 'DeleteSubscriptionFilter', 'confirm', 'floor-alarms-logs-rules-off'],
      ['events.amazonaws.com', 'DisableRule', 'confirm', 'floor-alarms-logs-rules-off'],
      ['sso.amazonaws.com', 'CreateAccountAssignment', 'confirm', 'floor-organization-or-sso'],
      ['identitystore.amazonaws.com', 'CreateGroupMembership', 'confirm', 'floor-organization-or-sso'],
      ['kms.amazonaws.com', 'PutKeyPolicy', 'confirm', 'floor-key-weakened'],
      ['kms.amazonaws.com', 'CreateGrant', 'notify', 'floor-permissions'],
      ['rds.amazonaws.com', 'DeleteDBInstanceAutomatedBackup', 'confirm', 'floor-data-protection-deleted'],
      ['rds.amazonaws.com', 'DeleteDBClusterSnapshot', 'confirm', 'floor-data-protection-deleted'],
      ['backup.amazonaws.com', 'DeleteRecoveryPoint', 'confirm', 'floor-data-protection-deleted'],
      ['s3.amazonaws.com', 'PutObjectLockConfiguration', 'confirm', 'floor-data-protection-deleted'],
      ['iam.amazonaws.com', 'UpdateAccessKey', 'confirm', 'floor-new-credentials'],
      ['iam.amazonaws.com', 'PutRolePermissionsBoundary', 'notify', 'floor-permissions'],
      ['ec2.amazonaws.com', 'CreateTrafficMirrorTarget', 'notify', 'floor-data-leaves'],
      ['rds.amazonaws.com', 'CopyDBClusterSnapshot', 'notify', 'floor-data-leaves'],
      ['ec2.amazonaws.com', 'CreateQuantumTunnel', 'notify', 'floor-unknown'],
      ['guardduty.amazonaws.com', 'DisableQuantumScanning', 'page', 'floor-detection-off'],
    ];
    for (const [source, name, tier, rule] of cases) {
      const a = call(source, name);
      assert.equal(a.tier, tier, `${source} ${name}: ${a.tier} (${a.reasons.join('; ')})`);
      assert.deepEqual(a.rules, [rule], `${source} ${name}`);
      assert.match(a.reasons.at(-1) ?? '', new RegExp(`^floor ${tier}: `));
      assert.equal(a.revertPlan, null, 'nothing on the floor is reverted');
    }
  });

  test('an ordinary write is ignored with its floor named; reads, AWS services and service events have no floor', () => {
    const subnet = call('ec2.amazonaws.com', 'CreateSubnet');
    assert.equal(subnet.tier, 'ignore');
    assert.match(subnet.reasons.join(' '), /floor ignore: An ordinary write: ec2:CreateSubnet \(Write\)/);
    assert.equal(call('guardduty.amazonaws.com', 'GetDetector', { readOnly: true }).tier, 'ignore');
    assert.equal(call('guardduty.amazonaws.com', 'DeleteDetector', { readOnly: true }).tier, 'ignore', 'a record marked read-only stays ignored');
    const byService = { type: 'AWSService', invokedBy: 'backup.amazonaws.com' };
    assert.equal(call('rds.amazonaws.com', 'DeleteDBClusterSnapshot', { userIdentity: byService }).tier, 'ignore');
    assert.equal(call('secretsmanager.amazonaws.com', 'EndSecretVersionDelete', { eventType: 'AwsServiceEvent', userIdentity: byService }).tier, 'ignore');
    assert.equal(call('kms.amazonaws.com', 'Decrypt', { readOnly: undefined }).tier, 'ignore', 'crypto calls are not changes, flag or no flag');
  });

  test('failed calls stay capped at notify; the floor shows only where it raises the tier', () => {
    const failed = call('organizations.amazonaws.com', 'DetachPolicy', { errorCode: 'AccessDenied' });
    assert.equal(failed.tier, 'notify');
    const trail = call('cloudtrail.amazonaws.com', 'DeleteTrail', { requestParameters: { name: 't' } });
    assert.equal(trail.tier, 'page');
    assert.deepEqual(trail.rules, ['cloudtrail-deleted'], 'the rule already pages: the floor adds nothing');
  });

  test('quickAssess agrees with assess on floor records', () => {
    for (const c of [
      change({ eventSource: 'ec2.amazonaws.com', eventName: 'CreateSubnet' }),
      change({ eventSource: 'guardduty.amazonaws.com', eventName: 'DisableQuantumScanning' }),
      change({ eventSource: 'kms.amazonaws.com', eventName: 'CreateGrant' }),
    ]) {
      const q = quickAssess({ eventSource: c.eventSource, eventName: c.eventName, readOnly: false, actor: c.actor, account: c.account }, policy);
      if (q) assert.deepEqual(q, assess(c, policy));
      else assert.notEqual(assess(c, policy).tier, 'ignore');
    }
  });

  test("classify's fast floor gives assess's answer on every record of the shared data it answers", { skip: fs.existsSync(SHARED) || process.env.CI === 'true' ? false : `${SHARED} is missing` }, () => {
    const engine = classifier(policy);
    let answered = 0;
    for (const file of jsonFiles(SHARED)) {
      parseRecords(fs.readFileSync(file, 'utf8'), file).forEach((r, i) => {
        const c = normalise(r, file, i);
        const eventType = (r as { eventType?: string }).eventType;
        const fast = engine.quickFloor(c.eventSource, c.eventName, (c as { readOnly?: boolean }).readOnly, c.actor, eventType, c.errorCode);
        if (!fast) return;
        answered += 1;
        assert.deepEqual(fast, assess(c, policy), `${file}#${i} ${c.eventName}`);
      });
    }
    assert.ok(answered >= 20, `${answered} answered`);
  });

  test('the floor is data: entries are reordered, replaced or set aside like rules', () => {
    const text = fs.readFileSync(path.resolve(__dirname, '../../src/policy/default-policy.yaml'), 'utf8');
    // An exemption naming a floor entry sets it aside for that principal.
    const exempt = text.replace(
      /^exemptions: \[\]$/m,
      `exemptions:\n  - { id: org-migration, approver: lead@example.com, reason: moving accounts, expires: 2099-01-01T00:00:00Z, principal: 'arn:aws:iam::${ACCOUNT}:role/org-admin', rules: [floor-detection-off] }`,
    );
    const p = parsePolicy(exempt, 'exempt');
    const org = (role: string) => assess(change({ eventSource: 'organizations.amazonaws.com', eventName: 'DetachPolicy', userIdentity: assumedRole(role, 's') }), p);
    assert.equal(org('org-admin').tier, 'ignore');
    assert.equal(org('someone-else').tier, 'page');
    // A policy of its own: a first entry that catches it earlier wins.
    const own = parsePolicy(
      `version: 1\nrules: []\nfloor:\n  - { id: tags-matter, title: Tags, actions: ['*'], accessLevel: [Tagging], tier: confirm }\n  - { id: rest, title: Rest, actions: ['*'], tier: ignore }\n`,
      'own',
    );
    assert.equal(assess(change({ eventSource: 's3.amazonaws.com', eventName: 'PutBucketTagging' }), own).tier, 'confirm');
    assert.equal(assess(change({ eventSource: 'ec2.amazonaws.com', eventName: 'CreateSubnet' }), own).tier, 'ignore');
    assert.throws(() => parsePolicy(`version: 1\nrules: []\nfloor:\n  - { id: x, title: X, actions: ['not an action'], tier: revert }\n`, 'bad'), /not an IAM action[\s\S]*must be one of ignore, notify, confirm, page/);
  });
});
