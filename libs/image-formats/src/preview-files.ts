import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

// Asset ids become folder names: nothing that could climb out of the store.
const SAFE_ID = /^[0-9A-Za-z_-]{1,128}$/;

/** The full hex digest of a `sha256:<hex>` content hash (undefined for anything else). */
export function previewKeyOf(contentHash: unknown): string | undefined {
  if (typeof contentHash !== 'string') return undefined;
  const m = /^sha256:([0-9a-f]{64})$/.exec(contentHash);
  return m ? m[1] : undefined;
}

/**
 * Previews on disk (read side, no decoder: the re-embed worker only reads them), addressed by asset id and the original's full content hash:
 * `<dir>/<id[0:2]>/<id>/<sha256 hex>.jpg`. The name is the content: a preview whose name is not the
 * original's current hash is stale and never read. One folder per asset, so removal is one operation.
 */
export class PreviewFiles {
  constructor(protected readonly dir: string) {}

  protected folder(assetId: string): string {
    return join(this.dir, assetId.slice(0, 2), assetId);
  }

  /** Where the preview of this asset version lives (undefined for a malformed hash). */
  pathOf(assetId: string, contentHash: string): string | undefined {
    const key = previewKeyOf(contentHash);
    return key && SAFE_ID.test(assetId) ? join(this.folder(assetId), `${key}.jpg`) : undefined;
  }

  /** The preview of exactly this content, or undefined (none made, or the original changed since). */
  async read(assetId: string, contentHash: string): Promise<Buffer | undefined> {
    const p = this.pathOf(assetId, contentHash);
    return p ? readFile(p).catch(() => undefined) : undefined;
  }

  async has(assetId: string, contentHash: string): Promise<boolean> {
    const p = this.pathOf(assetId, contentHash);
    return p ? isFile(p) : false;
  }

  /** Removes every preview of the asset (it was deleted or vanished). */
  async remove(assetId: string): Promise<void> {
    if (SAFE_ID.test(assetId)) await rm(this.folder(assetId), { recursive: true, force: true });
  }
}

/** Whether a regular file exists at `p`. */
export const isFile = (p: string): Promise<boolean> =>
  stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
