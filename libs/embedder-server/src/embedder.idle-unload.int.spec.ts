// Integration: MODEL_IDLE_UNLOAD_S through the real gRPC server on loopback with the real tiny CLIP model in
// onnxruntime (worker threads): Info, grpc health, /ready and the metrics while the towers are unloaded and after
// a call brings one back. Assertions are on states and counts, not on timings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcHealthCheck, waitFor } from '@image-search/testing';
import type { EmbedResponse__Output, InfoResponse__Output } from '@image-search/embedder-proto';
import { metricValue, rpc, startTestServer } from '../test/server-harness.js';
import { testModelDir } from '../test/models.js';

type Started = Awaited<ReturnType<typeof startTestServer>>;

describe('embedder server with MODEL_IDLE_UNLOAD_S', () => {
  let s: Started;
  const info = () => rpc<InfoResponse__Output>(s.client, 'Info', {});
  const states = async () => Object.fromEntries((await info()).towers.map((t) => [t.tower, t.state]));
  const metric = (name: string, labels: Record<string, string>) => metricValue(s.server.metricsPort, name, labels);

  beforeAll(async () => {
    s = await startTestServer({
      family: 'clip',
      modelDir: await testModelDir('clip'),
      env: { MODEL_IDLE_UNLOAD_S: '1' },
    });
  });
  afterAll(async () => {
    s.client.close();
    await s.server.stop();
  });

  it('stays SERVING with both towers unloaded, says so in Info and the metrics, and a call loads only its tower', async () => {
    const first = await info();
    expect(first.idleUnloadS).toBe(1);
    expect(first.towers.map((t) => t.tower)).toEqual(['image', 'text']);
    const text = await rpc<EmbedResponse__Output>(s.client, 'EmbedTexts', { texts: ['a red car'] });
    const usedAt = Number((await info()).towers.find((t) => t.tower === 'text')!.lastUsedUnixMs);
    expect(usedAt).toBeGreaterThan(0);

    await waitFor('both towers unloaded', async () => {
      const st = await states();
      return st.image === 'unloaded' && st.text === 'unloaded';
    });
    // Unloaded is not down: the next call loads the tower, so health and readiness stay as they were.
    expect(await grpcHealthCheck(s.address)).toBe('SERVING');
    expect(await grpcHealthCheck(s.address, 'imagesearch.embedder.v1.Embedder')).toBe('SERVING');
    expect((await fetch(`http://127.0.0.1:${s.server.metricsPort}/ready`)).status).toBe(200);
    expect(await metric('embedder_tower_state', { tower: 'image', state: 'unloaded' })).toBe(1);
    expect(await metric('embedder_tower_state', { tower: 'image', state: 'loaded' })).toBe(0);
    // The image tower ran only the warm-up; the text tower may have idled out once before the first call too.
    expect(await metric('embedder_tower_unloads_total', { tower: 'image' })).toBe(1);
    expect(await metric('embedder_tower_unloads_total', { tower: 'text' })).toBeGreaterThanOrEqual(1);
    const reloads = await metric('embedder_tower_reloads_total', { tower: 'text', result: 'ok' });
    const timed = await metric('embedder_tower_reload_seconds_count', { tower: 'text' });

    const again = await rpc<EmbedResponse__Output>(s.client, 'EmbedTexts', { texts: ['a red car'] });
    expect(Buffer.from(again.results[0]!.embedding!).equals(Buffer.from(text.results[0]!.embedding!))).toBe(true);
    // Only the text tower came back (its state may already be idle again on a slow machine: the count says it).
    expect((await states()).image).toBe('unloaded');
    expect(await metric('embedder_tower_reloads_total', { tower: 'text', result: 'ok' })).toBe(reloads + 1);
    expect(await metric('embedder_tower_reloads_total', { tower: 'image', result: 'ok' })).toBe(0);
    expect(await metric('embedder_tower_reload_seconds_count', { tower: 'text' })).toBe(timed + 1);
    expect(await metric('embedder_tower_last_used_timestamp_seconds', { tower: 'text' })).toBeGreaterThanOrEqual(
      usedAt / 1000,
    );
  });
});
