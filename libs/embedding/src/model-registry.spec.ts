import { describe, expect, it } from 'vitest';
import { modelFolderName, resolveHubModel, resolveModelDir } from './model-registry.js';

describe('model registry', () => {
  it('maps the seed names to Xenova repos and others to immich', () => {
    expect(resolveHubModel('ViT-B-32', 'openai')).toEqual({ repoId: 'Xenova/clip-vit-base-patch32', layout: 'hf' });
    expect(resolveHubModel('ViT-B-16-SigLIP', 'webli')).toEqual({
      repoId: 'Xenova/siglip-base-patch16-224',
      layout: 'hf',
    });
    expect(resolveHubModel('ViT-B-32', 'laion2b_s34b_b79k')).toEqual({
      repoId: 'immich-app/ViT-B-32__laion2b_s34b_b79k',
      layout: 'immich',
    });
  });

  it('resolves folders and refuses path tricks in names', () => {
    expect(resolveModelDir({ modelsDir: '/m', name: 'ViT-B-32', pretrained: 'openai' })).toBe('/m/ViT-B-32__openai');
    expect(resolveModelDir({ modelDir: '/x/y', modelsDir: '/m', name: 'a', pretrained: 'b' })).toBe('/x/y');
    expect(() => modelFolderName('../etc', 'x')).toThrow(/may only contain/);
  });
});
