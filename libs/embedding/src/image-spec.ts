import { AppError } from '@image-search/service-kit';

/** Resampling kernels libvips offers that match a reference interpolation. */
export type ResizeKernel = 'nearest' | 'linear' | 'cubic' | 'lanczos3';

/**
 * How a model wants its images prepared, read from the model folder (never per-model constants).
 * `shortest`: resize the shortest side to `resizeShortest` (long side truncated as torchvision does),
 * then center-crop `size`x`size`. `squash`: resize straight to `size`x`size`.
 */
export interface ImagePreprocessSpec {
  size: number;
  mode: 'shortest' | 'squash';
  resizeShortest: number;
  kernel: ResizeKernel;
  mean: [number, number, number];
  std: [number, number, number];
  /** 1/255 in every known config; kept to honour `rescale_factor`. */
  rescale: number;
  /**
   * When alpha is dropped: `after` resizes in the original mode (premultiplied alpha) and drops it
   * at the end, as OpenAI CLIP and open_clip do; `before` converts to RGB first, as HF's SigLIP processor does.
   */
  dropAlpha: 'before' | 'after';
}

// PIL's resample enum as written in preprocessor_config.json.
const PIL_RESAMPLE: Record<number, ResizeKernel> = { 0: 'nearest', 1: 'lanczos3', 2: 'linear', 3: 'cubic' };
const NAMED_KERNEL: Record<string, ResizeKernel> = {
  nearest: 'nearest',
  bilinear: 'linear',
  bicubic: 'cubic',
  lanczos: 'lanczos3',
};

function triple(v: unknown, what: string, file: string): [number, number, number] {
  if (typeof v === 'number') return [v, v, v];
  if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number'))
    return [v[0] as number, v[1] as number, v[2] as number];
  throw new AppError('INVALID_CONFIG', `${file}: ${what} must be a number or three numbers (got ${JSON.stringify(v)})`);
}

function squareSize(v: unknown, file: string, what: string): number {
  if (typeof v === 'number' && v > 0) return v;
  if (Array.isArray(v) && v.length === 2 && v[0] === v[1] && typeof v[0] === 'number') return v[0];
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o['height'] === 'number' && o['height'] === o['width']) return o['height'];
  }
  throw new AppError(
    'INVALID_CONFIG',
    `${file}: ${what} must describe a square image (got ${JSON.stringify(v)}); non-square inputs are not supported`,
  );
}

/** Reads a Hugging Face `preprocessor_config.json` (CLIPImageProcessor / SiglipImageProcessor). */
export function specFromHfPreprocessor(
  cfg: Record<string, unknown>,
  family: 'clip' | 'siglip',
  file: string,
): ImagePreprocessSpec {
  const size = cfg['size'] as Record<string, unknown> | number | undefined;
  const kernel = PIL_RESAMPLE[Number(cfg['resample'] ?? 3)];
  if (!kernel)
    throw new AppError('INVALID_CONFIG', `${file}: unsupported resample ${String(cfg['resample'])} (expected 0-3)`);
  const common = {
    kernel,
    mean: triple(cfg['image_mean'], 'image_mean', file),
    std: triple(cfg['image_std'], 'image_std', file),
    rescale: cfg['do_rescale'] === false ? 1 : Number(cfg['rescale_factor'] ?? 1 / 255),
    // HF's SiglipImageProcessor converts to RGB before resizing; OpenAI's CLIP transform after cropping.
    dropAlpha: family === 'siglip' ? ('before' as const) : ('after' as const),
  };
  if (cfg['do_normalize'] === false) {
    common.mean = [0, 0, 0];
    common.std = [1, 1, 1];
  }
  if (size && typeof size === 'object' && typeof size['shortest_edge'] === 'number') {
    const shortest = size['shortest_edge'];
    if (cfg['do_center_crop'] === false) {
      throw new AppError(
        'INVALID_CONFIG',
        `${file}: resizing the shortest edge without a center crop gives non-square inputs, which are not supported`,
      );
    }
    const crop = squareSize(cfg['crop_size'] ?? shortest, file, 'crop_size');
    if (crop > shortest)
      throw new AppError(
        'INVALID_CONFIG',
        `${file}: crop_size ${crop} is larger than size.shortest_edge ${shortest} (padding is not supported)`,
      );
    return { ...common, mode: 'shortest', resizeShortest: shortest, size: crop };
  }
  const s = squareSize(size, file, 'size');
  return { ...common, mode: 'squash', resizeShortest: s, size: s };
}

/** Reads immich's `visual/preprocess_cfg.json` (open_clip's PreprocessCfg). */
export function specFromOpenClipPreprocess(cfg: Record<string, unknown>, file: string): ImagePreprocessSpec {
  const size = squareSize(cfg['size'], file, 'size');
  const interp = String(cfg['interpolation'] ?? 'bicubic');
  const kernel = NAMED_KERNEL[interp];
  if (!kernel) throw new AppError('INVALID_CONFIG', `${file}: unsupported interpolation ${JSON.stringify(interp)}`);
  const resizeMode = String(cfg['resize_mode'] ?? 'shortest');
  if (resizeMode !== 'shortest' && resizeMode !== 'squash') {
    throw new AppError(
      'INVALID_CONFIG',
      `${file}: resize_mode ${JSON.stringify(resizeMode)} is not supported (expected "shortest" or "squash")`,
    );
  }
  return {
    size,
    mode: resizeMode,
    resizeShortest: size,
    kernel,
    mean: triple(cfg['mean'], 'mean', file),
    std: triple(cfg['std'], 'std', file),
    rescale: 1 / 255,
    // open_clip's transforms convert to RGB after resizing (and cropping), for CLIP and SigLIP alike.
    dropAlpha: 'after',
  };
}

/** Python's round(): halves go to the even neighbour (torchvision's CenterCrop uses it for offsets). */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Output size and crop offsets for an oriented input of `w`x`h`, exactly as torchvision's Resize + CenterCrop compute them. */
export function resizeGeometry(
  spec: ImagePreprocessSpec,
  w: number,
  h: number,
): { width: number; height: number; left: number; top: number } {
  if (spec.mode === 'squash') return { width: spec.size, height: spec.size, left: 0, top: 0 };
  const s = spec.resizeShortest;
  // torchvision: new_short, new_long = size, int(size * long / short)
  const width = w <= h ? s : Math.trunc((s * w) / h);
  const height = w <= h ? Math.trunc((s * h) / w) : s;
  return { width, height, left: pyRound((width - spec.size) / 2), top: pyRound((height - spec.size) / 2) };
}
