// Integration: the real clip-embedder app process (tsx) with a real ONNX model (the project's tiny CLIP) in
// onnxruntime, over real gRPC on loopback.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError, withCorrelationId } from '@image-search/service-kit';
import { freePort, tinyModelDir, startTsProcess, waitFor, type TestProcess } from '@image-search/testing';
import { EmbedderClient } from './embedder.client.js';

let MODEL_DIR = '';

function startEmbedder(port: number, env: Record<string, string> = {}): TestProcess {
  return startTsProcess('apps/clip-embedder/src/main.ts', {
    EMBEDDER_HOST: '127.0.0.1',
    EMBEDDER_PORT: String(port),
    METRICS_PORT: '0',
    MODEL_DIR,
    CLIP_EMBEDDING_DIM: '0',
    MAX_REQUEST_ITEMS: '3',
    ...env,
  });
}

describe('EmbedderClient against a running clip-embedder', () => {
  const procs: TestProcess[] = [];
  const clients: EmbedderClient[] = [];
  let port = 0;
  let client: EmbedderClient;

  beforeAll(async () => {
    MODEL_DIR = await tinyModelDir('clip');
    port = await freePort();
    procs.push(startEmbedder(port));
    client = new EmbedderClient({ address: `127.0.0.1:${port}`, defaultDeadlineMs: 10_000 });
    clients.push(client);
    await waitFor('embedder SERVING', () => client.isServing(), 60_000, 200);
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const p of procs) await p.stop('SIGTERM');
  });

  it('reports Info with the server limits', async () => {
    const info = await client.info();
    expect(info).toMatchObject({ family: 'clip', normalized: true, maxRequestItems: 3, executionProvider: 'cpu' });
    expect(info.embeddingDim).toBeGreaterThan(0);
    expect(info.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('chunks a large batch to max_request_items and keeps results in order', async () => {
    const texts = Array.from({ length: 8 }, (_, i) => `photo number ${i}`);
    texts[5] = '';
    const all = await client.embedTexts(texts);
    expect(all).toHaveLength(8);
    expect(all[5]).toMatchObject({ ok: false, reason: 'EMPTY_INPUT' });
    const one = await client.embedTexts([texts[6]!]);
    const [a, b] = [all[6]!, one[0]!];
    if (!a.ok || !b.ok) throw new Error('expected vectors');
    a.vector.forEach((x, i) => expect(x).toBeCloseTo(b.vector[i]!, 5));
    expect(Math.hypot(...a.vector)).toBeCloseTo(1, 4);
  });

  it('embeds images with per-item errors', async () => {
    const good = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 0, g: 0, b: 255 } } })
      .png()
      .toBuffer();
    const res = await client.embedImages([
      { data: good, id: 'blue' },
      { data: Buffer.from('not an image'), id: 'text' },
      { data: good },
      { data: good },
    ]);
    expect(res.map((r) => (r.ok ? 'ok' : r.reason))).toEqual(['ok', 'NOT_AN_IMAGE', 'ok', 'ok']);
  });

  it('does not retry INVALID_ARGUMENT and carries the correlation id to the server logs', async () => {
    const eager = new EmbedderClient({ address: `127.0.0.1:${port}`, maxRequestItems: 10 });
    clients.push(eager);
    const err = await withCorrelationId('cid-client-test-7', () =>
      eager.embedTexts(['a', 'b', 'c', 'd']).catch((e: unknown) => e),
    );
    expect(isAppError(err, 'INVALID_ARGUMENT')).toBe(true);
    expect((err as { details: { attempts: number } }).details.attempts).toBe(1);
    await waitFor(
      'server log line with the correlation id',
      () => procs[0]!.output().includes('"correlation_id":"cid-client-test-7"'),
      5000,
      50,
    );
  });

  it('turns an expired deadline into DEADLINE_EXCEEDED', async () => {
    const err = await client.embedTexts(['quick'], { deadlineMs: 1 }).catch((e: unknown) => e);
    expect(isAppError(err, 'DEADLINE_EXCEEDED')).toBe(true);
  });

  it('honours an abort signal', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await client.embedTexts(['x'], { signal: ac.signal }).catch((e: unknown) => e);
    expect(isAppError(err, 'CANCELLED')).toBe(true);
  });

  it('retries UNAVAILABLE until a server that starts late is SERVING', async () => {
    const latePort = await freePort();
    const late = new EmbedderClient({
      address: `127.0.0.1:${latePort}`,
      defaultDeadlineMs: 60_000,
      retries: 100,
      initialBackoffMs: 50,
      maxBackoffMs: 300,
    });
    clients.push(late);
    const pending = late.embedTexts(['hello']);
    await new Promise((r) => setTimeout(r, 300));
    procs.push(startEmbedder(latePort));
    const res = await pending;
    expect(res[0]!.ok).toBe(true);
  });

  it('gives up with UNAVAILABLE and the attempt count when nothing listens', async () => {
    const nobody = new EmbedderClient({
      address: `127.0.0.1:${await freePort()}`,
      retries: 2,
      initialBackoffMs: 10,
      maxBackoffMs: 20,
    });
    clients.push(nobody);
    const err = await nobody.embedTexts(['x']).catch((e: unknown) => e);
    expect(isAppError(err, 'UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toMatch(/after 3 attempts/);
    expect(await nobody.isServing()).toBe(false);
  });
});
