import { join } from 'node:path';
import { Index, type Table } from '@lancedb/lancedb';
import type { Logger } from '@image-search/service-kit';
import { VECTOR_INDEX, type StoredConfig } from './lance-table.js';
import { tryLock } from './lance-lock.js';
import { isCommitConflict } from './lance-util.js';

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
  /**
   * Incremental refreshes add index segments (each searched separately); past this many the index is rebuilt,
   * at once up to `segmentRebuildMaxRows` rows, above that only once the rows added since the last full build
   * reach `rebuildFraction` of it (or past `maxIndexSegmentsLarge` segments): a rebuild costs in proportion to the
   * table, so the rebuild cost per new row stays the same at any size.
   */
  maxIndexSegments: number;
  segmentRebuildMaxRows: number;
  rebuildFraction: number;
  maxIndexSegmentsLarge: number;
  /**
   * The largest share of wall time background maintenance may take: after a pass of d ms the next one waits
   * d x (1 / share - 1). Rebuilds grow with the table; this keeps a bulk load from spending its CPU on them.
   */
  maxDutyCycle: number;
  /**
   * Once writes to a table have stopped for this long (and after a table is first opened), one settling pass
   * compacts every small fragment and folds every unindexed row in, whatever the thresholds above: the checks
   * run only on writes, so without it a table filled by many small writes keeps its fragments for good.
   * 0 disables it.
   */
  settleAfterMs: number;
  /**
   * Up to this many rows a settling pass also merges the index's delta segments into one (a rebuild: ~30 s
   * at 100k x 768 on 2 vCPUs, once, after the writes stopped); each segment is searched separately.
   */
  settleMergeMaxRows: number;
  /** Rows per IVF partition of the vector index (each partition is its own HNSW graph, built separately). */
  rowsPerPartition: number;
  /** Training vectors per IVF partition for the k-means (LanceDB's sample_rate). */
  indexSampleRate: number;
}

/** Defaults chosen from the benchmark (docs/benchmarks/vector-store.md). */
export const DEFAULT_POLICY: MaintenancePolicy = {
  indexThreshold: 5_000,
  // Folding new rows into the index is incremental (well under a second, one new delta segment each; only the first
  // refresh after a build re-merges into the single segment and costs about a build), while every unindexed row is
  // scanned exactly by each search (~2 ms per 1,000 rows at 768-d): refresh early.
  reindexMinRows: 1_000,
  reindexFraction: 0,
  // Every read (a lookup by id, a page, a search) pays per fragment: an ingest-filled table at 64 fragments
  // looked ids up ~9x slower than a compacted one (7.6 vs 0.8 ms CPU, 10k rows; docs/benchmarks/gateway.md).
  compactFragments: 16,
  versionRetentionMs: 6 * 3600_000,
  checkIntervalMs: 2_000,
  // Measured at 100k x 768: p50 ~2.6 ms with one segment, ~5 ms with three, ~6.5 ms with seven.
  maxIndexSegments: 3,
  // A rebuild takes ~30 s at 100k-200k; at 1M minutes (docs/benchmarks/vector-store.md): there a rebuild every
  // ~4,000 new rows (3 segments of 1,000) would spend the machine on rebuilds.
  segmentRebuildMaxRows: 200_000,
  rebuildFraction: 0.1,
  maxIndexSegmentsLarge: 24,
  maxDutyCycle: 0.25,
  // An ingest-filled table left unsettled looked ids up 11x slower than a compacted one (43 vs 3.8 ms CPU,
  // docs/benchmarks/gateway.md); 10 s of quiet is well past the gap between two ingest batches.
  settleAfterMs: 10_000,
  // Three segments searched 2x slower than one at 10k (5.1 vs 2.6 ms CPU a search, docs/benchmarks/gateway.md).
  settleMergeMaxRows: 200_000,
  // Built at 200k x 768 on 2 vCPUs (load 13-18, priority): one 200k graph 36 s, two of 100k 28 s, four of 50k 23 s,
  // recall@10 0.99 each; at 1M four graphs of 250k (docs/benchmarks/vector-store.md), searched all (DEFAULT_NPROBES).
  rowsPerPartition: 250_000,
  indexSampleRate: 256,
};

/** Scalar indexes on the point id (the upsert join key) and on the filter fields the API uses. */
const SCALAR_INDEXED = ['id', 'asset_id', 'path_hash', 'category', 'date_taken'];

/** What one maintenance pass did. */
export interface MaintenanceResult {
  action: 'none' | 'build-index' | 'optimize' | 'rebuild-index' | 'busy';
  /** Whether this was a settling pass (writes had stopped). */
  settle?: boolean;
  ms: number;
}

/** Vector index figures from listIndices (indexStats logs a warning per call in this Lance version). */
async function vectorIndex(
  table: Table,
): Promise<{ indexed: number; unindexed: number; segments: number } | undefined> {
  const idx = (await table.listIndices()).find((i) => i.name === VECTOR_INDEX);
  return idx
    ? { indexed: idx.numIndexedRows ?? 0, unindexed: idx.numUnindexedRows ?? 0, segments: idx.numSegments ?? 1 }
    : undefined;
}

/**
 * Keeps one process's tables indexed and compact, in the background and one pass per table at a time.
 * Several processes may maintain the same table: Lance's commit protocol makes the loser of a race retry
 * or fail cleanly (logged, retried at the next check), never corrupting the table.
 */
export class LanceMaintenance {
  private readonly running = new Map<string, Promise<MaintenanceResult>>();
  private readonly lastCheck = new Map<string, number>();
  private readonly notBefore = new Map<string, number>();
  /** Rows covered by each table's last full index build (seen as a one-segment index), for `rebuildFraction`. */
  private readonly baseRows = new Map<string, number>();
  /** Settling passes waiting for writes to stop, by table: the timer, and what waits for the pass. */
  private readonly settling = new Map<string, { timer: NodeJS.Timeout; done: () => void; waited: Promise<void> }>();

  constructor(
    private readonly policy: MaintenancePolicy,
    private readonly logger: Logger,
    private readonly dataDir: string,
  ) {}

  /** Schedules a check unless one ran recently or is running, and re-arms the settling pass; never throws; `settled` runs after a pass. */
  schedule(name: string, table: Table, config: StoredConfig, settled?: () => void): void {
    this.settleLater(name, table, config, settled);
    const now = Date.now();
    if (
      this.running.has(name) ||
      now - (this.lastCheck.get(name) ?? 0) < this.policy.checkIntervalMs ||
      now < (this.notBefore.get(name) ?? 0)
    )
      return;
    this.lastCheck.set(name, now);
    void this.run(name, table, config)
      .then((r) => this.paced(name, r))
      .catch(() => undefined)
      .finally(settled);
  }

  /**
   * (Re-)arms the settling pass of a table: it runs once no write has come for `settleAfterMs` (each write
   * pushes it back), so a table filled by many small writes ends compacted and fully indexed; never throws.
   */
  settleLater(name: string, table: Table, config: StoredConfig, settled?: () => void, delayMs?: number): void {
    if (this.policy.settleAfterMs <= 0) return;
    const pending = this.settling.get(name);
    if (pending) clearTimeout(pending.timer);
    let done = pending?.done ?? (() => undefined);
    const waited = pending?.waited ?? new Promise<void>((r) => (done = r));
    const entry = { done, waited, timer: undefined as unknown as NodeJS.Timeout };
    entry.timer = setTimeout(() => {
      // Passes are paced (maxDutyCycle): a settling pass due earlier waits for its turn.
      const wait = (this.notBefore.get(name) ?? 0) - Date.now();
      if (wait > 0) return this.settleLater(name, table, config, settled, wait);
      let again = false;
      void this.run(name, table, config, { settle: true })
        .then((r) => {
          this.paced(name, r);
          // Another process holds the maintenance lock: try again after another quiet period.
          again = r.action === 'busy';
        })
        .catch(() => undefined)
        .finally(() => {
          settled?.();
          // A write during the pass re-armed the entry: that later pass finishes the wait.
          if (this.settling.get(name) !== entry) return;
          // Re-armed through the same entry, so whoever waits for it keeps waiting.
          if (again) return this.settleLater(name, table, config, settled);
          this.settling.delete(name);
          entry.done();
        });
    }, delayMs ?? this.policy.settleAfterMs);
    // A pending settle never keeps a process alive; close() drops it.
    entry.timer.unref();
    this.settling.set(name, entry);
  }

  /** Runs a check now (waiting for a running one first); `force` builds the index at any size, `settle` leaves nothing pending. */
  async run(
    name: string,
    table: Table,
    config: StoredConfig,
    opts: { force?: boolean; settle?: boolean } = {},
  ): Promise<MaintenanceResult> {
    const current = this.running.get(name);
    if (current) await current.catch(() => undefined);
    const p = this.pass(name, table, config, opts.force === true, opts.settle === true).finally(() =>
      this.running.delete(name),
    );
    this.running.set(name, p);
    return p.catch((err: unknown) => {
      // Losing a commit race to another process's maintenance is expected and harmless.
      if (isCommitConflict(err))
        this.logger.debug(
          { err, collection: name },
          'vector store maintenance lost a commit race; retried at the next check',
        );
      else
        this.logger.warn({ err, collection: name }, 'vector store maintenance failed; it is retried at the next write');
      throw err;
    });
  }

  /** Waits for every running pass (shutdown, tests, benchmarks). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  /** Waits until no settling pass is pending or running (benchmarks, tests: "the writes have stopped, now settle"). */
  async settled(): Promise<void> {
    while (this.settling.size > 0) await Promise.allSettled([...this.settling.values()].map((s) => s.waited));
    await this.idle();
  }

  /** Drops the pending settling passes (of one table, or all): the table is dropped or the store closes. */
  cancelSettling(name?: string): void {
    for (const [n, s] of this.settling) {
      if (name !== undefined && n !== name) continue;
      clearTimeout(s.timer);
      this.settling.delete(n);
      s.done();
    }
  }

  private paced(name: string, r: MaintenanceResult): void {
    if (r.action !== 'none' && r.action !== 'busy')
      this.notBefore.set(name, Date.now() + r.ms * (1 / this.policy.maxDutyCycle - 1));
  }

  /** Whether the table needs work, for the status colour. */
  async pending(name: string, table: Table): Promise<boolean> {
    const stats = await vectorIndex(table);
    if (!stats) return (await table.countRows()) >= this.policy.indexThreshold;
    return stats.unindexed >= this.reindexAt(stats.indexed) || this.rebuildDue(name, stats);
  }

  /** Whether the index's delta segments call for a full rebuild (see `maxIndexSegments`). */
  private rebuildDue(name: string, x: { segments: number; indexed: number; unindexed: number }): boolean {
    const rows = x.indexed + x.unindexed;
    if (x.segments === 1) this.baseRows.set(name, x.indexed);
    if (x.segments <= this.policy.maxIndexSegments) return false;
    if (rows <= this.policy.segmentRebuildMaxRows || x.segments > this.policy.maxIndexSegmentsLarge) return true;
    // Not seen since this process started (built elsewhere), or the table was dropped and refilled: rebuild once.
    const base = this.baseRows.get(name);
    if (base === undefined || base > rows) return true;
    return rows - base >= this.policy.rebuildFraction * base;
  }

  /** Whether the vector index exists. */
  async indexed(table: Table): Promise<boolean> {
    return (await vectorIndex(table)) !== undefined;
  }

  private reindexAt(indexed: number): number {
    return Math.max(this.policy.reindexMinRows, Math.ceil(this.policy.reindexFraction * indexed));
  }

  private async pass(
    name: string,
    table: Table,
    config: StoredConfig,
    force: boolean,
    settle: boolean,
  ): Promise<MaintenanceResult> {
    const t0 = Date.now();
    // One maintainer per table across the processes sharing the data folder.
    const unlock = await tryLock(join(this.dataDir, `${name}.maintenance.lock`), 30 * 60_000);
    if (!unlock) return { action: 'busy', ms: Date.now() - t0, ...(settle ? { settle } : {}) };
    try {
      const action = await this.work(name, table, config, force, settle);
      if (settle && action !== 'none')
        this.logger.info(
          { collection: name, action, ms: Date.now() - t0 },
          'vector store settled after the last write',
        );
      return { action, ms: Date.now() - t0, ...(settle ? { settle } : {}) };
    } finally {
      await unlock();
    }
  }

  private async work(
    name: string,
    table: Table,
    config: StoredConfig,
    force: boolean,
    settle: boolean,
  ): Promise<MaintenanceResult['action']> {
    const cleanupOlderThan = new Date(Date.now() - this.policy.versionRetentionMs);
    const stats = await vectorIndex(table);
    const small = (await table.stats()).fragmentStats.numSmallFragments;
    // Settling: any two small fragments are worth merging once writes have stopped (every read pays per fragment).
    const compactAt = settle ? 2 : this.policy.compactFragments;
    if (!stats) {
      const rows = await table.countRows();
      if (rows === 0 || (!force && rows < this.policy.indexThreshold)) {
        if (small < compactAt) return 'none';
        await table.optimize({ cleanupOlderThan });
        return 'optimize';
      }
      this.logger.info({ collection: name, rows }, 'building the HNSW (int8) vector index');
      // Compact first: one write per batch leaves many small fragments, and the index is built over what is there.
      if (small > 1) await table.optimize({ cleanupOlderThan });
      await this.buildVectorIndex(name, table, config, rows);
      const existing = new Set((await table.listIndices()).map((i) => i.columns[0]));
      for (const col of SCALAR_INDEXED) {
        if (!existing.has(col)) await table.createIndex(col, { config: Index.btree(), replace: true });
      }
      this.logger.info({ collection: name, rows }, 'vector index built');
      return 'build-index';
    }
    if (this.rebuildDue(name, stats)) {
      // Many delta segments slow every search; one rebuild folds them (and any unindexed rows) into one graph.
      this.logger.info(
        { collection: name, segments: stats.segments },
        'rebuilding the vector index to merge its segments',
      );
      await table.optimize({ cleanupOlderThan });
      await this.buildVectorIndex(name, table, config, await table.countRows());
      return 'rebuild-index';
    }
    // Settling folds in every unindexed row (each is scanned exactly by every search), not only past the threshold.
    const reindexAt = settle ? 1 : this.reindexAt(stats.indexed);
    const mergeable = (x: { segments: number; indexed: number; unindexed: number }) =>
      x.segments > 1 && x.indexed + x.unindexed <= this.policy.settleMergeMaxRows;
    if (!force && !(settle && mergeable(stats)) && stats.unindexed < reindexAt && small < compactAt) return 'none';
    // optimize = compact small fragments + fold new rows into the indexes (a new delta segment) + drop old versions.
    await table.optimize({ cleanupOlderThan });
    this.logger.debug({ collection: name, unindexed: stats.unindexed }, 'vector index refreshed');
    const after = settle ? await vectorIndex(table) : undefined;
    if (after && (this.rebuildDue(name, after) || mergeable(after))) {
      // No later write will come to merge the segment this pass added: merge now, while the table is quiet.
      // Compaction merges only fragments under the same index segments; once one index covers all, it can.
      await this.buildVectorIndex(name, table, config, await table.countRows());
      await table.optimize({ cleanupOlderThan });
      return 'rebuild-index';
    }
    return 'optimize';
  }

  private async buildVectorIndex(name: string, table: Table, config: StoredConfig, rows: number): Promise<void> {
    this.baseRows.set(name, rows);
    await table.createIndex('vector', {
      name: VECTOR_INDEX,
      replace: true,
      config: Index.hnswSq({
        distanceType: 'cosine',
        m: config.hnsw.m,
        efConstruction: config.hnsw.efConstruct,
        numPartitions: Math.max(1, Math.ceil(rows / this.policy.rowsPerPartition)),
        sampleRate: this.policy.indexSampleRate,
      }),
    });
  }
}
