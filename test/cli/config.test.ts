import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, workerSchema, starterSchema, describeConfig, ConfigError } from '../../src/cli/config';

const GOOD = {
  SLACK_BOT_TOKEN: 'xoxb-1111-2222-abcdef',
  DUO_IKEY: 'DIXXXXXXXXXXXXXXXXXX',
  DUO_SKEY: 'a'.repeat(40),
  DUO_API_HOST: 'api-12345678.duosecurity.com',
  PAGERDUTY_ROUTING_KEY: 'R'.repeat(32),
};

describe('config', () => {
  test('the worker config validates and applies defaults', () => {
    const c = loadConfig(workerSchema, GOOD);
    assert.equal(c.TEMPORAL_ADDRESS, '127.0.0.1:7233');
    assert.equal(c.TEMPORAL_TASK_QUEUE, 'vouch-reviews');
    assert.ok(Object.isFrozen(c));
  });

  test('every bad or missing variable is named, and no secret value appears in the error', () => {
    const env = { ...GOOD, SLACK_BOT_TOKEN: 'xoxp-user-token-secretvalue', PAGERDUTY_ROUTING_KEY: undefined, DUO_API_HOST: 'https://api-1.duosecurity.com' };
    assert.throws(
      () => loadConfig(workerSchema, env),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /SLACK_BOT_TOKEN must be a Slack bot token/);
        assert.match(err.message, /PAGERDUTY_ROUTING_KEY is required/);
        assert.match(err.message, /DUO_API_HOST must be a host name/);
        assert.ok(!err.message.includes('secretvalue'));
        return true;
      },
    );
  });

  test('describeConfig masks secrets', () => {
    const shown = JSON.stringify(describeConfig(loadConfig(workerSchema, GOOD)));
    assert.ok(!shown.includes(GOOD.DUO_SKEY));
    assert.ok(!shown.includes(GOOD.SLACK_BOT_TOKEN));
    assert.ok(!shown.includes(GOOD.PAGERDUTY_ROUTING_KEY));
    assert.match(shown, /"DUO_SKEY":"<set>"/);
  });

  test('security responders are a comma-separated list', () => {
    const c = loadConfig(starterSchema, { VOUCH_SECURITY_SLACK_USERS: 'U1, U2,,U3' });
    assert.deepEqual(c.VOUCH_SECURITY_SLACK_USERS, ['U1', 'U2', 'U3']);
    assert.equal(c.VOUCH_DEADLINE_SECONDS, 900);
    assert.throws(() => loadConfig(starterSchema, { VOUCH_DEADLINE_SECONDS: '5' }), /VOUCH_DEADLINE_SECONDS/);
  });
});
