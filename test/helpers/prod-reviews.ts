// The review loop on the production topology, as one scenario set shared by the short test (inside `npm test`) and
// `npm run test:prod`: CloudTrail records through the real intake, reviews driven to each outcome through the
// vendors' stand-ins (signed Slack clicks, Duo approvals, AWS reverts on moto), and what security should then find
// with each of the README's Web UI queries.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseDocument, isMap, isSeq } from 'yaml';
import type { WorkflowHandle } from '@temporalio/client';
import { DEFAULT_POLICY_FILE } from '../../src/policy';
import { confirmVariants, enactInMoto, fixtureScenarios, ruleGone } from '../../src/demo/scenarios';
import type { Outcome, ReviewOutcome, ReviewStatus, Verdict } from '../../src/core/types';
import { statusQuery } from '../../workflows/messages';
import { eventually } from './temporal';
import type { VouchOnProd } from './prod-vouch';
import { matches, readmeQueries, type ExpectedAttrs } from './readme-queries';

/** The README's example account and actor; the other account is any other one. */
export const ACCOUNT = '111122223333';
export const OTHER_ACCOUNT = '444455556666';
/** The one rule given a short deadline in the test's copy of the default policy (the schema's minimum). */
export const SHORT_DEADLINE_RULE = 'kms-key-disabled';
export const SHORT_DEADLINE_SECONDS = 30;

/**
 * The shipped default policy with one rule's deadline shortened, written to `dir` (VOUCH_POLICY_FILE's format):
 * the intake judges with the production policy, and a review can time out within the test.
 */
export function writeTestPolicy(dir: string): string {
  const doc = parseDocument(fs.readFileSync(DEFAULT_POLICY_FILE, 'utf8'));
  const rules = doc.get('rules');
  if (!isSeq(rules)) throw new Error(`${DEFAULT_POLICY_FILE}: no rules list`);
  const rule = rules.items.find((r) => isMap(r) && r.get('id') === SHORT_DEADLINE_RULE);
  if (!isMap(rule)) throw new Error(`${DEFAULT_POLICY_FILE}: no rule ${SHORT_DEADLINE_RULE}`);
  rule.set('deadline', SHORT_DEADLINE_SECONDS);
  const file = path.join(dir, 'policy.yaml');
  fs.writeFileSync(file, doc.toString());
  return file;
}

/** A rule's score and tier as the default policy file states them (data, not the engine's answer). */
export function policyRule(id: string): { score: number; tier: string } {
  const doc = parseDocument(fs.readFileSync(DEFAULT_POLICY_FILE, 'utf8')).toJS() as { rules: Array<{ id: string; score: number; tier: string }> };
  const rule = doc.rules.find((r) => r.id === id);
  if (!rule) throw new Error(`${DEFAULT_POLICY_FILE}: no rule ${id}`);
  return { score: rule.score, tier: rule.tier };
}

type Rec = Record<string, unknown>;

function iamUser(name: string, account: string): Rec {
  return { type: 'IAMUser', principalId: `AIDA${name.toUpperCase()}EXAMPLE`, arn: `arn:aws:iam::${account}:user/${name}`, accountId: account, userName: name };
}

function record(opts: { eventName: string; eventSource: string; account: string; actor: Rec; request: Rec; region?: string; readOnly?: boolean }): Rec {
  return {
    eventVersion: '1.09',
    userIdentity: opts.actor,
    eventTime: new Date(Date.now() - 5_000).toISOString().replace(/\.\d+Z$/, 'Z'),
    eventSource: opts.eventSource,
    eventName: opts.eventName,
    awsRegion: opts.region ?? 'eu-west-1',
    sourceIPAddress: '203.0.113.50',
    userAgent: 'aws-cli/2.17.0',
    requestParameters: opts.request,
    responseElements: null,
    requestID: randomUUID(),
    eventID: randomUUID(),
    readOnly: opts.readOnly ?? false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: opts.account,
    eventCategory: 'Management',
  };
}

/** An SG record moved to another account and actor (ids stay; the record is not enacted in moto). */
function moved(r: Rec, account: string, actor: Rec): Rec {
  return { ...structuredClone(r), eventID: randomUUID(), recipientAccountId: account, userIdentity: actor };
}

export interface Scenario {
  key: string;
  /** The rule the record is written to hit (its tier and score come from the policy file). */
  rule: string;
  outcome: Outcome;
  record: Rec;
  /** Made for real in moto before intake (security-group changes that get reverted). */
  enacted: boolean;
  actorName: string;
}

/** Every review the loop runs, plus the records intake must not turn into a review. */
export function scenarios(): { reviews: Scenario[]; ignored: Rec[]; garbage: string[] } {
  const [aliceWeb, bobWeb] = confirmVariants().map((s) => s.record);
  const aliceSsh = fixtureScenarios()[0]?.record;
  assert.ok(aliceWeb && bobWeb && aliceSsh, 'the demo fixtures');
  const carolB = iamUser('carol', OTHER_ACCOUNT);
  const carolA = iamUser('carol', ACCOUNT);
  const sg = (s: Omit<Scenario, 'actorName'>): Scenario => {
    const ident = s.record.userIdentity as Rec;
    return { ...s, actorName: String(ident.userName ?? String(ident.arn).split('/').pop()) };
  };
  const reviews: Scenario[] = [
    // alice opens 443 to the world and says yes (Duo approved): confirmed.
    sg({ key: 'confirmed', rule: 'sg-ingress-world', outcome: 'CONFIRMED', record: aliceWeb, enacted: true }),
    // bob opens 8080 and says "not me": denied, paged, reverted in moto.
    sg({ key: 'denied', rule: 'sg-ingress-world', outcome: 'DENIED', record: bobWeb, enacted: true }),
    // alice opens SSH to the world: reverted at once.
    sg({ key: 'reverted', rule: 'sg-ingress-world-admin', outcome: 'REVERTED', record: aliceSsh, enacted: true }),
    // carol disables a KMS key in the README's account and never answers: timed out (short deadline).
    sg({
      key: 'timedOut',
      rule: SHORT_DEADLINE_RULE,
      outcome: 'TIMED_OUT',
      enacted: false,
      record: record({ eventName: 'DisableKey', eventSource: 'kms.amazonaws.com', account: ACCOUNT, actor: carolA, request: { keyId: randomUUID() } }),
    }),
    // carol opens 443 in the other account and has not answered yet: pending, confirm tier.
    sg({ key: 'pending', rule: 'sg-ingress-world', outcome: 'PENDING', record: moved(aliceWeb, OTHER_ACCOUNT, carolB), enacted: false }),
    // carol deletes a trail: paged at once, still asked: pending, page tier, score 90.
    sg({
      key: 'paged',
      rule: 'cloudtrail-deleted',
      outcome: 'PENDING',
      enacted: false,
      record: record({ eventName: 'DeleteTrail', eventSource: 'cloudtrail.amazonaws.com', account: OTHER_ACCOUNT, actor: carolB, request: { name: 'org-trail' } }),
    }),
    // carol stops a trail; the record's region is anonymised (as in the Stratus Red Team corpus), so no AWS endpoint
    // can take the revert: it fails at once and security is paged.
    sg({
      key: 'revertFailed',
      rule: 'cloudtrail-stopped',
      outcome: 'REVERT_FAILED',
      enacted: false,
      record: record({
        eventName: 'StopLogging',
        eventSource: 'cloudtrail.amazonaws.com',
        account: OTHER_ACCOUNT,
        actor: carolB,
        request: { name: 'org-trail' },
        region: 'apiso-centralnorth-2r',
      }),
    }),
    // dave is nobody vouch can ask, and a deleted trail has no automatic revert: escalated at once. (A change with a
    // revert plan by someone nobody can ask is reverted and paged instead; the demo and test/attack play that.)
    sg({
      key: 'escalated',
      rule: 'cloudtrail-deleted',
      outcome: 'ESCALATED',
      enacted: false,
      record: record({ eventName: 'DeleteTrail', eventSource: 'cloudtrail.amazonaws.com', account: ACCOUNT, actor: iamUser('dave', ACCOUNT), request: { name: 'audit-trail' } }),
    }),
  ];
  const ignored = [
    record({ eventName: 'DescribeSecurityGroups', eventSource: 'ec2.amazonaws.com', account: ACCOUNT, actor: carolA, request: {}, readOnly: true }),
  ];
  return { reviews, ignored, garbage: ['{"eventID": "not-a-record", "eventName": 42}'] };
}

export interface RanReview extends Scenario {
  workflowId: string;
  handle: WorkflowHandle;
  /** The policy's verdict, as the intake handed it to the starter. */
  verdict: Verdict;
  result?: ReviewOutcome;
}

/**
 * What each review's search attributes and system fields should be: from the record the test wrote, the outcome it
 * drove the review to, the tier the policy file gives the rule, and the verdict the intake passed on.
 */
export function expectedAttrs(r: RanReview, startedAfter: string): ExpectedAttrs {
  return {
    VouchTier: policyRule(r.rule).tier,
    VouchOutcome: r.outcome,
    VouchAccount: String(r.record.recipientAccountId),
    VouchActor: r.actorName,
    VouchEventName: String(r.record.eventName),
    VouchScore: Math.round(r.verdict.score),
    VouchRules: r.verdict.rules,
    ExecutionStatus: r.outcome === 'PENDING' ? 'Running' : 'Completed',
    StartTime: startedAfter,
  };
}

/** Runs the records through the intake and drives every review to its outcome. Returns the reviews. */
export async function runReviewLoop(v: VouchOnProd): Promise<RanReview[]> {
  const { reviews, ignored, garbage } = scenarios();
  for (const s of reviews.filter((r) => r.enacted)) await enactInMoto(v.ec2(String(s.record.recipientAccountId), String(s.record.awsRegion)), s.record);

  const { summary, results } = await v.ingest([...reviews.map((r) => r.record), ...ignored], { extraLines: garbage });
  assert.equal(summary.started, reviews.length, JSON.stringify(results));
  assert.equal(summary.ignored, ignored.length);
  assert.equal(summary.deadLettered, garbage.length, 'the unreadable record is kept as a dead letter');
  assert.equal(fs.readdirSync(v.deadLetterDir).length, garbage.length);

  const ran: RanReview[] = reviews.map((s) => {
    const res = results.find((x) => x.status === 'started' && x.eventId === s.record.eventID);
    assert.ok(res && res.status === 'started', `${s.key}: started by the intake`);
    const verdict = v.verdicts.get(String(s.record.eventID));
    assert.ok(verdict, `${s.key}: judged`);
    const want = policyRule(s.rule);
    assert.equal(verdict.tier, want.tier, `${s.key}: tier of ${s.rule}`);
    assert.ok(verdict.rules.includes(s.rule), `${s.key}: ${verdict.rules.join(',')} includes ${s.rule}`);
    assert.ok(verdict.score >= want.score, `${s.key}: score ${verdict.score} is at least ${s.rule}'s ${want.score}`);
    return { ...s, verdict, workflowId: res.workflowId, handle: v.client.workflow.getHandle(res.workflowId) };
  });
  const by = (key: string): RanReview => ran.find((r) => r.key === key) as RanReview;
  const awaiting = (r: RanReview) =>
    eventually(async () => ((await r.handle.query(statusQuery)) as ReviewStatus).phase === 'AWAITING_ANSWER' && v.dmFor(r.workflowId), 30_000, `${r.key} asking`);

  // confirmed: "Yes, this was me" (signed click) → Duo push → approved on the phone.
  const confirmed = by('confirmed');
  await awaiting(confirmed);
  assert.equal((await v.click(confirmed.workflowId, 'vouch_yes')).status, 200);
  const push = await eventually(() => v.duo.transactions().find((t) => t.username === 'alice@example.com' && t.result === 'waiting'), 20_000, 'the Duo push');
  v.duo.decide(push.txid, 'allow');

  // denied: "No, this wasn't me" → paged and reverted.
  const denied = by('denied');
  await awaiting(denied);
  assert.equal((await v.click(denied.workflowId, 'vouch_no')).status, 200);

  for (const key of ['pending', 'paged']) await awaiting(by(key));
  for (const r of ran.filter((x) => x.outcome !== 'PENDING')) {
    r.result = (await r.handle.result()) as ReviewOutcome;
    assert.equal(r.result.outcome, r.outcome, `${r.key}: ${r.result.reason}`);
  }

  // The side effects, once each: one DM per asked review, the reverts verified in moto, the pages.
  for (const key of ['confirmed', 'denied', 'pending', 'paged', 'timedOut']) {
    const r = by(key);
    assert.equal(v.slack.messages.filter((m) => !m.threadTs && JSON.stringify(m.blocks ?? []).includes(r.workflowId)).length, 1, `${key}: one DM`);
  }
  for (const key of ['denied', 'reverted']) {
    const r = by(key);
    assert.ok(await ruleGone(v.ec2(String(r.record.recipientAccountId), String(r.record.awsRegion)), r.record), `${key}: the rule is gone from moto`);
  }
  assert.ok(!(await ruleGone(v.ec2(String(confirmed.record.recipientAccountId), String(confirmed.record.awsRegion)), confirmed.record)), 'the confirmed rule stays');
  // PagerDuty's dedup key is the review's workflow id.
  for (const key of ['denied', 'paged', 'escalated', 'timedOut', 'reverted', 'revertFailed']) assert.ok(v.pagerduty.incident(by(key).workflowId), `${key}: paged`);
  for (const key of ['confirmed', 'pending']) assert.equal(v.pagerduty.incident(by(key).workflowId), undefined, `${key}: not paged`);
  return ran;
}

/** Every README query, run through the server's visibility (list and count), answers exactly the expected reviews. */
export async function checkReadmeQueries(v: VouchOnProd, ran: RanReview[], startedAfter: string): Promise<Array<{ query: string; ids: string[] }>> {
  const out: Array<{ query: string; ids: string[] }> = [];
  const ours = new Set(ran.map((r) => r.workflowId));
  for (const query of readmeQueries()) {
    const want = ran.filter((r) => matches(query, expectedAttrs(r, startedAfter))).map((r) => r.workflowId).sort();
    // A query no review answers, or every review answers, would prove nothing about the attributes it reads.
    assert.ok(want.length > 0 && want.length < ran.length, `README query ${query}: the scenarios give it ${want.length} of ${ran.length} reviews`);
    // SQL visibility is updated asynchronously after each upsert: wait (bounded) until the server agrees.
    const got = await eventually(async () => {
      const ids: string[] = [];
      for await (const w of v.client.workflow.list({ query })) if (ours.has(w.workflowId)) ids.push(w.workflowId);
      ids.sort();
      return JSON.stringify(ids) === JSON.stringify(want) ? ids : null;
    }, 20_000, `README query ${query} to answer ${want.length} reviews`).catch(async (err: Error) => {
      const ids: string[] = [];
      for await (const w of v.client.workflow.list({ query })) ids.push(w.workflowId);
      const name = (id: string) => ran.find((r) => r.workflowId === id)?.key ?? id;
      throw new Error(`${err.message}: got [${ids.map(name).join(', ')}], want [${want.map(name).join(', ')}]`);
    });
    const { count } = await v.client.workflow.count(query);
    assert.equal(count, want.length, `README query ${query}: count`);
    out.push({ query, ids: got });
  }
  return out;
}
