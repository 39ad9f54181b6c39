import { isAppError } from '@image-search/service-kit';
import type { StoredPoint, VectorStore } from '@image-search/vector-store';

interface Pending {
  ids: Set<string>;
  waiters: { resolve: (m: Map<string, StoredPoint>) => void; reject: (err: unknown) => void }[];
}

/**
 * Lookups by id, coalesced: the lookups that arrive while one round trip to the store is being prepared
 * (the same turn of the event loop) share one `retrieve`. Each engine query pays a fixed planning cost
 * of a few ms of CPU whatever its size, so 32 clients' asset views cost one query instead of 32.
 * Errors (a missing collection is NOT_FOUND) reach every caller of the batch. Nothing is cached: every
 * answer is as fresh as the store's read.
 */
export class PointReader {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly store: Pick<VectorStore, 'retrieve'>,
    /** Most ids in one store call (the engine's IN-list grows the query's cost past a few hundred). */
    private readonly maxBatch = 256,
  ) {}

  /** The points of these ids that exist in the collection, in the order asked (missing ids left out). */
  async get(collection: string, ids: string[], opts: { withVectors?: boolean } = {}): Promise<StoredPoint[]> {
    if (ids.length === 0) return [];
    if (ids.length > this.maxBatch) return this.retrieve(collection, ids, opts.withVectors === true);
    const key = `${opts.withVectors ? 'v' : 'p'}:${collection}`;
    let p = this.pending.get(key);
    if (p && p.ids.size + ids.length > this.maxBatch) {
      this.flush(key, collection, opts.withVectors === true);
      p = undefined;
    }
    if (!p) {
      p = { ids: new Set(), waiters: [] };
      this.pending.set(key, p);
      const fresh = p;
      setImmediate(() => {
        if (this.pending.get(key) === fresh) this.flush(key, collection, opts.withVectors === true);
      });
    }
    const batch = p;
    for (const id of ids) batch.ids.add(id);
    const found = await new Promise<Map<string, StoredPoint>>((resolve, reject) =>
      batch.waiters.push({ resolve, reject }),
    );
    return ids.flatMap((id) => found.get(id) ?? []);
  }

  /** Like `get`, with a missing collection read as empty. */
  async getOrEmpty(collection: string, ids: string[], opts: { withVectors?: boolean } = {}): Promise<StoredPoint[]> {
    try {
      return await this.get(collection, ids, opts);
    } catch (err) {
      if (isAppError(err, 'NOT_FOUND')) return [];
      throw err;
    }
  }

  private flush(key: string, collection: string, withVectors: boolean): void {
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    this.retrieve(collection, [...p.ids], withVectors).then(
      (points) => {
        const m = new Map(points.map((pt) => [pt.assetId, pt]));
        for (const w of p.waiters) w.resolve(m);
      },
      (err: unknown) => {
        for (const w of p.waiters) w.reject(err);
      },
    );
  }

  private retrieve(collection: string, ids: string[], withVectors: boolean): Promise<StoredPoint[]> {
    return this.store.retrieve(collection, ids, withVectors ? { withVectors: true } : {});
  }
}
