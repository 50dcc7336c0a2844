// Lint: typescript-eslint's recommended rules, plus the room boundaries of README "Architecture":
// - src/core/ is the domain model: it imports nothing outside itself and no Node builtins, so workflows may use it;
// - workflows/ runs in Temporal's deterministic sandbox (as Temporal's samples enforce it): no Node builtins, no
//   Temporal non-workflow packages, nothing from src/ but src/core/, and activities only as types;
// - every other room imports only the rooms below it (core ← policy, revert ← intake ← slack ← activities ← cli ←
//   demo); the workflow contract (workflows/messages, workflows/search-attributes) may be imported, other workflow
//   files only as types. test/architecture.test.ts checks the same map on the whole import graph, and no circles.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', '.data/**', 'dist/**', 'test-artifacts/**', '.stryker-tmp/**', 'reports/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', __dirname: 'readonly', require: 'readonly', module: 'writable', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', fetch: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: ['src/bin/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code runs in a deterministic sandbox: no Node builtins.' })),
          patterns: [
            {
              group: ['@temporalio/activity', '@temporalio/client', '@temporalio/worker', '@temporalio/testing'],
              message: 'workflows/ may only use @temporalio/workflow and @temporalio/common.',
            },
            {
              regex: '(^|/)src(/(?!core(/|$)).*)?$',
              message: 'workflows/ may import from src/ only the domain model in src/core/.',
            },
            {
              group: ['**/activities', '**/activities/**'],
              allowTypeImports: true,
              message: 'workflows/ may import activities only as types (import type).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'src/core/ is pure: no Node builtins.' })),
          patterns: [{ regex: '^\\.\\./(?!core(/|$))|^\\.\\./\\.\\.', message: 'src/core/ imports nothing outside itself.' }],
        },
      ],
    },
  },
  ...roomRules(),
);

/** One no-restricted-imports rule per room: the rooms above it, activities and demo are out of reach. */
function roomRules() {
  const workflowsTypesOnly = {
    regex: `^(\\.\\./)+workflows(/(?!(messages|search-attributes)$).*)?$`,
    allowTypeImports: true,
    message: 'outside workflows/, only the workflow contract (messages, search-attributes) is imported; other workflow files only as types',
  };
  const forbid = (rooms, why, allowTypeImports = false) => ({ regex: `^(\\.\\./)+(${rooms.join('|')})(/|$)`, message: why, allowTypeImports });
  const rooms = [
    { files: ['src/policy/**/*.ts'], out: ['intake', 'slack', 'cli', 'demo', 'activities', 'workflows'], why: 'src/policy/ imports only src/core/ and src/revert/.' },
    { files: ['src/revert/**/*.ts'], out: ['policy', 'intake', 'slack', 'cli', 'demo', 'activities'], why: 'src/revert/ imports only src/core/ (and the workflow contract).' },
    { files: ['src/intake/**/*.ts'], out: ['slack', 'cli', 'demo', 'activities'], why: 'src/intake/ imports only src/core/, src/policy/, src/revert/ and the workflow contract.' },
    { files: ['src/slack/**/*.ts'], out: ['policy', 'revert', 'intake', 'cli', 'demo', 'activities'], why: 'src/slack/ imports only src/core/ and the workflow contract.' },
    { files: ['activities/**/*.ts'], out: ['src/cli', 'src/demo', 'cli', 'demo'], why: 'activities/ never import the commands or the demo.' },
    { files: ['src/cli/**/*.ts'], out: ['demo'], why: 'src/cli/ loads the demo only lazily (require inside `vouch demo`), so the production image can leave it out.', typesOnly: true },
  ];
  return rooms.map(({ files, out, why, typesOnly }) => ({
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            forbid(out, why, typesOnly === true),
            ...(out.includes('workflows') ? [] : [workflowsTypesOnly]),
          ],
        },
      ],
    },
  }));
}
