import { describe, expect, it } from 'vitest';
import { collectionSchema, describeDifferences, diffCollection, diffModelDimension } from './index.js';

describe('collection schema', () => {
  it('has the seed defaults for SigLIP and CLIP', () => {
    const s = collectionSchema('siglip');
    expect(s).toMatchObject({
      name: 'image_assets_siglip',
      vectorSize: 768,
      distance: 'Cosine',
      hnsw: { m: 16, efConstruct: 100 },
      quantization: { type: 'int8', quantile: 0.99, alwaysRam: true },
    });
    expect(collectionSchema('clip')).toMatchObject({ name: 'image_assets', vectorSize: 512 });
    expect(s.payloadIndexes.map((p) => p.field)).toEqual(['asset_id', 'path_hash', 'category', 'date_taken']);
  });

  it('takes name and size overrides', () => {
    expect(collectionSchema('clip', { name: 'x', vectorSize: 64 })).toMatchObject({ name: 'x', vectorSize: 64 });
  });

  it('names each difference from a live collection', () => {
    const s = collectionSchema('siglip');
    expect(
      diffCollection(s, {
        vectorSize: 768,
        distance: 'Cosine',
        quantization: { type: 'int8', quantile: 0.99 },
        hnsw: { m: 16, efConstruct: 100 },
      }),
    ).toEqual([]);
    const diffs = diffCollection(s, {
      vectorSize: 512,
      distance: 'Dot',
      quantization: null,
      hnsw: { m: 32, efConstruct: 100 },
    });
    expect(diffs.map((d) => d.field)).toEqual(['vector size', 'distance', 'quantization', 'hnsw m']);
    expect(describeDifferences(s.name, diffs)).toContain(
      "collection 'image_assets_siglip': vector size is 512, schema expects 768",
    );
  });

  it('checks a model dimension', () => {
    expect(diffModelDimension(collectionSchema('siglip'), 768)).toEqual([]);
    expect(diffModelDimension(collectionSchema('siglip'), 512)).toHaveLength(1);
  });
});
