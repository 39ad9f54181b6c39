// The migration as an experiment, end to end on `npm start` (tools/scripts/start.mjs) with the demo models,
// everything real: embedder processes, worker, gateway, the embedded store, Redis at REDIS_URL under a unique
// prefix. One stack start covers: shadow comparison (SHADOW_PERCENTAGE=100) in the admin API, events for
// search ids and the per-arm online metrics, team-draft interleaving for a bucket range and its win rate,
// and the guarded ramp driven by tools:rollout (the CLI as a real process) under synthetic traffic: a
// healthy plan advances to 100 % across a gateway SIGKILL mid-plan (start.mjs restarts it; the plan
// resumes where it was), and a slow SigLIP arm (its embedder SIGSTOPped most of the time) is rolled back.
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chromiumAvailable,
  servicePid,
  stackReady,
  startStack,
  startTsProcess,
  testEnv,
  uniqueName,
  waitFor,
  type Stack,
  tearDownStackRun,
} from '@image-search/testing';
import { writeSampleImages } from './sample-images/sample-images.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the admin API's JSON, checked field by field
type Loose = any;
const COLOURS = ['red', 'blue', 'green', 'yellow'] as const;
// Skips with one line where no browser is installed; under CI=true a missing browser fails instead.
const hasChromium = chromiumAvailable('the migration e2e page check');

describe('the migration as an experiment on npm start: shadow, events, interleaving, the guarded ramp (everything real)', () => {
  const prefix = uniqueName('evidence');
  const tmp = mkdtempSync(join(tmpdir(), 'evidence-'));
  const token = 'evidence-admin-token';
  const auth = { authorization: `Bearer ${token}` };
  let stack: Stack;
  let base: string;
  let env: Record<string, string>;
  let q = 0;

  const get = async (path: string): Promise<Loose> => (await fetch(`${base}/api/v1${path}`, { headers: auth })).json();
  const search = async (userId: number): Promise<Loose> => {
    const res = await fetch(`${base}/api/v1/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `${COLOURS[q % 4]} thing ${q++}`, limit: 5, user_id: userId }),
      signal: AbortSignal.timeout(20_000),
    });
    if (res.status !== 200) throw new Error(`search: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  };
  /** The live flags file (the operator's ceiling). */
  const setPercentage = (p: number) => appendFileSync(env['FLAGS_FILE']!, `SIGLIP_ROLLOUT_PERCENTAGE: ${p}\n`);
  const setPercentageApplied = async (p: number) => {
    setPercentage(p);
    await waitFor(
      `the ${p} % flags applied`,
      async () => (await get('/admin/rollout')).flags.siglip_rollout_percentage === p,
      10_000,
      200,
    );
  };
  /** tools:rollout as a real process with the stack's settings. */
  const rollout = async (args: string[]) => {
    const p = startTsProcess('tools/src/rollout.cli.ts', { ...env, LOG_LEVEL: 'warn' }, args);
    const code = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r('timeout'), 60_000))]);
    if (code === 'timeout') await p.stop('SIGKILL');
    return { code, out: p.output() };
  };

  // Synthetic traffic: a few clients searching with distinct queries, users spread over every bucket.
  let traffic = false;
  let loops: Promise<void>[] = [];
  const answered = { count: 0, failed: 0 };
  const startTraffic = (clients = 3) => {
    traffic = true;
    loops = Array.from({ length: clients }, (_, c) =>
      (async () => {
        for (let i = c; traffic; i += clients) {
          try {
            await search(i % 100);
            answered.count++;
          } catch {
            // A gateway being restarted refuses connections for a moment; the plan is what is checked.
            answered.failed++;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      })(),
    );
  };
  const stopTraffic = async () => {
    traffic = false;
    await Promise.all(loops);
  };
  const rampStatus = async (): Promise<Loose> => get('/admin/ramp');
  /** Waits for a ramp state; a timeout names the last status and the gateway's ramp log lines. */
  const untilRamp = async (what: string, ok: (s: Loose) => boolean, timeoutMs = 120_000) => {
    let last: Loose;
    await waitFor(
      what,
      async () => {
        last = await rampStatus().catch(() => undefined);
        return last !== undefined && ok(last);
      },
      timeoutMs,
      250,
    ).catch((err) => {
      const log = stack
        .output()
        .split('\n')
        .filter((l) => /ramp|gateway/.test(l))
        .slice(-40)
        .join('\n');
      throw new Error(
        `${String(err)}; traffic ${JSON.stringify(answered)}; last status ${JSON.stringify(last)}\n${log}`,
      );
    });
    return last;
  };

  beforeAll(async () => {
    const sampleDir = join(tmp, 'samples');
    await writeSampleImages(sampleDir);
    stack = startStack({
      DATA_DIR: join(tmp, 'data'),
      SAMPLE_DIR: sampleDir,
      DEMO_MODELS_DIR: join(tmp, 'demo-models'),
      ADMIN_TOKEN: token,
      QUEUE_PREFIX: prefix,
      SHADOW_PERCENTAGE: '100',
      INTERLEAVE_BUCKETS: '40-49',
      RAMP_TICK_MS: '250',
      RATE_LIMIT_SEARCH_PER_MIN: '0',
      RATE_LIMIT_EVENTS_PER_MIN: '0',
      QUERY_CACHE_SIZE: '0',
      RESULT_CACHE_SIZE: '0',
    });
    base = await stackReady(stack);
    env = Object.fromEntries(
      readFileSync(join(tmp, 'data', 'stack.env'), 'utf8')
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => {
          const i = l.indexOf('=');
          return [l.slice(0, i), l.slice(i + 1).replace(/^'(.*)'$/, '$1')];
        }),
    );
    const start = await fetch(`${base}/api/v1/admin/siglip/start`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(start.status).toBe(202);
    await waitFor(
      're-embedding completed',
      async () => {
        const s = (await get('/admin/siglip/status')) as { state: string };
        if (s.state === 'failed') throw new Error('re-embedding failed');
        return s.state === 'completed';
      },
      120_000,
      500,
    );
    await waitFor(
      'SigLIP servable',
      async () =>
        (
          (await (await fetch(`${base}/api/v1/admin/rollout/refresh`, { method: 'POST', headers: auth })).json()) as {
            siglip_servable: boolean;
          }
        ).siglip_servable,
      20_000,
      250,
    );
  }, 400_000);

  afterAll(async () => {
    await stopTraffic();
    await tearDownStackRun(stack, prefix, tmp);
  });

  it('shadow, events and interleaving at a 50 % split: overlap/RBO per pair, per-arm online metrics, a win rate', async () => {
    await setPercentageApplied(50);
    const models = new Set<string>();
    let interleaved = 0;
    for (let u = 0; u < 100; u++) {
      const r = await search(u);
      models.add(r.model);
      if (r.interleaved) interleaved++;
      expect(r.search_id).toEqual(expect.any(String));
      // Users click the first result of every other search (at rank 1, or 2 every fourth).
      if (u % 2 === 0 && r.results.length >= 2) {
        const rank = u % 4 === 0 ? 2 : 1;
        const ev = await fetch(`${base}/api/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ search_id: r.search_id, type: 'click', asset_id: r.results[rank - 1].asset.id, rank }),
        });
        expect(ev.status).toBe(202);
        expect(await ev.json()).toMatchObject({ accepted: true, first_for_search: true, model: r.model });
      }
    }
    expect(models.size).toBe(2);
    expect(interleaved).toBe(10);

    // Shadow: the 90 non-interleaved searches are compared on the other arm after their answers.
    let shadow: Loose;
    await waitFor(
      'shadow comparisons',
      async () => {
        shadow = await get('/admin/shadow');
        return shadow.pairs.reduce((n: number, p: Loose) => n + p.comparisons, 0) >= 60;
      },
      30_000,
      250,
    );
    console.log(`[evidence] GET /admin/shadow ${JSON.stringify(shadow)}`);
    expect(shadow.settings.percentage).toBe(100);
    expect(shadow.pairs.length).toBe(2);
    for (const p of shadow.pairs) {
      expect(p.errors).toBe(0);
      expect(p.overlap_at_10).toBeGreaterThan(0);
      expect(p.overlap_at_10).toBeLessThanOrEqual(1);
      expect(p.rbo).toBeGreaterThan(0);
      expect(p.rbo).toBeLessThanOrEqual(1);
      expect(p.latency_ms.primary.p50).toEqual(expect.any(Number));
      expect(p.latency_ms.shadow.p50).toEqual(expect.any(Number));
    }
    const prom = await (await fetch(`${base}/metrics`)).text();
    expect(prom).toMatch(/gateway_shadow_comparisons_total\{[^}]*\} \d+/);

    const online = await get('/admin/online?days=1');
    console.log(`[evidence] GET /admin/online ${JSON.stringify(online)}`);
    expect(online.models.map((m: Loose) => m.model).sort()).toEqual([...models].sort());
    for (const m of online.models) {
      expect(m.overall.searches).toBeGreaterThanOrEqual(40);
      expect(m.overall.events.click).toBeGreaterThanOrEqual(20);
      expect(m.overall['ctr@1']).toBeGreaterThan(0);
      expect(m.overall.mrr).toBeGreaterThan(0);
      expect(m.overall.abandonment).toBeGreaterThan(0);
      expect(m.buckets.length).toBe(5);
      // Each range of ten buckets counts its own events (5 clicks on its 10 searches).
      for (const b of m.buckets) expect(b.events.click).toBe(5);
    }
    expect(online.interleaving).toHaveLength(1);
    const il = online.interleaving[0];
    expect(il.searches).toBe(10);
    expect(il.wins.a + il.wins.b).toBe(5);
    expect(il.win_rate_b).toBeCloseTo(il.wins.b / 5, 4);
    expect(il.p_value).toBeGreaterThan(0);
  }, 180_000);

  it.skipIf(!hasChromium)(
    'the search page sends click, open and download events; the admin view shows the shadow pairs and the win rate (Chromium)',
    async () => {
      const events = async () => {
        const o = await get('/admin/online?days=1');
        const n = { click: 0, open: 0, download: 0 };
        for (const m of o.models) for (const k of Object.keys(n) as (keyof typeof n)[]) n[k] += m.overall.events[k];
        return n;
      };
      const before = await events();
      const browser = await chromium.launch({
        executablePath: testEnv.chromiumPath,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      });
      try {
        const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1200, height: 900 } });
        const page = await context.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`${base}/`);
        await page.fill('#query', 'red');
        await page.click('#search-button');
        await page.waitForSelector('.card .open');
        // "open" opens the image in a new tab and "download" saves it; neither leaves the results.
        const popup = context.waitForEvent('page');
        await page.click('.card >> nth=1 >> .open');
        await (await popup).close();
        const download = page.waitForEvent('download');
        await page.click('.card >> nth=2 >> .download');
        await (await download).cancel();
        // A click on the card itself searches for similar images.
        await page.click('.card >> nth=0');
        await page.locator('#status', { hasText: 'similar images' }).waitFor();
        await waitFor(
          'the three events counted',
          async () => {
            const n = await events();
            return n.click === before.click + 1 && n.open === before.open + 1 && n.download === before.download + 1;
          },
          10_000,
          200,
        );

        await page.click('#tab-admin');
        await page.fill('#token', token);
        await page.click('#token-button');
        await page.locator('#shadow-table tbody tr').nth(1).waitFor();
        const rows = await page.$$eval('#shadow-table tbody tr', (trs) =>
          trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
        );
        console.log(`[evidence] admin view, shadow rows ${JSON.stringify(rows)}`);
        expect(rows.map((r) => `${r[0]} -> ${r[1]}`).sort()).toEqual([
          'clip-vit-b32-openai -> siglip-vit-b16-webli',
          'siglip-vit-b16-webli -> clip-vit-b32-openai',
        ]);
        // Comparisons, overlap@10 and RBO as percentages, no errors.
        for (const r of rows) {
          expect(Number(r[2])).toBeGreaterThan(0);
          expect(r[3]).toMatch(/^\d+\.\d%$/);
          expect(r[4]).toMatch(/^\d+\.\d%$/);
          expect(r[7]).toBe('0');
        }
        const il = page.locator('#interleaving-text', { hasText: 'Interleaving' });
        await il.waitFor();
        const text = (await il.textContent()) ?? '';
        console.log(`[evidence] admin view, interleaving: ${text}`);
        expect(text).toMatch(
          /^Interleaving siglip-vit-b16-webli vs clip-vit-b32-openai: \d+ searches, wins \d+:\d+, win rate \d+\.\d%, p = [\d.]+/,
        );
        await page.locator('#online-table tbody tr').nth(1).waitFor();
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    120_000,
  );

  it('tools:rollout start: a healthy SigLIP ramp advances to 100 %, resuming where it was after a gateway SIGKILL', async () => {
    // As the runbook says: start the plan under a ceiling of 0 %, then raise the ceiling to where the ramp may go.
    await setPercentageApplied(0);
    startTraffic();
    // p99 is compared in coarse histogram buckets on a shared machine: only a gross ratio is a breach here.
    const start = await rollout([
      'start',
      '--steps',
      '10,50,100',
      '--dwell',
      '3',
      '--min-searches',
      '15',
      '--max-p99-ratio',
      '10',
    ]);
    console.log(`[evidence] tools:rollout start\n${start.out}`);
    expect(start.code, start.out).toBe(0);
    expect(start.out).toMatch(/^ramp: running — step 1\/3 of 10, 50, 100 %$/m);
    expect(start.out).toMatch(/^routed to the new model now: 0 % \(ramp 10 %, operator ceiling 0 %\)$/m);
    await setPercentageApplied(100);
    await untilRamp('the ramp at 50 %', (s) => s.state.percentage === 50);
    const leaderBefore = (await rampStatus()).leader as string;
    const gateway = servicePid(stack, 'gateway');
    const mark = stack.output().length;
    process.kill(gateway, 'SIGKILL');
    await waitFor(
      'gateway serving again',
      () => /gateway is serving again/.test(stack.output().slice(mark)),
      60_000,
      100,
    );
    const after = await rampStatus();
    expect(after.state.phase).toBe('running');
    expect(after.state.step).toBeGreaterThanOrEqual(1);
    await untilRamp('the ramp completed', (s) => s.state.phase === 'completed');
    await stopTraffic();
    const status = await rollout(['status']);
    console.log(`[evidence] tools:rollout status\n${status.out}`);
    expect(status.out).toMatch(/^ramp: completed — step 3\/3 of 10, 50, 100 %$/m);
    expect(status.out).toMatch(/^routed to the new model now: 100 % \(ramp 100 %, operator ceiling 100 %\)$/m);
    // The restarted gateway (a new controller id) took the leader lock and finished the plan.
    expect((await rampStatus()).leader).not.toBe(leaderBefore);
    const actions = (await rampStatus()).decisions.map((d: Loose) => `${d.action} ${d.to_percentage}`).reverse();
    expect(actions).toEqual(['start 10', 'advance 50', 'advance 100', 'complete 100']);
    const r = await search(99);
    expect(r.model).toMatch(/^siglip-/);
  }, 300_000);

  it('a slow SigLIP arm (its embedder SIGSTOPped most of the time) is rolled back to 0 % by itself', async () => {
    // Stalls of 3 s put SigLIP's p99 in the histogram's top bucket (read as 5000 ms); CLIP's stays at or
    // below 1000 ms even at load average 30 here, so a ratio of 4 breaks while the healthy plan's 10 holds.
    const siglip = servicePid(stack, 'siglip-embedder');
    let slow = true;
    const stutter = (async () => {
      while (slow) {
        process.kill(siglip, 'SIGSTOP');
        await new Promise((r) => setTimeout(r, 3000));
        process.kill(siglip, 'SIGCONT');
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      startTraffic(4);
      const start = await rollout([
        'start',
        '--steps',
        '50,100',
        '--dwell',
        '60',
        '--min-searches',
        '15',
        '--max-p99-ratio',
        '4',
      ]);
      expect(start.code, start.out).toBe(0);
      await untilRamp('the ramp rolled back', (s) => s.state.phase === 'rolled_back');
    } finally {
      slow = false;
      await stutter;
      process.kill(siglip, 'SIGCONT');
      await stopTraffic();
    }
    const status = await rollout(['status']);
    console.log(`[evidence] tools:rollout status (rolled back)\n${status.out}`);
    expect(status.out).toMatch(/^ramp: rolled_back — step 1\/2 of 50, 100 %$/m);
    expect(status.out).toMatch(/^routed to the new model now: 0 % \(ramp 0 %, operator ceiling 100 %\)$/m);
    expect(status.out).toMatch(
      /rollback 50% -> 0% {2}guardrail broken at 50%: p99 latency ratio \d+\.\d\d \(5000 \/ \d+ ms\) > 4/,
    );
    expect((await search(1)).model).toMatch(/^clip-/);
  }, 300_000);
});
