import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isAppError } from './errors.js';

/** A mistake on the command line: `runCli` prints it with the usage and exits 2. `--help` is `new UsageError('')`. */
export class UsageError extends Error {}

/** node:util's parseArgs (strict), its complaints (unknown option, missing value) thrown as UsageError. */
export function parseCommandLine<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** How a tool's failure reads: `CODE: message` for an AppError, else the stack. */
export function describeFailure(err: unknown): string {
  if (isAppError(err)) return `${err.code}: ${err.message}`;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

export interface RunCliOptions {
  /** End the process with process.exit (for tools whose libraries keep handles open); default: set exitCode. */
  exit?: boolean;
  /** Words for a failure this tool knows better (undefined: the default). */
  describe?: (err: unknown) => string | undefined;
}

/**
 * Runs a command-line tool's main and sets the exit status: what `main` returns; 2 for a UsageError (the message
 * and the usage on stderr; for --help the usage on stdout and 0); 1 for any other error (`tool failed: ...`).
 */
export async function runCli(
  tool: string,
  usage: string,
  main: () => Promise<number>,
  opts: RunCliOptions = {},
): Promise<void> {
  let code: number;
  try {
    code = await main();
  } catch (err) {
    if (err instanceof UsageError && !err.message) {
      console.log(usage);
      code = 0;
    } else if (err instanceof UsageError) {
      console.error(`${tool}: ${err.message}\n\n${usage}`);
      code = 2;
    } else {
      console.error(`${tool} failed: ${opts.describe?.(err) ?? describeFailure(err)}`);
      code = 1;
    }
  }
  if (opts.exit) process.exit(code);
  process.exitCode = code;
}
