import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { expect } from 'vitest';
import { deleteKeys, testRedis, uniqueName, waitFor } from '@image-search/testing';
import { FakeEmbedder } from './fake-embedder.js';
import { call, type Res } from './http.js';
import { startTestGateway, type RunningGateway } from './test-gateway.js';

/** Admin token of the fixture gateways. */
export const TOKEN = 's3cret-token';

/**
 * A photo folder (red/blue/green/nested images, a broken file, symlinks leaving the root), fake
 * embedders, and a gateway over the real store and Redis, with the photos ingested; one per spec file.
 */
export class AppFixture {
  readonly root = mkdtempSync(join(tmpdir(), 'gw-app-'));
  readonly photos = join(this.root, 'photos');
  readonly outside = join(this.root, 'outside');
  readonly prefix = uniqueName('gw-app');
  readonly clip = new FakeEmbedder('clip');
  readonly siglip = new FakeEmbedder('siglip');
  gw!: RunningGateway;

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ASSET_ROOTS: this.photos,
      DATA_DIR: join(this.root, 'data'),
      QUEUE_PREFIX: this.prefix,
      ADMIN_TOKEN: TOKEN,
      CLIP_COLLECTION: 'clip_t',
      SIGLIP_COLLECTION: 'siglip_t',
      COVERAGE_REFRESH_MS: '600000',
      LOG_LEVEL: 'error',
      INGEST_BATCH_SIZE: '3',
      ...extra,
    };
  }

  /** Another gateway on the same store with different settings. */
  start(extra: Record<string, string> = {}): Promise<RunningGateway> {
    return startTestGateway(this.env(extra), { embedders: { clip: this.clip, siglip: this.siglip } });
  }

  async setUp(opts: { ingest: boolean }): Promise<void> {
    for (const d of ['red', 'blue', 'green', 'nested/deeper']) mkdirSync(join(this.photos, d), { recursive: true });
    mkdirSync(this.outside);
    await Promise.all([
      png(join(this.photos, 'red', 'r1.png'), [250, 10, 10]),
      png(join(this.photos, 'red', 'r2.png'), [230, 30, 20]),
      png(join(this.photos, 'red', 'r3.png'), [200, 0, 40]),
      png(join(this.photos, 'blue', 'b1.png'), [10, 10, 250]),
      png(join(this.photos, 'blue', 'b2.png'), [30, 40, 220]),
      png(join(this.photos, 'green', 'g1.png'), [10, 200, 10]),
      png(join(this.photos, 'nested', 'deeper', 'y1.png'), [250, 250, 0]),
      png(join(this.outside, 'secret.png'), [0, 0, 0]),
    ]);
    writeFileSync(join(this.photos, 'red', 'broken.jpg'), 'this is not a jpeg');
    symlinkSync(this.outside, join(this.photos, 'escape'));
    symlinkSync(join(this.outside, 'secret.png'), join(this.photos, 'green', 'secret-link.png'));
    this.gw = await this.start();
    if (opts.ingest) expect((await ingest(this.gw.url, this.photos)).body.state).toBe('completed');
  }

  async tearDown(): Promise<void> {
    await this.gw?.close();
    const redis = testRedis();
    await deleteKeys(redis, this.prefix);
    redis.disconnect();
    rmSync(this.root, { recursive: true, force: true });
  }
}

async function png(path: string, rgb: [number, number, number]): Promise<void> {
  await sharp({ create: { width: 24, height: 16, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toFile(path);
}

/** Starts an ingest of `rootPath` through the API and waits until it completes or fails; returns its last report. */
export async function ingest(
  base: string,
  rootPath: string,
  opts: { token?: string; timeoutMs?: number } = {},
): Promise<Res> {
  const token = opts.token ?? TOKEN;
  const started = await call(base, '/api/v1/assets/ingest', 'POST', '/api/v1/assets/ingest', {
    json: { root_path: rootPath },
    token,
  });
  expect(started.status).toBe(202);
  let status: Res | undefined;
  await waitFor(
    'ingest to finish',
    async () => {
      status = await call(base, '/api/v1/assets/ingest/{ingest_id}', 'GET', started.body.status_url, { token });
      return ['completed', 'failed'].includes(status.body.state);
    },
    opts.timeoutMs ?? 60_000,
    100,
  );
  return status!;
}

/** POST /api/v1/search, checked against the OpenAPI document. */
export const search = (base: string, json: unknown, headers: Record<string, string> = {}) =>
  call(base, '/api/v1/search', 'POST', '/api/v1/search', { json, headers });
