import { Index, type Table } from '@lancedb/lancedb';
import type { Logger } from '@image-search/service-kit';
import { VECTOR_INDEX, type StoredConfig } from './lance-table.js';

/** When the embedded engine builds and refreshes its index. */
export interface MaintenancePolicy {
  /**
   * Rows at which the HNSW index is first built; below it every search is an exact scan. 5,000 rows of
   * 768-d vectors scan in ~10 ms on 2 vCPUs and an index over them builds in seconds (docs/benchmarks/vector-store.md).
   */
  indexThreshold: number;
  /** Unindexed rows (searched by exact scan next to the index) that trigger an optimize: max(min, fraction x indexed). */
  reindexMinRows: number;
  reindexFraction: number;
  /** Small fragments (one per write) that trigger compaction even without an index. */
  compactFragments: number;
  /** Old table versions (and the files only they use) are removed after this long; scroll cursors live as long. */
  versionRetentionMs: number;
  /** The least time between two maintenance checks of one table in one process. */
  checkIntervalMs: number;
}

/** Defaults chosen from the benchmark (docs/benchmarks/vector-store.md). */
export const DEFAULT_POLICY: MaintenancePolicy = {
  indexThreshold: 5_000,
  // Folding new rows into the index is incremental (~0.3 s per 1,000 rows), while every unindexed row is
  // scanned exactly by each search (~2 ms per 1,000 rows at 768-d): refresh early.
  reindexMinRows: 1_000,
  reindexFraction: 0,
  compactFragments: 64,
  versionRetentionMs: 6 * 3600_000,
  checkIntervalMs: 2_000,
};

/** Scalar indexes on the point id (the upsert join key) and on the filter fields the API uses. */
const SCALAR_INDEXED = ['id', 'asset_id', 'path_hash', 'category', 'date_taken'];

/** What one maintenance pass did. */
export interface MaintenanceResult {
  action: 'none' | 'build-index' | 'optimize';
  ms: number;
}

/**
 * Keeps one process's tables indexed and compact, in the background and one pass per table at a time.
 * Several processes may maintain the same table: Lance's commit protocol makes the loser of a race retry
 * or fail cleanly (logged, retried at the next check), never corrupting the table.
 */
export class LanceMaintenance {
  private readonly running = new Map<string, Promise<MaintenanceResult>>();
  private readonly lastCheck = new Map<string, number>();

  constructor(
    private readonly policy: MaintenancePolicy,
    private readonly logger: Logger,
  ) {}

  /** Schedules a check unless one ran recently or is running; never throws. */
  schedule(name: string, table: Table, config: StoredConfig): void {
    const now = Date.now();
    if (this.running.has(name) || now - (this.lastCheck.get(name) ?? 0) < this.policy.checkIntervalMs) return;
    this.lastCheck.set(name, now);
    void this.run(name, table, config).catch(() => undefined);
  }

  /** Runs a check now (waiting for a running one first); `force` builds the index at any size. */
  async run(name: string, table: Table, config: StoredConfig, opts: { force?: boolean } = {}): Promise<MaintenanceResult> {
    const current = this.running.get(name);
    if (current) await current.catch(() => undefined);
    const p = this.pass(name, table, config, opts.force === true).finally(() => this.running.delete(name));
    this.running.set(name, p);
    return p.catch((err: unknown) => {
      this.logger.warn({ err, collection: name }, 'vector store maintenance failed; it is retried at the next write');
      throw err;
    });
  }

  /** Waits for every running pass (shutdown, tests, benchmarks). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  /** Whether the table needs work, for the status colour. */
  async pending(table: Table): Promise<boolean> {
    const rows = await table.countRows();
    const stats = await table.indexStats(VECTOR_INDEX);
    if (!stats) return rows >= this.policy.indexThreshold;
    return stats.numUnindexedRows >= this.reindexAt(stats.numIndexedRows);
  }

  private reindexAt(indexed: number): number {
    return Math.max(this.policy.reindexMinRows, Math.ceil(this.policy.reindexFraction * indexed));
  }

  private async pass(name: string, table: Table, config: StoredConfig, force: boolean): Promise<MaintenanceResult> {
    const t0 = Date.now();
    const rows = await table.countRows();
    const stats = await table.indexStats(VECTOR_INDEX);
    if (!stats) {
      if (rows === 0 || (!force && rows < this.policy.indexThreshold)) {
        const tableStats = await table.stats();
        if (tableStats.fragmentStats.numSmallFragments < this.policy.compactFragments) return { action: 'none', ms: Date.now() - t0 };
        await table.optimize({ cleanupOlderThan: new Date(Date.now() - this.policy.versionRetentionMs) });
        return { action: 'optimize', ms: Date.now() - t0 };
      }
      this.logger.info({ collection: name, rows }, 'building the HNSW (int8) vector index');
      // Compact first: one write per batch leaves many small fragments, and the index is built over what is there.
      if ((await table.stats()).fragmentStats.numSmallFragments > 1) await table.optimize({ cleanupOlderThan: new Date(Date.now() - this.policy.versionRetentionMs) });
      await table.createIndex('vector', {
        name: VECTOR_INDEX,
        replace: true,
        config: Index.hnswSq({
          distanceType: 'cosine',
          m: config.hnsw.m,
          efConstruction: config.hnsw.efConstruct,
          // One HNSW graph per million rows bounds the memory one graph build needs.
          numPartitions: Math.max(1, Math.ceil(rows / 1_000_000)),
        }),
      });
      const existing = new Set((await table.listIndices()).map((i) => i.columns[0]));
      for (const col of SCALAR_INDEXED) {
        if (!existing.has(col)) await table.createIndex(col, { config: Index.btree(), replace: true });
      }
      this.logger.info({ collection: name, rows, ms: Date.now() - t0 }, 'vector index built');
      return { action: 'build-index', ms: Date.now() - t0 };
    }
    const tableStats = await table.stats();
    if (!force && stats.numUnindexedRows < this.reindexAt(stats.numIndexedRows) && tableStats.fragmentStats.numSmallFragments < this.policy.compactFragments) {
      return { action: 'none', ms: Date.now() - t0 };
    }
    // optimize = compact small fragments + fold new rows into the indexes + drop old versions.
    await table.optimize({ cleanupOlderThan: new Date(Date.now() - this.policy.versionRetentionMs) });
    this.logger.info({ collection: name, unindexed: stats.numUnindexedRows, ms: Date.now() - t0 }, 'vector index refreshed');
    return { action: 'optimize', ms: Date.now() - t0 };
  }
}
