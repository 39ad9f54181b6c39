import { basename, resolve } from 'node:path';
import { AppError } from '@image-search/service-kit';
import { DEFAULT_IMAGE_LIMITS, ImagePreprocessor, type PreparedPixels } from './image-preprocessor.js';
import { readModelFolder, type ModelFolder } from './model-folder.js';
import type {
  EmbeddingModel,
  ImageLimits,
  LoadModelOptions,
  ModelInfo,
  ModelLogger,
  ModelTowers,
} from './model.types.js';
import {
  createSession,
  declaredInputs,
  defaultIntraOpThreads,
  ort,
  parseDevice,
  pickOutput,
  type DeviceChoice,
} from './onnx-session.js';
import { attentionMask, fromHalf, l2Normalized, toHalf } from './tensor-utils.js';
import {
  createTextTokenizer,
  encodeBatch,
  type TextStyle,
  type TextTokenizer,
  type TokenRows,
} from './text-tokenizer.js';

/** Batch size reported for graphs with a dynamic batch axis. */
export const DYNAMIC_BATCH_LIMIT = 65_536;

const consoleLogger: ModelLogger = { warn: (obj, msg) => console.warn(`[embedding] WARN ${msg}`, obj) };

interface Tower {
  session: ort.InferenceSession;
  input: string;
  inputType: string;
  output: string;
  /** 1 for fixed-batch exports (immich), otherwise DYNAMIC_BATCH_LIMIT. */
  maxBatch: number;
}

interface TextTower extends Tower {
  /** `attention_mask` when the graph declares one (transformers.js CLIP text models do). */
  mask: { name: string; type: string } | undefined;
}

function fixedBatchOne(shape: readonly (number | string)[]): boolean {
  return shape[0] === 1;
}

/**
 * A CLIP or SigLIP model: two onnxruntime sessions (reused for every call), the reference tokenizer
 * and the libvips image pipeline. Every vector returned is L2-normalised float32. Loaded with
 * `towers: 'image' | 'text'`, it holds one session, and the other tower's calls fail.
 */
export class OnnxEmbeddingModel implements EmbeddingModel {
  private constructor(
    readonly info: ModelInfo,
    readonly limits: ImageLimits,
    private readonly textTokenizer: TextTokenizer | undefined,
    readonly images: ImagePreprocessor,
    private readonly visionTower: Tower | undefined,
    private readonly textTower: TextTower | undefined,
    private readonly eotId: bigint,
    private readonly textStyle: TextStyle,
  ) {}

  /** Loads the folder, creates the sessions on the requested device and reads the dimension from the graphs. */
  static async load(opts: LoadModelOptions): Promise<OnnxEmbeddingModel> {
    const dir = resolve(opts.modelDir);
    const folder = readModelFolder(dir, { family: opts.family, variant: opts.variant });
    const logger = opts.logger ?? consoleLogger;
    const towers: ModelTowers = opts.towers ?? 'both';
    let device: DeviceChoice = parseDevice(opts.device);
    const threads =
      opts.intraOpThreads && opts.intraOpThreads > 0 ? Math.floor(opts.intraOpThreads) : defaultIntraOpThreads();
    const onFallback = (reason: string) => {
      logger.warn(
        { requested: 'auto', using: 'cpu', reason },
        'DEVICE=auto: the CUDA execution provider could not start; RUNNING ON CPU (much slower)',
      );
    };
    const v =
      towers === 'text'
        ? undefined
        : await createSession({ path: folder.visionPath, device, intraOpThreads: threads }, onFallback);
    // Decide the device once: the text tower follows wherever the vision tower landed.
    if (v?.provider === 'cpu' && device.kind === 'auto') device = { kind: 'cpu', deviceId: 0 };
    const t =
      towers === 'image'
        ? undefined
        : await createSession({ path: folder.textPath, device, intraOpThreads: threads }, onFallback);

    const vision = v && visionTower(v.session, folder);
    const text = t && textTower(t.session, folder);
    // An image-only instance needs no tokenizer (tens of MB of vocabulary and merges per thread).
    const tokenizer =
      towers === 'image'
        ? undefined
        : createTextTokenizer({
            family: folder.family,
            style: folder.textStyle,
            tokenizerJson: folder.tokenizerJson,
            tokenizerConfig: folder.tokenizerConfig,
            contextLength: folder.contextLength,
            file: folder.tokenizerFile,
          });
    const limits: ImageLimits = { ...DEFAULT_IMAGE_LIMITS, ...stripUndefined(opts.limits ?? {}) };
    const images = new ImagePreprocessor(folder.image, limits);
    const info: ModelInfo = {
      modelId: opts.modelId ?? basename(dir),
      family: folder.family,
      layout: folder.layout,
      variant: folder.variant,
      dim: 0,
      contextLength: folder.contextLength,
      imageSize: folder.image.size,
      executionProvider: [v, t].every((s) => s === undefined || s.provider === 'cuda') ? 'cuda' : 'cpu',
      maxModelBatch: Math.min(vision?.maxBatch ?? DYNAMIC_BATCH_LIMIT, text?.maxBatch ?? DYNAMIC_BATCH_LIMIT),
      modelDir: dir,
    };
    // The id that ends a text (and the first position the attention mask turns off after).
    const probe = new BigInt64Array(info.contextLength);
    const eot = tokenizer ? (probe[tokenizer.encodeInto('', probe, 0) - 1] as bigint) : 0n;
    const model = new OnnxEmbeddingModel(info, limits, tokenizer, images, vision, text, eot, folder.textStyle);
    // The dimension comes from the graphs; a probe run answers when the output width is symbolic.
    const dimV =
      vision &&
      (vision.dim ?? (await model.embedPixelBatch(new Float32Array(images.tensorLength), 1, false))[0]?.length ?? 0);
    const dimT = text && (text.dim ?? (await model.embedTokens(probe, 1, false))[0]?.length ?? 0);
    info.dim = towerDim(dir, dimV, dimT);
    return model;
  }

  private get vision(): Tower {
    return this.visionTower ?? missingTower('image');
  }

  private get tokenizer(): TextTokenizer {
    return this.textTokenizer ?? missingTower('text');
  }

  private get text(): TextTower {
    return this.textTower ?? missingTower('text');
  }

  /** Token ids of each text, contextLength per row. */
  tokenize(texts: string[]): BigInt64Array {
    return encodeBatch(this.tokenizer, texts).ids;
  }

  /** Token ids of each text and the number of ids before padding per row (for `--tokens` and diagnostics). */
  tokenizeWithCounts(texts: string[]): TokenRows {
    return encodeBatch(this.tokenizer, texts);
  }

  async embedTokens(ids: BigInt64Array, count: number, normalize = true): Promise<Float32Array[]> {
    const ctx = this.tokenizer.contextLength;
    if (ids.length !== count * ctx)
      throw new AppError('INVALID_ARGUMENT', `token ids have ${ids.length} values, expected ${count} x ${ctx}`);
    const tw = this.text;
    const results: Float32Array[] = [];
    for (let start = 0; start < count; start += tw.maxBatch) {
      const n = Math.min(tw.maxBatch, count - start);
      const rows = ids.subarray(start * ctx, (start + n) * ctx);
      const feeds: Record<string, ort.Tensor> = { [tw.input]: idTensor(tw.inputType, rows, [n, ctx]) };
      if (tw.mask) {
        // CLIP: 1 up to and including the end token, 0 on padding (the reference pools at the end token).
        // SigLIP: the reference passes no mask, i.e. every position (its padding included) attends.
        // SigLIP 2: GemmaTokenizerFast returns a mask (1 up to <eos>) and transformers applies it.
        const mask =
          this.info.family === 'clip' || this.textStyle === 'siglip2'
            ? attentionMask(rows, n, ctx, this.eotId)
            : new BigInt64Array(n * ctx).fill(1n);
        feeds[tw.mask.name] = idTensor(tw.mask.type, mask, [n, ctx]);
      }
      results.push(...(await this.run(tw, feeds, n, normalize)));
    }
    return results;
  }

  async embedTexts(texts: string[]): Promise<Float32Array[]> {
    return this.embedTokens(this.tokenize(texts), texts.length);
  }

  preprocessImage(bytes: Uint8Array): Promise<Float32Array> {
    return this.images.preprocess(bytes);
  }

  /** Preprocesses straight into a batch tensor at element `offset` (saves a copy per image). */
  preprocessImageInto(bytes: Uint8Array, target: Float32Array, offset: number): Promise<void> {
    return this.images.preprocessInto(bytes, target, offset);
  }

  /** The 8-bit RGB square before normalisation (diagnostics). */
  preparePixels(bytes: Uint8Array): Promise<PreparedPixels> {
    return this.images.preparePixels(bytes);
  }

  async embedPixels(pixels: Float32Array[]): Promise<Float32Array[]> {
    const len = this.images.tensorLength;
    if (pixels.length === 1 && pixels[0]?.length === len) return this.embedPixelBatch(pixels[0], 1);
    const batch = new Float32Array(pixels.length * len);
    pixels.forEach((p, i) => {
      if (p.length !== len)
        throw new AppError('INVALID_ARGUMENT', `pixel tensor ${i} has ${p.length} values, expected ${len}`);
      batch.set(p, i * len);
    });
    return this.embedPixelBatch(batch, pixels.length);
  }

  /** Runs the vision tower on `count` tensors laid end to end in `batch`. */
  async embedPixelBatch(batch: Float32Array, count: number, normalize = true): Promise<Float32Array[]> {
    const len = this.images.tensorLength;
    const s = this.images.size;
    if (batch.length < count * len)
      throw new AppError('INVALID_ARGUMENT', `pixel batch has ${batch.length} values, expected ${count} x ${len}`);
    const vw = this.vision;
    const results: Float32Array[] = [];
    for (let start = 0; start < count; start += vw.maxBatch) {
      const n = Math.min(vw.maxBatch, count - start);
      const view = batch.subarray(start * len, (start + n) * len);
      const data = vw.inputType === 'float16' ? Uint16Array.from(view, toHalf) : view;
      const feeds = {
        [vw.input]: new ort.Tensor(vw.inputType === 'float16' ? 'float16' : 'float32', data, [n, 3, s, s]),
      };
      results.push(...(await this.run(vw, feeds, n, normalize)));
    }
    return results;
  }

  async warmUp(): Promise<void> {
    if (this.visionTower) await this.embedPixelBatch(new Float32Array(this.images.tensorLength), 1);
    if (this.textTower) await this.embedTexts(['warm up']);
  }

  async close(): Promise<void> {
    await Promise.all([this.visionTower?.session.release(), this.textTower?.session.release()]);
  }

  private async run(
    tower: Tower,
    feeds: Record<string, ort.Tensor>,
    n: number,
    normalize: boolean,
  ): Promise<Float32Array[]> {
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await tower.session.run(feeds, [tower.output]);
    } catch (err) {
      throw new AppError('INTERNAL', `inference failed: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
    const t = out[tower.output];
    if (!t) throw new AppError('INTERNAL', `the model returned no ${tower.output}`);
    const dims = t.dims;
    const dim = Number(dims[dims.length - 1]);
    if (dims.length !== 2 || Number(dims[0]) !== n)
      throw new AppError('INTERNAL', `output ${tower.output} has shape [${dims.join(',')}], expected [${n}, dim]`);
    const raw = t.type === 'float16' ? Float32Array.from(t.data as Uint16Array, fromHalf) : (t.data as Float32Array);
    const rows: Float32Array[] = [];
    for (let r = 0; r < n; r++)
      rows.push(normalize ? l2Normalized(raw, r * dim, dim) : raw.slice(r * dim, (r + 1) * dim));
    t.dispose();
    return rows;
  }
}

function missingTower(tower: 'image' | 'text'): never {
  throw new AppError(
    'FAILED_PRECONDITION',
    `this model instance was loaded without its ${tower} tower (towers: ${tower === 'image' ? 'text' : 'image'})`,
  );
}

/** The embedding width of a model's towers (either may be absent); both must agree and be positive. */
export function towerDim(modelDir: string, image: number | undefined, text: number | undefined): number {
  const dim = image ?? text ?? 0;
  if ((image !== undefined && text !== undefined && image !== text) || dim <= 0) {
    throw new AppError(
      'INVALID_CONFIG',
      `${modelDir}: the image tower gives ${image ?? '?'}-d and the text tower ${text ?? '?'}-d embeddings; they must match`,
    );
  }
  return dim;
}

function visionTower(session: ort.InferenceSession, folder: ModelFolder): Tower & { dim: number | undefined } {
  const inputs = declaredInputs(session);
  const pixelInput = inputs.find((i) => i.name === 'pixel_values' || i.name === 'image') ?? inputs[0];
  if (!pixelInput) throw new AppError('INVALID_CONFIG', `${folder.visionPath}: the graph declares no input`);
  const out = pickOutput(session, folder.visionOutputs, folder.visionPath);
  return {
    session,
    input: pixelInput.name,
    inputType: pixelInput.type,
    output: out.name,
    dim: out.dim,
    maxBatch: fixedBatchOne(pixelInput.shape) ? 1 : DYNAMIC_BATCH_LIMIT,
  };
}

function textTower(session: ort.InferenceSession, folder: ModelFolder): TextTower & { dim: number | undefined } {
  const inputs = declaredInputs(session);
  const idsInput = inputs.find((i) => i.name === 'input_ids' || i.name === 'text') ?? inputs[0];
  if (!idsInput) throw new AppError('INVALID_CONFIG', `${folder.textPath}: the graph declares no input`);
  const maskInput = inputs.find((i) => i.name === 'attention_mask');
  const unknown = inputs.filter((i) => i !== idsInput && i !== maskInput);
  if (unknown.length > 0)
    throw new AppError(
      'INVALID_CONFIG',
      `${folder.textPath}: unexpected text inputs ${unknown.map((i) => i.name).join(', ')}`,
    );
  const out = pickOutput(session, folder.textOutputs, folder.textPath);
  return {
    session,
    input: idsInput.name,
    inputType: idsInput.type,
    output: out.name,
    dim: out.dim,
    maxBatch: fixedBatchOne(idsInput.shape) ? 1 : DYNAMIC_BATCH_LIMIT,
    mask: maskInput ? { name: maskInput.name, type: maskInput.type } : undefined,
  };
}

function idTensor(type: string, ids: BigInt64Array, dims: number[]): ort.Tensor {
  if (type === 'int32')
    return new ort.Tensor(
      'int32',
      Int32Array.from(ids, (x) => Number(x)),
      dims,
    );
  return new ort.Tensor('int64', ids, dims);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== 0)) as Partial<T>;
}

/** Loads a CLIP or SigLIP model folder (transformers.js or immich layout) ready to embed. */
export function loadEmbeddingModel(opts: LoadModelOptions): Promise<OnnxEmbeddingModel> {
  return OnnxEmbeddingModel.load(opts);
}
