import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { testEnv } from './env.js';

/** A unique key prefix / queue name for one test, so parallel tests never share keys. */
export function uniqueName(label: string): string {
  return `test:${label}:${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** A Redis connection to the test Redis; fails fast instead of retrying forever. */
export function testRedis(): Redis {
  return new Redis(testEnv.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 2000, lazyConnect: false });
}

/** Deletes every key under `prefix` (SCAN, never KEYS) and returns how many went. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** A private redis-server process on a free port with these extra arguments (e.g. persistence settings). */
export async function startRedisServer(
  args: string[],
  dir: string,
): Promise<{ url: string; pid: number; stop: (signal?: NodeJS.Signals) => Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const { freePort } = await import('./ports.js');
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...args], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  for (let i = 0; ; i++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch {
      if (i > 100 || child.exitCode !== null) throw new Error(`redis-server ${args.join(' ')} did not start`);
      probe.disconnect();
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  probe.disconnect();
  return {
    url,
    pid: child.pid!,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      await new Promise((r) =>
        child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r),
      );
    },
  };
}

/** Whether the redis-server binary is installed; skips with one line outside CI, fails under CI=true. */
export function redisServerAvailable(suite: string): boolean {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).status === 0;
  if (found) return true;
  const why = 'no redis-server binary (apt-get install redis-server, or brew install redis)';
  if (testEnv.isCi) throw new Error(`${suite} must run under CI=true, but there is ${why}`);
  console.log(`[redis] SKIPPED ${suite}: ${why}`);
  return false;
}
