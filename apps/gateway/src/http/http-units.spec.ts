import type { AddressInfo } from 'node:net';
import express, { type Request } from 'express';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@image-search/service-kit';
import { errorMiddleware } from './errors.middleware.js';
import { setRequestIdentity } from './identity.js';
import { rateLimit, rateLimitKey } from './rate-limit.js';

describe('rateLimit (express-rate-limit, in-process store; the Redis store is in rate-limit.int.spec.ts)', () => {
  it('counts per client, answers 429 with RateLimit, RateLimit-Policy and Retry-After, and is off at 0', async () => {
    const app = express();
    app.set('trust proxy', 1);
    const limited: string[] = [];
    app.get('/x', rateLimit({ name: 'search', perMinute: 2, onLimited: (n) => limited.push(n) }), (_req, res) => {
      res.json({ ok: true });
    });
    app.get('/off', rateLimit({ name: 'off', perMinute: 0 }), (_req, res) => {
      res.json({ ok: true });
    });
    app.use(errorMiddleware(createLogger('test', 'silent')));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const get = (path: string, ip = '203.0.113.7') => fetch(`${base}${path}`, { headers: { 'x-forwarded-for': ip } });
    try {
      const first = await get('/x');
      expect(first.status).toBe(200);
      expect(first.headers.get('ratelimit')).toMatch(/^"search"; r=1; t=\d+$/);
      expect(first.headers.get('ratelimit-policy')).toMatch(/^"search"; q=2; w=60; pk=:[^:]+:$/);
      expect((await get('/x')).status).toBe(200);
      const over = await get('/x');
      expect(over.status).toBe(429);
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(over.headers.get('ratelimit')).toMatch(/^"search"; r=0; t=\d+$/);
      const body = (await over.json()) as { error: { code: string; message: string } };
      expect(body.error).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/2\/min per client/) });
      expect(limited).toEqual(['search']);
      // Another client (TRUST_PROXY: the address the proxy saw) has its own count.
      expect((await get('/x', '198.51.100.9')).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await get('/off')).status).toBe(200);
    } finally {
      server.close();
    }
  });

  it('keys by client address, IPv6 grouped by its /56 prefix', () => {
    const req = (ip: string) => ({ ip, socket: {} }) as unknown as Request;
    expect(rateLimitKey(req('203.0.113.7'))).toBe('ip:203.0.113.7');
    expect(rateLimitKey(req('2001:db8:abcd:12ff::1'))).toBe(rateLimitKey(req('2001:db8:abcd:1200::2')));
    expect(rateLimitKey(req('2001:db8:abcd:12ff::1'))).not.toBe(rateLimitKey(req('2001:db8:abcd:1300::1')));
  });
});

describe('rateLimitKey', () => {
  it('counts an authenticated request against its identity, not its address', () => {
    const req = { ip: '203.0.113.7', socket: {} } as unknown as Request;
    expect(rateLimitKey(req)).toBe('ip:203.0.113.7');
    setRequestIdentity(req, { id: 'alice', scope: 'search', method: 'api_key' });
    expect(rateLimitKey(req)).toBe('user:alice');
  });
});
