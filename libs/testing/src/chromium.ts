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
    if (Date.now() > deadline)
      throw new Error(`the first ${count} images of ${selector} did not load in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
