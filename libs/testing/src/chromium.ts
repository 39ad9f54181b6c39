import type { Page } from 'playwright-core';
import { existsSync } from 'node:fs';
import { testEnv } from './env.js';

/** The command that installs the browser the page tests drive (Debian's package; the README says the same). */
export const CHROMIUM_INSTALL = 'apt-get install chromium';

/**
 * Whether the page tests can run: true when Chromium is at `path`. Outside CI a missing browser prints one
 * SKIPPED line and returns false; under CI=true it throws, so a CI run can never pass without opening the page.
 */
export function chromiumAvailable(
  suite: string,
  { path = testEnv.chromiumPath, ci = testEnv.isCi }: { path?: string; ci?: boolean } = {},
): boolean {
  if (existsSync(path)) return true;
  const why = `no Chromium at ${path} (${CHROMIUM_INSTALL}, or set CHROMIUM_PATH)`;
  if (ci) throw new Error(`${suite} must run under CI=true, but there is ${why}`);
  console.log(`[e2e] SKIPPED ${suite}: ${why}`);
  return false;
}

/**
 * Waits until the first `count` images matching `selector` have loaded. Polled through `$$eval`
 * rather than `page.waitForFunction`: Playwright re-evaluates a waitForFunction predicate with
 * eval, which the gateway's CSP (script-src 'self') rightly refuses.
 */
export async function waitForLoadedImages(
  page: Page,
  selector: string,
  count: number,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const loaded = await page.$$eval(
      selector,
      (imgs, n) =>
        imgs.length >= n &&
        imgs.slice(0, n).every((i) => {
          const img = i as unknown as { complete: boolean; naturalWidth: number };
          return img.complete && img.naturalWidth > 0;
        }),
      count,
    );
    if (loaded) return;
    if (Date.now() > deadline) {
      // Say what the page showed: too few results, images still loading, or broken ones (and which).
      const seen = await page.$$eval(selector, (imgs) =>
        imgs.map((i) => {
          const img = i as unknown as { complete: boolean; naturalWidth: number; src: string };
          return { complete: img.complete, ok: img.complete && img.naturalWidth > 0, src: img.src };
        }),
      );
      const status = await page
        .$eval('#status', (e) => (e as unknown as { textContent: string | null }).textContent ?? '')
        .catch(() => '');
      const broken = seen.filter((i) => i.complete && !i.ok);
      throw new Error(
        `the first ${count} images of ${selector} did not load in ${timeoutMs} ms: ${seen.length} found, ` +
          `${seen.filter((i) => i.ok).length} loaded, ${broken.length} broken${broken[0] ? ` (first ${broken[0].src})` : ''}; ` +
          `status "${status.trim().slice(0, 200)}"`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** When the thumbnails of one result page were painted, from the search answer's arrival (ms). */
export interface ThumbnailPaint {
  /** Thumbnails with an Element Timing paint entry. */
  painted: number;
  /** From the search answer's last byte to the first / the last thumbnail's first paint. */
  firstPaintMs: number;
  lastPaintMs: number;
  /** The search request itself (request start to last byte). */
  searchMs: number;
  /** Bytes of the thumbnails as transferred (0 when they came from the browser's cache). */
  thumbnailBytes: number;
}

/**
 * Measures the paint of the first `count` result thumbnails with the browser's own clocks: Element
 * Timing (`elementtiming` on each img) gives each image's first paint, Resource Timing the moment the
 * search answer arrived. Call after the images loaded (waitForLoadedImages).
 */
export async function thumbnailPaint(page: Page, searchPath: string, count: number): Promise<ThumbnailPaint> {
  return page.evaluate(
    async ({ searchPath, count }) => {
      // Browser globals, typed here (this project compiles without the DOM library).
      interface Entry {
        name: string;
        startTime: number;
        renderTime: number;
        loadTime: number;
        url: string;
        responseEnd: number;
        transferSize: number;
      }
      const g = globalThis as unknown as {
        performance: { getEntriesByType(t: string): Entry[] };
        PerformanceObserver: new (cb: (l: { getEntries(): Entry[] }) => void) => {
          observe(o: { type: string; buffered: boolean }): void;
        };
      };
      const entries = await new Promise<Entry[]>((resolve) => {
        const seen: Entry[] = [];
        const timer = setTimeout(() => resolve(seen), 3000);
        new g.PerformanceObserver((list) => {
          seen.push(...list.getEntries());
          if (seen.length >= count) {
            clearTimeout(timer);
            resolve(seen);
          }
        }).observe({ type: 'element', buffered: true });
      });
      const resources = g.performance.getEntriesByType('resource');
      const search = resources.filter((r) => new URL(r.name).pathname === searchPath).at(-1);
      const origin = search?.responseEnd ?? 0;
      const mine = entries.slice(0, count);
      const thumbs = mine.map((e) => (e.renderTime || e.loadTime) - origin);
      const urls = new Set(mine.map((e) => e.url));
      return {
        painted: thumbs.length,
        firstPaintMs: Math.min(...thumbs),
        lastPaintMs: Math.max(...thumbs),
        searchMs: search ? search.responseEnd - search.startTime : NaN,
        thumbnailBytes: resources.filter((r) => urls.has(r.name)).reduce((n, r) => n + r.transferSize, 0),
      };
    },
    { searchPath, count },
  );
}
