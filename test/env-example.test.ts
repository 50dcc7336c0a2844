// Every configuration variable is listed in .env.example and in the README's table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { workerSchema, handlerProcessSchema, starterSchema, oncallSchema, metricsSchema } from '../src/cli/config';
import { intakeSchema } from '../src/cli/config';

const ROOT = path.resolve(__dirname, '..');
const vars = [...new Set([workerSchema, handlerProcessSchema, starterSchema, intakeSchema, oncallSchema, metricsSchema].flatMap((s) => Object.keys(s.shape)))].sort();

test('.env.example lists every variable the config schemas read', () => {
  const text = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');
  const listed = new Set([...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
  assert.deepEqual(vars.filter((v) => !listed.has(v)), []);
});

test('the README configuration table documents every variable', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  assert.deepEqual(vars.filter((v) => !readme.includes(`| \`${v}\``)), []);
});

test('the IAM policy in the README is the one vouch generates from its revert plans', async () => {
  const { revertRolePolicy } = await import('../src/cli/iam-policy');
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Reverting to a trusted state'));
  const block = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
  assert.ok(block, 'a json block in the revert section');
  assert.deepEqual(JSON.parse(block), revertRolePolicy());
});
