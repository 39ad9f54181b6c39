// End-to-end: the search page's 50 result thumbnails in REAL headless Chromium, on a cold browser cache,
// then warm. The gateway runs in-process over the REAL embedded store, catalogue and REAL Redis ingest;
// the embedders are the in-process fakes (colour vectors: which photos match does not matter here), the
// thumbnails are the real ones made at ingest. The paint time is measured (Element Timing) and printed,
// and written to test-output/thumbnail-paint.json; bench/library.bench.ts records it in docs/benchmarks.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, testEnv, thumbnailPaint, waitForLoadedImages } from '@image-search/testing';
import { AppFixture, ingest } from '../test/app-fixture.js';

const hasChromium = chromiumAvailable('thumbnail page test');
const OUT = resolve(import.meta.dirname, '../test-output');
const fx = new AppFixture();
let browser: Browser | undefined;

describe.skipIf(!hasChromium)('result thumbnails in headless Chromium (fake embedders, real store and files)', () => {
  beforeAll(async () => {
    await fx.setUp({ ingest: false });
    // 60 camera-shaped photos (4:3 JPEG with noise, so thumbnails have a realistic weight: about 4.7 kB each,
    // as 1600x1200 sources with sigma 40 gave). 640x480 rather than camera size: the 256 px thumbnails are the
    // same size either way, and writing and ingesting 60 noisy 2-megapixel JPEGs took over a minute here.
    mkdirSync(join(fx.photos, 'camera'), { recursive: true });
    for (let i = 0; i < 60; i++)
      await sharp({
        create: {
          width: 640,
          height: 480,
          channels: 3,
          background: 'black',
          noise: { type: 'gaussian', mean: 90 + i, sigma: 18 },
        },
      })
        .jpeg({ quality: 85 })
        .toFile(join(fx.photos, 'camera', `IMG_${String(i).padStart(4, '0')}.jpg`));
    expect((await ingest(fx.gw.url, fx.photos)).body).toMatchObject({ state: 'completed', added: 67 });
    browser = await chromium.launch({
      executablePath: testEnv.chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    mkdirSync(OUT, { recursive: true });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await fx.tearDown();
  });

  it('paints the 50 thumbnails of a result page from a cold cache, and from the browser cache afterwards', async () => {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const search = async () => {
      await page.fill('#query', 'grey photo');
      await page.fill('#limit', '50');
      await page.click('#search-button');
      await waitForLoadedImages(page, '.card img', 50);
      return thumbnailPaint(page, '/api/v1/search', 50);
    };
    await page.goto(`${fx.gw.url}/`);
    const cold = await search();
    const srcs = await page.$$eval('.card img', (imgs) => imgs.map((i) => i.getAttribute('src')));
    expect(srcs).toHaveLength(50);
    for (const s of srcs) expect(s).toMatch(/^\/api\/v1\/thumbnails\/[0-9a-f]{32}\/[0-9a-f]{16}\.jpg$/);
    expect(cold.painted).toBe(50);
    expect(cold.thumbnailBytes).toBeGreaterThan(50 * 1000);
    // Immutable: after a reload the same page of thumbnails comes from the browser's cache, unasked.
    await page.reload();
    const warm = await search();
    expect(warm.painted).toBe(50);
    expect(warm.thumbnailBytes).toBe(0);
    const figures = { cold, warm, note: 'ms from the search answer to the last of 50 thumbnails painted' };
    console.log(`[thumbnail paint] ${JSON.stringify(figures)}`);
    writeFileSync(join(OUT, 'thumbnail-paint.json'), JSON.stringify(figures, null, 2));
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
