// Everything real: `npm start` with no Redis at REDIS_URL starts its private redis-server with AOF in
// DATA_DIR/redis. A re-embedding run (slowed by REEMBED_RATE_PER_S) is interrupted by stopping the
// whole stack (SIGINT), the stack is started again on the same DATA_DIR, and the run resumes from
// where it was; its private Redis is then SIGKILLed and restarted from the AOF, and the run completes
// with its verification passed.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  freePort,
  redisServerAvailable,
  stackPids,
  stackReady,
  startStack,
  startTsProcess,
  waitFor,
  type Stack,
} from '@image-search/testing';
import { writeSampleImages } from './sample-images/sample-images.js';

interface RunStatus {
  run_id: string | null;
  state: string;
  done: number;
  skipped: number;
  failed: number;
  total: number;
  verification: { passed: boolean } | null;
}

describe.skipIf(!redisServerAvailable('the stack restart mid-run'))(
  "npm start's private Redis keeps runs across a stack restart (AOF in DATA_DIR; everything real)",
  () => {
    const tmp = mkdtempSync(join(tmpdir(), 'stack-aof-'));
    const token = 'aof-admin-token';
    const auth = { authorization: `Bearer ${token}` };
    const stacks: Stack[] = [];
    afterAll(async () => {
      for (const s of stacks) {
        if (s.child.exitCode === null) {
          s.child.kill('SIGINT');
          await Promise.race([s.exited, new Promise((r) => setTimeout(r, 30_000))]);
        }
        for (const pid of stackPids(s.stackId)) process.kill(pid, 'SIGKILL');
      }
      rmSync(tmp, { recursive: true, force: true });
    });

    it('a stack stopped mid-run and started again resumes the run and completes it, verified', async () => {
      const sampleDir = join(tmp, 'samples');
      await writeSampleImages(sampleDir);
      const env = {
        // Nothing listens there, so the start script runs its own redis-server.
        REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
        DATA_DIR: join(tmp, 'data'),
        SAMPLE_DIR: sampleDir,
        DEMO_MODELS_DIR: join(tmp, 'demo-models'),
        ADMIN_TOKEN: token,
        CREATE_SIGLIP_COLLECTION: 'false',
        REEMBED_RATE_PER_S: '4',
      };
      const first = startStack(env);
      stacks.push(first);
      const base1 = await stackReady(first);
      expect(first.output()).toMatch(/started a private redis-server at \S+ \(AOF persistence in .*data\/redis\)/);
      const created = startTsProcess('tools/src/create-collection.cli.ts', { DATA_DIR: env.DATA_DIR }, [
        '--model',
        'siglip',
        '--dim',
        '48',
      ]);
      expect(await created.exited, created.output()).toBe(0);

      const status = async (base: string) =>
        (await (await fetch(`${base}/api/v1/admin/siglip/status`, { headers: auth })).json()) as RunStatus;
      const started = await fetch(`${base1}/api/v1/admin/siglip/start`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ batch_size: 4 }),
      });
      expect(started.status).toBe(202);
      let before: RunStatus | undefined;
      await waitFor(
        'the run part-way',
        async () => {
          before = await status(base1);
          return before.state === 'running' && before.done >= 8;
        },
        120_000,
        250,
      );
      expect(before!.done).toBeLessThan(39);

      // Stop the whole stack mid-run, Redis included.
      first.child.kill('SIGINT');
      expect(await first.exited).toBe(0);
      expect(stackPids(first.stackId)).toEqual([]);

      const second = startStack(env);
      stacks.push(second);
      const base2 = await stackReady(second);
      const resumed = await status(base2);
      expect(resumed.run_id).toBe(before!.run_id);
      expect(['running', 'verifying', 'completed']).toContain(resumed.state);
      expect(resumed.done).toBeGreaterThanOrEqual(before!.done);

      // The private Redis killed (as the OOM killer would): restarted on its port from the AOF.
      const redisPid = Number(readFileSync(join(env.DATA_DIR, 'redis', 'redis.pid'), 'utf8'));
      const mark = second.output().length;
      process.kill(redisPid, 'SIGKILL');
      await waitFor(
        'the private Redis serving again',
        () => /the private redis-server is serving again/.test(second.output().slice(mark)),
        30_000,
        100,
      );
      expect(second.output().slice(mark)).toMatch(
        /the private redis-server exited unexpectedly with signal SIGKILL; restarting it on port \d+ in 1 s/,
      );
      let end: RunStatus | undefined;
      await waitFor(
        'the resumed run completed',
        async () => {
          end = await status(base2);
          if (end.state === 'failed') throw new Error(`run failed: ${JSON.stringify(end)}`);
          return end.state === 'completed';
        },
        120_000,
        500,
      );
      expect(end).toMatchObject({ run_id: before!.run_id, total: 39, failed: 0, verification: { passed: true } });
      expect(end!.done + end!.skipped).toBe(39);
      console.log(
        `[aof] run ${end!.run_id}: ${before!.done}/39 done before the stack restart, resumed at ${resumed.done}, completed ${end!.done} done + ${end!.skipped} skipped, verified`,
      );
      second.child.kill('SIGINT');
      expect(await second.exited).toBe(0);
    }, 400_000);
  },
);
