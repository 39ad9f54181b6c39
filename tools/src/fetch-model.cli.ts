// tools:fetch-model — installs a real model from the Hugging Face hub (or a mirror) into MODELS_DIR.
//   npx nx run tools:fetch-model -- clip|siglip|siglip2|siglip2-so400m|REPO_ID [--name N --pretrained P] [--variant fp32|fp16|quantized]
import { isAppError, parseCommandLine, runCli, UsageError } from '@image-search/service-kit';
import { loadFetchModelConfig } from './fetch-model/config.js';
import { fetchModel } from './fetch-model/fetch-model.js';
import { VARIANTS, type Variant } from './fetch-model/select-files.js';

const USAGE = `fetch-model: download a model from the Hugging Face hub into MODELS_DIR

usage: npx nx run tools:fetch-model -- <clip|siglip|siglip2|siglip2-so400m|REPO_ID> [options]

  clip                  CLIP_MODEL_NAME/CLIP_PRETRAINED default ViT-B-32 + openai -> Xenova/clip-vit-base-patch32
  siglip                default ViT-B-16-SigLIP + webli -> Xenova/siglip-base-patch16-224
  siglip2               SigLIP 2 B/16 224 px: google/siglip2-base-patch16-224 -> its ONNX export
                        onnx-community/siglip2-base-patch16-224-ONNX (folder siglip2-base-patch16-224)
  siglip2-so400m        SigLIP 2 So400m/14 384 px: google/siglip2-so400m-patch14-384 -> onnx-community/…-ONNX
                        (any google/siglip2-* id resolves to its onnx-community export; NaFlex ones are refused)
  REPO_ID               any repository, e.g. immich-app/ViT-B-32__laion2b_s34b_b79k

options:
  --name N --pretrained P   an open_clip name pair (with clip|siglip: another model of that family;
                            pairs without a transformers.js export resolve to immich-app/N__P).
                            The folder is MODELS_DIR/N__P, which the embedders look up.
  --variant V           ONNX precision for transformers.js repositories: ${VARIANTS.join(', ')} (default fp32)
  --models-dir DIR      instead of MODELS_DIR (default ./models)
  --out DIR             install into exactly DIR (then start the embedder with MODEL_DIR=DIR)
  --revision REV        branch, tag or commit (default main)
  --force               download again even when the folder is complete
  -h, --help

environment: MODELS_DIR, HF_ENDPOINT (a mirror; default https://huggingface.co), HF_TOKEN (gated or
private repositories), FETCH_RETRIES (attempts per file, default 5). Interrupted downloads resume.`;

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine({
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      pretrained: { type: 'string' },
      variant: { type: 'string', default: 'fp32' },
      'models-dir': { type: 'string' },
      out: { type: 'string' },
      revision: { type: 'string', default: 'main' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  if (positionals.length !== 1)
    throw new UsageError(`expected one model (clip, siglip or a repository id), got ${positionals.length}`);
  // Kubernetes expands unset $(VAR) references to the literal text; treat that and '' as absent.
  const opt = (v: string | undefined) => (v === undefined || v === '' || /^\$\(\w+\)$/.test(v) ? undefined : v);
  const variant = opt(values.variant) ?? 'fp32';
  if (!(VARIANTS as readonly string[]).includes(variant))
    throw new UsageError(`--variant must be one of ${VARIANTS.join(', ')} (got "${variant}")`);
  const config = loadFetchModelConfig();
  const result = await fetchModel(
    {
      target: positionals[0]!,
      name: opt(values.name),
      pretrained: opt(values.pretrained),
      variant: variant as Variant,
      modelsDir: values['models-dir'] ?? config.MODELS_DIR,
      outDir: values.out,
      force: values.force,
    },
    { endpoint: config.HF_ENDPOINT, token: config.HF_TOKEN, revision: values.revision!, retries: config.FETCH_RETRIES },
  );
  for (const f of result.files) console.log(`  ${f.path}  ${f.size} bytes  sha256:${f.sha256.slice(0, 12)}`);
  console.log(`model folder: ${result.dir}`);
  return 0;
}

// process.exit: fetch's keep-alive sockets would hold the process open for a while.
await runCli('fetch-model', USAGE, main, {
  exit: true,
  describe: (err) => (isAppError(err) ? err.message : undefined),
});
