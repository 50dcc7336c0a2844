// The one logger (src/cli/log.ts): JSON lines, the level from VOUCH_LOG_LEVEL, secrets masked by pino's redaction
// paths and by vouch's sensitive-key rule, errors and bigints readable, reviewId on the SDK's lines about a review.
// (The same logger installed as a real worker's Runtime logger is checked in metrics.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { createLogger, temporalLogger } from '../../src/cli/log';
import { ConfigError } from '../../src/cli/config';

type Line = Record<string, unknown>;

function capture(level = 'trace'): { logger: ReturnType<typeof createLogger>; lines: Line[]; raw: string[] } {
  const raw: string[] = [];
  const logger = createLogger({ level, destination: { write: (s: string) => raw.push(s) } });
  return {
    logger,
    raw,
    get lines() {
      return raw.map((l) => JSON.parse(l) as Line);
    },
  };
}

test('one JSON object per line: level name, ISO time, msg, fields', () => {
  const c = capture('info');
  c.logger.debug('hidden');
  c.logger.info({ queue: 'q1', count: 3 }, 'hello');
  assert.equal(c.raw.length, 1);
  assert.ok(c.raw[0]?.endsWith('\n'));
  const [line] = c.lines;
  assert.equal(line?.level, 'info');
  assert.equal(line?.msg, 'hello');
  assert.equal(line?.queue, 'q1');
  assert.equal(line?.count, 3);
  assert.ok(!Number.isNaN(Date.parse(String(line?.time))), 'time is an ISO date');
});

test('secret values given in fields never reach the output', () => {
  const c = capture();
  const secrets = {
    slack: 'xoxb-123456789012-abcdefghijklmnop',
    skey: 'Zk3u9X0o1l2m3n4b5v6c7x8z9a0s1d2f3g4h5j6k',
    routing: 'R0123456789abcdef0123456789abcde',
    aws: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    password: 'hunter2-but-longer',
    userData: 'IyEvYmluL2Jhc2gKZWNobyBzZWNyZXQ=',
  };
  c.logger.info(
    {
      apiToken: secrets.slack, // pino redact path
      duo: { skey: secrets.skey }, // one level down
      PAGERDUTY_ROUTING_KEY: secrets.routing, // a secret configuration variable
      request: { credentials: { secretAccessKey: secrets.aws }, masterUserPassword: secrets.password }, // vouch's rule, any depth
      launch: [{ userData: secrets.userData }],
      groupId: 'sg-123',
    },
    'calling a vendor',
  );
  c.logger.warn({ err: Object.assign(new Error('bad'), { authToken: secrets.slack }) }, 'failed');
  const text = c.raw.join('');
  for (const [what, value] of Object.entries(secrets)) assert.ok(!text.includes(value), `${what} leaked: ${text}`);
  const [first, second] = c.lines as [Line, Line];
  assert.equal(first.apiToken, '<redacted>');
  assert.deepEqual(first.duo, { skey: '<redacted>' });
  assert.equal(first.PAGERDUTY_ROUTING_KEY, '<redacted>');
  assert.equal((first.request as Line).credentials, '<redacted>');
  assert.equal((first.request as Line).masterUserPassword, '<redacted>');
  assert.deepEqual(first.launch, [{ userData: '<redacted>' }]);
  assert.equal(first.groupId, 'sg-123', 'other fields stay');
  assert.equal((second.err as Line).message, 'bad');
  assert.equal((second.err as Line).authToken, '<redacted>');
});

test('errors, bigints and dates are readable; err keeps its stack for failures nobody expected', () => {
  const c = capture();
  c.logger.error({ error: new TypeError('boom'), n: 10n, at: new Date('2026-01-02T03:04:05Z') }, 'x');
  c.logger.fatal({ err: new RangeError('kaput') }, 'uncaught');
  const [a, b] = c.lines as [Line, Line];
  assert.deepEqual(a.error, { name: 'TypeError', message: 'boom' });
  assert.equal(a.n, '10');
  assert.equal(a.at, '2026-01-02T03:04:05.000Z');
  assert.equal((b.err as Line).type, 'RangeError');
  assert.match(String((b.err as Line).stack), /RangeError: kaput/);
});

test('the level comes from VOUCH_LOG_LEVEL; an unknown level is a configuration error', () => {
  const before = process.env.VOUCH_LOG_LEVEL;
  try {
    process.env.VOUCH_LOG_LEVEL = 'warn';
    const raw: string[] = [];
    const logger = createLogger({ destination: { write: (s: string) => raw.push(s) } });
    logger.info('no');
    logger.warn('yes');
    assert.deepEqual(raw.map((l) => (JSON.parse(l) as Line).msg), ['yes']);
    process.env.VOUCH_LOG_LEVEL = 'chatty';
    assert.throws(() => createLogger(), (e: unknown) => e instanceof ConfigError && /VOUCH_LOG_LEVEL must be one of/.test(e.message));
  } finally {
    if (before === undefined) delete process.env.VOUCH_LOG_LEVEL;
    else process.env.VOUCH_LOG_LEVEL = before;
  }
});

test('the Temporal SDK adapter: levels kept, reviewId on lines about a review and only those', () => {
  const c = capture('debug');
  const sdk = temporalLogger(c.logger);
  sdk.trace('too low');
  sdk.info('Workflow started', { workflowId: 'vouch-111122223333-e1', runId: 'r1', workflowType: 'reviewChangeWorkflow' });
  sdk.log('WARN', 'Activity failed', { workflowId: 'vouch-111122223333-e2', activityType: 'resolvePerson' });
  sdk.error('poller failed', { workflowId: 'lookup-poller-1', workflowType: 'lookupPollerWorkflow' });
  sdk.debug('core line', { sdkComponent: 'core' });
  const lines = c.lines;
  assert.deepEqual(lines.map((l) => l.level), ['info', 'warn', 'error', 'debug']);
  assert.equal(lines[0]?.reviewId, 'vouch-111122223333-e1');
  assert.equal(lines[1]?.reviewId, 'vouch-111122223333-e2', 'an activity line of a review (no workflow type) names it too');
  assert.equal(lines[2]?.reviewId, undefined, 'a poller is not a review');
  assert.equal(lines[3]?.reviewId, undefined);
});

test('a vouch process logs JSON lines on stderr, secrets masked', async () => {
  // `vouch worker` logs its (masked) configuration before connecting; nothing listens on port 1, so it then fails.
  const token = 'xoxb-111111111111-secretsecretsecret';
  const res = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [path.resolve(__dirname, '../../src/bin/vouch.js'), 'worker'],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          TEMPORAL_ADDRESS: '127.0.0.1:1',
          SLACK_BOT_TOKEN: token,
          DUO_IKEY: 'DIABCDEFGHIJKLMNOPQR',
          DUO_SKEY: 'a'.repeat(40),
          DUO_API_HOST: 'api-test.duosecurity.com',
          PAGERDUTY_ROUTING_KEY: 'b'.repeat(32),
          // Required while reverts are on (the default): the configuration must pass for the process to connect.
          VOUCH_REVERT_ROLE_ARN_TEMPLATE: 'arn:aws:iam::{account}:role/vouch-revert',
        },
        timeout: 60_000,
      },
      (err, _stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
  assert.equal(res.code, 1, res.stderr);
  assert.ok(!res.stderr.includes(token) && !res.stderr.includes('a'.repeat(40)), res.stderr);
  const starting = res.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line)
    .find((l) => l.msg === 'worker starting');
  assert.ok(starting, res.stderr);
  assert.equal((starting.config as Line).SLACK_BOT_TOKEN, '<redacted>');
  assert.equal((starting.config as Line).TEMPORAL_ADDRESS, '127.0.0.1:1', 'the rest of the configuration is there');
});
