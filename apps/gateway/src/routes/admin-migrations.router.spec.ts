// Integration: the real router in a real express app on loopback, the real ReembedControl on the
// real Redis at REDIS_URL (unique QUEUE_PREFIX per test run), the real embedded catalogue recording the
// model state and the real registry. No worker runs, so runs stay queued.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReembedControl } from '@image-search/jobs';
import { Redis } from 'ioredis';
import { deleteKeys, freePort, testRedis, uniqueName } from '@image-search/testing';
import { createAssetCatalogue, type AssetCatalogue } from '@image-search/asset-catalogue';
import { loadModelRegistry, parseRegistryFile, ServingPairSource } from '@image-search/model-registry';
import { createAdminMigrationsRouter, createAdminSiglipRouter } from './admin-migrations.router.js';
import { createMigrationStarter } from './migration-starter.js';

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

describe('admin migrations router: runs between registered model ids (real Redis, real embedded catalogue)', () => {
  const redis = testRedis();
  const prefix = uniqueName('admin-migrations');
  const registry = loadModelRegistry({
    file: parseRegistryFile(
      'models:\n  - { id: siglip2-b16-224, family: siglip2, dim: 768, collection: image_assets_siglip2 }\n',
    ),
  });
  const CLIP = registry.pair.from.id;
  const SIGLIP = registry.pair.to.id;
  let dataDir: string;
  let catalogue: AssetCatalogue;
  let serving: ServingPairSource;
  let control: ReembedControl;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'admin-migrations-'));
    catalogue = await createAssetCatalogue({ dataDir });
    serving = new ServingPairSource(registry, catalogue);
    await serving.start();
    // As the gateway wires it: the control follows the serving pair.
    control = new ReembedControl({
      redis,
      prefix,
      sourceCollection: registry.pair.from.collection,
      targetCollection: registry.pair.to.collection,
      current: () => {
        const p = serving.pair;
        const to = p.to ?? registry.pair.to;
        return {
          sourceCollection: p.from.collection,
          targetCollection: to.collection,
          models: { from: p.from.id, to: to.id },
        };
      },
    });
    const starter = createMigrationStarter({ registry, state: catalogue, serving });
    const app = express();
    app.use('/api/v1/admin/migrations', createAdminMigrationsRouter({ control, starter }));
    app.use('/api/v1/admin/siglip', createAdminSiglipRouter({ control, starter, pinned: { from: CLIP, to: SIGLIP } }));
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/admin`;
  });
  afterAll(async () => {
    server.close();
    serving.stop();
    await control.close();
    await catalogue.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
    await rm(dataDir, { recursive: true, force: true });
  });

  const post = async (path: string, body: unknown) => {
    const res = await fetch(base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string } },
    };
  };

  it('refuses unknown model ids (404 naming the known ones) and a from that does not serve (409)', async () => {
    const unknown = await post('/migrations/start', { to: 'nope' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error?.message).toMatch(/to: no registered model 'nope' \(known: .*siglip2-b16-224/);
    const notServing = await post('/migrations/start', { from: SIGLIP, to: 'siglip2-b16-224' });
    expect(notServing.status).toBe(409);
    expect(notServing.body.error?.message).toMatch(new RegExp(`'${CLIP}' serves now`));
    expect((await post('/migrations/start', { from: CLIP, to: CLIP })).status).toBe(400);
    expect(await catalogue.readModelState()).toBeUndefined();
  });

  it('the old /siglip routes take no model ids and start the configured pair, recorded as the serving migration', async () => {
    expect((await post('/siglip/start', { to: 'siglip2-b16-224' })).body.error?.message).toMatch(/to/);
    const r = await post('/siglip/start', { batch_size: 10 });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ started: true, from_model: CLIP, to_model: SIGLIP });
    expect((await catalogue.readModelState())?.pair).toEqual({ from: CLIP, to: SIGLIP });
    // Both routers steer the one current run.
    expect((await post('/migrations/cancel', {})).body).toMatchObject({ state: 'cancelled', run_id: r.body.run_id });
  });

  it('starts the next migration by id once the serving model changed, and refuses another while one is recorded', async () => {
    // SigLIP serves after the first migration (what tools:models retire records).
    const s = await catalogue.readModelState();
    await catalogue.writeModelState({ pair: { from: SIGLIP, to: null }, retired: [] }, s!.version);
    const clash = await post('/siglip/start', {});
    expect(clash.status).toBe(409);
    const none = await post('/migrations/start', {});
    expect(none.status).toBe(409);
    expect(none.body.error?.message).toMatch(/nothing is being migrated to/);
    const r = await post('/migrations/start', { to: 'siglip2-b16-224', batch_size: 20 });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ started: true, from_model: SIGLIP, to_model: 'siglip2-b16-224', batch_size: 20 });
    expect(serving.pair.to?.id).toBe('siglip2-b16-224');
    await post('/migrations/cancel', {});
    const other = await post('/migrations/start', { from: SIGLIP, to: CLIP });
    expect(other.status).toBe(409);
    expect(other.body.error?.message).toMatch(/a migration .* is recorded/);
  });
});
