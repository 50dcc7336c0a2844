// The workflow sandbox boundary is enforced by lint: workflows/ may not import Node builtins, Temporal's
// non-workflow packages, src/, or activities except as types. And today's tree obeys it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ESLint } from 'eslint';

const ROOT = path.resolve(__dirname, '..');

test('lint refuses forbidden imports in workflows/', async () => {
  const eslint = new ESLint({ cwd: ROOT });
  const source = [
    "import fs from 'node:fs';",
    "import { Client } from '@temporalio/client';",
    "import { log } from '../src/cli/log';",
    "import { createActivities } from '../activities';",
    "import type { Activities } from '../activities';",
    'export const x = [fs, Client, log, createActivities] as unknown as Activities;',
    '',
  ].join('\n');
  const [result] = await eslint.lintText(source, { filePath: path.join(ROOT, 'workflows', 'probe.ts') });
  const restricted = (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports');
  assert.deepEqual(
    restricted.map((m) => m.line),
    [1, 2, 3, 4],
    'each forbidden import is reported, the type-only import is allowed',
  );
});

test('the same imports are fine outside workflows/', async () => {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText("import fs from 'node:fs';\nexport const y = fs;\n", {
    filePath: path.join(ROOT, 'src', 'probe.ts'),
  });
  assert.equal((result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').length, 0);
});
