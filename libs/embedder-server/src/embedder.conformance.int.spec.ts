// Conformance (runs when the reference fixtures exist): real in-process gRPC server on loopback with the reference mini
// models in onnxruntime; every golden image and text goes through the served path (batching, worker thread, wire
// format) and must match the reference embeddings.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { announceFixtureSkip, fixturePath, fixturesAvailable } from '@image-search/testing';
import type { EmbedResponse__Output } from '@image-search/embedder-proto';
import { rpc, startTestServer } from '../test/server-harness.js';

interface Golden {
  tolerance: { text_cosine_min_when_ids_match: number; image_cosine_min: number; image_cosine_median_min: number };
  images: { id: string; file: string; embedding_normalized: number[] }[];
  texts: { id: string; text: string; embedding_normalized: number[] }[];
}

const available = fixturesAvailable();
if (!available) announceFixtureSkip('embedder-server conformance (served embeddings vs golden files)');

function cosine(a: Float32Array, b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  a.forEach((x, i) => {
    dot += x * b[i]!;
    na += x * x;
    nb += b[i]! * b[i]!;
  });
  return dot / Math.sqrt(na * nb);
}

function vectors(res: EmbedResponse__Output): Float32Array[] {
  return res.results.map((r) => {
    if (r.result !== 'embedding' || !r.embedding)
      throw new Error(`item failed: ${r.error?.reason} ${r.error?.message}`);
    return new Float32Array(new Uint8Array(r.embedding).buffer);
  });
}

describe.skipIf(!available).each(['clip', 'siglip'] as const)('served %s embeddings match the reference', (family) => {
  const stops: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const s of stops) await s();
  });

  it('for every golden image and text, through concurrent batched calls', async () => {
    const golden = JSON.parse(
      readFileSync(fixturePath('golden', `${family}-reference-mini.public.json`), 'utf8'),
    ) as Golden;
    const s = await startTestServer({
      family,
      modelDir: fixturePath('models', `${family}-reference-mini`),
      env: { MAX_REQUEST_ITEMS: '16', GPU_BATCH_SIZE: '8' },
    });
    stops.push(
      () => s.client.close(),
      () => s.server.stop(),
    );

    const chunks: Golden['images'][] = [];
    for (let i = 0; i < golden.images.length; i += 16) chunks.push(golden.images.slice(i, i + 16));
    const answers = await Promise.all(
      chunks.map((c) =>
        rpc<EmbedResponse__Output>(s.client, 'EmbedImages', {
          images: c.map((g) => ({ data: readFileSync(fixturePath('images', g.file)), id: g.id })),
        }),
      ),
    );
    const imageCos = answers.flatMap((a, i) =>
      vectors(a).map((v, j) => cosine(v, chunks[i]![j]!.embedding_normalized)),
    );
    const sorted = [...imageCos].sort((a, b) => a - b);
    expect(sorted[0]).toBeGreaterThanOrEqual(golden.tolerance.image_cosine_min);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeGreaterThanOrEqual(golden.tolerance.image_cosine_median_min);

    const texts = golden.texts.slice(0, 16);
    const t = vectors(await rpc<EmbedResponse__Output>(s.client, 'EmbedTexts', { texts: texts.map((g) => g.text) }));
    t.forEach((v, i) =>
      expect(cosine(v, texts[i]!.embedding_normalized), texts[i]!.text).toBeGreaterThanOrEqual(
        golden.tolerance.text_cosine_min_when_ids_match,
      ),
    );
  });
});
