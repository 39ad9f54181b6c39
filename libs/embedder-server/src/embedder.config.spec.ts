import { describe, expect, it } from 'vitest';
import { parseConfig } from '@image-search/service-kit';
import { defaultMaxBatch, embedderConfigSchema, toEmbedderSettings } from './embedder.config.js';

describe('embedder config', () => {
  it('has the seed defaults per family', () => {
    const clip = toEmbedderSettings('clip', parseConfig(embedderConfigSchema('clip'), {}));
    const siglip = toEmbedderSettings('siglip', parseConfig(embedderConfigSchema('siglip'), {}));
    expect(clip).toMatchObject({
      port: 50051,
      metricsPort: 9464,
      expectedDim: 512,
      modelId: 'ViT-B-32/openai',
      device: 'cpu',
      variant: 'fp32',
      maxBatchSize: 0,
      cpuRunRows: 8,
    });
    expect(clip.modelDir).toMatch(/models\/ViT-B-32__openai$/);
    expect(siglip).toMatchObject({
      port: 50052,
      metricsPort: 9465,
      expectedDim: 768,
      modelId: 'ViT-B-16-SigLIP/webli',
      dimVariable: 'SIGLIP_EMBEDDING_DIM',
    });
    expect(siglip.modelDir).toMatch(/models\/ViT-B-16-SigLIP__webli$/);
  });

  it('reads the family variables and MODEL_DIR', () => {
    const c = parseConfig(embedderConfigSchema('siglip'), {
      SIGLIP_MODEL_NAME: 'ViT-B-16-SigLIP-384',
      SIGLIP_PRETRAINED: 'webli',
      SIGLIP_EMBEDDING_DIM: '0',
      DEVICE: 'cuda:1',
      GPU_BATCH_SIZE: '8',
      CPU_RUN_ROWS: '0',
    });
    const s = toEmbedderSettings('siglip', c);
    expect(s).toMatchObject({ expectedDim: 0, device: 'cuda:1', maxBatchSize: 8, cpuRunRows: 0 });
    expect(s.modelDir).toMatch(/ViT-B-16-SigLIP-384__webli$/);
    expect(
      toEmbedderSettings('siglip', parseConfig(embedderConfigSchema('siglip'), { MODEL_DIR: '/opt/m' })),
    ).toMatchObject({ modelDir: '/opt/m', modelId: undefined });
  });

  it('picks the batch size by device when GPU_BATCH_SIZE is unset', () => {
    expect(defaultMaxBatch('cuda')).toBe(32);
    expect(defaultMaxBatch('cpu')).toBe(8);
  });

  it('names the bad variable and the expected form', () => {
    expect(() => parseConfig(embedderConfigSchema('clip'), { DEVICE: 'gpu' })).toThrow(
      /DEVICE: expected cpu, cuda, cuda:N or auto/,
    );
    expect(() => parseConfig(embedderConfigSchema('clip'), { GPU_BATCH_SIZE: '-1' })).toThrow(/GPU_BATCH_SIZE/);
    expect(() => parseConfig(embedderConfigSchema('clip'), { GPU_BATCH_SIZE: 'lots' })).toThrow(/GPU_BATCH_SIZE/);
    expect(() => parseConfig(embedderConfigSchema('clip'), { QUEUE_CAPACITY: '10', MAX_REQUEST_ITEMS: '20' })).toThrow(
      /QUEUE_CAPACITY must be at least MAX_REQUEST_ITEMS/,
    );
  });
});
