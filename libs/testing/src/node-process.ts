import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { REPO_ROOT, type TestProcess } from './process.js';

/**
 * Like `startTsProcess`, but runs the entry point in ONE process (`node --import tsx`) instead of
 * under the tsx CLI, which forwards SIGTERM/SIGINT to a child node process but cannot forward
 * SIGKILL: killing the tsx wrapper with SIGKILL leaves the real app running as an orphan. Use
 * this one for crash tests (SIGKILL mid-work) and whenever a test must be sure the app is gone.
 */
export function startTsNodeProcess(entry: string, env: Record<string, string | undefined>, args: string[] = []): TestProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(REPO_ROOT, entry), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
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
