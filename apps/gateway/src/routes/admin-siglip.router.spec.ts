// Integration: the real router in a real express app on loopback, the real ReembedControl on the
// real Redis at REDIS_URL (unique QUEUE_PREFIX per test run). No worker runs, so runs stay queued.
import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReembedControl } from '@image-search/jobs';
import { Redis } from 'ioredis';
import { deleteKeys, freePort, testRedis, uniqueName } from '@image-search/testing';
import { createAdminSiglipRouter } from './admin-siglip.router.js';

describe('admin siglip router (real Redis, no worker)', () => {
  const redis = testRedis();
  const prefix = uniqueName('admin-siglip');
  const control = new ReembedControl({ redis, prefix, sourceCollection: 'clip', targetCollection: 'siglip' });
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const app = express();
    app.use('/api/v1/admin/siglip', createAdminSiglipRouter({ control, adminToken: 'secret-token' }));
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/admin/siglip`;
  });
  afterAll(async () => {
    server.close();
    await control.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  const call = async (method: string, path: string, body?: string, token = 'secret-token') => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });
    return {
      status: res.status,
      body: (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string } },
    };
  };

  it('refuses requests without the bearer token', async () => {
    const r = await call('GET', '/status', undefined, 'wrong');
    expect(r.status).toBe(401);
    expect(r.body.error?.code).toBe('UNAUTHENTICATED');
  });

  it('reports idle before the first run, and 409 for pause/resume/cancel/retry with no run', async () => {
    const s = await call('GET', '/status');
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({
      state: 'idle',
      total: 0,
      done: 0,
      failed: 0,
      skipped: 0,
      coverage: null,
      rate_per_s: 0,
      eta_s: null,
      last_error: null,
      failed_sample: [],
    });
    for (const action of ['/pause', '/resume', '/cancel', '/retry-failed']) {
      const r = await call('POST', action);
      expect(r.status, action).toBe(409);
      expect(r.body.error?.message).toMatch(/no re-embedding run/);
    }
  });

  it('rejects bad start bodies with 400 naming the field', async () => {
    expect((await call('POST', '/start', '{"batch_size":0}')).body.error?.message).toMatch(/batch_size/);
    expect((await call('POST', '/start', '{"batch_size":"100"}')).status).toBe(400);
    expect((await call('POST', '/start', '{"only_missing":"yes"}')).body.error?.message).toMatch(/only_missing/);
    expect((await call('POST', '/start', '{"batchsize":5}')).body.error?.message).toMatch(/batchsize/);
    const notJson = await call('POST', '/start', '{oops');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error?.message).toMatch(/not valid JSON/);
    expect((await call('GET', '/status')).body.state).toBe('idle');
  });

  it('starts a run once, pauses, resumes and cancels it', async () => {
    const first = await call('POST', '/start', '{"batch_size":50,"only_missing":true}');
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ started: true, state: 'planning', batch_size: 50, only_missing: true });
    const again = await call('POST', '/start', '{}');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ started: false, run_id: first.body.run_id });
    expect((await call('POST', '/pause')).body.state).toBe('paused');
    expect((await call('POST', '/pause')).status).toBe(409);
    expect((await call('POST', '/resume')).body.state).toBe('planning');
    expect((await call('POST', '/verify')).status).toBe(409);
    expect((await call('POST', '/cancel')).body.state).toBe('cancelled');
    const s = await call('GET', '/status');
    expect(s.body).toMatchObject({ state: 'cancelled', run_id: first.body.run_id });
    expect(typeof s.body.finished_at).toBe('string');
  });

  it('answers 503 with Retry-After when Redis is unreachable (a closed port)', async () => {
    const down = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    down.on('error', () => undefined);
    const app = express();
    const downControl = new ReembedControl({
      redis: down,
      prefix,
      sourceCollection: 'clip',
      targetCollection: 'siglip',
    });
    app.use('/admin', createAdminSiglipRouter({ control: downControl }));
    const srv = app.listen(0, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/admin/status`);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(((await res.json()) as { error: { code: string; message: string } }).error.message).toMatch(
        /Redis is not reachable/,
      );
    } finally {
      srv.close();
      down.disconnect();
    }
  });
});
