// End-to-end: the search page in REAL headless Chromium (Debian chromium + playwright-core) against
// the gateway in-process, REAL clip and siglip embedder processes (tiny 'colour' models), the REAL
// embedded store and REAL Redis. Screenshots go to apps/gateway/test-output/ (gitignored).
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chromiumAvailable,
  startEmbedderProcess,
  testEnv,
  type TestProcess,
  uniqueName,
  waitForLoadedImages,
} from '@image-search/testing';
import { ingest } from '../test/app-fixture.js';
import { call } from '../test/http.js';

import { startTestGateway, tearDownStack, type RunningGateway } from '../test/test-gateway.js';

// Skips with one line where no browser is installed; under CI=true a missing browser fails instead.
const hasChromium = chromiumAvailable('search page test');

const OUT = resolve(import.meta.dirname, '../test-output');
const root = mkdtempSync(join(tmpdir(), 'gw-page-'));
const photos = join(root, 'photos');
const prefix = uniqueName('gw-page');
const TOKEN = 'page-token';
const COLOURS: Record<string, [number, number, number]> = {
  red: [230, 20, 20],
  blue: [20, 50, 230],
  green: [20, 170, 40],
  yellow: [250, 230, 20],
  purple: [120, 30, 170],
};
const procs: TestProcess[] = [];
let gw: RunningGateway | undefined;
let browser: Browser | undefined;

async function startEmbedder(family: 'clip' | 'siglip', env: Record<string, string> = {}): Promise<string> {
  const e = await startEmbedderProcess(family, { env });
  procs.push(e.proc);
  return e.addr;
}

describe.skipIf(!hasChromium)('search page in headless Chromium', () => {
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    for (const [name, [r, g, b]] of Object.entries(COLOURS)) {
      mkdirSync(join(photos, name), { recursive: true });
      for (let i = 0; i < 4; i++)
        await sharp({
          create: { width: 64, height: 48, channels: 3, background: { r: Math.min(255, r + i * 6), g, b } },
        })
          .jpeg()
          .toFile(join(photos, name, `${name}-${i}.jpg`));
    }
    await sharp({ create: { width: 50, height: 50, channels: 3, background: { r: 25, g: 55, b: 225 } } })
      .png()
      .toFile(join(root, 'query-blue.png'));
    // SigLIP frees its idle towers after 1 s (its image tower is never used here): the admin view's Models panel says so.
    const [clipAddr, siglipAddr] = await Promise.all([
      startEmbedder('clip'),
      startEmbedder('siglip', { MODEL_IDLE_UNLOAD_S: '1' }),
    ]);
    gw = await startTestGateway({
      CLIP_EMBEDDER_URL: clipAddr,
      SIGLIP_EMBEDDER_URL: siglipAddr,
      SIGLIP_ROLLOUT_PERCENTAGE: '25',
      SHADOW_PERCENTAGE: '100',
      ASSET_ROOTS: photos,
      DATA_DIR: join(root, 'data'),
      QUEUE_PREFIX: prefix,
      ADMIN_TOKEN: TOKEN,
    });
    expect((await ingest(gw.url, photos, { token: TOKEN })).body.state).toBe('completed');
    await call(gw.url, '/api/v1/admin/rollout/refresh', 'POST', '/api/v1/admin/rollout/refresh', { token: TOKEN });
    browser = await chromium.launch({
      executablePath: testEnv.chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
      ],
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await tearDownStack({ gw, procs, prefix, root });
  });

  it('searches by text and by uploaded image, shows thumbnails, scores and the model badge, and the admin view', async () => {
    const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${gw!.url}/`);
    await page.fill('#query', 'red');
    await page.click('#search-button');
    await page.waitForSelector('.card img');
    await waitForLoadedImages(page, '.card img', 4);
    expect(await page.textContent('#model-badge')).toBe('clip-vit-b32-openai');
    const cats = await page.$$eval('.card .cat', (els) => els.slice(0, 4).map((e) => e.textContent));
    expect(cats).toEqual(['red', 'red', 'red', 'red']);
    const score = Number(await page.textContent('.card .score'));
    expect(score).toBeGreaterThan(0);
    await page.screenshot({ path: join(OUT, 'search-text.png'), fullPage: true });
    // Clicking a result (which searches for similar images) tells the gateway: POST /events, rank 1.
    await page.click('.card >> nth=0');
    await page.locator('#status', { hasText: 'similar images' }).waitFor();

    await page.setInputFiles('#upload', join(root, 'query-blue.png'));
    await page.click('#upload-button');
    await page.locator('#status', { hasText: 'image query-blue.png' }).waitFor();
    expect(await page.$$eval('.card .cat', (els) => els.slice(0, 4).map((e) => e.textContent))).toEqual([
      'blue',
      'blue',
      'blue',
      'blue',
    ]);
    await page.screenshot({ path: join(OUT, 'search-image.png'), fullPage: true });

    await page.click('#tab-admin');
    await page.fill('#token', 'wrong-token');
    await page.click('#token-button');
    await page.locator('#admin-error', { hasText: 'admin token is wrong' }).waitFor();
    await page.fill('#token', TOKEN);
    await page.click('#token-button');
    await page.waitForSelector('#reembed-table tbody tr');
    const rollout = await page.textContent('#rollout-table');
    expect(rollout).toContain('SIGLIP_ROLLOUT_PERCENTAGE');
    expect(rollout).toContain('25%');
    expect(rollout).toContain('target_collection_missing');
    expect(await page.textContent('#coverage-table')).toMatch(/clip-vit-b32-openai\s*image_assets\s*20/);
    expect(await page.textContent('#reembed-table')).toContain('State');
    // Shadow comparison panel: every text search was repeated on the other model (whose collection is missing here).
    await page.locator('#shadow-table tbody tr', { hasText: 'siglip-vit-b16-webli' }).waitFor();
    expect(await page.textContent('#shadow-settings')).toContain('SHADOW_PERCENTAGE 100%');
    // Online metrics panel: the text search's click, credited to CLIP (CTR@1 over its searches).
    const onlineRow = page.locator('#online-table tbody tr', { hasText: 'clip-vit-b32-openai' });
    await onlineRow.waitFor();
    expect(Number((await onlineRow.locator('td >> nth=1').textContent()) ?? 0)).toBeGreaterThanOrEqual(1);
    expect(await onlineRow.locator('td >> nth=2').textContent()).not.toBe('0.0%');
    // Models panel: each model's towers; SigLIP's unused image tower idled out and loads on the next request.
    await page
      .locator('#models-table tbody tr', { hasText: 'siglip-vit-b16-webli' })
      .filter({ hasText: 'image: unloaded' })
      .waitFor();
    const siglipRow = await page.textContent('#models-table tbody tr:has-text("siglip-vit-b16-webli")');
    expect(siglipRow).toContain('loads on the next request');
    expect(siglipRow).toContain('after 1 s');
    expect(await page.textContent('#models-table tbody tr:has-text("clip-vit-b32-openai")')).toMatch(
      /image: loaded.*text: loaded.*off/,
    );
    await page.screenshot({ path: join(OUT, 'admin.png'), fullPage: true });
    expect(errors).toEqual([]);
  });
});
