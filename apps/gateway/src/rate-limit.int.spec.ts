// Integration: rate limits shared by replicas. Two REAL gateway processes (tsx main.ts) on one REAL
// Redis count one client's requests together; a third on an unreachable Redis fails open. No
// embedders run: the limited route (similar-by-id) is refused or answered before any embedding.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  deleteKeys,
  freePort,
  httpGet,
  startTsProcess,
  testEnv,
  testRedis,
  uniqueName,
  waitFor,
  type TestProcess,
} from '@image-search/testing';

const dir = mkdtempSync(join(tmpdir(), 'gw-rl-'));
const prefix = uniqueName('gw-rl');
const procs: TestProcess[] = [];

async function startGateway(env: Record<string, string>): Promise<string> {
  const port = await freePort();
  const dead = await freePort();
  const p = startTsProcess('apps/gateway/src/main.ts', {
    GATEWAY_PORT: String(port),
    DATA_DIR: dir,
    QUEUE_PREFIX: prefix,
    REDIS_URL: testEnv.redisUrl,
    CLIP_EMBEDDER_URL: `127.0.0.1:${dead}`,
    SIGLIP_EMBEDDER_URL: '',
    INGEST_WORKER: 'false',
    RATE_LIMIT_SEARCH_PER_MIN: '4',
    LOG_LEVEL: 'warn',
    ...env,
  });
  procs.push(p);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    'gateway health',
    async () => {
      if (p.child.exitCode !== null) throw new Error(`gateway exited:\n${p.output()}`);
      return (await httpGet(`${url}/health`)).status === 200;
    },
    60_000,
  );
  return url;
}

afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  const redis = testRedis();
  await deleteKeys(redis, prefix);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('rate limits across gateway processes (real processes, real Redis)', () => {
  it('two gateways on one Redis allow the limit once, not twice, and answer 429 with RateLimit headers', async () => {
    const [a, b] = await Promise.all([startGateway({}), startGateway({})]);
    const similar = (base: string) => fetch(`${base}/api/v1/search/similar/no-such-asset`);
    const statuses: number[] = [];
    const headers: Headers[] = [];
    for (const base of [a, b, a, b, a, b]) {
      const res = await similar(base!);
      await res.arrayBuffer();
      statuses.push(res.status);
      headers.push(res.headers);
    }
    // Four requests in all pass (whatever they answer), the fifth and sixth are refused on either replica.
    expect(statuses.slice(0, 4).every((s) => s !== 429)).toBe(true);
    expect(statuses.slice(4)).toEqual([429, 429]);
    expect(headers[3]!.get('ratelimit')).toMatch(/^"search"; r=0; t=\d+$/);
    expect(headers[0]!.get('ratelimit-policy')).toMatch(/^"search"; q=4; w=60;/);
    const retryAfter = Number(headers[5]!.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const refused = (await (await similar(a!)).json()) as { error: { code: string; message: string } };
    expect(refused.error).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/4\/min per client/) });
    // The counter is one key in Redis, under QUEUE_PREFIX.
    const redis = testRedis();
    const keys = await redis.keys(`${prefix}:ratelimit:search:*`);
    redis.disconnect();
    expect(keys).toHaveLength(1);
    const metrics = await (await fetch(`${b}/metrics`)).text();
    expect(metrics).toMatch(/gateway_rate_limited_total\{limit="search"\} [1-9]/);
  });

  it('with Redis unreachable the limit fails open: requests pass, counted in a metric', async () => {
    const dead = await freePort();
    const c = await startGateway({ REDIS_URL: `redis://127.0.0.1:${dead}`, QUEUE_PREFIX: `${prefix}-open` });
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${c}/api/v1/search/similar/no-such-asset`);
      await res.arrayBuffer();
      expect(res.status).not.toBe(429);
    }
    const metrics = await (await fetch(`${c}/metrics`)).text();
    expect(metrics).toMatch(/gateway_rate_limit_store_errors_total\{limit="search"\} 6/);
  });
});
