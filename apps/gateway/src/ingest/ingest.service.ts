import { randomUUID } from 'node:crypto';
import { AppError, currentCorrelationId } from '@image-search/service-kit';
import { collectionSchema } from '@image-search/collection-schema';
import type { CatalogueQueue } from '@image-search/jobs';
import type { StoredPoint } from '@image-search/vector-store';
import type { AssetRoots } from './asset-roots.js';
import { DEFAULT_EXTENSIONS, discoverImages } from './discover.js';
import { assetIdOf, type IngestContext } from './ingest-batch.js';
import type { IngestProblem, IngestProgress, IngestStatus } from './ingest-progress.js';
import { planReconciliation } from './reconcile.js';

/** An ingest request after validation. */
export interface IngestRequest {
  rootPath: string;
  recursive: boolean;
  extensions: string[] | undefined;
  dryRun: boolean;
}

/** The dry-run answer: what an ingest would do, nothing written. */
export interface DryRunReport {
  dry_run: true;
  root_path: string;
  files: number;
  new: number;
  changed: number;
  unchanged: number;
  moved: number;
  removed: number;
  refused: { path: string; reason: string }[];
  sample: string[];
}

const DRY_RUN_LIMIT = 200_000;

/** Starts ingestions (as background jobs on the `ingest` queue) and reports their progress. */
export class IngestService {
  constructor(
    private readonly deps: {
      roots: AssetRoots;
      queue: CatalogueQueue<'ingest'> | undefined;
      progress: IngestProgress | undefined;
      ctx: Pick<IngestContext, 'store' | 'clip' | 'clipCollection' | 'catalogue'>;
    },
  ) {}

  /** Validates the path against ASSET_ROOTS, then either reports (dry run) or enqueues a scan job. */
  async start(
    req: IngestRequest,
  ): Promise<DryRunReport | { ingest_id: string; status: IngestStatus | undefined; status_url: string }> {
    const root = await this.deps.roots.check(req.rootPath, 'root_path');
    const extensions = req.extensions ?? DEFAULT_EXTENSIONS;
    if (req.dryRun) return this.dryRun(root, req.recursive, extensions);
    const { queue, progress } = this.deps;
    if (!queue || !progress)
      throw new AppError('UNAVAILABLE', 'ingestion needs Redis (REDIS_URL) for its job queue; it is not connected', {
        retryAfterS: 10,
      });
    await this.ensureClipCollection();
    const ingestId = randomUUID();
    await progress.create(ingestId, root);
    const correlationId = currentCorrelationId();
    await queue.add(
      'ingest.scan',
      { ingestId, rootPath: root, recursive: req.recursive, extensions, ...(correlationId ? { correlationId } : {}) },
      { jobId: `scan-${ingestId}` },
    );
    return {
      ingest_id: ingestId,
      status: await progress.get(ingestId),
      status_url: `/api/v1/assets/ingest/${ingestId}`,
    };
  }

  /** Progress of one ingestion (NOT_FOUND when unknown or expired). */
  async status(id: string): Promise<IngestStatus> {
    const s = await this.deps.progress?.get(id);
    if (!s)
      throw new AppError('NOT_FOUND', `no ingestion with id ${id} (unknown or expired after 7 days)`, {
        details: { field: 'ingest_id' },
      });
    return s;
  }

  /** One page of an ingestion's refused and failed files (NOT_FOUND when the ingestion is unknown). */
  async problems(
    id: string,
    offset: number,
    limit: number,
  ): Promise<{ failures: IngestProblem[]; total: number; next_offset: number | null }> {
    await this.status(id);
    const { items, total } = await this.deps.progress!.problems(id, offset, limit);
    return { failures: items, total, next_offset: offset + items.length < total ? offset + items.length : null };
  }

  /** Creates the CLIP collection on first ingest, sized from the CLIP embedder. */
  private async ensureClipCollection(): Promise<void> {
    const { store, clip, clipCollection } = this.deps.ctx;
    if (await store.exists(clipCollection)) return;
    const info = await clip.info({ deadlineMs: 10_000 });
    await store.ensureCollection(collectionSchema('clip', { name: clipCollection, vectorSize: info.embeddingDim }));
  }

  private async dryRun(root: string, recursive: boolean, extensions: string[]): Promise<DryRunReport> {
    const found = await discoverImages(root, { recursive, extensions, roots: this.deps.roots, limit: DRY_RUN_LIMIT });
    const { store, clipCollection } = this.deps.ctx;
    let unchanged = 0;
    let changed = 0;
    const exists = await store.exists(clipCollection);
    if (exists) {
      const { stat } = await import('node:fs/promises');
      for (let i = 0; i < found.files.length; i += 256) {
        const part = found.files.slice(i, i + 256);
        const stored = new Map<string, StoredPoint>(
          (await store.retrieve(clipCollection, part.map(assetIdOf))).map((p) => [p.assetId, p]),
        );
        for (const f of part) {
          const p = stored.get(assetIdOf(f));
          if (!p) continue;
          const st = await stat(f).catch(() => undefined);
          if (st && p.payload['file_size'] === st.size && p.payload['file_mtime_ms'] === Math.floor(st.mtimeMs))
            unchanged++;
          else changed++;
        }
      }
    }
    const plan = await planReconciliation({
      root,
      recursive,
      discovered: found.files,
      catalogue: this.deps.ctx.catalogue,
    });
    const moved = plan.files.filter((f) => f.movedFrom).length;
    return {
      dry_run: true,
      root_path: root,
      files: found.files.length,
      new: Math.max(0, found.files.length - unchanged - changed - moved),
      changed,
      unchanged,
      moved,
      removed: plan.removed.length,
      refused: found.refused.slice(0, 100),
      sample: found.files.slice(0, 20),
    };
  }
}
