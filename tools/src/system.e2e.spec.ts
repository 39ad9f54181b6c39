// End to end, everything real: `npm start`'s script (tools/scripts/start.mjs) brings up the four
// services as processes on loopback with the demo models (real ONNX models run by onnxruntime),
// the embedded store (LanceDB) in a temporary DATA_DIR and the real Redis at REDIS_URL under a
// unique queue prefix. The test searches over HTTP, runs the SigLIP migration (collection, re-embedding
// to completion, rollout to 100% through the live flags file), sees SigLIP answer, and stops the stack
// with SIGINT, then checks that no process of the stack is left.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chromiumAvailable,
  deleteKeys,
  REPO_ROOT,
  stackPids,
  stackReady,
  startStack,
  startTsProcess,
  testEnv,
  type Stack,
  uniqueName,
  waitFor,
  waitForLoadedImages,
  tearDownStackRun,
} from '@image-search/testing';
import { writeSampleImages } from './sample-images/sample-images.js';

// Skips with one line where no browser is installed; under CI=true a missing browser fails instead.
const hasChromium = chromiumAvailable('the search page check');
const OUT = join(REPO_ROOT, 'test-output', 'system-e2e');

const ready = (stack: Stack) => stackReady(stack);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('system end to end: npm start, search, SigLIP migration, rollout, clean stop (everything real)', () => {
  const prefix = uniqueName('e2e');
  const tmp = mkdtempSync(join(tmpdir(), 'system-e2e-'));
  const dataDir = join(tmp, 'data');
  const sampleDir = join(tmp, 'samples');
  const flagsFile = join(tmp, 'flags.yaml');
  const token = 'e2e-admin-token';
  let stack: Stack;
  let base: string;
  const auth = { authorization: `Bearer ${token}` };

  const search = async (query: string) => {
    const res = await fetch(`${base}/api/v1/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, limit: 5 }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as {
      model: string;
      family: string;
      results: { score: number; asset: { path: string; thumbnail_url: string } }[];
      rollout: { reason: string; fallback?: unknown };
    };
  };

  beforeAll(async () => {
    await writeSampleImages(sampleDir);
    writeFileSync(flagsFile, '# live rollout flags\n');
    stack = startStack({
      DATA_DIR: dataDir,
      SAMPLE_DIR: sampleDir,
      DEMO_MODELS_DIR: join(tmp, 'demo-models'),
      FLAGS_FILE: flagsFile,
      ADMIN_TOKEN: token,
      QUEUE_PREFIX: prefix,
      CREATE_SIGLIP_COLLECTION: 'false',
    });
    base = await ready(stack);
  }, 200_000);

  afterAll(async () => {
    await tearDownStackRun(stack, prefix, tmp);
  });

  it('came up with four services, the sample set ingested, and the page served', async () => {
    const out = stack.output();
    for (const s of ['clip-embedder', 'siglip-embedder', 'reembed-worker', 'gateway'])
      expect(out).toMatch(new RegExp(`^${s} +\\| `, 'm'));
    expect(out).toMatch(/models: DEMO/);
    expect(out).toMatch(/ingest: completed — 39\/39 done/);
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('searches through the API (CLIP) and the results carry thumbnails', async () => {
    const r = await search('red');
    expect(r.family).toBe('clip');
    expect(r.results.slice(0, 3).map((x) => x.asset.path.split('/').pop()!.split('-')[0])).toEqual([
      'red',
      'red',
      'red',
    ]);
    const thumb = await fetch(`${base}${r.results[0]!.asset.thumbnail_url}`);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toMatch(/^image\//);
    expect((await thumb.arrayBuffer()).byteLength).toBeGreaterThan(100);
  });

  it('migrates to SigLIP: collection, a rollout that falls back until re-embedded, re-embedding to completion, then SigLIP answers', async () => {
    // Step 1: create the SigLIP collection with the tool, as the runbook says (dry run, create, check).
    const tool = async (args: string[]) => {
      const p = startTsProcess('tools/src/create-collection.cli.ts', { DATA_DIR: dataDir }, args);
      return { code: await p.exited, out: p.output() };
    };
    expect((await tool(['--model', 'siglip', '--dim', '48', '--dry-run'])).code).toBe(0);
    const created = await tool(['--model', 'siglip', '--dim', '48']);
    expect(created.code, created.out).toBe(0);
    expect(created.out).toMatch(/Collection 'image_assets_siglip' created successfully/);
    expect((await tool(['--model', 'siglip', '--dim', '48', '--check'])).code).toBe(0);

    // Rollout at 100% through the live flags file before any SigLIP vector exists: the coverage
    // gate keeps every search on CLIP (never the seed's empty results), and the admin view says why.
    writeFileSync(flagsFile, 'SIGLIP_ROLLOUT_PERCENTAGE: 100\n');
    await waitFor(
      'flags file applied',
      async () => {
        const v = (await (
          await fetch(`${base}/api/v1/admin/rollout/refresh`, { method: 'POST', headers: auth })
        ).json()) as { flags: { siglip_rollout_percentage: number } };
        return v.flags.siglip_rollout_percentage === 100;
      },
      15_000,
      250,
    );
    const before = await search('red');
    expect(before.family).toBe('clip');
    expect(before.results.length).toBeGreaterThan(0);
    expect(JSON.stringify(before.rollout)).toMatch(/fallback|coverage/i);

    // Re-embedding through the admin API, watched to completion.
    const start = await fetch(`${base}/api/v1/admin/siglip/start`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ batch_size: 16 }),
    });
    expect(start.status).toBe(202);
    let status: { state: string; done: number; total: number; failed: number; coverage: number } | undefined;
    await waitFor(
      're-embedding completed',
      async () => {
        status = (await (await fetch(`${base}/api/v1/admin/siglip/status`, { headers: auth })).json()) as typeof status;
        if (status?.state === 'failed') throw new Error(`re-embedding failed: ${JSON.stringify(status)}`);
        return status?.state === 'completed';
      },
      120_000,
      500,
    );
    expect(status).toMatchObject({ done: 39, total: 39, failed: 0, coverage: 1 });

    // Coverage is now full: the same search is answered by SigLIP, with the red pictures first.
    await waitFor(
      'SigLIP to answer',
      async () => {
        await fetch(`${base}/api/v1/admin/rollout/refresh`, { method: 'POST', headers: auth });
        return (await search('red')).family === 'siglip';
      },
      20_000,
      250,
    );
    const after = await search('red');
    expect(after.results.slice(0, 3).map((x) => x.asset.path.split('/').pop()!.split('-')[0])).toEqual([
      'red',
      'red',
      'red',
    ]);
    const rollout = (await (await fetch(`${base}/api/v1/admin/rollout`, { headers: auth })).json()) as {
      coverage: { ratio: number };
      siglip_servable: boolean;
    };
    expect(rollout).toMatchObject({ siglip_servable: true, coverage: { ratio: 1 } });
  });

  it.skipIf(!hasChromium)(
    'the search page answers "red" with loaded thumbnails and the SigLIP badge; the admin view shows both collections (headless Chromium)',
    async () => {
      const browser = await chromium.launch({
        executablePath: testEnv.chromiumPath,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`${base}/`);
        await page.fill('#query', 'red');
        await page.click('#search-button');
        await page.waitForSelector('.card img');
        await waitForLoadedImages(page, '.card img', 3);
        expect(await page.textContent('#model-badge')).toMatch(/^siglip-vit-/);
        mkdirSync(OUT, { recursive: true });
        await page.screenshot({ path: join(OUT, 'search.png'), fullPage: true });
        await page.click('#tab-admin');
        await page.fill('#token', token);
        await page.click('#token-button');
        await page.waitForSelector('#reembed-table tbody tr');
        const coverage = await page.textContent('#coverage-table');
        expect(coverage).toMatch(/image_assets\s*39/);
        expect(coverage).toMatch(/image_assets_siglip\s*39/);
        await page.screenshot({ path: join(OUT, 'admin.png'), fullPage: true });
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    },
  );

  it('Ctrl-C (SIGINT) stops every process cleanly and leaves none behind', async () => {
    const summary = /Services: +(.*)/.exec(stack.output())![1]!;
    const pids = [...summary.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(4);
    expect(stackPids(stack.stackId).length).toBeGreaterThanOrEqual(4);
    stack.child.kill('SIGINT');
    expect(await stack.exited).toBe(0);
    expect(stack.output()).toMatch(/stopped; every process has exited/);
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(stackPids(stack.stackId)).toEqual([]);
  });
});

describe('system end to end: with START_RESTARTS=false a crashed service stops the stack with its exit code (everything real)', () => {
  it('reports the crash, stops the others, exits non-zero, leaves no process', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'system-crash-'));
    const prefix = uniqueName('e2e-crash');
    const stack = startStack({
      DATA_DIR: join(tmp, 'data'),
      SAMPLE_DIR: 'none',
      DEMO_MODELS_DIR: join(tmp, 'demo-models'),
      QUEUE_PREFIX: prefix,
      ADMIN_TOKEN: 'x',
      START_RESTARTS: 'false',
    });
    try {
      await ready(stack);
      const pid = Number(/siglip-embedder \(pid (\d+)\)/.exec(stack.output())![1]);
      process.kill(pid, 'SIGKILL');
      expect(await stack.exited).toBe(1);
      expect(stack.output()).toMatch(
        /siglip-embedder exited unexpectedly with signal SIGKILL .*; stopping the other services/,
      );
      expect(stackPids(stack.stackId)).toEqual([]);
    } finally {
      if (stack.child.exitCode === null) stack.child.kill('SIGKILL');
      for (const pid of stackPids(stack.stackId)) process.kill(pid, 'SIGKILL');
      const redis = new Redis(testEnv.redisUrl);
      await deleteKeys(redis, prefix);
      redis.disconnect();
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 200_000);
});
