// Which models `npm start` runs: real ones from MODELS_DIR (as tools:fetch-model installs them),
// or the project's demo models (tiny 'colour' models written in code) when none are installed.
import { existsSync, readdirSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
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
  // Demo models a registry file can name as `model_dir: demo:NAME` (a third model added by configuration):
  // another SigLIP-shaped colour model with other weights (seed), so its fingerprint is its own.
  const extra = {};
  for (const [name, opts] of Object.entries(EXTRA_DEMO_MODELS)) {
    const dir = join(demoDir, `${name}-v${builder.TINY_MODEL_VERSION}`);
    if (!looksLikeModel(dir)) {
      log(`writing the ${name} demo model to ${dir}`);
      const tmp = `${dir}.tmp-${process.pid}`;
      await rm(tmp, { recursive: true, force: true });
      await builder.writeTinyModel(tmp, { kind: 'colour', ...opts });
      await writeFile(join(tmp, 'DEMO-MODEL.txt'), `A third tiny 'colour' demo model (${name}) for npm start.\n`);
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    }
    extra[name] = { dir, dim: builder.TINY_EMBEDDING_DIM[opts.family] };
  }
  return { ...out, extra, words: [...builder.COLOUR_WORDS] };
}

/** The demo models beyond the seed's two, by the name a registry file gives as `model_dir: demo:NAME`. */
export const EXTRA_DEMO_MODELS = { 'siglip-colour-b': { family: 'siglip', seed: 11 } };

/**
 * The registry file's models that npm start serves itself (a `model_dir` and a loopback `embedder`
 * address): folder, port and the embedder app of the model's family. Throws naming the model otherwise.
 */
export async function servedRegistryModels(file, demo) {
  const { readRegistryFile } = await tsImport('@image-search/model-registry', import.meta.url);
  const parsed = readRegistryFile(file);
  const out = [];
  for (const m of parsed.models) {
    if (!m.model_dir) continue;
    const addr = /^(127\.0\.0\.1|localhost):(\d{1,5})$/.exec(m.embedder ?? '');
    if (!addr)
      throw new Error(
        `MODEL_REGISTRY_FILE ${file}: model '${m.id}' has a model_dir, so npm start serves it: give it embedder: 127.0.0.1:PORT`,
      );
    let dir;
    if (m.model_dir.startsWith('demo:')) {
      const d = demo?.extra?.[m.model_dir.slice(5)];
      if (!d)
        throw new Error(
          `MODEL_REGISTRY_FILE ${file}: model '${m.id}': no demo model '${m.model_dir.slice(5)}' (known: ${Object.keys(EXTRA_DEMO_MODELS).join(', ')}; demo models need MODELS=demo)`,
        );
      dir = d.dir;
    } else dir = resolve(dirname(file), m.model_dir);
    if (!looksLikeModel(dir))
      throw new Error(`MODEL_REGISTRY_FILE ${file}: model '${m.id}': ${m.model_dir} is not a model folder`);
    out.push({ id: m.id, family: m.family, dim: m.dim, dir, port: Number(addr[2]), address: `127.0.0.1:${addr[2]}` });
  }
  return out;
}
