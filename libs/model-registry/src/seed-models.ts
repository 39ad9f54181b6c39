import { DEFAULT_COLLECTION_NAMES, DEFAULT_VECTOR_SIZES, type ModelFamily } from '@image-search/collection-schema';
import type { RegisteredModel, SeedModelSettings } from './model-registry.types.js';

/** The seed's model names per family (open_clip name + pretrained tag). */
export const SEED_MODEL_NAMES: Record<ModelFamily, { name: string; pretrained: string }> = {
  clip: { name: 'ViT-B-32', pretrained: 'openai' },
  siglip: { name: 'ViT-B-16-SigLIP', pretrained: 'webli' },
};

/** The seed's default embedder addresses. */
export const SEED_EMBEDDER_URLS: Record<ModelFamily, string> = {
  clip: '127.0.0.1:50051',
  siglip: '127.0.0.1:50052',
};

/**
 * The registry id of a seed model: `<family>-<name>-<pretrained>`, lower case, the family word
 * dropped from the name and a letter-dash-digit run joined, so ViT-B-32/openai is `clip-vit-b32-openai`
 * and ViT-B-16-SigLIP/webli is `siglip-vit-b16-webli`.
 */
export function seedModelId(family: ModelFamily, name: string, pretrained: string): string {
  const slug = (s: string) =>
    s
      .toLowerCase()
      .replace(/(^|-)([a-z])-(\d)/g, '$1$2$3')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '');
  const words = slug(name)
    .split('-')
    .filter((w) => w !== family && w !== '');
  return [family, ...words, ...slug(pretrained).split('-')].filter(Boolean).join('-');
}

/** The seed's two models (CLIP as `from`, SigLIP as `to`) from the seed variables; unset variables take the seed defaults. */
export function seedModels(s: SeedModelSettings): { clip: RegisteredModel; siglip: RegisteredModel } {
  const one = (family: ModelFamily): RegisteredModel => {
    const F = family === 'clip' ? 'CLIP' : 'SIGLIP';
    const get = <K extends string>(k: K) => (s as Record<string, unknown>)[`${F}_${k}`];
    const name = (get('MODEL_NAME') as string | undefined) ?? SEED_MODEL_NAMES[family].name;
    const pretrained = (get('PRETRAINED') as string | undefined) ?? SEED_MODEL_NAMES[family].pretrained;
    const dim = get('EMBEDDING_DIM') as number | undefined;
    const url = get('EMBEDDER_URL') as string | undefined;
    return {
      id: seedModelId(family, name, pretrained),
      family,
      // 0 turns the embedders' dimension check off (tiny test models); the collection still needs a size.
      dim: dim && dim > 0 ? dim : DEFAULT_VECTOR_SIZES[family],
      collection: (get('COLLECTION') as string | undefined) ?? DEFAULT_COLLECTION_NAMES[family],
      // An empty SIGLIP_EMBEDDER_URL disables the model's embedder (the seed's meaning).
      embedder: url === undefined ? SEED_EMBEDDER_URLS[family] : url === '' ? undefined : url,
      name,
      pretrained,
      origin: 'seed',
    };
  };
  return { clip: one('clip'), siglip: one('siglip') };
}
