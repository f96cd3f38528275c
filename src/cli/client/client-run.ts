/**
 * Runs one client command: builds the compute client from the options, runs the body, and turns any
 * failure into `baton: <what failed>: <why>` on stderr and a non-zero exit code (1 API, 2 usage).
 */
import { Command, CommanderError } from 'commander';
import { exitCodeOf, failureLine, UsageError } from './client-errors.js';
import { ComputeClient } from './compute-client.js';
import { resolveSettings, type ClientOptions } from './connection-options.js';
import { toJson } from './output-format.js';

export interface ClientContext {
  readonly client: ComputeClient;
  readonly json: boolean;
  /** Prints a line (or a JSON value with --json) on stdout. */
  print(text: string): void;
  printJson(value: unknown): void;
}

export async function runClient(cmd: Command, what: string, body: (ctx: ClientContext) => Promise<void>): Promise<void> {
  const opts = cmd.optsWithGlobals<ClientOptions>();
  const ctx: ClientContext = {
    client: new ComputeClient(resolveSettings(opts)),
    json: opts.json === true,
    print: (text) => { process.stdout.write(`${text}\n`); },
    printJson: (value) => { process.stdout.write(`${toJson(value)}\n`); },
  };
  try {
    await body(ctx);
  } catch (e) {
    process.stderr.write(`${failureLine(what, e)}\n`);
    process.exitCode = exitCodeOf(e);
  }
}

/** Commander's own usage errors (unknown option, missing argument) exit with 2, like other usage errors. */
export function usageExitCodes(cmd: Command): Command {
  return cmd.exitOverride((err) => {
    if (err.exitCode !== 0) throw new CommanderError(2, err.code, err.message);
    throw err;
  });
}

/** Milliseconds from a `--timeout`/`--interval`-style option given in seconds; a usage error names the option. */
export function secondsOption(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number of seconds, not '${v}'`);
  return n * 1000;
}
