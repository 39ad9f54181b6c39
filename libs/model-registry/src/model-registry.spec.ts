import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModelRegistry, parseRegistryFile, seedModelId } from './index.js';

describe('seed models', () => {
  it('form ids from the open_clip name and tag', () => {
    expect(seedModelId('clip', 'ViT-B-32', 'openai')).toBe('clip-vit-b32-openai');
    expect(seedModelId('siglip', 'ViT-B-16-SigLIP', 'webli')).toBe('siglip-vit-b16-webli');
    expect(seedModelId('clip', 'ViT-L-14', 'laion2b_s32b_b82k')).toBe('clip-vit-l14-laion2b-s32b-b82k');
  });

  it('map the seed variables onto the default pair', () => {
    const r = loadModelRegistry({
      CLIP_COLLECTION: 'c1',
      SIGLIP_COLLECTION: 's1',
      SIGLIP_EMBEDDER_URL: 'sig:1',
      SIGLIP_MODEL_NAME: 'ViT-SO400M-14-SigLIP',
      SIGLIP_EMBEDDING_DIM: 1152,
    });
    expect(r.pair.from).toMatchObject({ id: 'clip-vit-b32-openai', collection: 'c1', dim: 512, family: 'clip' });
    expect(r.pair.from.embedder).toBe('127.0.0.1:50051');
    expect(r.pair.to).toMatchObject({
      id: 'siglip-vit-so400m-14-webli',
      collection: 's1',
      dim: 1152,
      embedder: 'sig:1',
      origin: 'seed',
    });
    expect(r.list().map((m) => m.id)).toEqual(['clip-vit-b32-openai', 'siglip-vit-so400m-14-webli']);
    expect(r.byCollection('s1')?.id).toBe('siglip-vit-so400m-14-webli');
  });

  it('treat an empty embedder address as "not configured"', () => {
    expect(loadModelRegistry({ SIGLIP_EMBEDDER_URL: '' }).pair.to.embedder).toBeUndefined();
  });
});

describe('registry file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'registry-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('adds models, overrides a seed entry by id, and names another pair', () => {
    const path = join(dir, 'models.yaml');
    writeFileSync(
      path,
      [
        'models:',
        '  - id: colour-v3',
        '    family: clip',
        '    dim: 16',
        '    collection: image_assets_colour_v3',
        '    embedder: 127.0.0.1:50053',
        '  - id: siglip-vit-b16-webli',
        '    family: siglip',
        '    dim: 768',
        '    collection: image_assets_siglip',
        `    fingerprint: sha256:${'a'.repeat(64)}`,
        'rollout: { from: siglip-vit-b16-webli, to: colour-v3 }',
      ].join('\n'),
    );
    const r = loadModelRegistry({ MODEL_REGISTRY_FILE: path });
    expect(r.list().map((m) => m.id)).toEqual(['clip-vit-b32-openai', 'siglip-vit-b16-webli', 'colour-v3']);
    expect(r.pair.from.id).toBe('siglip-vit-b16-webli');
    expect(r.pair.to).toMatchObject({ id: 'colour-v3', dim: 16, embedder: '127.0.0.1:50053', origin: 'file' });
    // The override keeps the seed's embedder address and name, and pins the fingerprint.
    expect(r.get('siglip-vit-b16-webli')).toMatchObject({
      embedder: '127.0.0.1:50052',
      name: 'ViT-B-16-SigLIP',
      fingerprint: `sha256:${'a'.repeat(64)}`,
    });
    expect(r.collections()).toEqual(['image_assets', 'image_assets_siglip', 'image_assets_colour_v3']);
  });

  it('declares a SigLIP 2 model as family siglip2: a SigLIP (SigLIP embedder, payloads) of architecture siglip2', () => {
    const r = loadModelRegistry({
      file: parseRegistryFile(
        [
          'models:',
          '  - id: siglip2-b16-224',
          '    family: siglip2',
          '    dim: 768',
          '    collection: image_assets_siglip2',
          '    embedder: 127.0.0.1:50053',
          'rollout: { from: siglip-vit-b16-webli, to: siglip2-b16-224 }',
        ].join('\n'),
      ),
    });
    expect(r.require('siglip2-b16-224')).toMatchObject({ family: 'siglip', architecture: 'siglip2', dim: 768 });
    expect(r.pair.to.id).toBe('siglip2-b16-224');
    expect(r.require('siglip-vit-b16-webli').architecture).toBeUndefined();
  });

  it('refuses bad files with the field named', () => {
    expect(() => parseRegistryFile('models: [{ id: X, family: clip, dim: 4, collection: c }]')).toThrow(
      /models\.0\.id/,
    );
    expect(() => parseRegistryFile('models: [{ id: x, family: bert, dim: 4, collection: c }]')).toThrow(
      /models\.0\.family/,
    );
    expect(() => parseRegistryFile('modles: []')).toThrow(/modles|unrecognized/i);
    expect(() =>
      parseRegistryFile('models: [{ id: x, family: clip, dim: 4, collection: c, fingerprint: abc }]'),
    ).toThrow(/fingerprint/);
    expect(() => parseRegistryFile(': : :')).toThrow(/YAML/);
  });

  it('refuses two models sharing a collection, an unknown pair member, a duplicate id and an unreadable file', () => {
    const m = (id: string, collection: string) => ({ id, family: 'clip' as const, dim: 4, collection });
    expect(() => loadModelRegistry({ file: { models: [m('a', 'image_assets')] } })).toThrow(/both name collection/);
    expect(() =>
      loadModelRegistry({ file: { models: [], rollout: { from: 'clip-vit-b32-openai', to: 'nope' } } }),
    ).toThrow(/rollout\.to: no registered model 'nope'/);
    expect(() => loadModelRegistry({ file: { models: [m('a', 'x'), m('a', 'y')] } })).toThrow(/declared twice/);
    expect(() => loadModelRegistry({ MODEL_REGISTRY_FILE: join(dir, 'missing.yaml') })).toThrow(
      /cannot be read \(ENOENT\)/,
    );
  });
});
