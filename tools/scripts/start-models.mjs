// Which models `npm start` runs: real ones from MODELS_DIR (as tools:fetch-model installs them),
// or the project's demo models (tiny 'colour' models written in code) when none are installed.
import { existsSync, readdirSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

/** The folder a named model lives in (libs/embedding model-registry.ts: MODELS_DIR/NAME__PRETRAINED). */
export function realModelDir(model, modelsDir) {
  return model.dir ?? join(modelsDir, `${model.name}__${model.pretrained}`);
}

/** True when `dir` holds a usable model folder in either supported layout. */
export function looksLikeModel(dir) {
  if (!existsSync(join(dir, 'config.json'))) return false;
  if (existsSync(join(dir, 'visual/model.onnx')) && existsSync(join(dir, 'textual/model.onnx'))) return true;
  const onnx = join(dir, 'onnx');
  return (
    existsSync(onnx) &&
    readdirSync(onnx).some((f) => /^vision_model.*\.onnx$/.test(f)) &&
    readdirSync(onnx).some((f) => /^text_model.*\.onnx$/.test(f))
  );
}

/** Whether the Hugging Face hub (or the mirror in HF_ENDPOINT) answers at all, within 3 s. */
export async function hubReachable(endpoint) {
  try {
    await fetch(endpoint, { method: 'HEAD', signal: AbortSignal.timeout(3000) });
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes the demo models (CLIP- and SigLIP-shaped 'colour' models from @image-search/model-builder)
 * under `demoDir` once per builder version; returns their folders and embedding sizes.
 */
export async function ensureDemoModels(demoDir, log) {
  const builder = await tsImport('@image-search/model-builder', import.meta.url);
  const out = {};
  for (const family of ['clip', 'siglip']) {
    const dir = join(demoDir, `${family}-colour-v${builder.TINY_MODEL_VERSION}`);
    if (!looksLikeModel(dir)) {
      log(`writing the ${family} demo model to ${dir}`);
      const tmp = `${dir}.tmp-${process.pid}`;
      await rm(tmp, { recursive: true, force: true });
      await builder.writeTinyModel(tmp, { family, kind: 'colour' });
      await writeFile(
        join(tmp, 'DEMO-MODEL.txt'),
        "A tiny 'colour' model written by @image-search/model-builder for npm start: it understands colour words only.\n",
      );
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    }
    out[family] = { dir, dim: builder.TINY_EMBEDDING_DIM[family] };
  }
  return { ...out, words: [...builder.COLOUR_WORDS] };
}
