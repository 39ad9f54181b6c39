import * as lancedb from '@lancedb/lancedb';
import type { Connection, Table } from '@lancedb/lancedb';
import type { Schema } from 'apache-arrow';
import { AppError, isAppError, type Logger } from '@image-search/service-kit';
import { describeDifferences, diffCollection, type CollectionSchema } from '@image-search/collection-schema';
import type {
  CollectionInfo,
  IdSetDifference,
  PayloadFilter,
  ScrollPage,
  SearchHit,
  SearchParams,
  StoredPoint,
  UpsertPoint,
  VectorStore,
} from './vector-store.port.js';
import { assertCollectionName, validateBatch, validateIds, validatePageLimit, validateSearch } from './validation.js';
import { checkFilter, toLanceSql } from './payload-filter.js';
import {
  arrowSchema,
  pointsToArrow,
  readConfig,
  storedConfig,
  VECTOR_INDEX,
  type StoredConfig,
} from './lance-table.js';
import {
  DEFAULT_POLICY,
  LanceMaintenance,
  type MaintenancePolicy,
  type MaintenanceResult,
} from './lance-maintenance.js';
import { pointIdFor } from './point-id.js';
import { diffIdSets, isCommitConflict, retry, sqlIdList } from './lance-util.js';
import { formatSnapshotCursor, parseSnapshotCursor } from './snapshot-cursor.js';
import { BLOCK_ROWS, ScrollBlocks, type ScrollRow } from './scroll-blocks.js';

/** Options of the embedded engine. */
export interface LanceVectorStoreOptions {
  dataDir: string;
  logger: Logger;
  /** Index build / refresh policy; defaults in DEFAULT_POLICY. */
  policy?: Partial<MaintenancePolicy>;
  /** HNSW search breadth when a search gives none (recall/latency curve in docs/benchmarks/vector-store.md). */
  defaultEf?: number;
  /** IVF partitions searched at least (minimumNprobes); unset: LanceDB's own default, DEFAULT_NPROBES. */
  defaultNprobes?: number;
  /**
   * How stale a read may be with respect to other processes' writes, in ms, 0 to 1000 (0, the default:
   * every read first checks for a newer version). This process's own writes are visible at once either way.
   */
  readConsistencyMs?: number;
  /**
   * Bounds of the engine's in-memory caches, in bytes (LanceDB's defaults: 6 GiB of index, 1 GiB of file
   * metadata). Every write, compaction and index refresh makes new files whose entries join the caches
   * while the old ones stay until evicted, so without a bound a store that keeps being written grows.
   */
  cacheBytes?: { index?: number; metadata?: number };
}

/** The most a read may lag another process's writes (the bound the gateway documents). */
export const MAX_READ_CONSISTENCY_MS = 1000;

/** Default HNSW `ef`: recall@10 >= 0.95 at 100k x 768 in the benchmark. */
export const DEFAULT_EF = 128;
/**
 * Default IVF partitions probed (LanceDB's own default): every partition up to 20 of them, i.e. up to 5M rows at
 * one partition per 250k; fewer lost no recall on the benchmark's clustered data, which real embeddings are less.
 */
export const DEFAULT_NPROBES = 20;

interface OpenTable {
  table: Table;
  config: StoredConfig;
  schema: Schema;
  /** Point counts of the table's current version, by filter (a count of one version never changes). */
  counts: { version: number; byWhere: Map<string, number> };
  /** Blocks of scroll rows by version and filter, which pages are cut from. */
  blocks: ScrollBlocks;
  /** Local mutations completed so far, and how many of them the handle is known to reflect. */
  mutations: number;
  reflected: number;
  /** The handle's move to the latest version, while one runs, and the mutation count it covers. */
  refresh?: { covers: number; done: Promise<void> };
}

/**
 * Scroll rows kept per collection, in blocks of up to 500 (the pages of the lists people look at): ~16 MB of
 * payloads, the first block of 64 different filters at any library size.
 */
const SCROLL_ROWS = 32_000;

/**
 * The embedded engine: LanceDB tables in a data folder, one per collection. Reads see the latest committed
 * version: this process's writes at once, other processes' at once by default or within `readConsistencyMs`
 * (every write goes through the one cached table handle, which LanceDB moves to the version it committed);
 * writes are merge-inserts on the point id, committed atomically, so an acknowledged upsert is on disk.
 */
export class LanceVectorStore implements VectorStore {
  private readonly maintenance: LanceMaintenance;
  private readonly tables = new Map<string, Promise<OpenTable>>();
  private readonly pinned = new Map<string, Promise<Table>>();
  private readonly defaultEf: number;
  private readonly defaultNprobes: number | undefined;
  private readonly consistencyMs: number;
  /** Collections found missing, and when: within the bound a read of one answers NOT_FOUND without a listing. */
  private readonly missing = new Map<string, number>();

  private constructor(
    private readonly db: Connection,
    private readonly opts: LanceVectorStoreOptions,
    private readonly session: lancedb.Session,
  ) {
    this.maintenance = new LanceMaintenance({ ...DEFAULT_POLICY, ...opts.policy }, opts.logger, opts.dataDir);
    this.defaultEf = opts.defaultEf ?? DEFAULT_EF;
    // Only when asked: passing LanceDB's own default explicitly (minimumNprobes 20) made text searches on a
    // 10,000-asset ingest-filled store answer 2 or 33 hits for limit 50 (11 of 15 in bench/library.bench.ts);
    // without it all 15 answered 50. Cause not traced.
    this.defaultNprobes = opts.defaultNprobes;
    this.consistencyMs = opts.readConsistencyMs ?? 0;
  }

  /** Opens (creating when missing) the data folder. */
  static async open(opts: LanceVectorStoreOptions): Promise<LanceVectorStore> {
    const ms = opts.readConsistencyMs ?? 0;
    if (!Number.isInteger(ms) || ms < 0 || ms > MAX_READ_CONSISTENCY_MS)
      throw new AppError(
        'INVALID_ARGUMENT',
        `readConsistencyMs must be an integer from 0 to ${MAX_READ_CONSISTENCY_MS}, got ${String(ms)}`,
      );
    // The interval after which a read first checks for a newer version (0: on every read, which costs each
    // read a look at the manifest); LanceDB takes seconds.
    const big = (n: number | undefined) => (n === undefined ? undefined : BigInt(Math.max(0, Math.floor(n))));
    const session = new lancedb.Session(big(opts.cacheBytes?.index), big(opts.cacheBytes?.metadata));
    const db = await lancedb.connect(opts.dataDir, { readConsistencyInterval: ms / 1000 }, session);
    return new LanceVectorStore(db, opts, session);
  }

  /** Bytes the engine's index and metadata caches hold now (for memory metrics and soak runs). */
  cacheBytes(): number {
    return Number(this.session.sizeBytes());
  }

  async ensureCollection(schema: CollectionSchema): Promise<{ created: boolean; info: CollectionInfo }> {
    assertCollectionName(schema.name);
    let created = false;
    // Whoever created it (this process or another), it is looked up afresh below.
    this.missing.delete(schema.name);
    if (!(await this.exists(schema.name))) {
      const config = storedConfig(schema);
      // existOk: when another process creates it first, we verify theirs below instead of failing.
      await this.db.createEmptyTable(schema.name, arrowSchema(config), { mode: 'create', existOk: true });
      created = true;
      this.opts.logger.info({ collection: schema.name, dataDir: this.opts.dataDir }, 'collection created');
    }
    const { config } = await this.open(schema.name);
    const diffs = diffCollection(schema, config);
    if (diffs.length) {
      throw new AppError('SCHEMA_MISMATCH', describeDifferences(schema.name, diffs), {
        details: { collection: schema.name, differences: diffs },
      });
    }
    return { created, info: await this.info(schema.name) };
  }

  async exists(collection: string): Promise<boolean> {
    assertCollectionName(collection);
    return (await this.db.tableNames()).includes(collection);
  }

  async info(collection: string): Promise<CollectionInfo> {
    const { table, config } = await this.open(collection);
    return this.guard(collection, async () => {
      const [pointCount, pending, indexed] = await Promise.all([
        table.countRows(),
        this.maintenance.pending(collection, table),
        this.maintenance.indexed(table),
      ]);
      return {
        name: collection,
        status: pending ? 'yellow' : 'green',
        pointCount,
        vectorSize: config.vectorSize,
        distance: config.distance,
        quantization: { ...config.quantization },
        hnsw: { ...config.hnsw },
        location: this.opts.dataDir,
        indexed,
      } satisfies CollectionInfo;
    });
  }

  async upsert(collection: string, points: UpsertPoint[]): Promise<void> {
    const open = await this.open(collection);
    const { table, config, schema } = open;
    const valid = validateBatch(points, config.vectorSize);
    if (valid.length === 0) return;
    const data = pointsToArrow(schema, valid, config.vectorSize);
    await this.guard(collection, () =>
      retry(
        () => table.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data),
        isCommitConflict,
      ),
    ).finally(() => this.mutated(open));
    this.maintenance.schedule(collection, table, config, () => this.mutated(open));
  }

  async search(collection: string, params: SearchParams): Promise<SearchHit[]> {
    const { table, config } = await this.open(collection);
    const vector = validateSearch(params, config.vectorSize);
    const where = toLanceSql(checkFilter(params.filter));
    const offset = params.offset ?? 0;
    const window = offset + params.limit;
    return this.guard(collection, async () => {
      let q = table
        .vectorSearch(vector)
        .distanceType('cosine')
        .select(['asset_id', 'payload', '_distance'])
        .limit(window);
      if (where) q = q.where(where);
      // minimumNprobes: a narrow filter that leaves too few hits in the probed partitions searches more of them.
      q = params.exact ? q.bypassVectorIndex() : q.ef(Math.max(params.ef ?? this.defaultEf, window));
      if (!params.exact && this.defaultNprobes !== undefined) q = q.minimumNprobes(this.defaultNprobes);
      const rows = (await q.toArray()) as { asset_id: string; payload: string; _distance: number }[];
      const hits: SearchHit[] = [];
      for (const r of rows.slice(offset)) {
        // Lance's cosine distance is 1 - cosine similarity; Qdrant reports the similarity itself.
        const score = 1 - r._distance;
        if (params.minScore !== undefined && score < params.minScore) break;
        hits.push({ assetId: r.asset_id, score, payload: JSON.parse(r.payload) as SearchHit['payload'] });
      }
      return hits;
    });
  }

  async retrieve(collection: string, assetIds: string[], opts: { withVectors?: boolean } = {}): Promise<StoredPoint[]> {
    const { table } = await this.open(collection);
    const ids = validateIds(assetIds, 'retrieve');
    const found = new Map<string, StoredPoint>();
    await this.guard(collection, async () => {
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const cols = opts.withVectors ? ['asset_id', 'payload', 'vector'] : ['asset_id', 'payload'];
        const rows = (await table
          .query()
          .where(`id IN (${sqlIdList(chunk.map(pointIdFor))})`)
          .select(cols)
          .toArray()) as { asset_id: string; payload: string; vector?: { toArray(): Float32Array } }[];
        for (const r of rows) {
          found.set(r.asset_id, {
            assetId: r.asset_id,
            payload: JSON.parse(r.payload) as StoredPoint['payload'],
            ...(opts.withVectors && r.vector ? { vector: Float32Array.from(r.vector.toArray()) } : {}),
          });
        }
      }
    });
    return ids.flatMap((id) => found.get(id) ?? []);
  }

  async scrollIds(
    collection: string,
    opts: { limit: number; cursor?: string; filter?: PayloadFilter; withPayload?: boolean },
  ): Promise<ScrollPage> {
    const open = await this.open(collection);
    validatePageLimit(opts.limit);
    const where = toLanceSql(checkFilter(opts.filter));
    let version: number;
    let after: bigint | undefined;
    if (opts.cursor !== undefined) {
      ({ version, after } = parseSnapshotCursor(opts.cursor, 'scroll'));
    } else {
      version = await this.guard(collection, () => open.table.version());
    }
    // Only pages the size people look at (the asset list's at most 500) are cut from kept blocks; tools
    // scroll whole collections in bigger pages, read once.
    if (opts.limit > BLOCK_ROWS) {
      const rows = await this.readRows(collection, version, after, where, opts.limit, opts.withPayload === true);
      const last = rows.at(-1);
      return {
        assetIds: rows.map((r) => r.assetId),
        next: rows.length === opts.limit && last ? formatSnapshotCursor(version, last.rowId) : undefined,
        ...(opts.withPayload
          ? {
              points: rows.map((r) => ({
                assetId: r.assetId,
                payload: JSON.parse(r.payload ?? '{}') as StoredPoint['payload'],
              })),
            }
          : {}),
      };
    }
    // A page of one version never changes (the snapshot below), so blocks are shared while they are asked for.
    const key = `${version}|${opts.withPayload ? 'p' : 'i'}|${where ?? ''}`;
    return open.blocks.page(key, version, after, opts.limit, opts.withPayload === true, (from, n) =>
      this.readRows(collection, version, from, where, n, opts.withPayload === true),
    );
  }

  /** The next `limit` rows after `after` matching `where` in one version, in row-id order. */
  private async readRows(
    collection: string,
    version: number,
    after: bigint | undefined,
    where: string | undefined,
    limit: number,
    withPayload: boolean,
  ): Promise<ScrollRow[]> {
    // Every page reads the version the scroll started at: a consistent snapshot, whatever is written meanwhile.
    const snapshot = await this.pinnedTable(collection, version);
    return this.guard(collection, async () => {
      const cond = [
        after === undefined ? '_rowid >= 0' : `_rowid > ${after.toString()}`,
        ...(where ? [`(${where})`] : []),
      ].join(' AND ');
      const rows = (await snapshot
        .query()
        .select(withPayload ? ['asset_id', 'payload'] : ['asset_id'])
        .withRowId()
        .where(cond)
        .limit(limit)
        .toArray()) as { asset_id: string; payload?: string; _rowid: bigint }[];
      rows.sort((a, b) => (a._rowid < b._rowid ? -1 : a._rowid > b._rowid ? 1 : 0));
      return rows.map((r) => ({
        rowId: r._rowid,
        assetId: r.asset_id,
        ...(withPayload ? { payload: r.payload ?? '{}' } : {}),
      }));
    });
  }

  async count(collection: string, opts: { filter?: PayloadFilter } = {}): Promise<number> {
    const open = await this.open(collection);
    const { table } = open;
    const where = toLanceSql(checkFilter(opts.filter));
    return this.guard(collection, async () => {
      // A filtered count reads the filter's rows (it grows with the library); the count of one version
      // never changes, so it is kept until the table moves to another version (a write here, or another
      // process's write once the consistency bound has passed).
      const version = await table.version();
      if (open.counts.version !== version) open.counts = { version, byWhere: new Map() };
      const memo = open.counts;
      const hit = memo.byWhere.get(where ?? '');
      if (hit !== undefined) return hit;
      const n = await table.countRows(where);
      // Filters come from clients: keep the memo small; and a count that raced a write is not kept.
      if (memo.byWhere.size < 1000 && (await table.version()) === version) memo.byWhere.set(where ?? '', n);
      return n;
    });
  }

  async deleteIds(collection: string, assetIds: string[]): Promise<void> {
    const open = await this.open(collection);
    const { table, config } = open;
    const ids = validateIds(assetIds, 'delete');
    await this.guard(collection, async () => {
      for (let i = 0; i < ids.length; i += 500) {
        const pred = `id IN (${sqlIdList(ids.slice(i, i + 500).map(pointIdFor))})`;
        await retry(() => table.delete(pred), isCommitConflict);
      }
    }).finally(() => this.mutated(open));
    this.maintenance.schedule(collection, table, config, () => this.mutated(open));
  }

  async deleteByFilter(collection: string, filter: PayloadFilter): Promise<void> {
    const open = await this.open(collection);
    const where = toLanceSql(checkFilter(filter));
    if (!where)
      throw new AppError(
        'INVALID_ARGUMENT',
        'deleteByFilter needs a non-empty filter; an empty one would delete every point (use dropCollection)',
      );
    await this.guard(collection, () => retry(() => open.table.delete(where), isCommitConflict)).finally(() =>
      this.mutated(open),
    );
    this.maintenance.schedule(collection, open.table, open.config, () => this.mutated(open));
  }

  async diffIds(a: string, b: string, opts: { sampleLimit?: number } = {}): Promise<IdSetDifference> {
    const [ta, tb] = await Promise.all([this.open(a), this.open(b)]);
    const read = (name: string, t: Table) =>
      this.guard(name, async () => {
        const col = (await t.query().select(['asset_id']).toArrow()).getChild('asset_id');
        // An empty table comes back without batches, hence without the column.
        return col ? (col.toArray() as string[]) : [];
      });
    const [ia, ib] = await Promise.all([read(a, ta.table), read(b, tb.table)]);
    return diffIdSets(ia, ib, opts.sampleLimit);
  }

  async dropCollection(collection: string): Promise<void> {
    assertCollectionName(collection);
    this.maintenance.cancelSettling(collection);
    await this.maintenance.idle();
    const cached = this.tables.get(collection);
    this.tables.delete(collection);
    if (cached) (await cached.catch(() => undefined))?.table.close();
    if (await this.exists(collection)) await this.db.dropTable(collection);
  }

  async close(): Promise<void> {
    // A settle still pending is dropped: the next process to open the table settles it.
    this.maintenance.cancelSettling();
    await this.maintenance.idle();
    for (const t of this.tables.values()) (await t.catch(() => undefined))?.table.close();
    for (const t of this.pinned.values()) (await t.catch(() => undefined))?.close();
    this.tables.clear();
    this.pinned.clear();
    this.db.close();
  }

  /** Builds or refreshes the index now and waits for it (tools, benchmarks, tests); `force` indexes any size. */
  async optimize(collection: string, opts: { force?: boolean } = {}): Promise<MaintenanceResult> {
    const open = await this.open(collection);
    return this.maintenance.run(collection, open.table, open.config, opts).finally(() => this.mutated(open));
  }

  /** Storage figures of one collection's table: live bytes (data + indexes), rows, fragments, versions. */
  async storageStats(collection: string): Promise<{
    totalBytes: number;
    numRows: number;
    numFragments: number;
    numSmallFragments: number;
    versions: number;
    indexSegments: number;
    unindexedRows: number;
  }> {
    const { table } = await this.open(collection);
    return this.guard(collection, async () => {
      const s = await table.stats();
      const idx = (await table.listIndices()).find((i) => i.name === VECTOR_INDEX);
      return {
        totalBytes: s.totalBytes,
        numRows: s.numRows,
        numFragments: s.fragmentStats.numFragments,
        numSmallFragments: s.fragmentStats.numSmallFragments,
        versions: (await table.listVersions()).length,
        indexSegments: idx?.numSegments ?? 0,
        unindexedRows: idx ? (idx.numUnindexedRows ?? 0) : s.numRows,
      };
    });
  }

  /** Waits for background index maintenance to finish. */
  async idle(): Promise<void> {
    await this.maintenance.idle();
  }

  /** Waits until the settling passes due (writes stopped `settleAfterMs` ago, or a table was just opened) have run. */
  async settled(): Promise<void> {
    await this.maintenance.settled();
  }

  private open(collection: string): Promise<OpenTable> {
    assertCollectionName(collection);
    let p = this.tables.get(collection);
    if (!p) {
      const seenMissing = this.missing.get(collection);
      if (seenMissing !== undefined && performance.now() - seenMissing < this.consistencyMs)
        return Promise.reject(notFound(collection));
      p = (async () => {
        if (!(await this.exists(collection))) {
          this.missing.set(collection, performance.now());
          throw notFound(collection);
        }
        this.missing.delete(collection);
        const table = await this.db.openTable(collection);
        const config = readConfig(collection, await table.schema());
        // Rebuilt with our own Arrow module: the engine's schema object may come from another Arrow instance.
        const open: OpenTable = {
          table,
          schema: arrowSchema(config),
          config,
          counts: { version: -1, byWhere: new Map() },
          blocks: new ScrollBlocks(SCROLL_ROWS),
          mutations: 0,
          reflected: 0,
        };
        // A table another process wrote and left unsettled (it exited before its settle) is settled here.
        this.maintenance.settleLater(collection, table, config, () => this.mutated(open));
        return open;
      })();
      this.tables.set(collection, p);
      // A failed open is not cached: the collection may be created later.
      p.catch(() => this.tables.delete(collection));
    }
    return p.then((o) => this.reflectingOwnWrites(o));
  }

  private mutated(open: OpenTable): void {
    open.mutations++;
  }

  /**
   * Moves the handle to the latest version when this process has written since it last did. LanceDB moves
   * the handle to each write's version as that write finishes, so writes finishing out of order (concurrent
   * ingest batches, a compaction) could leave it on an older one until the consistency interval passed:
   * an ingest that had finished then read a short count (5 of 7) in the same process.
   */
  private async reflectingOwnWrites(open: OpenTable): Promise<OpenTable> {
    while (open.reflected < open.mutations) {
      const target = open.mutations;
      if (!open.refresh || open.refresh.covers < target) {
        const refresh = {
          covers: target,
          // A failed move (the table was dropped meanwhile) leaves the read to fail with its own, mapped error.
          done: open.table.checkoutLatest().then(
            () => undefined,
            () => undefined,
          ),
        };
        open.refresh = refresh;
        void refresh.done.then(() => {
          open.reflected = Math.max(open.reflected, target);
          if (open.refresh === refresh) open.refresh = undefined;
        });
      }
      await open.refresh.done;
    }
    return open;
  }

  private pinnedTable(collection: string, version: number): Promise<Table> {
    const key = `${collection}@${version}`;
    let p = this.pinned.get(key);
    if (!p) {
      p = this.db.openTable(collection, undefined, { version }).catch((err: unknown) => {
        this.pinned.delete(key);
        throw new AppError(
          'FAILED_PRECONDITION',
          `scroll cursor for version ${version} of '${collection}' has expired (old versions are cleaned up); start the scroll again`,
          { cause: err },
        );
      });
      this.pinned.set(key, p);
      // Few scrolls run at once; keep the handles of the latest few snapshots only.
      while (this.pinned.size > 8) {
        const [oldest] = this.pinned.keys();
        const old = this.pinned.get(oldest!);
        this.pinned.delete(oldest!);
        void old?.then((t) => t.close()).catch(() => undefined);
      }
    }
    return p;
  }

  /** Maps engine errors: a table dropped underneath us is NOT_FOUND; anything else is UNAVAILABLE with the cause. */
  private async guard<T>(collection: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isAppError(err)) throw err;
      if (!(await this.exists(collection).catch(() => true))) {
        this.tables.delete(collection);
        throw notFound(collection);
      }
      throw new AppError(
        'UNAVAILABLE',
        `embedded vector store (${this.opts.dataDir}) failed on '${collection}': ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
}

function notFound(collection: string): AppError {
  return new AppError(
    'NOT_FOUND',
    `collection '${collection}' does not exist; create it with: npx nx run tools:create-collection -- --model clip|siglip`,
    { details: { collection } },
  );
}
