// Records for intake tests: the real public CloudTrail data at ../shared/data/cloudtrail when it is there (never
// copied into the repo), else the hand-written fixtures. Without ../shared the tests fail when CI=true.
// Replays get fresh identities at run time (account, eventIDs, times) so each test owns its reviews.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import type { Verdict } from '../../../src/core/types';
import type { Judge } from '../../../src/intake/judges';
import { normalise } from '../../../src/intake/normalise';

export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const SHARED_CLOUDTRAIL = path.resolve(REPO_ROOT, '../shared/data/cloudtrail');
export const FIXTURE_RECORDS = path.resolve(__dirname, '../fixtures/records.json');

export type Rec = Record<string, unknown>;

export interface RecordSet {
  records: Rec[];
  /** 'shared' for the real data, 'fixtures' for the hand-written records. */
  origin: 'shared' | 'fixtures';
}

/** The real Invictus hour (2,900 records, one account, us-east-1), or the fixtures. */
export function loadRecords(): RecordSet {
  const dir = path.join(SHARED_CLOUDTRAIL, 'invictus-aws-dataset', 'CloudTrail');
  if (fs.existsSync(dir)) {
    const records = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .flatMap((f) => (JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { Records: Rec[] }).Records);
    return { records, origin: 'shared' };
  }
  if (process.env.CI === 'true') throw new Error(`${dir} is missing: the real CloudTrail data is required in CI`);
  return { records: (JSON.parse(fs.readFileSync(FIXTURE_RECORDS, 'utf8')) as { Records: Rec[] }).Records, origin: 'fixtures' };
}

/** The real files themselves (name and text), or the fixtures as one file. */
export function loadRecordFiles(): Array<{ name: string; text: string }> {
  const dir = path.join(SHARED_CLOUDTRAIL, 'invictus-aws-dataset', 'CloudTrail');
  if (fs.existsSync(dir)) {
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => ({ name: f, text: fs.readFileSync(path.join(dir, f), 'utf8') }));
  }
  if (process.env.CI === 'true') throw new Error(`${dir} is missing: the real CloudTrail data is required in CI`);
  return [{ name: 'records.json', text: fs.readFileSync(FIXTURE_RECORDS, 'utf8') }];
}

export function randomAccount(): string {
  return `9${String(randomInt(0, 10 ** 11)).padStart(11, '0')}`;
}

/**
 * Moves every record to `account`, and to now (the newest record a minute ago, spacing kept: intake reviews only
 * records younger than its maximum age), keeping everything else (eventIDs stay: the account makes the review id new).
 */
export function inAccount(records: Rec[], account: string): Rec[] {
  return retime(records, Date.now() - 60_000).map((r) => {
    const identity = r.userIdentity && typeof r.userIdentity === 'object' ? { ...(r.userIdentity as Rec) } : r.userIdentity;
    if (identity && typeof identity === 'object' && 'accountId' in identity) (identity as Rec).accountId = account;
    return { ...r, recipientAccountId: account, ...(identity !== undefined ? { userIdentity: identity } : {}) };
  });
}

/** Shifts event times so the newest record is at `latest` (spacing kept): a replay LookupEvents can serve. */
export function retime(records: Rec[], latest: number): Rec[] {
  const newest = Math.max(...records.map((r) => Date.parse(String(r.eventTime))));
  const shift = latest - newest;
  return records.map((r) => ({
    ...r,
    eventTime: new Date(Date.parse(String(r.eventTime)) + shift).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  }));
}

/** An EventBridge "AWS API Call via CloudTrail" envelope around a record. */
export function envelope(record: Rec): Rec {
  return {
    version: '0',
    id: `env-${String(record.eventID)}`,
    'detail-type': 'AWS API Call via CloudTrail',
    source: `aws.${String(record.eventSource ?? 'unknown').split('.')[0]}`,
    account: record.recipientAccountId,
    time: record.eventTime,
    region: record.awsRegion,
    resources: [],
    detail: record,
  };
}

const READ = /^(Describe|List|Get|Lookup|Head|Search|Batch(Get|Describe)|Check|Validate)/;

/**
 * The judge intake tests use, so they do not depend on the policy's details: failed and read-only calls are
 * ignored, every other call gets a confirm review. (ingestCommand's own test uses the real policy.)
 */
export const testJudge: Judge = (change) => {
  if (change.errorCode || READ.test(change.eventName)) return null;
  const verdict: Verdict = {
    tier: 'confirm',
    score: 50,
    rules: ['intake-test-write'],
    reasons: [change.summary],
    deadlineSeconds: 900,
    revertPlan: null,
  };
  return verdict;
};

/** eventIDs of the records the pipeline should review under `judge` (normalised exactly as the pipeline does). */
export function expectedReviewed(records: unknown[], judge: Judge = testJudge): Set<string> {
  const out = new Set<string>();
  records.forEach((r, i) => {
    try {
      const change = normalise(r, 'expected', i);
      if (judge(change) !== null) out.add(change.eventId);
    } catch {
      // unusable: dead-lettered, not reviewed
    }
  });
  return out;
}

/** An accounts file (VOUCH_ACCOUNTS_FILE) listing `accounts`, in a fresh folder; returns its path. */
export function accountsFile(...accounts: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-accounts-'));
  const file = path.join(dir, 'accounts.yaml');
  fs.writeFileSync(file, `defaults:\n  regions: [us-east-1]\naccounts:\n${accounts.map((a) => `  - id: "${a}"\n`).join('')}`);
  return file;
}
