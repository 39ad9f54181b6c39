// No absolute server path in any answer, security headers on every answer, and originals that can
// never be rendered as HTML/SVG: the gateway over the REAL embedded store, REAL Redis + BullMQ for
// ingestion and REAL files (the embedders are the in-process fakes, named so).
import { copyFileSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppFixture, ingest, TOKEN } from '../test/app-fixture.js';
import { AssetPaths } from './search/asset-paths.js';
import { servableImageType } from './http/security-headers.js';

const fx = new AppFixture();
let base: string;

interface Seen {
  path: string;
  status: number;
  headers: Headers;
  text: string;
}
const seen: Seen[] = [];

async function get(path: string, init: RequestInit & { token?: string } = {}): Promise<Seen> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('authorization', `Bearer ${init.token}`);
  const res = await fetch(base + path, { ...init, headers });
  const s = { path, status: res.status, headers: res.headers, text: await res.text() };
  seen.push(s);
  return s;
}
const json = (s: Seen) => JSON.parse(s.text);
const post = (path: string, body: unknown, token?: string) =>
  get(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(token ? { token } : {}),
  });

beforeAll(async () => {
  await fx.setUp({ ingest: true });
  base = fx.gw.url;
}, 120_000);
afterAll(() => fx.tearDown());

describe('asset paths (real store and files)', () => {
  it('search hits, the asset list and the asset view show root name + relative path, never the absolute path', async () => {
    const hits = json(await post('/api/v1/search', { query: 'red', limit: 3 }));
    expect(hits.results[0].asset).toMatchObject({ root: 'photos', path: expect.stringMatching(/^red\/r\d\.png$/) });
    const list = json(await get('/api/v1/assets?limit=50'));
    const paths = list.assets.map((a: { root: string; path: string }) => `${a.root}/${a.path}`).sort();
    expect(paths).toContain('photos/nested/deeper/y1.png');
    const one = json(await get(`/api/v1/assets/${list.assets[0].id}`));
    expect(one.asset.root).toBe('photos');
    expect(one.asset.path).not.toMatch(/^\//);
    await get(`/api/v1/search/similar/${list.assets[0].id}?limit=3`);
  });

  it('ingest reports (dry run and progress) and their failures name files relative to the root', async () => {
    const dry = json(await post('/api/v1/assets/ingest', { root_path: fx.photos, dry_run: true }, TOKEN));
    expect(dry.root_path).toBe('photos');
    expect(dry.sample.every((p: string) => p.startsWith('photos/'))).toBe(true);
    const report = await ingest(base, join(fx.photos, 'red'));
    seen.push({
      path: 'ingest status',
      status: report.status,
      headers: report.headers,
      text: JSON.stringify(report.body),
    });
    expect(report.body.root_path).toBe('photos/red');
    expect(report.body.failed_sample.map((f: { path: string }) => f.path)).toContain('photos/red/broken.jpg');
  });

  it('errors about files (a vanished file, an unreadable one, outside the roots) do not name the server path', async () => {
    const list = json(await get('/api/v1/assets?limit=50'));
    const y1 = list.assets.find((a: { path: string }) => a.path === 'nested/deeper/y1.png');
    const abs = join(fx.photos, 'nested', 'deeper', 'y1.png');
    copyFileSync(abs, `${abs}.bak`);
    unlinkSync(abs);
    try {
      const gone = await get(`/api/v1/images/${y1.id}/file`);
      expect(gone.status).toBe(404);
      // The thumbnail made at ingest is the library's own copy: it is served until a rescan removes the asset.
      const thumb = await get(`/api/v1/images/${y1.id}/thumbnail`);
      expect(thumb.status).toBe(200);
    } finally {
      copyFileSync(`${abs}.bak`, abs);
      unlinkSync(`${abs}.bak`);
    }
    const outside = await post('/api/v1/assets/ingest', { root_path: fx.outside }, TOKEN);
    expect(outside.status).toBe(403);
    expect(json(outside).error.message).toContain('(ASSET_ROOTS: photos)');
  });

  it('no answer so far contained the absolute path of the asset root', () => {
    expect(seen.length).toBeGreaterThan(8);
    for (const s of seen) expect(s.text, s.path).not.toContain(fx.photos);
  });

  it('names roots by folder, disambiguates equal names, and redacts nested roots first', () => {
    const p = new AssetPaths(['/srv/a/photos', '/mnt/b/photos', '/srv/a/photos/archive']);
    expect(p.place('/srv/a/photos/x/y.jpg')).toEqual({ root: 'photos', path: 'x/y.jpg' });
    expect(p.place('/mnt/b/photos/z.jpg')).toEqual({ root: 'photos-2', path: 'z.jpg' });
    expect(p.place('/srv/a/photos/archive/old.jpg')).toEqual({ root: 'archive', path: 'old.jpg' });
    expect(p.place('/etc/passwd')).toBeUndefined();
    expect(p.show('/etc/passwd')).toBe('passwd');
    expect(p.redact('cannot read /srv/a/photos/archive/old.jpg or /mnt/b/photos/z.jpg')).toBe(
      'cannot read archive/old.jpg or photos-2/z.jpg',
    );
  });
});

describe('security headers', () => {
  it('every answer (page, API, errors, health) carries nosniff, a CSP with frame-ancestors and a referrer policy', async () => {
    const answers = [
      await get('/'),
      await get('/app.js'),
      await get('/style.css'),
      await get('/health'),
      await get('/api/v1/assets'),
      await get('/api/v1/no-such-route'),
      await post('/api/v1/search', { query: '' }),
      await get('/api/v1/admin/rollout'),
    ];
    for (const a of answers) {
      expect(a.headers.get('x-content-type-options'), a.path).toBe('nosniff');
      expect(a.headers.get('content-security-policy'), a.path).toContain("frame-ancestors 'none'");
      expect(a.headers.get('referrer-policy'), a.path).toBe('no-referrer');
      expect(a.headers.get('x-frame-options'), a.path).toBe('DENY');
      expect(a.headers.get('x-powered-by'), a.path).toBeNull();
    }
    const page = answers[0]!.headers.get('content-security-policy')!;
    expect(page).toContain("script-src 'self'");
    expect(page).toContain("style-src 'self'");
    expect(page).not.toContain('unsafe-inline');
    // API answers are never kept by a cache.
    expect(answers[4]!.headers.get('cache-control')).toBe('no-store');
  });

  it('the page has no inline script or style for the CSP to block', async () => {
    const html = (await get('/')).text;
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
  });

  it('an original that became HTML or SVG is never served with a renderable type', async () => {
    const list = json(await get('/api/v1/assets?limit=50'));
    const g1 = list.assets.find((a: { path: string }) => a.path === 'green/g1.png');
    const abs = join(fx.photos, 'green', 'g1.png');
    copyFileSync(abs, `${abs}.bak`);
    try {
      for (const content of [
        '<!doctype html><script>alert(document.domain)</script>',
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
      ]) {
        writeFileSync(abs, content);
        const r = await get(`/api/v1/images/${g1.id}/file`);
        const type = r.headers.get('content-type') ?? '';
        expect(type).not.toMatch(/html|svg|xml|text\//);
        expect(r.headers.get('x-content-type-options')).toBe('nosniff');
        if (r.status === 200) expect(r.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
      }
    } finally {
      copyFileSync(`${abs}.bak`, abs);
      unlinkSync(`${abs}.bak`);
    }
    const ok = await get(`/api/v1/images/${g1.id}/file`);
    expect(ok.headers.get('content-type')).toBe('image/png');
    expect(ok.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    const thumb = await get(`/api/v1/images/${g1.id}/thumbnail`);
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');
    expect(thumb.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
  });

  it('only raster image types pass servableImageType', () => {
    for (const t of ['image/jpeg', 'image/png', 'image/webp', 'image/heic', 'IMAGE/GIF'])
      expect(servableImageType(t)).toBe(t.toLowerCase());
    for (const t of ['text/html', 'image/svg+xml', 'application/xhtml+xml', 'text/xml', 'application/pdf', ''])
      expect(servableImageType(t)).toBe('application/octet-stream');
  });
});

// A second root with the same folder name elsewhere gets its own name (photos-2) in answers.
describe('two asset roots', () => {
  it('names each asset by its own root', async () => {
    const other = join(fx.root, 'more', 'photos');
    mkdirSync(other, { recursive: true });
    copyFileSync(join(fx.photos, 'blue', 'b1.png'), join(other, 'b9.png'));
    // Its own queue, so this gateway's worker (which knows the second root) runs the ingest.
    const g = await fx.start({ ASSET_ROOTS: `${fx.photos},${other}`, QUEUE_PREFIX: `${fx.prefix}-two-roots` });
    try {
      await ingest(g.url, other);
      const res = await fetch(`${g.url}/api/v1/assets?limit=100`);
      const text = await res.text();
      expect(text).not.toContain(fx.root);
      const assets = (JSON.parse(text) as { assets: { root: string; path: string }[] }).assets;
      expect(assets.find((a) => a.path === 'b9.png')?.root).toBe('photos-2');
    } finally {
      await g.close();
    }
  });
});
