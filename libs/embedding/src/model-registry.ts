import { join, resolve } from 'node:path';
import type { ModelFamily } from '@image-search/collection-schema';
import { SEED_MODEL_NAMES } from '@image-search/model-registry';

/** Where a named model comes from on the Hugging Face hub, and its folder layout. */
export interface HubModelRef {
  repoId: string;
  layout: 'hf' | 'immich';
}

/** The seed's open_clip names that map to a transformers.js repository with a dynamic batch axis. */
const KNOWN: Record<string, HubModelRef> = {
  'ViT-B-32__openai': { repoId: 'Xenova/clip-vit-base-patch32', layout: 'hf' },
  'ViT-B-16-SigLIP__webli': { repoId: 'Xenova/siglip-base-patch16-224', layout: 'hf' },
};

/** Default model names per family (the seed's, defined in the model registry). */
export const DEFAULT_MODELS: Record<ModelFamily, { name: string; pretrained: string }> = SEED_MODEL_NAMES;

/** Folder name of a model under MODELS_DIR: `NAME__PRETRAINED` (immich's naming). */
export function modelFolderName(name: string, pretrained: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || !/^[A-Za-z0-9._-]+$/.test(pretrained)) {
    throw new Error(
      `model name and pretrained tag may only contain letters, digits, '.', '_' and '-' (got ${JSON.stringify(name)}, ${JSON.stringify(pretrained)})`,
    );
  }
  return `${name}__${pretrained}`;
}

/**
 * The hub repository for an open_clip name + pretrained tag: the two seed defaults resolve to
 * Xenova's transformers.js exports; any other pair to immich's `immich-app/NAME__PRETRAINED`.
 */
export function resolveHubModel(name: string, pretrained: string): HubModelRef {
  const key = modelFolderName(name, pretrained);
  return KNOWN[key] ?? { repoId: `immich-app/${key}`, layout: 'immich' };
}

/** The model folder: MODEL_DIR when given, else MODELS_DIR/NAME__PRETRAINED. */
export function resolveModelDir(opts: {
  modelDir?: string;
  modelsDir: string;
  name: string;
  pretrained: string;
}): string {
  return opts.modelDir
    ? resolve(opts.modelDir)
    : resolve(join(opts.modelsDir, modelFolderName(opts.name, opts.pretrained)));
}
