// The Slack client factory's logging: @slack/web-api and @slack/socket-mode log preformatted strings, which reach the
// process's pino logger scrubbed of tokens and bearer credentials, at the client's own threshold and pino's level.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LogLevel } from '@slack/web-api';
import { slackApiBase, slackLogger } from '../../src/slack/client';
import { captureLogs } from '../helpers/logs';

const BOT = 'xoxb-1111-2222-abcdefSECRET';
const APP = 'xapp-1-A0VOUCH-333-deadbeefSECRET';

describe('Slack client logging', () => {
  test('lines go to pino as JSON, with the given secrets, any Slack token and bearer credentials scrubbed', () => {
    const { logger, lines, raw } = captureLogs();
    const log = slackLogger(logger, [BOT, 'plain-secret-value']);
    log.warn('calling with', { token: BOT }, 'and plain-secret-value');
    log.error(`socket: Authorization: Bearer ${APP} other xoxp-9-9-userTOKEN`);
    assert.equal(lines.length, 2);
    assert.deepEqual(
      lines.map((l) => [l.level, l.component]),
      [
        ['warn', 'slack'],
        ['error', 'slack'],
      ],
    );
    assert.match(lines[0]?.msg ?? '', /^calling with \{ token: '<redacted>' \} and <redacted>$/);
    assert.match(lines[1]?.msg ?? '', /^socket: Authorization: Bearer <redacted> other xox\?-<redacted>$/);
    for (const secret of ['abcdefSECRET', 'deadbeefSECRET', 'userTOKEN', 'plain-secret-value']) {
      assert.ok(!raw.join('').includes(secret), `${secret} never reaches a line`);
    }
  });

  test('the client threshold (warn unless set) and pino\'s level both apply; setName names the component', () => {
    const { logger, lines } = captureLogs('info');
    const log = slackLogger(logger, []);
    assert.equal(log.getLevel(), LogLevel.WARN);
    log.info('chatty');
    assert.equal(lines.length, 0, 'below the client threshold');
    log.setLevel(LogLevel.DEBUG);
    log.debug('below pino\'s level');
    log.info('now passed on');
    log.setName('socket-mode:SlackWebSocket');
    log.warn('named');
    assert.deepEqual(
      lines.map((l) => [l.msg, l.component]),
      [
        ['now passed on', 'slack'],
        ['named', 'socket-mode:SlackWebSocket'],
      ],
    );
  });

  test('the Web API base always ends in a slash', () => {
    assert.equal(slackApiBase('https://slack.com/api'), 'https://slack.com/api/');
    assert.equal(slackApiBase('https://127.0.0.1:9/api/'), 'https://127.0.0.1:9/api/');
  });
});
