// Mutation testing of the pure modules (`npm run test:mutation`; README "Test strength"). Stryker changes the code
// one small step at a time (a condition flipped, a string emptied, a branch removed) and runs the unit tests that
// cover that spot; a change no test notices is a surviving mutant. https://stryker-mutator.io/docs/stryker-js/configuration/
//
// - Tests run as the project runs them, through tsx, one file per process with the TAP reporter (the tap runner:
//   https://stryker-mutator.io/docs/stryker-js/tap-runner/); only the unit test files of the mutated modules, no
//   Temporal server, no moto, so a run is bounded.
// - Stryker copies the project into .stryker-tmp/sandbox-*; tests that read ../shared find it through
//   .stryker-tmp/shared, the link `npm run test:mutation` makes.
// - `mutate` is the measured scope (the README gives its scores and run time). Widen it for a longer run with
//   `npx stryker run --mutate 'src/policy/**/*.ts'` (then add the policy data tests to tap.testFiles).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  tap: {
    testFiles: [
      'test/policy/engine.test.ts',
      'test/policy/network.test.ts',
      'test/policy/conditions.test.ts',
      'test/core/*.test.ts',
      'test/intake/normalise.test.ts',
      'test/intake/normalise-mutants.test.ts',
      'test/revert/plans.test.ts',
      'test/revert/catalogue.test.ts',
      'test/slack/blocks.test.ts',
      'test/slack/blocks-content.test.ts',
      'test/slack/escape.test.ts',
    ],
    nodeArgs: ['--import', 'tsx', '--test-reporter=tap'],
    forceBail: true,
  },
  coverageAnalysis: 'perTest',
  // Later runs test again only the mutants whose code or covering tests changed (the first run tests them all).
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  mutate: [
    'src/policy/conditions.ts',
    'src/intake/normalise.ts',
    'src/revert/plan.ts',
    'src/revert/catalogue.ts',
    'src/slack/blocks.ts',
    'src/core/redact.ts',
    'src/core/text.ts',
    'src/core/glob.ts',
  ],
  ignorePatterns: ['.tools', '.data', 'test-artifacts', 'reports', 'dist', 'coverage', '.git'],
  // The machine is shared: two test processes at most. A generous timeout, so a slow machine is not read as a
  // mutant that hangs (a timeout counts as killed).
  concurrency: 2,
  timeoutMS: 60000,
  tempDirName: '.stryker-tmp',
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  thresholds: { high: 90, low: 80, break: null },
};
