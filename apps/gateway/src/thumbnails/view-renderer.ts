import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DecodePool } from '@image-search/image-formats';
import { renderThumbnail } from './thumbnail-render.js';

/**
 * The worker's entry: in a build, thumbnail.worker.mjs bundled beside main.mjs (the gateway's build
 * target writes it); from sources, a bootstrap that loads the TypeScript through tsx.
 */
function workerEntry(): URL {
  const bundled = new URL('./thumbnail.worker.mjs', import.meta.url);
  return existsSync(fileURLToPath(bundled)) ? bundled : new URL('./thumbnail.worker.bootstrap.mjs', import.meta.url);
}

/** Options of the on-view thumbnail renderer. */
export interface ViewRendererOptions {
  size: number;
  /** MAX_DECODE_MS: a render over it is killed and fails with DECODE_TIMEOUT; 0 renders in-process, unbounded. */
  timeoutMs: number;
  /** Told when a decode process is killed (over budget) or died and is replaced. */
  onReplace?: (why: 'timeout' | 'exit', detail: string) => void;
}

/**
 * Thumbnails rendered when a photo is viewed (one whose thumbnail was not made at ingest) in a killable
 * decode process under MAX_DECODE_MS: a request thread cannot stop libvips (sharp's timeout() only
 * checks between pipeline stages), so a hostile or huge file would hold the gateway's libuv pool. The
 * process starts on the first such view, not at gateway start: most libraries never need it.
 */
export class ViewThumbnailRenderer {
  private pool: DecodePool | undefined;
  private closed = false;

  constructor(private readonly o: ViewRendererOptions) {}

  /** The thumbnail of these bytes; rejects with an ItemFailure (DECODE_TIMEOUT included) for a bad image. */
  async render(bytes: Buffer): Promise<Buffer> {
    if (this.o.timeoutMs <= 0) return renderThumbnail(bytes, this.o.size);
    if (this.closed) throw new Error('thumbnail renderer closed');
    this.pool ??= new DecodePool({
      entry: workerEntry(),
      size: 1,
      timeoutMs: this.o.timeoutMs,
      init: { size: this.o.size },
      ...(this.o.onReplace ? { onReplace: this.o.onReplace } : {}),
    });
    const out = await this.pool.run<Uint8Array>(bytes);
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  }

  /** Stops the decode process, if one was started. */
  async close(): Promise<void> {
    this.closed = true;
    await this.pool?.close();
  }
}
