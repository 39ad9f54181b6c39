import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { testEnv } from './env.js';
import { startTsProcess } from './process.js';
import { deleteKeys, uniqueName } from './redis.js';

/** A running `npm start` (tools/scripts/start.mjs) and its output. */
export interface Stack {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | string>;
  /** START_STACK_ID: every process of the stack carries it in its environment. */
  stackId: string;
}

const PORTS = [
  'GATEWAY_PORT',
  'CLIP_EMBEDDER_PORT',
  'SIGLIP_EMBEDDER_PORT',
  'CLIP_METRICS_PORT',
  'SIGLIP_METRICS_PORT',
  'WORKER_HEALTH_PORT',
];

/** Starts what `npm start` runs in one node process, with free ports, the demo models and REDIS_URL (env overrides). */
export function startStack(env: Record<string, string>): Stack {
  const stackId = uniqueName('stack').replace(/[^a-z0-9]/gi, '');
  const proc = startTsProcess('tools/scripts/start.mjs', {
    ...Object.fromEntries(PORTS.map((p) => [p, '0'])),
    REDIS_URL: testEnv.redisUrl,
    MODELS: 'demo',
    FORCE_COLOR: '0',
    START_STACK_ID: stackId,
    ...env,
  });
  return { child: proc.child, output: proc.output, exited: proc.exited, stackId };
}

/** Pids of live processes whose environment carries the stack's marker (grandchildren included). */
export function stackPids(stackId: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'utf8').includes(`START_STACK_ID=${stackId}`)) pids.push(Number(d));
    } catch {
      /* gone, or not ours */
    }
  }
  return pids;
}

/**
 * Waits until the stack printed its summary and returns the gateway's base URL. Not waitFor: a start
 * script that exits fails at once, not after the timeout. `after` skips output printed before it.
 */
export async function stackReady(stack: Stack, timeoutMs = 180_000, after = 0): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!stack.output().slice(after).includes('Ctrl-C stops everything.')) {
    if (stack.child.exitCode !== null)
      throw new Error(`start.mjs exited with ${stack.child.exitCode}:\n${stack.output()}`);
    if (Date.now() > deadline) throw new Error(`the stack was not up after ${timeoutMs / 1000} s:\n${stack.output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return /Search page: +(http:\/\/\S+?)\/\s/.exec(stack.output().slice(after))![1]!;
}

/** The pid `npm start` reported for a service, the newest one when it was restarted. */
export function servicePid(stack: Stack, name: string): number {
  const all = [
    ...stack
      .output()
      .matchAll(
        new RegExp(`${name} (?:\\(pid (\\d+)\\)|up \\(pid (\\d+)|is serving again \\(restart \\d+, pid (\\d+))`, 'g'),
      ),
  ];
  const m = all.at(-1);
  if (!m) throw new Error(`no pid of ${name} in the output`);
  return Number(m[1] ?? m[2] ?? m[3]);
}

/**
 * Ends a test's stack and what it left: SIGINT (its graceful stop, up to 30 s), then SIGKILL for any
 * process still carrying its marker, the Redis keys under `prefix`, and the test's temp folder.
 */
export async function tearDownStackRun(stack: Stack | undefined, prefix: string, tmp: string): Promise<void> {
  if (stack && stack.child.exitCode === null) {
    stack.child.kill('SIGINT');
    await Promise.race([stack.exited, new Promise((r) => setTimeout(r, 30_000))]);
  }
  for (const pid of stack ? stackPids(stack.stackId) : []) process.kill(pid, 'SIGKILL');
  const redis = new Redis(testEnv.redisUrl);
  await deleteKeys(redis, prefix);
  redis.disconnect();
  rmSync(tmp, { recursive: true, force: true });
}
