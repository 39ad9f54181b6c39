import { mkdirSync } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { Field, Schema, Utf8 } from 'apache-arrow';
import type { AssetCatalogue, CatalogueEntry, CataloguePage, CatalogueWrite } from './asset-catalogue.port.js';
import { validateWrites, validIds, validLimit } from './validation.js';
import { modelStateConflict, parseModelState, type ModelState, type ModelStateWrite } from './model-state.js';
import { formatSnapshotCursor, parseSnapshotCursor } from '@image-search/vector-store';

const TABLE = 'assets';
/** Compaction keeps versions this long: a scroll reads the version it started at (as the vector store's). */
const VERSION_RETENTION_MS = 6 * 3600_000;
/** Writes between two compactions while writes keep coming (ingest writes one batch of ~32 at a time). */
const COMPACT_EVERY_WRITES = 64;
const SCHEMA = new Schema([
  new Field('asset_id', new Utf8(), false),
  new Field('path', new Utf8(), false),
  new Field('content_hash', new Utf8(), false),
  new Field('updated_at', new Utf8(), false),
]);

interface Row {
  asset_id: string;
  path: string;
  content_hash: string;
  updated_at: string;
}

const toEntry = (r: Row): CatalogueEntry => ({
  assetId: r.asset_id,
  path: r.path,
  contentHash: r.content_hash,
  updatedAt: r.updated_at,
});

/** Ids hold only hex digits (validated), so they are safe in a SQL list. */
const sqlList = (ids: string[]) => ids.map((id) => `'${id}'`).join(', ');

/** Two processes writing the same table lose an optimistic-concurrency race now and then; the write is retried. */
async function retryConflicts<T>(fn: () => Promise<T>, attempts = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !/conflict|Retryable|concurrent/i.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(2000, 20 * 2 ** i)));
    }
  }
}

/**
 * The catalogue in the embedded engine (LanceDB), one table under `DATA_DIR/catalogue`. The embedded
 * engine rather than SQLite: it is already the one-machine store, needs no further native module
 * (better-sqlite3 fetches a prebuilt binary from GitHub or compiles, neither possible from the npm
 * registry alone), and keeps the catalogue with the vectors in DATA_DIR.
 */
export class LanceAssetCatalogue implements AssetCatalogue {
  readonly location: string;
  private writes = 0;
  private settleTimer: NodeJS.Timeout | undefined;
  /** What waits for the compaction due once writes stop. */
  private settling: { promise: Promise<void>; done: () => void } | undefined;
  private compacting: Promise<void> | undefined;

  private constructor(
    private readonly db: lancedb.Connection,
    private readonly table: lancedb.Table,
    dir: string,
    private readonly settleAfterMs: number,
  ) {
    this.location = dir;
  }

  /**
   * Opens (creating when missing) the catalogue under `dataDir/catalogue`. Every write adds a fragment and a
   * version: every 64 writes, and once writes have stopped for `settleAfterMs` (default 10 s; 0: never), the
   * table is compacted and versions older than 6 h are removed.
   */
  static async open(opts: { dataDir: string; settleAfterMs?: number }): Promise<LanceAssetCatalogue> {
    const dir = resolve(join(opts.dataDir, 'catalogue'));
    mkdirSync(dir, { recursive: true });
    const db = await lancedb.connect(dir, { readConsistencyInterval: 0 });
    const table = await db.createEmptyTable(TABLE, SCHEMA, { mode: 'create', existOk: true });
    return new LanceAssetCatalogue(db, table, dir, opts.settleAfterMs ?? 10_000);
  }

  /** Fragments and rows of the table (the compaction's effect, for tests and benchmarks). */
  async storageStats(): Promise<{ fragments: number; rows: number }> {
    const s = await this.table.stats();
    return { fragments: s.fragmentStats.numFragments, rows: s.numRows };
  }

  /** Waits until the compaction due once writes stopped (`settleAfterMs` after the last) has run. */
  async settled(): Promise<void> {
    await this.settling?.promise;
    await this.compacting;
  }

  private written(): void {
    if (this.settleAfterMs <= 0) return;
    if (++this.writes % COMPACT_EVERY_WRITES === 0) void this.compact();
    clearTimeout(this.settleTimer);
    let done = this.settling?.done;
    const promise = this.settling?.promise ?? new Promise<void>((r) => (done = r));
    this.settling = { promise, done: done! };
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      const settling = this.settling;
      this.settling = undefined;
      // A compaction already running may predate the last write: the settling one runs after it.
      void (this.compacting ?? Promise.resolve()).then(() => this.compact()).finally(() => settling?.done());
    }, this.settleAfterMs);
    // A pending compaction never keeps a process alive.
    this.settleTimer.unref();
  }

  /** One compaction at a time, in the background; a failure (another process's commit won) waits for the next. */
  private compact(): Promise<void> {
    if (this.compacting) return this.compacting;
    return (this.compacting = this.table
      .optimize({ cleanupOlderThan: new Date(Date.now() - VERSION_RETENTION_MS) })
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => (this.compacting = undefined)));
  }

  async upsert(entries: CatalogueWrite[]): Promise<void> {
    validateWrites(entries);
    if (entries.length === 0) return;
    const now = new Date().toISOString();
    const rows = entries.map((e) => ({
      asset_id: e.assetId,
      path: e.path,
      content_hash: e.contentHash,
      updated_at: now,
    }));
    await retryConflicts(() =>
      this.table.mergeInsert('asset_id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(rows),
    );
    this.written();
  }

  async get(assetIds: string[]): Promise<CatalogueEntry[]> {
    const ids = validIds(assetIds);
    if (ids.length === 0) return [];
    const rows = (await this.table
      .query()
      .where(`asset_id IN (${sqlList(ids)})`)
      .toArray()) as Row[];
    return rows.map(toEntry);
  }

  async remove(assetIds: string[]): Promise<void> {
    const ids = validIds(assetIds);
    if (ids.length) {
      await retryConflicts(() => this.table.delete(`asset_id IN (${sqlList(ids)})`));
      this.written();
    }
  }

  count(): Promise<number> {
    return this.table.countRows();
  }

  async scroll(opts: { limit: number; cursor?: string | undefined }): Promise<CataloguePage> {
    const limit = validLimit(opts.limit);
    let version: number;
    let after: bigint | undefined;
    if (opts.cursor !== undefined) {
      ({ version, after } = parseSnapshotCursor(opts.cursor, 'catalogue'));
    } else {
      version = await this.table.version();
    }
    // Every page reads the version the scroll started at (a consistent snapshot), in row-id order.
    const snapshot = await this.db.openTable(TABLE);
    await snapshot.checkout(version);
    try {
      const rows = (await snapshot
        .query()
        .withRowId()
        .where(after === undefined ? '_rowid >= 0' : `_rowid > ${after.toString()}`)
        .limit(limit)
        .toArray()) as (Row & { _rowid: bigint })[];
      rows.sort((a, b) => (a._rowid < b._rowid ? -1 : a._rowid > b._rowid ? 1 : 0));
      const last = rows.at(-1);
      return {
        entries: rows.map(toEntry),
        next: rows.length === limit && last ? formatSnapshotCursor(version, last._rowid) : undefined,
      };
    } finally {
      snapshot.close();
    }
  }

  // The model state is one small document: a JSON file beside the table, replaced by rename (atomic on
  // one file system), with an exclusive lock file around the compare-and-set.
  private get statePath(): string {
    return join(this.location, 'model-state.json');
  }

  async readModelState(): Promise<ModelState | undefined> {
    let text: string;
    try {
      text = await readFile(this.statePath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return parseModelState(JSON.parse(text), this.statePath);
  }

  async writeModelState(next: ModelStateWrite, expectedVersion: number): Promise<ModelState> {
    const lock = `${this.statePath}.lock`;
    const handle = await open(lock, 'wx').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') throw modelStateConflict(expectedVersion, -1);
      throw err;
    });
    try {
      const found = (await this.readModelState())?.version ?? 0;
      if (found !== expectedVersion) throw modelStateConflict(expectedVersion, found);
      const state: ModelState = { ...next, version: expectedVersion + 1, updated_at: new Date().toISOString() };
      const tmp = `${this.statePath}.${process.pid}.tmp`;
      const f = await open(tmp, 'w');
      try {
        await f.writeFile(`${JSON.stringify(state, null, 2)}\n`);
        await f.sync();
      } finally {
        await f.close();
      }
      await rename(tmp, this.statePath);
      return state;
    } finally {
      await handle.close();
      await rm(lock, { force: true });
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.settleTimer);
    this.settling?.done();
    this.settling = undefined;
    await this.compacting;
    this.table.close();
    this.db.close();
  }
}
