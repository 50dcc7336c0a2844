// The figures of `npm run eval` (test/eval/run.ts) and the corpus test: the corpus through the production judge,
// and the judge over the real CloudTrail data in ../shared (the Invictus hour, the Stratus detonations).
import fs from 'node:fs';
import path from 'node:path';
import { normalise, parseRecords } from '../../src/intake/normalise';
import type { Judge } from '../../src/intake/judges';
import type { Tier } from '../../src/core/types';
import { RANK, SEVERITY_TARGET, type Corpus, type CorpusRecord, type Entry, type Severity } from './corpus';

export const SHARED = path.resolve(__dirname, '../../../shared/data');
export const INVICTUS_DIR = path.join(SHARED, 'cloudtrail', 'invictus-aws-dataset', 'CloudTrail');
export const STRATUS_DIR = path.join(SHARED, 'cloudtrail', 'stratus-detonations');

export interface Judged {
  cr: CorpusRecord;
  tier: Tier;
  rules: string[];
  reason: string;
  ok: boolean;
}

function verdictOf(judge: Judge, raw: unknown, source: string, index: number): { tier: Tier; rules: string[]; reason: string; plan: boolean } {
  const v = judge(normalise(raw, source, index));
  return { tier: v?.tier ?? 'ignore', rules: v?.rules ?? [], reason: v?.reasons[0] ?? '', plan: v?.revertPlan != null };
}

/** Every corpus record through the judge, as intake would see it: normalised from the raw record first. */
export function judgeCorpus(corpus: Corpus, judge: Judge): Judged[] {
  return corpus.records.map((cr, i) => {
    const v = verdictOf(judge, cr.record, `corpus:${cr.entry.detection}`, i);
    const ok = cr.role === 'positive' ? RANK[v.tier] >= RANK[cr.tier] : RANK[v.tier] <= RANK[cr.tier];
    return { cr, tier: v.tier, rules: v.rules, reason: v.reason, ok };
  });
}

export interface RecallFigure {
  label: string;
  target: Tier;
  detections: number;
  caught: number;
  records: number;
  recordsCaught: number;
  /** Detections with a positive below the target: id, and the records that fell short. */
  misses: { detection: string; records: string[] }[];
}

/** Share of detections (of the given sources and severities) whose every positive reaches `target`. */
export function recall(entries: Entry[], judged: Judged[], label: string, sources: string[], severities: Severity[]): RecallFigure {
  const chosen = entries.filter((e) => !e.excluded && sources.includes(e.detection.split('/')[0] as string) && severities.includes(e.severity));
  const target = SEVERITY_TARGET[severities[0] as Severity] as Tier;
  const fig: RecallFigure = { label, target, detections: chosen.length, caught: 0, records: 0, recordsCaught: 0, misses: [] };
  for (const e of chosen) {
    const positives = judged.filter((j) => j.cr.entry === e && j.cr.role === 'positive');
    const short = positives.filter((j) => RANK[j.tier] < RANK[target]);
    fig.records += positives.length;
    fig.recordsCaught += positives.length - short.length;
    if (short.length === 0) fig.caught += 1;
    else fig.misses.push({ detection: e.detection, records: short.map((j) => `${j.cr.name}: ${j.tier}`) });
  }
  return fig;
}

// ---------------------------------------------------------------- the Invictus hour

/**
 * Attack or benign, by a criterion that does not look at vouch's verdict (README "Detection: recall and false alarms"):
 * Stratus Red Team marks every call its detonation makes with the user agent `stratus-red-team_<uuid>`, and runs its
 * set-up and tear-down through Terraform (user agent `…Terraform/…`, which may carry the same mark). A record is
 * attack when its user agent carries the mark without Terraform, or when the caller is a principal Stratus created
 * for the attack (an ARN naming stratus-red-team); everything else (Terraform, the console, AWS services) is benign.
 */
export function invictusLabel(raw: Record<string, unknown>): 'attack' | 'benign' {
  const ua = typeof raw.userAgent === 'string' ? raw.userAgent : '';
  const identity = raw.userIdentity as { arn?: unknown } | undefined;
  const arn = typeof identity?.arn === 'string' ? identity.arn : '';
  if (ua.includes('stratus-red-team_') && !ua.includes('Terraform/')) return 'attack';
  if (arn.includes('stratus-red-team')) return 'attack';
  return 'benign';
}

export interface NoiseFigures {
  benign: number;
  benignWrites: number;
  benignAtConfirm: number;
  benignAtNotify: number;
  attack: number;
  attackFlagged: number;
  failed: number;
  failedAtConfirm: number;
  /** Benign records at confirm or above: event name and rule, for the report. */
  loud: string[];
}

function loadDir(dir: string): { raw: Record<string, unknown>; file: string; index: number }[] {
  const out: { raw: Record<string, unknown>; file: string; index: number }[] = [];
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    parseRecords(fs.readFileSync(path.join(dir, f), 'utf8'), f).forEach((raw, index) => out.push({ raw: raw as Record<string, unknown>, file: f, index }));
  }
  return out;
}

/** False alarms on the Invictus hour's successful benign records; failed calls (all of them) at confirm or above. */
export function invictusNoise(judge: Judge, dir = INVICTUS_DIR): NoiseFigures {
  const fig: NoiseFigures = { benign: 0, benignWrites: 0, benignAtConfirm: 0, benignAtNotify: 0, attack: 0, attackFlagged: 0, failed: 0, failedAtConfirm: 0, loud: [] };
  for (const { raw, file, index } of loadDir(dir)) {
    const v = verdictOf(judge, raw, file, index);
    const failed = typeof raw.errorCode === 'string' && raw.errorCode !== '';
    if (failed) {
      fig.failed += 1;
      if (RANK[v.tier] >= RANK.confirm) fig.failedAtConfirm += 1;
      continue;
    }
    if (invictusLabel(raw) === 'attack') {
      fig.attack += 1;
      if (v.tier !== 'ignore') fig.attackFlagged += 1;
      continue;
    }
    fig.benign += 1;
    if (raw.readOnly !== true) fig.benignWrites += 1;
    if (RANK[v.tier] >= RANK.notify) fig.benignAtNotify += 1;
    if (RANK[v.tier] >= RANK.confirm) {
      fig.benignAtConfirm += 1;
      fig.loud.push(`${String(raw.eventName)} (${v.tier}: ${v.rules.join(', ')})`);
    }
  }
  return fig;
}

// ---------------------------------------------------------------- Stratus key events

export interface KeyEventResult {
  technique: string;
  eventName: string;
  expected: string;
  got: string[];
  ok: boolean;
}

/** Each Stratus technique's key event, in the real detonation log, at the tier its corpus entry names. */
export function stratusKeyEvents(corpus: Corpus, judge: Judge, dir = STRATUS_DIR): KeyEventResult[] {
  const out: KeyEventResult[] = [];
  const all = fs.existsSync(dir) ? loadDir(dir) : [];
  for (const e of corpus.entries.filter((x) => x.keyEvent)) {
    const technique = e.detection.slice('stratus/'.length);
    const key = e.keyEvent as NonNullable<Entry['keyEvent']>;
    const file = path.join(dir, `${technique}.json`);
    const got: string[] = [];
    let ok = fs.existsSync(file);
    if (ok) {
      const records = all.filter((r) => r.file === `${technique}.json` && r.raw.eventName === key.eventName);
      ok = records.length > 0;
      for (const { raw, file: f, index } of records) {
        const v = verdictOf(judge, raw, f, index);
        const expected = key.tier === 'revert|page' ? (v.plan ? 'revert' : 'page') : key.tier;
        got.push(v.tier);
        if (v.tier !== expected) ok = false;
      }
    }
    out.push({ technique, eventName: key.eventName, expected: key.tier, got, ok });
  }
  return out;
}
