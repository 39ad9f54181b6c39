import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

/** Repository root (for spawning apps and tools by path). */
export const REPO_ROOT = resolve(import.meta.dirname, '../../..');

/** A child process under test, with its combined output kept for assertions and failure messages. */
export interface TestProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or signal name) once the process exits. */
  exited: Promise<number | string>;
  /** Sends a signal and waits for exit, killing with SIGKILL after `timeoutMs`. */
  stop: (signal?: NodeJS.Signals, timeoutMs?: number) => Promise<number | string>;
}

/**
 * Starts a TypeScript entry point (an app's main.ts or a tool) in ONE node process with tsx's
 * loader (`node --import tsx`), as production would run it. Not the tsx CLI: that wrapper
 * forwards SIGTERM but cannot forward SIGKILL, so crash tests would leave the real app orphaned.
 * `env` is added to the current environment; `nodeArgs` go to node itself (e.g. --cpu-prof, which
 * NODE_OPTIONS refuses).
 */
export function startTsProcess(
  entry: string,
  env: Record<string, string | undefined>,
  args: string[] = [],
  nodeArgs: string[] = [],
): TestProcess {
  return startNodeProcess([...nodeArgs, '--import', 'tsx', resolve(REPO_ROOT, entry), ...args], {
    LOG_LEVEL: 'info',
    ...env,
  });
}

/** Starts `node <argv>` from the repository root with `env` added to the current environment (a built bundle, a script). */
export function startNodeProcess(argv: string[], env: Record<string, string | undefined>): TestProcess {
  const child = spawn(process.execPath, argv, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((res) => child.once('exit', (code, signal) => res(code ?? signal ?? -1)));
  return {
    child,
    output: () => out,
    exited,
    stop: async (signal = 'SIGTERM', timeoutMs = 15_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
