// Integration: real in-process gRPC servers on loopback, real ONNX models (the project's tiny CLIP/SigLIP) in
// onnxruntime (worker thread), real sharp decoding; gates only hold calls to the real model in place.
import * as grpc from '@grpc/grpc-js';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcHealthCheck, waitFor } from '@image-search/testing';
import type { EmbedResponse__Output, InfoResponse__Output } from '@image-search/embedder-proto';
import { modelFingerprint, readModelFolder } from '@image-search/embedding';
import { capturingLogger, Gate, metricValue, rpc, startTestServer } from '../test/server-harness.js';
import { testModelDir } from '../test/models.js';

type Started = Awaited<ReturnType<typeof startTestServer>>;

async function jpeg(r: number, g: number, b: number, w = 64, h = 48): Promise<Buffer> {
  return sharp({ create: { width: w, height: h, channels: 3, background: { r, g, b } } })
    .jpeg()
    .toBuffer();
}

function vec(res: EmbedResponse__Output, i: number): Float32Array {
  const b = res.results[i]!.embedding!;
  return new Float32Array(new Uint8Array(b).buffer);
}

const stops: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const s of stops.reverse()) await s();
});

function track(s: Started): Started {
  stops.push(
    () => s.client.close(),
    () => s.server.stop(),
  );
  return s;
}

describe('embedder server (clip)', () => {
  let s: Started;
  const imageGate = new Gate();
  const log = capturingLogger();

  beforeAll(async () => {
    s = track(
      await startTestServer({
        family: 'clip',
        modelDir: await testModelDir('clip'),
        gates: { image: imageGate },
        logger: log.logger,
        env: {
          GPU_BATCH_SIZE: '8',
          TEXT_BATCH_WAIT_MS: '50',
          MAX_BATCH_WAIT_MS: '20',
          QUEUE_CAPACITY: '6',
          MAX_REQUEST_ITEMS: '5',
          MAX_IMAGE_PIXELS: '1000000',
          MAX_IMAGE_BYTES: '200000',
        },
      }),
    );
  });

  it('reports the model and its limits in Info', async () => {
    const info = await rpc<InfoResponse__Output>(s.client, 'Info', {});
    expect(info).toMatchObject({
      family: 'clip',
      normalized: true,
      maxBatchSize: 8,
      maxRequestItems: 5,
      queueCapacity: 6,
      executionProvider: 'cpu',
      maxImagePixels: '1000000',
    });
    expect(info.embeddingDim).toBeGreaterThan(0);
    // The fingerprint is the model folder's, as the embedding lib computes it.
    expect(info.fingerprint).toBe(await modelFingerprint(readModelFolder(await testModelDir('clip'))));
  });

  it('answers texts with L2-normalised vectors and per-item errors', async () => {
    const res = await rpc<EmbedResponse__Output>(s.client, 'EmbedTexts', { texts: ['a red car', '', 'a blue sky'] });
    expect(res.results.map((r) => r.result)).toEqual(['embedding', 'error', 'embedding']);
    expect(res.results[1]!.error).toMatchObject({ reason: 'EMPTY_INPUT' });
    const v = vec(res, 0);
    expect(v.length).toBe(res.dim);
    expect(Math.hypot(...v)).toBeCloseTo(1, 4);
  });

  it('embeds meaning end to end: "red" is nearer a red photo than a blue one', async () => {
    const images = await rpc<EmbedResponse__Output>(s.client, 'EmbedImages', {
      images: [{ data: await jpeg(220, 20, 20) }, { data: await jpeg(20, 20, 220) }],
    });
    const text = await rpc<EmbedResponse__Output>(s.client, 'EmbedTexts', { texts: ['red'] });
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((acc, x, i) => acc + x * b[i]!, 0);
    expect(dot(vec(text, 0), vec(images, 0))).toBeGreaterThan(dot(vec(text, 0), vec(images, 1)));
  });

  it('collects concurrent calls into one batch', async () => {
    const before = await metricValue(s.server.metricsPort, 'embedder_batches_total', { tower: 'text' });
    const texts = Array.from({ length: 6 }, (_, i) => `query number ${i}`);
    const answers = await Promise.all(
      texts.map((t) => rpc<EmbedResponse__Output>(s.client, 'EmbedTexts', { texts: [t] })),
    );
    expect(answers.every((a) => a.results[0]!.result === 'embedding')).toBe(true);
    const batches = (await metricValue(s.server.metricsPort, 'embedder_batches_total', { tower: 'text' })) - before;
    expect(batches).toBeLessThan(texts.length);
    // The batch answers equal the single-call answers (batching must not change results).
    const single = await rpc<EmbedResponse__Output>(s.client, 'EmbedTexts', { texts: [texts[3]!] });
    const [a, b] = [vec(answers[3]!, 0), vec(single, 0)];
    a.forEach((x, i) => expect(x).toBeCloseTo(b[i]!, 5));
  });

  it('answers bad images per item (truncated JPEG, not an image, too many pixels, too many bytes) and embeds the rest', async () => {
    const good = await jpeg(200, 30, 30);
    const truncated = good.subarray(0, Math.floor(good.length / 2));
    const fake = Buffer.from('plain text pretending to be a photo.jpg');
    const bomb = await sharp({ create: { width: 1500, height: 1000, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .png()
      .toBuffer();
    const huge = Buffer.concat([good, Buffer.alloc(210_000)]);
    const res = await rpc<EmbedResponse__Output>(s.client, 'EmbedImages', {
      images: [{ data: good }, { data: truncated }, { data: fake }, { data: bomb }, { data: huge }],
    });
    expect(res.results.map((r) => r.result ?? '')).toEqual(['embedding', 'error', 'error', 'error', 'error']);
    expect(res.results.slice(1).map((r) => r.error?.reason)).toEqual([
      'CORRUPT_IMAGE',
      'NOT_AN_IMAGE',
      'TOO_MANY_PIXELS',
      'INPUT_TOO_LARGE',
    ]);
    for (const r of res.results.slice(1)) expect(r.error?.message).toBeTruthy();
    expect(Math.hypot(...vec(res, 0))).toBeCloseTo(1, 4);
    // The service goes on.
    const again = await rpc<EmbedResponse__Output>(s.client, 'EmbedImages', { images: [{ data: good }] });
    expect(again.results[0]!.result).toBe('embedding');
  });

  it('rejects an empty or oversized request with INVALID_ARGUMENT', async () => {
    await expect(rpc(s.client, 'EmbedTexts', { texts: [] })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    await expect(rpc(s.client, 'EmbedTexts', { texts: ['a', 'b', 'c', 'd', 'e', 'f'] })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('limit of 5') as unknown,
    });
  });

  it('answers RESOURCE_EXHAUSTED when the queue is full, and drops calls whose deadline passed before inference', async () => {
    const img = await jpeg(10, 200, 10);
    imageGate.close();
    try {
      // First call is taken into a batch and held at the gate; it no longer occupies the queue.
      const held = rpc<EmbedResponse__Output>(s.client, 'EmbedImages', { images: [{ data: img }] });
      const arrived = imageGate.arrived;
      await waitFor('first batch held at the gate', () => imageGate.arrived > arrived, 5000, 10);
      const expiring = rpc<EmbedResponse__Output>(
        s.client,
        'EmbedImages',
        { images: [{ data: img }, { data: img }] },
        { deadlineMs: 300, metadata: { 'x-correlation-id': 'cid-expiring-1' } },
      );
      const filling = rpc<EmbedResponse__Output>(s.client, 'EmbedImages', {
        images: [{ data: img }, { data: img }, { data: img }, { data: img }],
      });
      await waitFor(
        'queue full',
        async () => (await metricValue(s.server.metricsPort, 'embedder_queue_depth', { tower: 'image' })) === 6,
        5000,
        20,
      );
      await expect(rpc(s.client, 'EmbedImages', { images: [{ data: img }] })).rejects.toMatchObject({
        code: grpc.status.RESOURCE_EXHAUSTED,
      });
      await expect(expiring).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
      const droppedBefore = await metricValue(s.server.metricsPort, 'embedder_errors_total', {
        reason: 'DROPPED_BEFORE_INFERENCE',
      });
      imageGate.open();
      expect((await held).results[0]!.result).toBe('embedding');
      expect((await filling).results.every((r) => r.result === 'embedding')).toBe(true);
      const dropped =
        (await metricValue(s.server.metricsPort, 'embedder_errors_total', { reason: 'DROPPED_BEFORE_INFERENCE' })) -
        droppedBefore;
      expect(dropped).toBe(2);
    } finally {
      imageGate.open();
    }
  });

  it('rejects a call whose deadline already passed', async () => {
    await expect(rpc(s.client, 'EmbedTexts', { texts: ['late'] }, { deadlineMs: 1 })).rejects.toMatchObject({
      code: grpc.status.DEADLINE_EXCEEDED,
    });
  });

  it('carries the x-correlation-id metadata into its logs', async () => {
    await rpc(s.client, 'EmbedTexts', { texts: [] }, { metadata: { 'x-correlation-id': 'cid-test-42' } }).catch(
      () => undefined,
    );
    expect(log.lines().some((l) => l['correlation_id'] === 'cid-test-42' && l['level'] === 40)).toBe(true);
  });

  it('exposes Prometheus metrics: batch size, queue depth, RPC latency, items, errors by reason', async () => {
    const text = await (await fetch(`http://127.0.0.1:${s.server.metricsPort}/metrics`)).text();
    for (const name of [
      'embedder_batch_size_bucket',
      'embedder_queue_depth',
      'embedder_rpc_duration_seconds_bucket',
      'embedder_items_total',
      'embedder_errors_total',
      'embedder_process_peak_rss_bytes',
    ]) {
      expect(text).toContain(name);
    }
    expect(
      await metricValue(s.server.metricsPort, 'embedder_errors_total', { reason: 'CORRUPT_IMAGE' }),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('embedder server lifecycle (siglip)', () => {
  it('says NOT_SERVING until the model is warmed up, then SERVING', async () => {
    const warm = new Gate();
    warm.close();
    const s = track(
      await startTestServer({
        family: 'siglip',
        modelDir: await testModelDir('siglip'),
        gates: { warmUp: warm },
        listenOnly: true,
      }),
    );
    const loading = s.server.loadModel();
    expect(await grpcHealthCheck(s.address)).toBe('NOT_SERVING');
    expect(await grpcHealthCheck(s.address, 'imagesearch.embedder.v1.Embedder')).toBe('NOT_SERVING');
    await expect(rpc(s.client, 'EmbedTexts', { texts: ['x'] })).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
    warm.open();
    await loading;
    expect(await grpcHealthCheck(s.address, 'imagesearch.embedder.v1.Embedder')).toBe('SERVING');
    const res = await rpc<EmbedResponse__Output>(s.client, 'EmbedTexts', { texts: ['a photo'] });
    expect(res.results[0]!.result).toBe('embedding');
  });

  it('drains in-flight batches on stop and refuses new calls with UNAVAILABLE meanwhile', async () => {
    const gate = new Gate();
    const s = await startTestServer({
      family: 'siglip',
      modelDir: await testModelDir('siglip'),
      gates: { text: gate },
    });
    stops.push(() => s.client.close());
    gate.close();
    const arrived = gate.arrived;
    const inFlight = rpc<EmbedResponse__Output>(s.client, 'EmbedTexts', { texts: ['in flight'] });
    // Wait for the call to reach the model rather than a fixed delay: on a loaded machine 100 ms was not enough
    // for it to connect, and stopping first turned it into a refused call.
    await waitFor('the in-flight batch held at the gate', () => gate.arrived > arrived, 10_000, 10);
    const stopped = s.server.stop();
    expect(await grpcHealthCheck(s.address)).toBe('NOT_SERVING');
    await expect(rpc(s.client, 'EmbedTexts', { texts: ['too late'] })).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
    gate.open();
    expect((await inFlight).results[0]!.result).toBe('embedding');
    await stopped;
  });

  it('fails to start with a message naming both dimensions when the model does not match SIGLIP_EMBEDDING_DIM', async () => {
    const started = startTestServer({
      family: 'siglip',
      modelDir: await testModelDir('siglip'),
      env: { SIGLIP_EMBEDDING_DIM: '768' },
    });
    await expect(started).rejects.toThrow(
      /SIGLIP_EMBEDDING_DIM is 768, but the model at .* produces \d+-dimensional embeddings/,
    );
  });

  it('serves an immich-layout model (fixed batch of 1) item by item inside a batch', async () => {
    const s = track(
      await startTestServer({ family: 'siglip', modelDir: await testModelDir('siglip', 'random', 'immich') }),
    );
    const img = await jpeg(30, 160, 60);
    const res = await rpc<EmbedResponse__Output>(s.client, 'EmbedImages', {
      images: [{ data: img }, { data: img }, { data: Buffer.from('nope') }],
    });
    expect(res.results.map((r) => r.result)).toEqual(['embedding', 'embedding', 'error']);
    const info = await rpc<InfoResponse__Output>(s.client, 'Info', {});
    expect(info.layout).toBe('immich');
    // GPU_BATCH_SIZE unset: the CPU default, not the GPU one.
    expect(info).toMatchObject({ executionProvider: 'cpu', maxBatchSize: 8 });
  });

  it('closes connections after MAX_CONNECTION_AGE_MS (so clients rebalance) without failing calls', async () => {
    const s = track(
      await startTestServer({
        family: 'siglip',
        modelDir: await testModelDir('siglip'),
        env: { MAX_CONNECTION_AGE_MS: '1000', MAX_CONNECTION_AGE_GRACE_MS: '500' },
      }),
    );
    const channel = s.client.getChannel();
    const until = Date.now() + 2600;
    const transitions: number[] = [];
    const watch = (from: number) =>
      channel.watchConnectivityState(from, until, (err) => {
        if (err || Date.now() >= until) return;
        const now = channel.getConnectivityState(false);
        transitions.push(now);
        watch(now);
      });
    watch(channel.getConnectivityState(false));
    while (Date.now() < until) {
      const res = await rpc<EmbedResponse__Output>(s.client, 'EmbedTexts', { texts: ['still here'] });
      expect(res.results[0]!.result).toBe('embedding');
      await new Promise((r) => setTimeout(r, 50));
    }
    // The server's GOAWAY sent the channel back through a reconnect while every call succeeded.
    expect(transitions.filter((st) => st === grpc.connectivityState.READY).length).toBeGreaterThanOrEqual(2);
  });

  it('refuses a CLIP model in the SigLIP embedder', async () => {
    await expect(startTestServer({ family: 'siglip', modelDir: await testModelDir('clip') })).rejects.toThrow(
      /is a clip model.*siglip/,
    );
  });
});
