// The shipped policy over the real CloudTrail data in ../shared/data/cloudtrail (never copied into the repo):
// every Stratus Red Team technique's key event at the tier the risky-changes catalogue suggests (see the header of
// default-policy.yaml), and the Invictus hour's read-only and failed calls demoted. Without ../shared this file skips, except under CI=true where it fails.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { normalise, parseRecords } from '../../src/intake/normalise';
import { assess, loadPolicy, type Assessment } from '../../src/policy';
import type { Change, Tier } from '../../src/core/types';

const DATA = path.resolve(__dirname, '../../../shared/data/cloudtrail');
const STRATUS = path.join(DATA, 'stratus-detonations');
const INVICTUS = path.join(DATA, 'invictus-aws-dataset', 'CloudTrail');
const present = fs.existsSync(STRATUS) && fs.existsSync(INVICTUS);
if (!present && process.env.CI === 'true') throw new Error(`${DATA} is missing: CI needs the shared CloudTrail data`);

/**
 * technique → key event → tier, written down from the catalogue: its auto-revert rows are `revert` where the record
 * alone carries the undo (README, "from the event alone") and `page` where the undo needs a trusted baseline, which
 * these tests do not keep. `row` is the catalogue row; null = outside the catalogue (vouch's extra notify rules, or
 * nothing to flag: read-only calls and failed calls).
 */
const EXPECTED: Record<string, { event: string; tier: Tier; row: number | null }> = {
  'credential-access.ec2-get-password-data': { event: 'GetPasswordData', tier: 'ignore', row: null }, // failed, read-only
  'credential-access.ec2-steal-instance-credentials': { event: 'SendCommand', tier: 'notify', row: null },
  'credential-access.secretsmanager-batch-retrieve-secrets': { event: 'BatchGetSecretValue', tier: 'ignore', row: null },
  'credential-access.secretsmanager-retrieve-secrets': { event: 'GetSecretValue', tier: 'ignore', row: null },
  'credential-access.ssm-retrieve-securestring-parameters': { event: 'GetParameters', tier: 'ignore', row: null },
  'defense-evasion.cloudtrail-delete': { event: 'DeleteTrail', tier: 'page', row: 7 },
  'defense-evasion.cloudtrail-event-selectors': { event: 'PutEventSelectors', tier: 'page', row: 9 }, // baseline plan; none saved here
  'defense-evasion.cloudtrail-stop': { event: 'StopLogging', tier: 'revert', row: 6 },
  'defense-evasion.dns-delete-logs': { event: 'DeleteResolverQueryLogConfig', tier: 'page', row: 15 },
  'defense-evasion.organizations-leave': { event: 'LeaveOrganization', tier: 'notify', row: 44 }, // AccessDenied: noted only
  'defense-evasion.vpc-remove-flow-logs': { event: 'DeleteFlowLogs', tier: 'page', row: 15 },
  'discovery.ec2-download-user-data': { event: 'DescribeInstanceAttribute', tier: 'ignore', row: null },
  'execution.ec2-launch-unusual-instances': { event: 'RunInstances', tier: 'ignore', row: null }, // failed
  'execution.ec2-user-data': { event: 'ModifyInstanceAttribute', tier: 'page', row: 40 },
  'execution.ssm-send-command': { event: 'SendCommand', tier: 'notify', row: null },
  'execution.ssm-start-session': { event: 'StartSession', tier: 'notify', row: null },
  'exfiltration.ec2-security-group-open-port-22-ingress': { event: 'AuthorizeSecurityGroupIngress', tier: 'revert', row: 1 },
  'exfiltration.ec2-share-ami': { event: 'ModifyImageAttribute', tier: 'revert', row: 37 },
  'exfiltration.ec2-share-ebs-snapshot': { event: 'ModifySnapshotAttribute', tier: 'revert', row: 36 },
  'exfiltration.rds-share-snapshot': { event: 'ModifyDBSnapshotAttribute', tier: 'revert', row: 38 },
  'impact.bedrock-invoke-model': { event: 'InvokeModel', tier: 'ignore', row: null },
  'initial-access.console-login-without-mfa': { event: 'ConsoleLogin', tier: 'confirm', row: 31 },
  'lateral-movement.ec2-instance-connect': { event: 'SendSSHPublicKey', tier: 'notify', row: null },
  'lateral-movement.ec2-serial-console-send-ssh-public-key': { event: 'EnableSerialConsoleAccess', tier: 'revert', row: 41 },
  'persistence.iam-backdoor-role': { event: 'UpdateAssumeRolePolicy', tier: 'page', row: 25 },
  'persistence.iam-backdoor-user': { event: 'CreateAccessKey', tier: 'confirm', row: 20 },
  'persistence.iam-create-admin-user': { event: 'AttachUserPolicy', tier: 'confirm', row: 22 },
  'persistence.iam-create-backdoor-role': { event: 'AttachRolePolicy', tier: 'confirm', row: 22 },
  'persistence.iam-create-user-login-profile': { event: 'CreateLoginProfile', tier: 'confirm', row: 26 },
  'persistence.lambda-backdoor-function': { event: 'AddPermission20150331v2', tier: 'revert', row: 42 },
  'persistence.lambda-layer-extension': { event: 'UpdateFunctionConfiguration20150331v2', tier: 'page', row: 43 },
  'persistence.lambda-overwrite-code': { event: 'UpdateFunctionCode20150331v2', tier: 'page', row: 43 },
  'persistence.rolesanywhere-create-trust-anchor': { event: 'CreateTrustAnchor', tier: 'page', row: 29 },
  'persistence.sts-federation-token': { event: 'GetFederationToken', tier: 'notify', row: null },
  'privilege-escalation.iam-update-user-login-profile': { event: 'UpdateLoginProfile', tier: 'page', row: 27 },
};

function load(file: string): Change[] {
  return parseRecords(fs.readFileSync(file, 'utf8'), file).map((r, i) => normalise(r, file, i));
}

function counts(list: Assessment[]): Record<Tier, number> {
  const c: Record<Tier, number> = { ignore: 0, notify: 0, confirm: 0, page: 0, revert: 0 };
  for (const a of list) c[a.tier] += 1;
  return c;
}

describe('default policy over ../shared/data/cloudtrail', { skip: present ? false : `${DATA} is missing` }, () => {
  const policy = loadPolicy();
  const rowsOf = new Map(policy.rules.map((r) => [r.id, r.rows]));

  test('every Stratus Red Team technique: its key event at the tier the catalogue suggests', (t) => {
    const files = fs.readdirSync(STRATUS).filter((f) => f.endsWith('.json')).sort();
    const techniques = files.map((f) => f.replace(/^aws\./, '').replace(/\.json$/, ''));
    assert.deepEqual(techniques, Object.keys(EXPECTED).sort(), 'the table names every technique file, and only those');
    const all: Assessment[] = [];
    for (const [i, file] of files.entries()) {
      const technique = techniques[i] as string;
      const want = EXPECTED[technique] as (typeof EXPECTED)[string];
      const changes = load(path.join(STRATUS, file));
      const assessed = changes.map((c) => ({ c, a: assess(c, policy) }));
      all.push(...assessed.map((x) => x.a));
      const key = assessed.filter((x) => x.c.eventName === want.event);
      assert.ok(key.length > 0, `${technique}: no ${want.event} record`);
      for (const { c, a } of key) {
        assert.equal(a.tier, want.tier, `${technique}: ${c.eventName} ${c.eventId} is ${a.tier} (${a.reasons.join('; ')}), expected ${want.tier}`);
        if (want.tier === 'revert') assert.ok(a.revertPlan, `${technique}: the revert tier carries its plan`);
        if (want.row !== null) {
          assert.ok(a.rules.some((id) => rowsOf.get(id)?.includes(want.row as number)), `${technique}: a rule citing row ${want.row} matched (${a.rules.join(', ')})`);
        }
        if (a.tier !== 'ignore') assert.ok(a.reasons.length > 0 && !a.reasons.some((r) => r.includes('?')), `${technique}: reasons name the resource: ${a.reasons.join('; ')}`);
      }
    }
    t.diagnostic(`stratus tiers: ${JSON.stringify(counts(all))} of ${all.length} records`);
  });

  test('auto-revert rows do get a plan where the record alone is enough', () => {
    const port22 = load(path.join(STRATUS, 'aws.exfiltration.ec2-security-group-open-port-22-ingress.json')).find((c) => c.eventName === 'AuthorizeSecurityGroupIngress') as Change;
    const a = assess(port22, policy);
    assert.equal(a.tier, 'revert');
    assert.equal(a.revertPlan?.operation, 'RevokeSecurityGroupIngress');
    // Expected values are read from the record (in place in ../shared), not copied here.
    const req = port22.request as { groupId: string; cidrIp: string };
    const rules = (port22.response as { securityGroupRuleSet: { items: Array<{ securityGroupRuleId: string }> } }).securityGroupRuleSet.items;
    assert.deepEqual(a.revertPlan?.input, { GroupId: req.groupId, SecurityGroupRuleIds: rules.map((r) => r.securityGroupRuleId) });
    assert.deepEqual(a.reasons, [`security group ${req.groupId} opened to ${req.cidrIp} on port 22`]);
  });

  test('the Invictus hour: read-only calls ignored, failed calls at most noted and never reverted', (t) => {
    const files = fs.readdirSync(INVICTUS).filter((f) => f.endsWith('.json')).sort();
    const all: Assessment[] = [];
    let readOnly = 0;
    let failed = 0;
    for (const f of files) {
      for (const c of load(path.join(INVICTUS, f))) {
        const a = assess(c, policy);
        all.push(a);
        if ((c as { readOnly?: boolean }).readOnly === true) {
          readOnly += 1;
          assert.equal(a.tier, 'ignore', `read-only ${c.eventName} ${c.eventId}: ${a.reasons.join('; ')}`);
        }
        if (c.errorCode) {
          failed += 1;
          assert.ok(a.tier === 'ignore' || a.tier === 'notify', `failed ${c.eventName} (${c.errorCode}) is ${a.tier}`);
          assert.equal(a.revertPlan, null);
        }
      }
    }
    assert.equal(all.length, 2900);
    assert.ok(readOnly > 2000 && failed === 300, `read-only ${readOnly}, failed ${failed}`);
    const c = counts(all);
    // The attack run inside the hour is found: at least one of each acting tier.
    assert.ok(c.revert > 0 && c.page > 0 && c.confirm > 0, JSON.stringify(c));
    t.diagnostic(`invictus tiers: ${JSON.stringify(c)} of ${all.length} records (${readOnly} read-only, ${failed} failed)`);
  });

  test("vouch's own revert is recognised: the Invictus snapshot share and its removal", () => {
    // The dataset's ModifySnapshotAttribute add is flagged; the matching remove (an undo) is not risky.
    const changes = fs.readdirSync(INVICTUS).flatMap((f) => load(path.join(INVICTUS, f))).filter((c) => c.eventName === 'ModifySnapshotAttribute');
    const add = changes.find((c) => JSON.stringify(c.request).includes('"add"')) as Change;
    const remove = changes.find((c) => JSON.stringify(c.request).includes('"remove"')) as Change;
    assert.equal(assess(add, policy).tier, 'revert');
    assert.equal(assess(remove, policy).tier, 'ignore');
    // Replayed as vouch's revert session, even a risky-looking call is never reviewed.
    const asVouch = { ...add, actor: { type: 'AssumedRole' as const, name: `vouch-revert-${add.eventId}`, arn: `arn:aws:sts::${add.account}:assumed-role/vouch-revert/vouch-revert-${add.eventId}` } };
    const own = assess(asVouch, policy);
    assert.equal(own.tier, 'ignore');
    assert.deepEqual(own.rules, ['vouch-self']);
  });
});
