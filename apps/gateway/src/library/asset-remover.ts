import type { Logger } from '@image-search/service-kit';
import type { AssetCatalogue } from '@image-search/asset-catalogue';
import type { VectorStore } from '@image-search/vector-store';
import type { PreviewStore } from '@image-search/image-formats';
import type { ThumbnailStore } from '../thumbnails/thumbnail-store.js';

const CHUNK = 1000;

/**
 * Removes assets everywhere: the catalogue first, then the re-embedding source collection, then every
 * other registered collection (the target of a running re-embedding run among them), then their
 * thumbnails. The order matters: a re-embedding batch writes the target, then re-reads the source and
 * deletes what vanished there meanwhile, so a deletion is never resurrected by a batch that read the
 * asset before it was deleted.
 */
export class AssetRemover {
  constructor(
    private readonly deps: {
      store: VectorStore;
      catalogue: AssetCatalogue;
      /** Every registered collection, the re-embedding source first. */
      collections: () => string[];
      thumbnails?: ThumbnailStore | undefined;
      previews?: PreviewStore | undefined;
      logger: Logger;
    },
  ) {}

  /** Removes these ids from the catalogue, every existing collection and the thumbnails and previews (unknown ids are ignored). */
  async remove(assetIds: string[]): Promise<void> {
    const collections = this.deps.collections();
    for (let i = 0; i < assetIds.length; i += CHUNK) {
      const ids = assetIds.slice(i, i + CHUNK);
      await this.deps.catalogue.remove(ids);
      for (const c of collections) if (await this.deps.store.exists(c)) await this.deps.store.deleteIds(c, ids);
      if (this.deps.thumbnails) for (const id of ids) await this.deps.thumbnails.remove(id);
      if (this.deps.previews) for (const id of ids) await this.deps.previews.remove(id);
    }
    this.deps.logger.info({ assets: assetIds.length, collections }, 'assets removed');
  }

  /** Whether the asset exists anywhere (the catalogue, or a collection for assets ingested before it). */
  async exists(assetId: string): Promise<boolean> {
    if ((await this.deps.catalogue.get([assetId])).length) return true;
    for (const c of this.deps.collections())
      if ((await this.deps.store.exists(c)) && (await this.deps.store.retrieve(c, [assetId])).length) return true;
    return false;
  }
}
