// How a review starts, as the Web UI will read it: the VouchSummary column, and a server registered before that
// column existed (the review must still start, with a warning naming the fix). No worker: only the start is looked at.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { resolveTemporalCli } from '../../src/demo/tools/resolve';
import { startReview } from '../../src/intake/starter';
import { ALL_SEARCH_ATTRIBUTES, VouchSummary, VouchTier } from '../../workflows/search-attributes';
import { reviewInput } from '../helpers/review-input';
import { startDevServer } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
let older: TestWorkflowEnvironment;

before(async () => {
  env = await startDevServer();
  const cli = resolveTemporalCli({ install: true });
  assert.ok(cli, 'a Temporal CLI');
  older = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      searchAttributes: ALL_SEARCH_ATTRIBUTES.filter((k) => k.name !== VouchSummary.name),
    },
  });
});

after(async () => {
  await older?.teardown();
  await env?.teardown();
});

describe('starting a review', () => {
  test('the summary is a search attribute (a column of the Workflows list) and the memo', async () => {
    const k = randomUUID().slice(0, 8);
    const res = await startReview(env.client, reviewInput(k), { taskQueue: `nobody-${k}`, uiBaseUrl: 'http://ui' });
    try {
      assert.equal(res.warning, undefined);
      const desc = await res.handle.describe();
      const expected = `eng-${k}: sg-123 opened to 0.0.0.0/0 on tcp/22 in 111122223333/eu-west-1`;
      // The column's value writes ':' as '∶' (PostgreSQL visibility reads Text values as tsvector literals).
      assert.equal(desc.typedSearchAttributes.get(VouchSummary), expected.replace(/:/g, '\u2236'));
      assert.equal(desc.memo?.summary, expected);
      assert.equal(await desc.staticSummary(), expected);
      assert.match((await desc.staticDetails()) ?? '', /^\*\*Tier:\*\* confirm \(score 60\)/m);
      // Text attributes match by word: security can search the list for a resource.
      const found = async (): Promise<boolean> => {
        for await (const w of env.client.workflow.list({ query: `VouchSummary = "sg-123" AND VouchActor = "eng-${k}"` })) {
          if (w.workflowId === res.workflowId) return true;
        }
        return false;
      };
      const until = Date.now() + 10_000;
      while (!(await found())) {
        assert.ok(Date.now() < until, 'found by a word of its summary');
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await res.handle.terminate('test done');
    }
  });

  test('on a server without VouchSummary the review still starts, and the warning says to run vouch setup', async () => {
    const k = randomUUID().slice(0, 8);
    const res = await startReview(older.client, reviewInput(k), { taskQueue: `nobody-${k}`, uiBaseUrl: 'http://ui' });
    try {
      assert.equal(res.status, 'started');
      assert.match(res.warning ?? '', /search attribute VouchSummary is not registered on namespace default: run `vouch setup`/);
      const desc = await res.handle.describe();
      assert.equal(desc.typedSearchAttributes.get(VouchTier), 'confirm', 'the other attributes are set');
      assert.equal(desc.typedSearchAttributes.get(VouchSummary), undefined);
      assert.equal(await desc.staticSummary(), `eng-${k}: sg-123 opened to 0.0.0.0/0 on tcp/22 in 111122223333/eu-west-1`);
    } finally {
      await res.handle.terminate('test done');
    }
  });
});
