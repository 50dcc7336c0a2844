// The one glob matcher: `*` any run (also across `/`), `?` one character, everything else literal.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { globMatcher, globTest, isGlob } from '../../src/core/glob';

describe('globs', () => {
  test('`*` spans any run of characters, `/` and newlines included; `?` is one character', () => {
    const cases: [string, string, boolean][] = [
      ['Delete*', 'DeleteBucket', true],
      ['Delete*', 'CreateBucket', false],
      ['arn:aws:iam::*:role/*', 'arn:aws:iam::111122223333:role/path/deployer', true],
      ['arn:aws:iam::*:role/ci-*', 'arn:aws:iam::111122223333:user/ci-bot', false],
      ['arn:aws:sts::*:assumed-role/vouch-revert/*', 'arn:aws:sts::111122223333:assumed-role/vouch-revert/vouch-revert-1', true],
      ['vouch-revert-*', 'vouch-revert-', true],
      ['aws-cli/*', 'aws-cli/2.15.0 Python/3.11 Linux/6.1', true],
      ['a*b', 'a\nb', true],
      ['Get?', 'GetX', true],
      ['Get?', 'Get', false],
      ['*', 'anything at all', true],
      ['*', '', false],
    ];
    for (const [glob, text, want] of cases) assert.equal(globMatcher(glob)(text), want, `${glob} vs ${JSON.stringify(text)}`);
  });

  test('braces, brackets, parentheses, negation, regex characters and backslashes are literal', () => {
    const literal = ['a{1,3}', '[ab]', '(a|b)', '!deny', '@(x)', 'a+(b)', 'a.b', 'a$b^', 'a\\b', 'user@example.com', 'arn:aws:iam::1:user/a+b=c,d'];
    for (const glob of literal) {
      assert.equal(globMatcher(glob)(glob), true, `${glob} matches itself`);
      assert.equal(isGlob(glob), false);
    }
    assert.equal(globMatcher('a{1,3}')('aaa'), false);
    assert.equal(globMatcher('[ab]')('a'), false);
    assert.equal(globMatcher('(a|b)')('a'), false);
    assert.equal(globMatcher('!deny')('allow'), false);
    assert.equal(globMatcher('a.b')('aXb'), false);
  });

  test('case matters unless asked otherwise (IAM actions); several globs match when any does', () => {
    assert.equal(globTest('IAM:*', 'iam:PassRole'), false);
    assert.equal(globTest('IAM:*', 'iam:PassRole', { ignoreCase: true }), true);
    const any = globMatcher(['Stop*', 'Delete*']);
    assert.equal(any('StopLogging'), true);
    assert.equal(any('DeleteTrail'), true);
    assert.equal(any('UpdateTrail'), false);
  });
});
