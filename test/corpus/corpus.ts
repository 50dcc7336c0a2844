// The labelled detection corpus (test/corpus/README.md): YAML files under test/corpus/detections, one per family of
// detections, read and checked here and turned into full CloudTrail records. Pure apart from reading the files.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import { z } from 'zod';
import type { Tier } from '../../src/core/types';

export const CORPUS_DIR = path.join(__dirname, 'detections');
export const IDENTITIES_FILE = path.join(__dirname, 'identities.yaml');

export const TIERS = ['ignore', 'notify', 'confirm', 'page', 'revert'] as const satisfies readonly Tier[];
export const RANK: Record<Tier, number> = { ignore: 0, notify: 1, confirm: 2, page: 3, revert: 4 };

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The tier a detection of this severity must reach to count as caught (low: none, reported only). */
export const SEVERITY_TARGET: Record<Severity, Tier | null> = { low: null, medium: 'notify', high: 'confirm', critical: 'confirm' };

/** Where the detection reads its events: CloudTrail itself, or something else (then it is out of scope). */
export const LOG_SOURCES = [
  'cloudtrail', // CloudTrail records (Sigma's logsource aws/cloudtrail, Splunk's `cloudtrail` macro)
  'cloudtrail-ocsf', // CloudTrail records as Amazon Security Lake stores them (OCSF): the same API calls
  'cloudtrail-cloudwatch', // CloudTrail records delivered through CloudWatch Logs: the same API calls
  'securityhub', // Security Hub findings
  'vpc-flow', // VPC flow logs
  'k8s-audit', // Kubernetes audit logs
  'risk-index', // other detections' results (a SIEM correlation)
] as const;
export type LogSource = (typeof LOG_SOURCES)[number];
export const CLOUDTRAIL_SOURCES: ReadonlySet<LogSource> = new Set(['cloudtrail', 'cloudtrail-ocsf', 'cloudtrail-cloudwatch']);

/** Why vouch leaves a detection out (test/corpus/README.md). */
export const EXCLUSIONS = {
  'other-log-source': 'reads a log other than CloudTrail',
  'read-only': 'a read: nothing changed, nothing to confirm or undo; watching reads is a SIEM job',
  aggregate: 'counts or correlates many records over a window; vouch judges one record at a time',
  history: 'compares with what was seen before (new country, unseen account, known users); needs a SIEM baseline',
  'sign-in': 'a sign-in or a session, not a change; vouch reviews changes (and the sign-ins its rules name)',
  'every-call': 'a property of the caller on any call (role sessions, stolen instance credentials), not of a change',
  'grants-nothing': 'the change by itself grants or removes nothing; the change that matters is covered by a sibling entry',
  'needs-state': 'the record does not say what was there before; judging it needs the prior state',
  'removes-access': 'takes access away (a policy or group deleted): disruption an owner notices, not exposure',
  'failed-call': 'failed calls changed nothing; counting them is a SIEM job',
  'data-events': 'S3 object-level data events: not management changes, and their volume is a SIEM job',
} as const;
export type Exclusion = keyof typeof EXCLUSIONS;

const tier = z.enum(TIERS);
const id = z.string().regex(/^(sigma|splunk|stratus|vouch)\/[A-Za-z0-9_.-]+$/, 'must be <sigma|splunk|stratus|vouch>/<file name or slug>');

const recordSpec = z
  .object({
    eventSource: z.string().regex(/^[a-z0-9-]+\.amazonaws\.com$/, 'must be an eventSource like ec2.amazonaws.com'),
    eventName: z.string().regex(/^[A-Za-z0-9]+$/),
    actor: z.string().optional(),
  })
  .passthrough()
  .refine((r) => !(r.actor !== undefined && 'userIdentity' in r), 'give actor or userIdentity, not both');

const positive = z.strictObject({ name: z.string().min(3), minTier: tier, why: z.string().optional(), record: recordSpec });
const nearMiss = z.strictObject({ name: z.string().min(3), maxTier: tier, why: z.string().optional(), record: recordSpec });

const entry = z
  .strictObject({
    detection: id,
    kind: z.enum(['detection', 'technique', 'evasion']).default('detection'),
    ruleId: z.string().optional(),
    title: z.string().min(3),
    level: z.union([z.string(), z.number()]).optional(),
    severity: z.enum(SEVERITIES),
    logSource: z.enum(LOG_SOURCES).default('cloudtrail'),
    refs: z.array(z.string()).optional(),
    keyEvent: z.strictObject({ eventName: z.string(), tier: z.union([tier, z.literal('revert|page')]), row: z.number().nullable() }).optional(),
    why: z.string().min(10),
    disagree: z.string().optional(),
    excluded: z.enum(Object.keys(EXCLUSIONS) as [Exclusion, ...Exclusion[]]).optional(),
    positives: z.array(positive).default([]),
    nearMisses: z.array(nearMiss).default([]),
  })
  .superRefine((e, ctx) => {
    const source = e.detection.split('/')[0];
    if (e.excluded && (e.positives.length || e.nearMisses.length)) ctx.addIssue({ code: 'custom', message: 'an excluded entry has no records' });
    if (!e.excluded && e.positives.length === 0) ctx.addIssue({ code: 'custom', message: 'needs positives, or "excluded" with a why' });
    if (!e.excluded && e.nearMisses.length === 0) ctx.addIssue({ code: 'custom', message: 'needs a near-miss: a record like the positives that must not be flagged' });
    if (!e.excluded && !CLOUDTRAIL_SOURCES.has(e.logSource)) ctx.addIssue({ code: 'custom', message: `log source ${e.logSource} is not CloudTrail: exclude it` });
    if ((source === 'sigma' || source === 'splunk') && (e.ruleId === undefined || e.level === undefined)) ctx.addIssue({ code: 'custom', message: 'a public detection names its ruleId and level' });
    if (source === 'stratus' && !e.keyEvent) ctx.addIssue({ code: 'custom', message: 'a Stratus technique names its keyEvent' });
    if ((source === 'vouch') !== (e.kind !== 'detection')) ctx.addIssue({ code: 'custom', message: 'kind technique/evasion is for vouch/ entries, and only they have it' });
    const target = SEVERITY_TARGET[e.severity];
    if (target && e.positives.some((p) => RANK[p.minTier] < RANK[target]) && !e.disagree) {
      ctx.addIssue({ code: 'custom', message: `a positive expects less than ${target} (the ${e.severity} target): say why in "disagree"` });
    }
  });

const family = z.strictObject({ family: z.string(), title: z.string(), entries: z.array(entry).min(1) });

export type Entry = z.output<typeof entry>;
export type RecordSpec = z.output<typeof recordSpec>;

export interface CorpusRecord {
  entry: Entry;
  /** positive: must reach minTier; nearMiss: must stay at or below maxTier. */
  role: 'positive' | 'nearMiss';
  name: string;
  tier: Tier;
  record: Record<string, unknown>;
}

export interface Corpus {
  entries: Entry[];
  records: CorpusRecord[];
  /** detection id → the file it is in. */
  fileOf: Map<string, string>;
}

const identitySchema = z.record(
  z.string(),
  z.strictObject({ userIdentity: z.record(z.string(), z.unknown()), userAgent: z.string(), sourceIPAddress: z.string() }),
);
type Identities = z.output<typeof identitySchema>;

export const ACCOUNT = '111122223333';

function problems(file: string, err: z.ZodError): Error {
  return new Error(`${file}:\n${err.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
}

function loadIdentities(): Identities {
  const parsed = identitySchema.safeParse(parse(fs.readFileSync(IDENTITIES_FILE, 'utf8')));
  if (!parsed.success) throw problems(IDENTITIES_FILE, parsed.error);
  return parsed.data;
}

function uuidOf(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A full CloudTrail record from a spec: the spec's fields, and the usual envelope for those it leaves out. */
export function buildRecord(spec: RecordSpec, seed: string, index: number, identities: Identities): Record<string, unknown> {
  const { actor: actorName, ...fields } = spec;
  const who = identities[actorName ?? 'alice'];
  if (!who) throw new Error(`${seed}: no identity "${actorName}" in ${path.basename(IDENTITIES_FILE)}`);
  const minute = String(Math.floor(index / 60) % 60).padStart(2, '0');
  const second = String(index % 60).padStart(2, '0');
  const base: Record<string, unknown> = {
    eventVersion: '1.09',
    userIdentity: who.userIdentity,
    eventTime: `2026-03-02T10:${minute}:${second}Z`,
    eventSource: spec.eventSource,
    eventName: spec.eventName,
    awsRegion: 'eu-west-1',
    sourceIPAddress: who.sourceIPAddress,
    userAgent: who.userAgent,
    requestParameters: {},
    responseElements: null,
    requestID: uuidOf(`${seed}/request`),
    eventID: uuidOf(seed),
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
  };
  return { ...base, ...fields };
}

/** Every family file, checked; throws one error listing every mistake (file, path, message). */
export function loadCorpus(dir = CORPUS_DIR): Corpus {
  const identities = loadIdentities();
  const entries: Entry[] = [];
  const records: CorpusRecord[] = [];
  const fileOf = new Map<string, string>();
  const errors: string[] = [];
  let index = 0;
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    const file = path.join(dir, name);
    const parsed = family.safeParse(parse(fs.readFileSync(file, 'utf8')));
    if (!parsed.success) {
      errors.push(problems(name, parsed.error).message);
      continue;
    }
    for (const e of parsed.data.entries) {
      if (fileOf.has(e.detection)) errors.push(`${name}: ${e.detection} is already in ${fileOf.get(e.detection)}`);
      fileOf.set(e.detection, name);
      entries.push(e);
      const add = (role: CorpusRecord['role'], n: string, t: Tier, spec: RecordSpec): void => {
        try {
          records.push({ entry: e, role, name: n, tier: t, record: buildRecord(spec, `${e.detection}/${role}/${n}`, index++, identities) });
        } catch (err) {
          errors.push(`${name}: ${(err as Error).message}`);
        }
      };
      for (const p of e.positives) add('positive', p.name, p.minTier, p.record);
      for (const m of e.nearMisses) add('nearMiss', m.name, m.maxTier, m.record);
    }
  }
  if (errors.length) throw new Error(`the corpus has mistakes:\n${errors.join('\n')}`);
  return { entries, records, fileOf };
}

/** The severity a public detection's own level maps to (test/corpus/README.md, "Severity"). */
export function severityOfLevel(source: 'sigma' | 'splunk', level: string | number): Severity {
  if (source === 'sigma') {
    const l = String(level);
    if (l === 'informational' || l === 'low') return 'low';
    if (l === 'medium' || l === 'high' || l === 'critical') return l;
    throw new Error(`unknown Sigma level ${l}`);
  }
  const score = Number(level);
  if (!Number.isFinite(score)) throw new Error(`Splunk risk score ${String(level)} is not a number`);
  return score > 80 ? 'critical' : score > 60 ? 'high' : score > 40 ? 'medium' : 'low';
}

/** The severity of a Stratus technique: from the tier the catalogue gives its key event. */
export function severityOfStratus(t: Tier | 'revert|page'): Severity | null {
  if (t === 'revert|page' || t === 'revert' || t === 'page') return 'critical';
  if (t === 'confirm') return 'high';
  if (t === 'notify') return 'medium';
  return null;
}
