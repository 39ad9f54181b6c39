// Authentication: API keys in REAL Redis (made with the same ApiKeyStore tools:api-key uses), a
// trusted proxy identity header checked against the REAL connecting address (the client binds
// 127.0.0.2 to be an untrusted peer), the REAL embedded store, and the gateway process itself for
// the refusal to listen beyond loopback without auth. Embedders are the in-process fakes (named so).
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '@image-search/api-keys';
import { bucketOf } from '@image-search/rollout-router';
import { isAppError } from '@image-search/service-kit';
import { startTsProcess, testRedis } from '@image-search/testing';
import { AppFixture, TOKEN } from '../test/app-fixture.js';
import { checkResponse } from '../test/openapi-validator.js';
import type { RunningGateway } from '../test/test-gateway.js';
import { loadGatewayConfig } from './config.js';

const fx = new AppFixture();
const redis = testRedis();
const keys = new ApiKeyStore(redis, fx.prefix);
let withKeys: RunningGateway;
let replica: RunningGateway;
let behindProxy: RunningGateway;
let alice: string;
let boss: string;
let assetId: string;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One HTTP request with node:http, so the test can choose its source address (localAddress). */
function send(
  base: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; json?: unknown; from?: string; template?: string } = {},
): Promise<Answer> {
  const body = opts.json === undefined ? undefined : JSON.stringify(opts.json);
  return new Promise((resolve, reject) => {
    const req = request(
      base + path,
      {
        method: opts.method ?? (body ? 'POST' : 'GET'),
        headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(opts.headers ?? {}) },
        ...(opts.from ? { localAddress: opts.from } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const parsed: unknown = (res.headers['content-type'] ?? '').includes('json') ? JSON.parse(text) : text;
          if (opts.template)
            checkResponse(opts.template, opts.method ?? (body ? 'POST' : 'GET'), res.statusCode!, parsed);
          resolve({ status: res.statusCode!, headers: res.headers, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const search = (base: string, headers: Record<string, string>, from?: string) =>
  send(base, '/api/v1/search', {
    json: { query: 'red', limit: 3 },
    headers,
    template: '/api/v1/search',
    ...(from ? { from } : {}),
  });

beforeAll(async () => {
  await fx.setUp({ ingest: true });
  withKeys = await fx.start({ AUTH_API_KEYS: 'true' });
  replica = await fx.start({ AUTH_API_KEYS: 'true' });
  behindProxy = await fx.start({
    AUTH_PROXY_HEADER: 'X-Forwarded-User',
    AUTH_TRUSTED_PROXIES: '127.0.0.1',
    AUTH_PROXY_ADMINS: 'root-user',
  });
  alice = (await keys.create('alice', 'search')).key;
  boss = (await keys.create('boss', 'admin')).key;
  const list = await send(fx.gw.url, '/api/v1/assets?limit=1');
  assetId = list.body.assets[0].id;
}, 120_000);

afterAll(async () => {
  await Promise.all([withKeys?.close(), replica?.close(), behindProxy?.close()]);
  await fx.tearDown();
  redis.disconnect();
});

describe('API keys (real Redis)', () => {
  it('serves health, readiness, metrics and the page shell without a credential, nothing under /api', async () => {
    for (const p of ['/health', '/ready', '/metrics', '/', '/app.js'])
      expect((await send(withKeys.url, p)).status, p).toBe(200);
    for (const p of [
      '/api/v1/assets',
      `/api/v1/assets/${assetId}`,
      `/api/v1/images/${assetId}/thumbnail`,
      `/api/v1/images/${assetId}/file`,
      `/api/v1/search/similar/${assetId}`,
      '/api/v1/openapi.json',
      '/api/v1/auth/me',
      '/api/v1/no-such-route',
    ]) {
      const r = await send(withKeys.url, p);
      expect(r.status, p).toBe(401);
      expect(r.headers['www-authenticate'], p).toBe('Bearer realm="image-search"');
    }
  });

  it('refuses a missing credential with a message saying how to get one', async () => {
    const r = await search(withKeys.url, {});
    expect(r.status).toBe(401);
    expect(r.body.error).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'missing_credential' } });
    expect(r.body.error.message).toContain('npx nx run tools:api-key -- create --scope search');
  });

  it('refuses wrong, malformed and unknown credentials', async () => {
    const unknown = await search(withKeys.url, bearer(`isk_0123456789ab_${'A'.repeat(43)}`));
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.details.reason).toBe('unknown_key');
    const wrong = await search(withKeys.url, bearer('not-the-admin-token'));
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toContain('neither a valid API key nor the ADMIN_TOKEN');
    const basic = await search(withKeys.url, { authorization: 'Basic YWxpY2U6cHc=' });
    expect(basic.status).toBe(401);
    expect(basic.body.error.details.reason).toBe('malformed_authorization');
  });

  it('a search key searches, reads assets and images, and is bucketed by its user without user_id', async () => {
    const r = await search(withKeys.url, bearer(alice));
    expect(r.status).toBe(200);
    expect(r.body.rollout).toMatchObject({ bucket: bucketOf('alice'), bucket_source: 'user_id' });
    // An explicit user_id still wins (a backend may bucket its own users).
    const explicit = await send(withKeys.url, '/api/v1/search', {
      json: { query: 'red', user_id: 7 },
      headers: bearer(alice),
    });
    expect(explicit.body.rollout.bucket).toBe(7);
    expect((await send(withKeys.url, `/api/v1/assets/${assetId}`, { headers: bearer(alice) })).status).toBe(200);
    const old = await send(withKeys.url, `/api/v1/images/${assetId}/thumbnail`, { headers: bearer(alice) });
    expect(old.status).toBe(302);
    const thumb = await send(withKeys.url, String(old.headers['location']), { headers: bearer(alice) });
    expect(thumb.status).toBe(200);
    expect(thumb.headers['cache-control']).toBe('private, max-age=31536000, immutable');
    expect((await send(fx.gw.url, String(old.headers['location']))).headers['cache-control']).toMatch(/^public/);
    const me = await send(withKeys.url, '/api/v1/auth/me', { headers: bearer(alice), template: '/api/v1/auth/me' });
    expect(me.body).toEqual({
      authenticated: true,
      identity: { id: 'alice', scope: 'search', method: 'api_key' },
      auth: { api_keys: true, proxy_header: null, anonymous: false },
    });
  });

  it('a search key is refused on admin routes (403, naming the scope); admin keys and ADMIN_TOKEN pass', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/admin/rollout'],
      ['GET', '/api/v1/admin/siglip/status'],
      ['POST', '/api/v1/assets/ingest'],
    ] as const) {
      const r = await send(withKeys.url, path, {
        method,
        headers: bearer(alice),
        ...(method === 'POST' ? { json: { root_path: fx.photos } } : {}),
      });
      expect(r.status, path).toBe(403);
      expect(r.body.error.message, path).toBe('this needs the admin scope; the API key of alice has scope search');
    }
    expect((await send(withKeys.url, '/api/v1/admin/rollout', { headers: bearer(boss) })).status).toBe(200);
    expect((await send(withKeys.url, '/api/v1/admin/rollout', { headers: bearer(TOKEN) })).status).toBe(200);
    const asAdmin = await search(withKeys.url, bearer(TOKEN));
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body.rollout.bucket).toBe(bucketOf('admin'));
  });

  it('a revoked key is refused at once, by every replica', async () => {
    const { key, record } = await keys.create('temp', 'search');
    expect((await search(replica.url, bearer(key))).status).toBe(200);
    await keys.revoke(record.id);
    for (const gw of [withKeys, replica]) {
      const r = await search(gw.url, bearer(key));
      expect(r.status).toBe(401);
      expect(r.body.error).toMatchObject({
        message: expect.stringContaining('revoked'),
        details: { reason: 'revoked_key' },
      });
    }
  });
});

describe("browser sessions for the page's images (real Redis)", () => {
  it('POST /auth/session trades an API key for an HttpOnly SameSite=Strict cookie that reads (GET) accept, at most with the search scope', async () => {
    const made = await send(withKeys.url, '/api/v1/auth/session', {
      method: 'POST',
      headers: bearer(boss),
      template: '/api/v1/auth/session',
    });
    expect(made.status).toBe(200);
    expect(made.body.identity).toEqual({ id: 'boss', scope: 'search', method: 'api_key' });
    const setCookie = String(made.headers['set-cookie']);
    expect(setCookie).toMatch(
      /^isearch_session=iss_[A-Za-z0-9_-]{43}; Max-Age=43200; Path=\/api\/v1; Expires=.*; HttpOnly; SameSite=Strict$/,
    );
    const cookie = { cookie: setCookie.split(';')[0]! };
    // Every replica accepts it (the session lives in Redis); reads only, search scope only.
    expect((await send(replica.url, `/api/v1/assets/${assetId}`, { headers: cookie })).status).toBe(200);
    expect((await send(withKeys.url, '/api/v1/admin/rollout', { headers: cookie })).status).toBe(403);
    expect((await send(withKeys.url, '/api/v1/search', { json: { query: 'red' }, headers: cookie })).status).toBe(401);
    const ended = await send(withKeys.url, '/api/v1/auth/session', {
      method: 'DELETE',
      headers: { ...cookie, ...bearer(boss) },
    });
    expect(ended.status).toBe(204);
    const after = await send(withKeys.url, `/api/v1/assets/${assetId}`, { headers: cookie });
    expect(after.status).toBe(401);
    expect(after.body.error).toMatchObject({ details: { reason: 'session_expired' } });
    expect(after.body.error.message).toMatch(/your session has expired or was ended.*enter your API key again/);
  });

  it('needs an API key, is not offered behind the proxy, and is off without API keys', async () => {
    const none = await send(withKeys.url, '/api/v1/auth/session', { method: 'POST', template: '/api/v1/auth/session' });
    expect(none.status).toBe(401);
    const proxied = await send(behindProxy.url, '/api/v1/auth/session', {
      method: 'POST',
      headers: { 'x-forwarded-user': 'carol' },
      from: '127.0.0.1',
      template: '/api/v1/auth/session',
    });
    expect(proxied.status).toBe(409);
    expect(proxied.body.error.message).toMatch(/browser sessions exist only with API keys/);
    const forged = await send(withKeys.url, `/api/v1/assets/${assetId}`, {
      headers: { cookie: 'isearch_session=iss_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    });
    expect(forged.status).toBe(401);
  });
});

describe('trusted proxy identity header', () => {
  it('takes the user from the header when the trusted proxy sends it, and buckets by it', async () => {
    const r = await search(behindProxy.url, { 'x-forwarded-user': 'carol@example.com' }, '127.0.0.1');
    expect(r.status).toBe(200);
    expect(r.body.rollout).toMatchObject({ bucket: bucketOf('carol@example.com'), bucket_source: 'user_id' });
    const me = await send(behindProxy.url, '/api/v1/auth/me', { headers: { 'x-forwarded-user': 'carol@example.com' } });
    expect(me.body.identity).toEqual({ id: 'carol@example.com', scope: 'search', method: 'proxy' });
  });

  it('refuses the header from an untrusted address (a spoof), and no header means no credential', async () => {
    const spoof = await search(behindProxy.url, { 'x-forwarded-user': 'root-user' }, '127.0.0.2');
    expect(spoof.status).toBe(401);
    expect(spoof.body.error.details.reason).toBe('untrusted_proxy');
    expect(spoof.body.error.message).toContain('accepted only from the authenticating proxy (AUTH_TRUSTED_PROXIES)');
    const admin = await send(behindProxy.url, '/api/v1/admin/rollout', {
      headers: { 'x-forwarded-user': 'root-user' },
      from: '127.0.0.2',
    });
    expect(admin.status).toBe(401);
    const none = await search(behindProxy.url, {}, '127.0.0.2');
    expect(none.status).toBe(401);
    expect(none.body.error.message).toContain('a login through the authenticating proxy');
  });

  it('grants admin only to AUTH_PROXY_ADMINS users, and an empty user is refused', async () => {
    const root = await send(behindProxy.url, '/api/v1/admin/rollout', { headers: { 'x-forwarded-user': 'root-user' } });
    expect(root.status).toBe(200);
    const carol = await send(behindProxy.url, '/api/v1/admin/rollout', { headers: { 'x-forwarded-user': 'carol' } });
    expect(carol.status).toBe(403);
    expect(carol.body.error.message).toBe('this needs the admin scope; user carol has scope search');
    const empty = await search(behindProxy.url, { 'x-forwarded-user': ' ' });
    expect(empty.status).toBe(401);
    expect(empty.body.error.details.reason).toBe('bad_proxy_user');
  });
});

describe('anonymous access', () => {
  it('without auth configured (loopback) searches need no credential; admin still needs ADMIN_TOKEN', async () => {
    expect((await search(fx.gw.url, {})).status).toBe(200);
    expect((await send(fx.gw.url, '/api/v1/admin/rollout')).status).toBe(401);
    const me = await send(fx.gw.url, '/api/v1/auth/me', { template: '/api/v1/auth/me' });
    expect(me.body).toMatchObject({ authenticated: false, identity: null, auth: { anonymous: true } });
  });

  it('ALLOW_ANONYMOUS=true with API keys: no credential searches, a wrong one is still refused', async () => {
    const g = await fx.start({ AUTH_API_KEYS: 'true', ALLOW_ANONYMOUS: 'true' });
    try {
      expect((await search(g.url, {})).status).toBe(200);
      expect((await search(g.url, bearer(`isk_0123456789ab_${'B'.repeat(43)}`))).status).toBe(401);
      expect((await send(g.url, '/api/v1/admin/rollout')).status).toBe(401);
    } finally {
      await g.close();
    }
  });
});

describe('listening beyond loopback', () => {
  const base = { DATA_DIR: '/nonexistent' };
  const refusal = (env: Record<string, string>) => {
    try {
      loadGatewayConfig({ ...base, ...env });
      return undefined;
    } catch (err) {
      return isAppError(err, 'INVALID_CONFIG') ? err.message : String(err);
    }
  };

  it('refuses a non-loopback GATEWAY_HOST without auth, and accepts loopback, auth or ALLOW_ANONYMOUS', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.5', 'images.example.com'])
      expect(refusal({ GATEWAY_HOST: host }), host).toMatch(/no authentication is configured.*AUTH_API_KEYS=true/s);
    for (const host of ['127.0.0.1', '127.0.0.53', '::1', '[::1]', 'localhost'])
      expect(refusal({ GATEWAY_HOST: host }), host).toBeUndefined();
    expect(refusal({ GATEWAY_HOST: '0.0.0.0', AUTH_API_KEYS: 'true' })).toBeUndefined();
    expect(refusal({ GATEWAY_HOST: '0.0.0.0', ALLOW_ANONYMOUS: 'true' })).toBeUndefined();
    expect(
      refusal({ GATEWAY_HOST: '0.0.0.0', AUTH_PROXY_HEADER: 'Remote-User', AUTH_TRUSTED_PROXIES: '10.0.0.0/8' }),
    ).toBeUndefined();
  });

  it('names a proxy header without trusted proxies, a bad CIDR and a bad header name', () => {
    expect(refusal({ AUTH_PROXY_HEADER: 'Remote-User' })).toMatch(
      /AUTH_TRUSTED_PROXIES: required with AUTH_PROXY_HEADER/,
    );
    expect(refusal({ AUTH_PROXY_HEADER: 'Remote-User', AUTH_TRUSTED_PROXIES: '10.0.0.0/33' })).toMatch(
      /AUTH_TRUSTED_PROXIES: invalid range on address: 10.0.0.0\/33/,
    );
    expect(refusal({ AUTH_PROXY_HEADER: 'Remote User', AUTH_TRUSTED_PROXIES: '10.0.0.1' })).toMatch(
      /AUTH_PROXY_HEADER: must be an HTTP header name/,
    );
  });

  it('the gateway process exits 2 with the message instead of listening on 0.0.0.0 without auth', async () => {
    const p = startTsProcess('apps/gateway/src/main.ts', { GATEWAY_HOST: '0.0.0.0', DATA_DIR: fx.root });
    expect(await p.exited).toBe(2);
    expect(p.output()).toContain('GATEWAY_HOST: 0.0.0.0 is reachable from other machines');
    expect(p.output()).toContain('ALLOW_ANONYMOUS=true');
  });
});
