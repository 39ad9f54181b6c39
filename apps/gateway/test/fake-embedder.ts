import { createHash } from 'node:crypto';
import { decodeWith, isItemFailure, itemMessage, openImage } from '@image-search/image-formats';
import { AppError, currentCorrelationId } from '@image-search/service-kit';
import type { CallOptions, EmbedderApi, EmbedderInfo, EmbedItemResult, TowerInfo } from '@image-search/embedder-client';

const FAKE_LIMITS = { maxBytes: 20 * 1024 * 1024, maxPixels: 50_000_000 };

const COLOURS: Record<string, [number, number, number]> = {
  red: [255, 0, 0],
  green: [0, 160, 0],
  blue: [0, 0, 255],
  yellow: [255, 255, 0],
  black: [0, 0, 0],
  white: [255, 255, 255],
};

function unit(v: number[]): Float32Array {
  const n = Math.hypot(...v) || 1;
  return Float32Array.from(v.map((x) => x / n));
}

/** Colour vector in 4 dims: r, g, b (centred) and a constant, so black and white differ. */
function colourVector([r, g, b]: [number, number, number], family: string): Float32Array {
  const v = [r / 255 - 0.33, g / 255 - 0.33, b / 255 - 0.33, 0.2];
  // SigLIP's fake space is a permutation of CLIP's, so a CLIP vector searched in SigLIP would be wrong.
  return unit(family === 'siglip' ? [v[2]!, v[0]!, v[1]!, v[3]!] : v);
}

/**
 * An in-process fake of the embedder client (the real one needs an embedder process): texts
 * naming a colour and images of a colour map to nearby vectors. `down` makes every call
 * reject with UNAVAILABLE, as a stopped embedder would.
 */
export class FakeEmbedder implements EmbedderApi {
  down = false;
  /** When set, every call rejects with this code (e.g. RESOURCE_EXHAUSTED, as an overloaded embedder does). */
  failWith: 'RESOURCE_EXHAUSTED' | 'DEADLINE_EXCEEDED' | undefined;
  calls = 0;
  lastDeadlineMs: number | undefined;
  /** The correlation id in context when the last call was made (the real client sends it as gRPC metadata). */
  lastCorrelationId: string | undefined;

  /** What Info reports as the model's fingerprint (a test may change it to play another model). */
  fingerprint: string;

  /** What Info reports as the towers' states and MODEL_IDLE_UNLOAD_S (a test may play an idle-unloaded embedder). */
  towers: TowerInfo[] = [
    { tower: 'image', state: 'loaded' },
    { tower: 'text', state: 'loaded' },
  ];
  idleUnloadS = 0;

  constructor(readonly family: 'clip' | 'siglip') {
    this.fingerprint = `sha256:${createHash('sha256').update(`fake-${family}`).digest('hex')}`;
  }

  private check(opts?: CallOptions): void {
    this.calls++;
    this.lastDeadlineMs = opts?.deadlineMs;
    this.lastCorrelationId = currentCorrelationId();
    if (this.down) throw new AppError('UNAVAILABLE', `${this.family} embedder (fake) is down`);
    if (this.failWith) throw new AppError(this.failWith, `${this.family} embedder (fake): ${this.failWith}`);
  }

  /** Milliseconds each text call takes (abortable through the call's signal, as the real client is). */
  textDelayMs = 0;
  aborted = 0;

  async embedTexts(texts: string[], opts?: CallOptions): Promise<EmbedItemResult[]> {
    this.check(opts);
    if (this.textDelayMs > 0) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, this.textDelayMs);
        opts?.signal?.addEventListener('abort', () => {
          clearTimeout(t);
          this.aborted++;
          reject(new AppError('CANCELLED', 'cancelled by the caller'));
        });
      });
    }
    return texts.map((t) => {
      if (t.trim() === '') return { ok: false, reason: 'EMPTY_INPUT', message: 'empty text' };
      const word = Object.keys(COLOURS).find((c) => t.toLowerCase().includes(c));
      return { ok: true, vector: colourVector(word ? COLOURS[word]! : [128, 128, 128], this.family) };
    });
  }

  async embedImages(images: { data: Uint8Array }[], opts?: CallOptions): Promise<EmbedItemResult[]> {
    this.check(opts);
    return Promise.all(
      images.map(async ({ data }): Promise<EmbedItemResult> => {
        try {
          // The real decoders and classification (every accepted format, the real reasons and messages).
          const img = await openImage(Buffer.from(data), FAKE_LIMITS);
          const { channels } = await decodeWith(img, FAKE_LIMITS, {}, (p) => p({ autoOrient: true }).stats());
          return {
            ok: true,
            vector: colourVector([channels[0]!.mean, channels[1]!.mean, channels[2]!.mean], this.family),
          };
        } catch (err) {
          if (isItemFailure(err)) return { ok: false, reason: err.reason, message: err.message };
          return { ok: false, reason: 'CORRUPT_IMAGE', message: itemMessage('CORRUPT_IMAGE') };
        }
      }),
    );
  }

  async info(opts?: CallOptions): Promise<EmbedderInfo> {
    this.check(opts);
    return {
      modelId: `fake-${this.family}`,
      family: this.family,
      embeddingDim: 4,
      normalized: true,
      contextLength: 77,
      imageSize: 32,
      executionProvider: 'cpu',
      maxBatchSize: 8,
      maxBatchWaitMs: 1,
      maxRequestItems: 8,
      maxImageBytes: 1 << 24,
      maxImagePixels: 1 << 26,
      variant: 'fp32',
      layout: 'hf',
      queueCapacity: 64,
      fingerprint: this.fingerprint,
      towers: this.towers.map((t) => ({ ...t })),
      idleUnloadS: this.idleUnloadS,
    };
  }

  async isServing(): Promise<boolean> {
    return !this.down;
  }

  close(): void {}
}
