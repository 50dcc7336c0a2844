// The long-running processes stop cleanly: `vouch worker`, `vouch handler`, `vouch socket-mode` and
// `vouch ingest --from sqs://…`, spawned for real (src/bin/vouch.js) against a real Temporal dev server (and moto's
// SQS, and the Socket Mode stand-in), wait for their ready line, get SIGINT or SIGTERM, finish what is in flight and
// exit 0 with no stack trace. A second signal stops at once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { freePort } from '../../src/demo/dev-server';
import { startReview } from '../../src/intake/starter';
import type { ReviewInput } from '../../src/core/types';
import { startMoto, type MotoServer } from '../../src/demo/sandbox/moto';
import { SlackSocketStandIn } from '../standins/slack-socket';
import { eventually, startDevServer } from '../helpers/temporal';

const BIN = path.resolve(__dirname, '../../src/bin/vouch.js');
const AWS = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' };

interface Running {
  child: ChildProcess;
  out(): string;
  err(): string;
  exited: Promise<number | null>;
}

function vouch(args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', VOUCH_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exited };
}

/** JSON log lines of a process's stderr. */
function logLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function waitForLog(p: Running, msg: string, timeoutMs = 90_000): Promise<void> {
  await eventually(() => logLines(p.err()).some((l) => l.msg === msg) || p.child.exitCode !== null, timeoutMs, `"${msg}"`);
  assert.equal(p.child.exitCode, null, `the process exited before "${msg}":\n${p.err()}`);
}

/** Sends `signal` and expects exit 0 within `timeoutMs`, no stack trace, and the "stopping" line. */
async function stopsCleanly(p: Running, signal: NodeJS.Signals, stoppedMsg: string, timeoutMs = 30_000): Promise<void> {
  p.child.kill(signal);
  const code = await Promise.race([p.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), timeoutMs))]);
  if (code === 'hung') p.child.kill('SIGKILL');
  assert.equal(code, 0, `exit status after ${signal}:\n${p.err()}`);
  assert.doesNotMatch(p.err(), /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(p.err(), /"level":"(error|fatal)"/, 'no error line');
  const lines = logLines(p.err());
  assert.ok(lines.some((l) => l.signal === signal && String(l.msg).startsWith('stopping')), 'says it is stopping');
  assert.ok(lines.some((l) => l.msg === stoppedMsg), `says "${stoppedMsg}"`);
}

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startDevServer();
});
after(async () => {
  await env?.teardown();
});

const workerEnv = () => ({
  TEMPORAL_ADDRESS: env.address,
  TEMPORAL_TASK_QUEUE: `signals-${randomUUID()}`,
  SLACK_BOT_TOKEN: 'xoxb-0000-signals',
  DUO_IKEY: 'DIABCDEFGHIJKLMNOPQR',
  DUO_SKEY: randomBytes(20).toString('hex'),
  DUO_API_HOST: 'api-test.duosecurity.com',
  PAGERDUTY_ROUTING_KEY: randomBytes(16).toString('hex'),
  VOUCH_BASELINE_STORE: fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-signals-baseline-')),
});

function reviewInput(): Omit<ReviewInput, 'reviewUrl'> {
  const id = randomUUID();
  return {
    change: {
      eventId: id,
      eventTime: new Date().toISOString(),
      account: '111122223333',
      region: 'eu-west-1',
      eventSource: 'ec2.amazonaws.com',
      eventName: 'AuthorizeSecurityGroupIngress',
      // An IAM Identity Center session: its name is trusted, so the worker looks alice up in Slack by e-mail.
      actor: {
        type: 'AssumedRole',
        name: 'alice@example.com',
        arn: 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Dev_0123456789abcdef/alice@example.com',
        sessionIssuerArn: 'arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Dev_0123456789abcdef',
      },
      request: { groupId: 'sg-123' },
      response: null,
      summary: 'sg-123 opened to 0.0.0.0/0 on tcp/22',
    },
    verdict: { tier: 'confirm', score: 50, rules: ['admin-port'], reasons: ['tcp/22 open to the world'], deadlineSeconds: 600, revertPlan: null },
    securityResponders: [],
  };
}

describe('stopping on SIGINT / SIGTERM', () => {
  test('vouch worker: SIGINT → the worker shuts down and exits 0', async () => {
    const p = vouch(['worker'], workerEnv());
    try {
      await waitForLog(p, 'worker ready');
      await stopsCleanly(p, 'SIGINT', 'worker stopped');
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });

  test('vouch handler: SIGTERM → it stops listening and exits 0', async () => {
    const port = await freePort();
    const p = vouch(['handler'], {
      TEMPORAL_ADDRESS: env.address,
      SLACK_SIGNING_SECRET: randomBytes(16).toString('hex'),
      SLACK_BOT_TOKEN: 'xoxb-0000-signals',
      VOUCH_HANDLER_HOST: '127.0.0.1',
      VOUCH_HANDLER_PORT: String(port),
    });
    try {
      await waitForLog(p, 'slack handler listening');
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
      await stopsCleanly(p, 'SIGTERM', 'handler stopped');
      await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'no longer listening');
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });

  test('vouch socket-mode: SIGINT → it disconnects and exits 0', async () => {
    const appToken = `xapp-1-A0VOUCH-${randomBytes(6).toString('hex')}`;
    const socket = new SlackSocketStandIn({ appToken });
    const { apiUrl, ca } = await socket.start();
    const caFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-signals-ca-')), 'ca.pem');
    fs.writeFileSync(caFile, ca);
    const p = vouch(['socket-mode'], {
      TEMPORAL_ADDRESS: env.address,
      SLACK_BOT_TOKEN: 'xoxb-0000-signals',
      SLACK_APP_TOKEN: appToken,
      SLACK_API_URL: apiUrl,
      NODE_EXTRA_CA_CERTS: caFile,
    });
    try {
      await waitForLog(p, 'socket mode connected');
      assert.equal(socket.openConnections, 1);
      await stopsCleanly(p, 'SIGINT', 'socket mode stopped');
      await eventually(() => socket.openConnections === 0, 5000, 'the WebSocket to close');
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
      await socket.stop();
    }
  });

  describe('vouch ingest --from sqs://…', () => {
    let moto: MotoServer;
    let sqs: SQSClient;
    before(async () => {
      moto = await startMoto();
      sqs = new SQSClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    });
    after(async () => {
      sqs?.destroy();
      await moto?.stop();
    });

    test('SIGTERM during the long poll → the poll is cut short, the summary printed, exit 0', async () => {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `signals-${randomUUID().slice(0, 8)}` }));
      assert.ok(QueueUrl);
      // One message the intake takes (and deletes) before the signal: a record the default policy ignores.
      await sqs.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody: JSON.stringify({
            version: '0',
            id: randomUUID(),
            'detail-type': 'AWS API Call via CloudTrail',
            source: 'aws.ec2',
            account: '111122223333',
            time: new Date().toISOString(),
            region: 'us-east-1',
            resources: [],
            detail: {
              eventVersion: '1.08',
              eventID: randomUUID(),
              eventTime: new Date().toISOString(),
              eventSource: 'ec2.amazonaws.com',
              eventName: 'DescribeInstances',
              awsRegion: 'us-east-1',
              readOnly: true,
              recipientAccountId: '111122223333',
              userIdentity: { type: 'IAMUser', userName: 'alice', arn: 'arn:aws:iam::111122223333:user/alice', accountId: '111122223333' },
              requestParameters: {},
              responseElements: null,
            },
          }),
        }),
      );
      const p = vouch(['ingest', '--from', `sqs://${QueueUrl}`, '--dead-letter', fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-signals-dl-'))], {
        ...AWS,
        TEMPORAL_ADDRESS: env.address,
        TEMPORAL_TASK_QUEUE: `signals-${randomUUID()}`,
      });
      try {
        await waitForLog(p, 'sqs intake started');
        // The message is handled and deleted; the intake then waits in a 20-second long poll.
        await eventually(async () => {
          const attrs = await sqs.send(
            new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
          );
          return attrs.Attributes?.ApproximateNumberOfMessages === '0' && attrs.Attributes.ApproximateNumberOfMessagesNotVisible === '0';
        }, 30_000, 'the message to be deleted');
        const sent = Date.now();
        await stopsCleanly(p, 'SIGTERM', 'sqs intake stopped', 15_000);
        assert.ok(Date.now() - sent < 10_000, 'the long poll was aborted, not waited out');
        const summary = JSON.parse(p.out().trim()) as { messages: number; deleted: number; metrics: { ignored: number } };
        assert.equal(summary.messages, 1);
        assert.equal(summary.deleted, 1);
        assert.equal(summary.metrics.ignored, 1);
      } finally {
        if (p.child.exitCode === null) p.child.kill('SIGKILL');
      }
    });
  });

  test('vouch worker drains an activity in flight; a second signal stops at once (exit 130)', async () => {
    // A Slack API that takes requests and never answers: the review's first activity (looking the engineer up by
    // e-mail) stays in flight.
    const requests: string[] = [];
    const slack = http.createServer((req) => requests.push(req.url ?? ''));
    await new Promise<void>((r) => slack.listen(0, '127.0.0.1', () => r()));
    const vars = { ...workerEnv(), SLACK_API_URL: `http://127.0.0.1:${(slack.address() as AddressInfo).port}/api/` };
    const p = vouch(['worker'], vars);
    try {
      await waitForLog(p, 'worker ready');
      await startReview(env.client, reviewInput(), { taskQueue: vars.TEMPORAL_TASK_QUEUE, uiBaseUrl: 'http://127.0.0.1:8233' });
      await eventually(() => requests.some((u) => u.includes('users.lookupByEmail')), 30_000, 'the Slack lookup to be in flight');
      p.child.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(p.child.exitCode, null, 'still draining the activity in flight');
      assert.ok(logLines(p.err()).some((l) => l.signal === 'SIGINT' && String(l.msg).startsWith('stopping')), p.err());
      const sent = Date.now();
      p.child.kill('SIGINT');
      const code = await Promise.race([p.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000))]);
      assert.equal(code, 130, `exit status:\n${p.err()}`);
      assert.ok(Date.now() - sent < 5000, 'the second signal does not wait for the drain');
      assert.ok(logLines(p.err()).some((l) => String(l.msg).startsWith('second signal')), p.err());
      assert.doesNotMatch(p.err(), /^\s+at /m, 'no stack trace');
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
      slack.closeAllConnections();
      await new Promise<void>((r) => slack.close(() => r()));
    }
  });
});
