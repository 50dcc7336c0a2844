// How every vouch command runs (commander): `--help` on any command or subcommand prints its options and exits 0;
// a usage error (unknown option or command, missing argument, a bad option value) prints the message and the usage
// and exits 2; a configuration error names the variables and exits 78 (EX_CONFIG); any other failure exits 1.
// Commands return their exit status instead of calling process.exit, so tests run them in-process.
import { CommanderError, InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from './config';
import { getLogger } from './log';

export interface Out {
  write(text: string): unknown;
}

/** Where a command's own output goes (default process.stdout / process.stderr). */
export interface CommandIo {
  stdout?: Out;
  stderr?: Out;
}

/** A mistake in how the command was called: reported with the command's usage, exit 2. */
export class UsageError extends Error {}

const EXIT_USAGE = 2;
const EXIT_CONFIG = 78;

const exitCodes = new WeakMap<Command, number>();
const running = new WeakMap<Command, string>();

function rootOf(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

/** "baseline capture" for the capture subcommand of baseline (the program's own name left out). */
export function pathOf(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Sets what a command does. `run` gets commander's action arguments (positional arguments, then the options, then the
 * command) and returns the exit status; a UsageError it throws is reported with the command's usage (exit 2).
 */
export function act<A extends unknown[]>(cmd: Command, run: (...args: A) => Promise<number> | number): Command {
  return cmd.action(async (...args: unknown[]) => {
    const self = args[args.length - 1] as Command;
    const root = rootOf(self);
    running.set(root, pathOf(self));
    try {
      exitCodes.set(root, await run(...(args as A)));
    } catch (err) {
      if (err instanceof UsageError) self.error(`error: ${err.message}`, { exitCode: EXIT_USAGE, code: 'vouch.usage' });
      throw err;
    }
  });
}

/** Every command of the tree, depth first, the root included. */
export function walk(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(walk)];
}

/** A whole number from `min` to `max` (a commander option parser; a bad value is a usage error). */
export function wholeNumber(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}

/** Runs `program` on `argv` (without node and script) and returns the exit status. */
export async function runCommand(program: Command, argv: string[], io: CommandIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  for (const cmd of walk(program)) {
    cmd
      .exitOverride()
      .showHelpAfterError()
      .configureOutput({ writeOut: (s) => void stdout.write(s), writeErr: (s) => void stderr.write(s) });
  }
  exitCodes.delete(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCodes.get(program) ?? 0;
  } catch (err) {
    const name = running.get(program) ?? pathOf(program);
    const prefix = `${program.name()}${name ? ` ${name}` : ''}`;
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
    if (err instanceof ConfigError) {
      stderr.write(`${prefix}: ${err.message}\n`);
      return EXIT_CONFIG;
    }
    const message = err instanceof Error ? err.message : String(err);
    try {
      getLogger().error({ command: name, error: message }, 'command failed');
    } catch {
      // no logger (a bad VOUCH_LOG_LEVEL): the line below still says what failed
    }
    stderr.write(`${prefix}: ${message}\n`);
    return 1;
  }
}
