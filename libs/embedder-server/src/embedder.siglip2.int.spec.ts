// Integration: the SigLIP embedder serving a tiny SigLIP 2-shaped model (built by the model builder in the
// reference layout) over real gRPC on loopback: Info, text and image vectors through the worker threads
// equal the embedding lib's in-process model on the same folder (tokenizer and preprocessing from the folder).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbedResponse__Output, InfoResponse__Output } from '@image-search/embedder-proto';
import {
  cosine,
  loadEmbeddingModel,
  modelFingerprint,
  readModelFolder,
  type OnnxEmbeddingModel,
} from '@image-search/embedding';
import { TINY_SIGLIP2_DIM, writeTinySiglip2Model } from '@image-search/model-builder';
import { rpc, startTestServer } from '../test/server-harness.js';

describe('siglip embedder serving a SigLIP 2 folder (So400m/14 shape, 112 px)', () => {
  let dir: string;
  let s: Awaited<ReturnType<typeof startTestServer>>;
  let local: OnnxEmbeddingModel;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'embedder-siglip2-'));
    await writeTinySiglip2Model(dir, { shape: 'so400m-14' });
    s = await startTestServer({ family: 'siglip', modelDir: dir });
    local = await loadEmbeddingModel({ modelDir: dir, family: 'siglip', intraOpThreads: 1 });
  });
  afterAll(async () => {
    s?.client.close();
    await s?.server.stop();
    await local?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reports the family, the dimension and the fingerprint of the folder', async () => {
    const info = await rpc<InfoResponse__Output>(s.client, 'Info', {});
    expect(info).toMatchObject({ family: 'siglip', embeddingDim: TINY_SIGLIP2_DIM['so400m-14'] });
    expect(info.fingerprint).toBe(await modelFingerprint(readModelFolder(dir)));
  });

  it('embeds texts (Gemma tokenizer, lowercased) and images (112 px, bilinear) as the embedding lib does', async () => {
    const texts = ['A Red Car', 'café au lait', 'ein rotes Auto!'];
    const res = await rpc<EmbedResponse__Output>(s.client, 'EmbedTexts', { texts });
    const want = await local.embedTexts(texts);
    res.results.forEach((r, i) => {
      const v = new Float32Array(new Uint8Array(r.embedding!).buffer);
      expect(cosine(v, want[i]!)).toBeGreaterThan(0.99999);
    });
    const img = await sharp({ create: { width: 90, height: 140, channels: 3, background: { r: 30, g: 160, b: 220 } } })
      .png()
      .toBuffer();
    const ir = await rpc<EmbedResponse__Output>(s.client, 'EmbedImages', { images: [{ data: img }] });
    const [wantImg] = await local.embedPixels([await local.preprocessImage(img)]);
    const got = new Float32Array(new Uint8Array(ir.results[0]!.embedding!).buffer);
    expect(cosine(got, wantImg!)).toBeGreaterThan(0.99999);
  });
});
