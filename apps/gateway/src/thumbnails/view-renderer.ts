import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DecodePool, renderPreview, type PreviewOptions, type RenderedPreview } from '@image-search/image-formats';
import { renderThumbnail } from './thumbnail-render.js';

/**
 * The worker's entry: in a build, thumbnail.worker.mjs bundled beside main.mjs (the gateway's build
 * target writes it); from sources, a bootstrap that loads the TypeScript through tsx.
 */
function workerEntry(): URL {
  const bundled = new URL('./thumbnail.worker.mjs', import.meta.url);
  return existsSync(fileURLToPath(bundled)) ? bundled : new URL('./thumbnail.worker.bootstrap.mjs', import.meta.url);
}

/** One task of a decode process: a thumbnail (the pool's size) or an ingest preview (these options). */
export type DecodeJob =
  { kind: 'thumbnail'; bytes: Uint8Array } | { kind: 'preview'; bytes: Uint8Array; options: PreviewOptions };

/** Options of the on-view thumbnail renderer. */
export interface ViewRendererOptions {
  size: number;
  /** MAX_DECODE_MS: a render over it is killed and fails with DECODE_TIMEOUT; 0 renders in-process, unbounded. */
  timeoutMs: number;
  /** Decode processes (each one image at a time); default 1. */
  processes?: number;
  /** Told when a decode process is killed (over budget) or died and is replaced. */
  onReplace?: (why: 'timeout' | 'exit', detail: string) => void;
}

/**
 * Thumbnails rendered when a photo is viewed (one whose thumbnail was not made at ingest), and the
 * previews ingest makes, in killable decode processes under MAX_DECODE_MS: a request or ingest thread
 * cannot stop libvips (sharp's timeout() only checks between pipeline stages), so a hostile or huge
 * file would hold the gateway's libuv pool. The processes start on first use, not at gateway start.
 */
export class ViewThumbnailRenderer {
  private pool: DecodePool | undefined;
  private closed = false;

  constructor(private readonly o: ViewRendererOptions) {}

  /** The thumbnail of these bytes; rejects with an ItemFailure (DECODE_TIMEOUT included) for a bad image. */
  async render(bytes: Buffer): Promise<Buffer> {
    if (this.o.timeoutMs <= 0) return renderThumbnail(bytes, this.o.size);
    const out = await this.run<Uint8Array>({ kind: 'thumbnail', bytes });
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  }

  /** renderPreview in a decode process: the same bytes, or an ItemFailure (DECODE_TIMEOUT over budget). */
  async preview(bytes: Uint8Array, options: PreviewOptions): Promise<RenderedPreview | undefined> {
    if (this.o.timeoutMs <= 0) return renderPreview(bytes, options);
    const out = await this.run<{ data: Uint8Array; width: number; height: number } | undefined>({
      kind: 'preview',
      bytes,
      options,
    });
    return out && { ...out, data: Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength) };
  }

  private run<T>(job: DecodeJob): Promise<T> {
    if (this.closed) return Promise.reject(new Error('thumbnail renderer closed'));
    this.pool ??= new DecodePool({
      entry: workerEntry(),
      size: this.o.processes ?? 1,
      timeoutMs: this.o.timeoutMs,
      init: { size: this.o.size },
      ...(this.o.onReplace ? { onReplace: this.o.onReplace } : {}),
    });
    return this.pool.run<T>(job);
  }

  /** Stops the decode processes, if any were started. */
  async close(): Promise<void> {
    this.closed = true;
    await this.pool?.close();
  }
}
