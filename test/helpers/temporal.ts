// One real Temporal dev server per test file (the official CLI, resolved like everywhere else in vouch), with
// vouch's search attributes registered, and the workflow bundle built once.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createWorkerWith } from '../../src/cli/worker';
import type { VouchMetrics } from '../../src/cli/metrics';
import { resolveTemporalCli } from '../../src/demo/tools/resolve';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

let runtimeInstalled = false;

export async function startDevServer(): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const cli = resolveTemporalCli({ install: true });
  if (!cli) throw new Error('no Temporal CLI found or installable (see src/demo/tools/resolve.ts)');
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      searchAttributes: [...ALL_SEARCH_ATTRIBUTES],
      extraArgs: ['--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF'],
    },
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

export function reviewWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: new DefaultLogger('WARN'),
  });
  return bundle;
}

/** Poll `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A dev server with the production worker (src/cli/worker.ts) running the review workflows on `taskQueue`. */
export interface ReviewStack {
  env: TestWorkflowEnvironment;
  /** Stops the worker (waiting for it to drain), then the server. */
  stop(): Promise<void>;
}

/**
 * The worker `vouch worker` builds (createWorkerWith: its workflows, interceptors and options), over the given
 * (scripted) activities instead of the vendor ones. With `metrics`, the activity interceptor is wired as production
 * wires it.
 */
export async function startReviewStack(activities: object, taskQueue: string, opts: { metrics?: VouchMetrics } = {}): Promise<ReviewStack> {
  const env = await startDevServer();
  const { worker, connection } = await createWorkerWith(
    { TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default', TEMPORAL_TASK_QUEUE: taskQueue },
    activities,
    opts.metrics,
  );
  const running = worker.run();
  return {
    env,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      await env.teardown();
    },
  };
}
