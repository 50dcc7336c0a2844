// The demo's sample records: changes made for real in moto, the scenarios, and the outcomes expected of them. Split
// out of src/demo.ts, which re-exports everything here.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  RevokeSecurityGroupEgressCommand,
  type EC2Client,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { parseRecords } from '../intake/normalise';
import { PROJECT_ROOT } from './tools/resolve';
import type { Outcome, Verdict } from '../core/types';
import { SAMPLE_EVENTS, SHARED_CLOUDTRAIL, type AutoMode } from './stack';

// ---- changes made for real in moto ----

const SG_EVENTS = new Set(['AuthorizeSecurityGroupIngress', 'AuthorizeSecurityGroupEgress']);

/** Make a security-group change for real in moto and rewrite the record's ids to match, as CloudTrail would. */
export async function enactInMoto(ec2: EC2Client, record: Record<string, unknown>): Promise<void> {
  const req = record.requestParameters as Record<string, unknown>;
  const egress = record.eventName === 'AuthorizeSecurityGroupEgress';
  const { GroupId } = await ec2.send(
    new CreateSecurityGroupCommand({ GroupName: `vouch-demo-${randomUUID().slice(0, 8)}`, Description: 'vouch demo' }),
  );
  if (!GroupId) throw new Error('moto created no security group');
  const perms: IpPermission[] = [];
  if (typeof req.cidrIp === 'string') {
    perms.push({
      IpProtocol: String(req.ipProtocol),
      FromPort: Number(req.fromPort),
      ToPort: Number(req.toPort),
      IpRanges: [{ CidrIp: req.cidrIp }],
    });
  }
  const items = (req.ipPermissions as { items?: Array<Record<string, unknown>> } | undefined)?.items ?? [];
  for (const p of items) {
    const ranges = ((p.ipRanges as { items?: Array<{ cidrIp: string }> } | undefined)?.items ?? []).map((r) => ({ CidrIp: r.cidrIp }));
    perms.push({
      IpProtocol: String(p.ipProtocol),
      ...(p.fromPort !== undefined ? { FromPort: Number(p.fromPort), ToPort: Number(p.toPort) } : {}),
      IpRanges: ranges,
    });
  }
  let ruleIds: string[];
  if (egress) {
    // A new group allows all egress; remove that first so the engineer's change is a real change.
    await ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
    const out = await ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId, IpPermissions: perms }));
    ruleIds = (out.SecurityGroupRules ?? []).map((r) => r.SecurityGroupRuleId ?? '');
  } else {
    const out = await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId, IpPermissions: perms }));
    ruleIds = (out.SecurityGroupRules ?? []).map((r) => r.SecurityGroupRuleId ?? '');
  }
  req.groupId = GroupId;
  const set = (record.responseElements as { securityGroupRuleSet?: { items: Array<Record<string, unknown>> } } | null)
    ?.securityGroupRuleSet;
  set?.items.forEach((item, i) => {
    item.groupId = GroupId;
    item.securityGroupRuleId = ruleIds[i] ?? item.securityGroupRuleId;
  });
}

/** Are the rules the record added gone from moto? */
export async function ruleGone(ec2: EC2Client, record: Record<string, unknown>): Promise<boolean> {
  const groupId = String((record.requestParameters as Record<string, unknown>).groupId);
  const ids = ((record.responseElements as { securityGroupRuleSet: { items: Array<{ securityGroupRuleId: string }> } })
    .securityGroupRuleSet.items).map((i) => i.securityGroupRuleId);
  const out = await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }] }));
  return !(out.SecurityGroupRules ?? []).some((r) => ids.includes(r.SecurityGroupRuleId ?? ''));
}

// ---- sample records ----

export interface Scenario {
  /** File the record comes from (relative to the repo for ../shared), and its index there. */
  source: string;
  index: number;
  /** What the demo changed in the record, if anything (fresh eventID aside). */
  note?: string;
  record: Record<string, unknown>;
  /** The tier used with --tiers fixed (before the policy engine existed). */
  fixedTier: Verdict['tier'];
  /** Make the change in moto first (the fixtures' security-group changes). */
  enact: boolean;
}

function readFixtures(): Array<Record<string, unknown>> {
  return (JSON.parse(fs.readFileSync(SAMPLE_EVENTS, 'utf8')) as { Records: Array<Record<string, unknown>> }).Records;
}

/** The project's own fixtures (alice, bob, carol), each with a fresh eventID. */
export function fixtureScenarios(): Scenario[] {
  const tiers: Verdict['tier'][] = ['confirm', 'page', 'revert'];
  return readFixtures().map((record, i) => ({
    source: path.relative(PROJECT_ROOT, SAMPLE_EVENTS),
    index: i,
    record: { ...structuredClone(record), eventID: randomUUID() },
    fixedTier: tiers[i] ?? 'confirm',
    enact: SG_EVENTS.has(String(record.eventName)),
  }));
}

/** A security-group record with its port(s) set to `port`, in the request (flat or nested) and the response. */
export function withPort(record: Record<string, unknown>, port: number): Record<string, unknown> {
  const r = structuredClone(record);
  const req = r.requestParameters as Record<string, unknown>;
  if (req.fromPort !== undefined) {
    req.fromPort = port;
    req.toPort = port;
  }
  for (const p of (req.ipPermissions as { items?: Array<Record<string, unknown>> } | undefined)?.items ?? []) {
    p.fromPort = port;
    p.toPort = port;
  }
  const set = (r.responseElements as { securityGroupRuleSet?: { items: Array<Record<string, unknown>> } } | null)?.securityGroupRuleSet;
  for (const item of set?.items ?? []) {
    item.fromPort = port;
    item.toPort = port;
  }
  return r;
}

/**
 * Under the policy, the fixtures' SSH / RDP openings are reverted at once and carol's egress change is a notice, so
 * nobody would be asked: alice and bob also open a web port (443, 8080), which the policy asks them about (confirm).
 */
export function confirmVariants(): Scenario[] {
  const [alice, bob] = readFixtures();
  const out: Scenario[] = [];
  for (const [index, record, port] of [[0, alice, 443], [1, bob, 8080]] as const) {
    if (!record) continue;
    out.push({
      source: path.relative(PROJECT_ROOT, SAMPLE_EVENTS),
      index,
      note: `port ${port}`,
      record: { ...withPort(record, port), eventID: randomUUID() },
      fixedTier: 'confirm',
      enact: true,
    });
  }
  return out;
}

/**
 * Risky records from ../shared/data (Stratus Red Team detonations), when that folder exists, kept as they are: their
 * actor has nobody to ask, and their accounts and (anonymised) regions are not in moto, so a revert cannot reach them.
 */
const SHARED_PICKS: Array<{ file: string; eventName: string }> = [
  { file: 'aws.defense-evasion.cloudtrail-stop.json', eventName: 'StopLogging' },
  { file: 'aws.persistence.iam-create-admin-user.json', eventName: 'AttachUserPolicy' },
];

export function sharedScenarios(dir: string = SHARED_CLOUDTRAIL, problems: string[] = []): Scenario[] {
  const stratus = path.join(dir, 'stratus-detonations');
  if (!fs.existsSync(stratus)) return [];
  const out: Scenario[] = [];
  for (const pick of SHARED_PICKS) {
    const file = path.join(stratus, pick.file);
    const source = path.relative(PROJECT_ROOT, file);
    try {
      const records = parseRecords(fs.readFileSync(file, 'utf8'), source);
      const index = records.findIndex((r) => (r as { eventName?: unknown } | null)?.eventName === pick.eventName);
      if (index < 0) throw new Error(`no ${pick.eventName} record`);
      const record = records[index] as Record<string, unknown>;
      out.push({ source, index, record: { ...structuredClone(record), eventID: randomUUID() }, fixedTier: 'page', enact: false });
    } catch (err) {
      problems.push(`${source}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** The outcomes a review may end with under an --auto mode (the demo's self-check). */
export function expectedOutcomes(
  tier: Verdict['tier'],
  mode: AutoMode,
  opts: { personKnown: boolean; moto: boolean; enacted: boolean; hasPlan?: boolean },
): Outcome[] {
  // Nobody to ask and a revert plan: the review reverts (README: "How a review runs").
  const reverts = tier === 'revert' || (tier !== 'notify' && !opts.personKnown && opts.hasPlan === true);
  if (reverts) {
    if (!opts.moto) return ['REVERT_FAILED'];
    // A change the demo did not make in moto (a record from ../shared) may be found already gone, or not revertable.
    return opts.enacted ? ['REVERTED'] : ['REVERTED', 'REVERT_FAILED'];
  }
  if (tier === 'notify') return ['NOTIFIED'];
  if (!opts.personKnown) return ['ESCALATED'];
  return [mode === 'confirm' ? 'CONFIRMED' : mode === 'deny' ? 'DENIED' : 'TIMED_OUT'];
}
