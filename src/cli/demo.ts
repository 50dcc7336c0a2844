// `vouch demo`: everything on an embedded default (Temporal dev server and Web UI, the vendor sandbox, moto). The demo
// lives in src/demo, which the production image leaves out: it is loaded only when this command runs.
import { Command, Option } from 'commander';
import type { runDemo as RunDemo } from '../demo/command';
import type { AutoMode } from '../demo/stack';
import { gracefulStop } from './lifecycle';
import { act, wholeNumber } from './program';

interface DemoFlags {
  auto?: AutoMode;
  deadline?: number;
  tiers: 'policy' | 'fixed';
  policy?: string;
  moto: boolean;
  shared: boolean;
}

export function demoCommand(): Command {
  const cmd = new Command('demo')
    .summary('run everything on an embedded default: dev server, vendor sandbox, moto')
    .description('run everything on an embedded default: Temporal dev server + Web UI, vendor sandbox page, moto; Ctrl-C stops it')
    .addOption(
      new Option('--auto <mode>', 'answer on its own (confirm, deny, or stay silent), print a summary and exit 1 if any review ends unexpectedly').choices([
        'confirm',
        'deny',
        'silent',
      ]),
    )
    .option('--deadline <seconds>', 'answer deadline (default 20 with --auto silent, else the policy\'s)', wholeNumber('--deadline', 5, 7 * 86_400))
    .addOption(new Option('--tiers <how>', 'tiers from the policy through the intake pipeline, or fixed per record').choices(['policy', 'fixed']).default('policy'))
    .option('--policy <file>', 'the policy (default: the shipped one)')
    .option('--no-moto', 'no AWS emulator: reverts are shown as dry-run plans')
    .option('--no-shared', 'leave out the records from ../shared/data');
  return act(cmd, (flags: DemoFlags) => {
    // Loaded here, not at the top: src/demo is not in the production image.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runDemo } = require('../demo/command') as { runDemo: typeof RunDemo };
    return runDemo(flags, gracefulStop());
  });
}
