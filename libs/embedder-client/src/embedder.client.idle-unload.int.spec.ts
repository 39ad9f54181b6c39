// Integration: Info's towers and idle_unload_s through the client, against the real clip-embedder app process
// (tsx) with MODEL_IDLE_UNLOAD_S=1 and the project's tiny CLIP in onnxruntime, over real gRPC on loopback.
// Assertions are on states and on when the towers last ran, not on how long anything took.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startTsProcess, tinyModelDir, waitFor, type TestProcess } from '@image-search/testing';
import { EmbedderClient } from './embedder.client.js';
import type { TowerInfo } from './embedder-client.types.js';

describe('EmbedderClient.info() against a clip-embedder with MODEL_IDLE_UNLOAD_S=1', () => {
  let proc: TestProcess;
  let client: EmbedderClient;
  const towers = async (): Promise<Record<string, TowerInfo>> =>
    Object.fromEntries(((await client.info()).towers ?? []).map((t) => [t.tower, t]));

  beforeAll(async () => {
    const port = await freePort();
    proc = startTsProcess('apps/clip-embedder/src/main.ts', {
      EMBEDDER_HOST: '127.0.0.1',
      EMBEDDER_PORT: String(port),
      METRICS_PORT: '0',
      MODEL_DIR: await tinyModelDir('clip'),
      CLIP_EMBEDDING_DIM: '0',
      MODEL_IDLE_UNLOAD_S: '1',
    });
    client = new EmbedderClient({ address: `127.0.0.1:${port}`, defaultDeadlineMs: 10_000 });
    await waitFor('embedder SERVING', () => client.isServing(), 60_000, 200);
  });
  afterAll(async () => {
    client?.close();
    await proc?.stop('SIGTERM');
  });

  it('reports each tower loaded, then unloaded while still SERVING, then loaded again by a call', async () => {
    const info = await client.info();
    expect(info.idleUnloadS).toBe(1);
    expect(info.towers?.map((t) => t.tower)).toEqual(['image', 'text']);

    await client.embedTexts(['a red car']);
    const used = (await towers())['text']!;
    // Loaded: the call just ran on it (on a machine stalled past the idle second it may already be gone again,
    // and then only because that second has passed since the call).
    if (used.state !== 'loaded') expect(Date.now() - used.lastUsedAt!).toBeGreaterThanOrEqual(900);
    expect(used.lastUsedAt).toBeGreaterThan(0);

    await waitFor('both towers unloaded', async () => {
      const t = await towers();
      return t['image']?.state === 'unloaded' && t['text']?.state === 'unloaded';
    });
    // Unloaded is not down: grpc health (what the gateway's /ready asks) stays SERVING.
    expect(await client.isServing()).toBe(true);

    const [again] = await client.embedTexts(['a red car']);
    expect(again?.ok).toBe(true);
    const after = await towers();
    expect(after['text']!.lastUsedAt).toBeGreaterThan(used.lastUsedAt!);
    if (after['text']!.state !== 'loaded') expect(Date.now() - after['text']!.lastUsedAt!).toBeGreaterThanOrEqual(900);
    // Only the tower the call needed came back.
    expect(after['image']!.state).toBe('unloaded');
  });
});
