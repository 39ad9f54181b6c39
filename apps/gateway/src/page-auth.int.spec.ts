// The search page with authentication, in REAL headless Chromium (playwright-core) against gateways
// over the REAL embedded store and REAL Redis (API keys made with the same ApiKeyStore tools:api-key
// uses); the embedders are the in-process fakes (named so in AppFixture). Two ways in: an API key
// typed into the page (kept in sessionStorage, sent as Authorization: Bearer, and traded for the
// HttpOnly image cookie so <img> thumbnails load), and an authenticating proxy's identity header,
// which the browser context adds to every request as the proxy would.
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore, generateApiKey } from '@image-search/api-keys';
import { chromiumAvailable, testEnv, testRedis, waitForLoadedImages } from '@image-search/testing';
import { AppFixture } from '../test/app-fixture.js';
import type { RunningGateway } from '../test/test-gateway.js';

const hasChromium = chromiumAvailable('search page with auth');

// The browser's globals, typed just enough (this project compiles without the DOM library).
interface Img {
  src: string;
  naturalWidth: number;
}
type Browserish = { sessionStorage: { getItem(k: string): string | null }; document: { cookie: string } };
const storedKey = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as Browserish).sessionStorage.getItem('isearch_api_key'));
const scriptCookies = (page: Page) => page.evaluate(() => (globalThis as unknown as Browserish).document.cookie);

describe.skipIf(!hasChromium)('search page with auth (headless Chromium, real store and Redis)', () => {
  const fx = new AppFixture();
  const redis = testRedis();
  const keys = new ApiKeyStore(redis, fx.prefix);
  let withKeys: RunningGateway;
  let behindProxy: RunningGateway;
  let browser: Browser;
  let alice: { key: string; id: string };
  const errors: string[] = [];

  beforeAll(async () => {
    await fx.setUp({ ingest: true });
    withKeys = await fx.start({ AUTH_API_KEYS: 'true' });
    behindProxy = await fx.start({ AUTH_PROXY_HEADER: 'X-Forwarded-User', AUTH_TRUSTED_PROXIES: 'loopback' });
    const made = await keys.create('alice', 'search');
    alice = { key: made.key, id: made.record.id };
    browser = await chromium.launch({
      executablePath: testEnv.chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([withKeys?.close(), behindProxy?.close()]);
    await fx.tearDown();
    redis.disconnect();
  });

  const searchRed = async (page: Page) => {
    await page.fill('#query', 'red');
    await page.click('#search-button');
    await page.waitForSelector('.card img');
    await waitForLoadedImages(page, '.card img', 3);
    return page.$$eval('.card img', (imgs) =>
      imgs.map((i) => ({ src: (i as unknown as Img).src, w: (i as unknown as Img).naturalWidth })),
    );
  };

  it('with API keys: asks for a key, says clearly when it is wrong, signs in with a good one, and thumbnails load', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${withKeys.url}/`);
    await page.waitForSelector('#key-form:not([hidden])');
    expect(await page.textContent('#key-error')).toMatch(/this gateway needs a credential: an API key of scope search/);

    // A well-formed key the gateway never issued: refused, with the gateway's own words, and not kept.
    await page.fill('#api-key', generateApiKey().key);
    await page.click('#key-button');
    await page.waitForSelector('#key-error:has-text("Not signed in")');
    expect(await page.textContent('#key-error')).toBe('Not signed in: this API key is not valid (unknown key)');
    expect(await storedKey(page)).toBeNull();
    // Searching without a key says the same kind of thing, not a broken grid.
    await page.fill('#query', 'red');
    await page.click('#search-button');
    await page.waitForSelector('#status .error');
    expect(await page.textContent('#status .error')).toMatch(/needs a credential/);

    await page.fill('#api-key', alice.key);
    await page.click('#key-button');
    await page.waitForSelector('#whoami:not([hidden])');
    expect(await page.textContent('#whoami-text')).toBe('Signed in as alice (API key)');
    expect(await page.isHidden('#key-form')).toBe(true);
    const imgs = await searchRed(page);
    expect(imgs.length).toBeGreaterThanOrEqual(3);
    for (const i of imgs.slice(0, 3)) expect(i.w).toBeGreaterThan(0);
    // The key never travels in a URL; the images carry the HttpOnly, SameSite=Strict session cookie.
    expect(imgs.every((i) => !i.src.includes('isk_'))).toBe(true);
    const cookie = (await context.cookies()).find((c) => c.name === 'isearch_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/v1' });
    expect(await scriptCookies(page)).not.toContain('isearch_session');
    // Without the cookie the same thumbnail is refused: the cookie is what lets <img> in.
    const bare = await fetch(imgs[0]!.src);
    expect(bare.status).toBe(401);
    const withCookie = await fetch(imgs[0]!.src, { headers: { cookie: `isearch_session=${cookie!.value}` } });
    expect(withCookie.status).toBe(200);
    expect(withCookie.headers.get('cache-control')).toMatch(/private/);
    // ...and only for reads: a POST with the cookie alone is not authenticated.
    const post = await fetch(`${withKeys.url}/api/v1/search`, {
      method: 'POST',
      headers: { cookie: `isearch_session=${cookie!.value}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'red' }),
    });
    expect(post.status).toBe(401);

    // A reload keeps the tab signed in (sessionStorage) with a fresh cookie; thumbnails load again.
    await page.reload();
    await page.waitForSelector('#whoami:not([hidden])');
    expect((await searchRed(page)).length).toBeGreaterThanOrEqual(3);

    // Revoked: the session ends with the key, and the page says why.
    await keys.revoke(alice.id);
    expect((await fetch(imgs[0]!.src, { headers: { cookie: `isearch_session=${cookie!.value}` } })).status).toBe(401);
    await page.reload();
    await page.waitForSelector('#key-form:not([hidden])');
    expect(await page.textContent('#key-error')).toBe(
      'Not signed in: this API key was revoked; ask an administrator for a new one',
    );
    expect(errors).toEqual([]);
    await context.close();
  });

  it('signs out: the cookie and the stored key are gone', async () => {
    const bob = await keys.create('bob', 'search');
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${withKeys.url}/`);
    await page.waitForSelector('#key-form:not([hidden])');
    await page.fill('#api-key', bob.key);
    await page.click('#key-button');
    await page.waitForSelector('#whoami:not([hidden])');
    const token = (await context.cookies()).find((c) => c.name === 'isearch_session')!.value;
    await page.click('#sign-out');
    await page.waitForSelector('#key-form:not([hidden])');
    expect(await page.textContent('#key-error')).toBe('Signed out.');
    expect((await context.cookies()).find((c) => c.name === 'isearch_session')).toBeUndefined();
    expect(await storedKey(page)).toBeNull();
    const list = await fetch(`${withKeys.url}/api/v1/assets?limit=1`, {
      headers: { cookie: `isearch_session=${token}` },
    });
    expect(list.status).toBe(401);
    await context.close();
  });

  it('behind the authenticating proxy (its identity header on every request): the page just works, thumbnails included', async () => {
    const context = await browser.newContext({ extraHTTPHeaders: { 'X-Forwarded-User': 'carol@example.com' } });
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${behindProxy.url}/`);
    await page.waitForSelector('#whoami:not([hidden])');
    expect(await page.textContent('#whoami-text')).toBe('Signed in as carol@example.com (your sign-in)');
    expect(await page.isHidden('#key-form')).toBe(true);
    expect(await page.isHidden('#sign-out')).toBe(true);
    const imgs = await searchRed(page);
    expect(imgs.length).toBeGreaterThanOrEqual(3);
    expect((await context.cookies()).find((c) => c.name === 'isearch_session')).toBeUndefined();
    // The same page without the proxy in front: refused, and it says how to get in.
    const direct = await browser.newContext();
    const p2 = await direct.newPage();
    await p2.goto(`${behindProxy.url}/`);
    await p2.waitForSelector('#key-form:not([hidden])');
    expect(await p2.textContent('#key-error')).toMatch(/a login through the authenticating proxy/);
    await direct.close();
    expect(errors).toEqual([]);
    await context.close();
  });
});
