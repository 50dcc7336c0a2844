// One real Temporal dev server per test file (the official CLI, resolved like everywhere else in vouch), with
// vouch's search attributes registered, and the workflow bundle built once.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
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

/** A dev server with a worker running the review workflows on `taskQueue` over the given (fake) activities. */
export interface ReviewStack {
  env: TestWorkflowEnvironment;
  /** Stops the worker (waiting for it to drain), then the server. */
  stop(): Promise<void>;
}

export async function startReviewStack(activities: object, taskQueue: string): Promise<ReviewStack> {
  const env = await startDevServer();
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await reviewWorkflowBundle(),
    activities,
  });
  const running = worker.run();
  return {
    env,
    async stop() {
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}
