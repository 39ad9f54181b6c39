import { AppError } from '@image-search/service-kit';

/** One file of a hub repository, as the tree API lists it. */
export interface RepoFile {
  path: string;
  /** Bytes, when known before downloading. */
  size?: number;
  /** sha256 hex of an LFS file, or undefined. */
  sha256?: string;
  /** git blob sha1 of a small (non-LFS) file, or undefined. */
  gitOid?: string;
}

/** The ONNX precision variants transformers.js exports ship (onnx/<tower>_model<suffix>.onnx). */
export const VARIANTS = ['fp32', 'fp16', 'quantized'] as const;
export type Variant = (typeof VARIANTS)[number];
export type Layout = 'hf' | 'immich';

const SUFFIX: Record<Variant, string> = { fp32: '', fp16: '_fp16', quantized: '_quantized' };

/** Files each layout needs (required) and takes when the repository has them (optional). */
export function wantedFiles(layout: Layout, variant: Variant): { required: string[]; optional: string[] } {
  if (layout === 'hf') {
    const onnx = ['vision', 'text'].map((t) => `onnx/${t}_model${SUFFIX[variant]}.onnx`);
    return {
      required: ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', ...onnx],
      // Models over 2 GB keep their weights in an external-data file next to the graph.
      optional: ['special_tokens_map.json', ...onnx.map((p) => `${p}_data`)],
    };
  }
  return {
    required: [
      'config.json',
      'visual/model.onnx',
      'visual/preprocess_cfg.json',
      'textual/model.onnx',
      'textual/tokenizer.json',
    ],
    optional: [
      'textual/tokenizer_config.json',
      'textual/special_tokens_map.json',
      'visual/model.onnx_data',
      'textual/model.onnx_data',
    ],
  };
}

/** Which layout a repository listing has: immich's visual/ + textual/, or transformers.js's onnx/. */
export function detectLayout(repoId: string, paths: string[]): Layout {
  if (paths.includes('visual/model.onnx') && paths.includes('textual/model.onnx')) return 'immich';
  if (paths.some((p) => /^onnx\/(vision|text)_model.*\.onnx$/.test(p))) return 'hf';
  throw new AppError(
    'FAILED_PRECONDITION',
    `${repoId} has neither the transformers.js layout (onnx/vision_model*.onnx) nor immich's (visual/model.onnx, textual/model.onnx); it holds: ${paths.slice(0, 12).join(', ')}${paths.length > 12 ? ', ...' : ''}`,
  );
}

/**
 * The files to download from a listing: every required file must be there (else an error that
 * names what is missing and which variants the repository does have), optional ones when present.
 */
export function selectFiles(repoId: string, listing: RepoFile[], layout: Layout, variant: Variant): RepoFile[] {
  const byPath = new Map(listing.map((f) => [f.path, f]));
  const { required, optional } = wantedFiles(layout, variant);
  const missing = required.filter((p) => !byPath.has(p));
  if (missing.length > 0) {
    const have =
      layout === 'hf' ? VARIANTS.filter((v) => wantedFiles('hf', v).required.every((p) => byPath.has(p))) : [];
    throw new AppError(
      'NOT_FOUND',
      `${repoId} lacks ${missing.join(', ')}${layout === 'hf' ? ` (variant ${variant}; variants this repository has: ${have.join(', ') || 'none complete'})` : ''}`,
      {
        details: { missing, variants: have },
      },
    );
  }
  return [...required, ...optional.filter((p) => byPath.has(p))].map((p) => byPath.get(p)!);
}
