// A home server that heals itself, everything real: `npm start` (tools/scripts/start.mjs) with the demo
// models (real ONNX models in real embedder processes), the embedded store, Redis at REDIS_URL under a
// unique prefix. With SigLIP re-embedded, each embedder is SIGKILLed (as the kernel's OOM killer does)
// while a client searches with distinct queries: every search is answered (by the model that is up,
// which the response says), the killed embedder is back and serving within 30 s, and a crash loop
// stops only that embedder, with its last log lines and what to do, until SIGUSR2 restarts it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  servicePid,
  stackPids,
  stackReady,
  startStack,
  uniqueName,
  waitFor,
  type Stack,
  tearDownStackRun,
} from '@image-search/testing';
import { writeSampleImages } from './sample-images/sample-images.js';

interface SearchBody {
  model: string;
  family: string;
  results: unknown[];
  rollout: { reason: string };
  degraded: { unavailable: string[]; answered_by: string; message: string } | null;
}

describe('npm start heals itself: SIGKILLed embedders come back while search keeps answering (everything real)', () => {
  const prefix = uniqueName('heal');
  const tmp = mkdtempSync(join(tmpdir(), 'self-heal-'));
  const token = 'heal-admin-token';
  const auth = { authorization: `Bearer ${token}` };
  let stack: Stack;
  let base: string;
  // The searching client: distinct queries (never the query cache) one after another.
  const answers: SearchBody[] = [];
  const failures: string[] = [];
  let searching = true;
  let loop: Promise<void> | undefined;

  beforeAll(async () => {
    const sampleDir = join(tmp, 'samples');
    await writeSampleImages(sampleDir);
    stack = startStack({
      DATA_DIR: join(tmp, 'data'),
      SAMPLE_DIR: sampleDir,
      DEMO_MODELS_DIR: join(tmp, 'demo-models'),
      ADMIN_TOKEN: token,
      QUEUE_PREFIX: prefix,
      START_CRASH_LOOP_COUNT: '3',
      // Shorter waits than the defaults, same behaviour: restarts after 0.3 s (doubling) instead of 1 s, and
      // the gateway's breaker tries a killed embedder again after 2 s instead of 10 s.
      START_RESTART_BACKOFF_MS: '300',
      BREAKER_COOLDOWN_MS: '2000',
      // The client searches back to back for as long as recovery takes (over a minute on a loaded
      // machine), which would exceed the default per-client limit; rate limits are not under test here.
      RATE_LIMIT_SEARCH_PER_MIN: '0',
    });
    base = await stackReady(stack);
    // SigLIP re-embedded to completion, so either model can answer every search.
    const start = await fetch(`${base}/api/v1/admin/siglip/start`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(start.status).toBe(202);
    await waitFor(
      're-embedding completed',
      async () => {
        const s = (await (await fetch(`${base}/api/v1/admin/siglip/status`, { headers: auth })).json()) as {
          state: string;
        };
        if (s.state === 'failed') throw new Error('re-embedding failed');
        return s.state === 'completed';
      },
      120_000,
      500,
    );
    await waitFor(
      'SigLIP servable',
      async () => {
        const r = (await (
          await fetch(`${base}/api/v1/admin/rollout/refresh`, { method: 'POST', headers: auth })
        ).json()) as { siglip_servable: boolean };
        return r.siglip_servable;
      },
      20_000,
      250,
    );
    loop = (async () => {
      for (let i = 0; searching; i++) {
        try {
          const res = await fetch(`${base}/api/v1/search`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ query: `red things ${i}`, limit: 5 }),
            signal: AbortSignal.timeout(15_000),
          });
          const body = (await res.json()) as SearchBody;
          if (res.status !== 200 || body.results.length === 0)
            failures.push(`${new Date().toISOString()} HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
          else answers.push(body);
        } catch (err) {
          failures.push(`${new Date().toISOString()} ${(err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  }, 400_000);

  afterAll(async () => {
    searching = false;
    await loop;
    await tearDownStackRun(stack, prefix, tmp);
  });

  /** SIGKILLs the service and waits until start.mjs reports it serving again; returns the seconds it took. */
  const killAndWaitBack = async (name: string): Promise<number> => {
    const pid = servicePid(stack, name);
    const mark = stack.output().length;
    const t0 = Date.now();
    process.kill(pid, 'SIGKILL');
    await waitFor(
      `${name} serving again`,
      () => {
        if (stack.child.exitCode !== null) throw new Error(`start.mjs exited:\n${stack.output()}`);
        return new RegExp(`${name} is serving again`).test(stack.output().slice(mark));
      },
      30_000,
      100,
    );
    const s = (Date.now() - t0) / 1000;
    expect(servicePid(stack, name)).not.toBe(pid);
    return s;
  };

  it('siglip-embedder SIGKILLed: restarted with backoff and serving within 30 s; searches never fail', async () => {
    const before = answers.length;
    const seconds = await killAndWaitBack('siglip-embedder');
    console.log(`[self-healing] siglip-embedder back and serving ${seconds.toFixed(1)} s after SIGKILL`);
    expect(seconds).toBeLessThan(30);
    expect(stack.output()).toMatch(
      /siglip-embedder exited unexpectedly with signal SIGKILL \(killed from outside: the kernel's out-of-memory killer, or kill -9\); restarting it in \d+\.\d s \(crash 1 of 3 allowed within 60 s\); the other services keep serving/,
    );
    expect(stack.output()).toMatch(/services: clip-embedder up \(pid \d+\), siglip-embedder restarting \(crash 1\)/);
    expect(stack.output()).toMatch(/siglip-embedder is serving again \(restart 1, pid \d+, down \d+\.\d s\)/);
    expect(stack.output()).not.toMatch(/stopping the other services/);
    await waitFor('searches after the restart', () => answers.length > before + 5, 20_000, 100);
    expect(failures).toEqual([]);
  }, 180_000);

  it('clip-embedder SIGKILLed: SigLIP answers meanwhile and the response says so; CLIP serving again within 30 s; searches never fail', async () => {
    const mark = answers.length;
    const seconds = await killAndWaitBack('clip-embedder');
    console.log(`[self-healing] clip-embedder back and serving ${seconds.toFixed(1)} s after SIGKILL`);
    expect(seconds).toBeLessThan(30);
    const during = answers.slice(mark);
    const viaSiglip = during.filter((a) => a.family === 'siglip');
    expect(viaSiglip.length).toBeGreaterThan(0);
    const clipId = answers.slice(0, mark).find((a) => a.family === 'clip')!.model;
    expect(viaSiglip[0]).toMatchObject({
      rollout: { reason: 'fallback:source_embedder_error' },
      degraded: { unavailable: [clipId], answered_by: viaSiglip[0]!.model },
    });
    // Once CLIP is back (its breaker's trial call succeeds), CLIP answers again, not degraded.
    await waitFor(
      'CLIP answering again',
      () => answers.at(-1)?.family === 'clip' && answers.at(-1)?.degraded === null,
      30_000,
      100,
    );
    expect(failures).toEqual([]);
  }, 180_000);

  it('a crash loop stops only that embedder, prints its last lines and what to do; search and /ready go on; SIGUSR2 restarts it', async () => {
    // Crashes 2 and 3 of clip-embedder within the 60 s window (crash 1 was the previous test).
    await killAndWaitBack('clip-embedder');
    const mark = stack.output().length;
    process.kill(servicePid(stack, 'clip-embedder'), 'SIGKILL');
    await waitFor('crash loop reported', () => /a crash loop/.test(stack.output().slice(mark)), 20_000, 100);
    const out = stack.output().slice(mark);
    expect(out).toMatch(
      /clip-embedder crashed 3 times within 60 s \(last: signal SIGKILL .*\): a crash loop\. Not restarting it again; the other services keep running\./,
    );
    expect(out).toMatch(/clip-embedder's last \d+ log lines:/);
    expect(out).toMatch(/What to do: .*kill -USR2 \d+/);
    expect(out).toMatch(/services: .*clip-embedder failed/);
    expect(stack.child.exitCode).toBeNull();

    const n = answers.length;
    await waitFor('searches while CLIP is stopped', () => answers.length > n + 5, 20_000, 100);
    expect(answers.slice(n).every((a) => a.family === 'siglip' && a.degraded?.unavailable.length === 1)).toBe(true);
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      degraded: true,
      checks: { clip_embedder: false, siglip_embedder: true, search_embedder: true, vector_store: true },
    });

    const mark2 = stack.output().length;
    stack.child.kill('SIGUSR2');
    await waitFor(
      'clip-embedder restarted by SIGUSR2',
      () => /clip-embedder is serving again/.test(stack.output().slice(mark2)),
      30_000,
      100,
    );
    await waitFor('CLIP answering again', () => answers.at(-1)?.family === 'clip', 30_000, 100);
    expect(failures).toEqual([]);
    console.log(`[self-healing] ${answers.length} searches answered, ${failures.length} failed`);

    searching = false;
    await loop;
    stack.child.kill('SIGINT');
    expect(await stack.exited).toBe(0);
    expect(stackPids(stack.stackId)).toEqual([]);
  }, 180_000);
});
