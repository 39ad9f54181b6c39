import { isAppError } from '@image-search/service-kit';
import type { StoredPoint, VectorStore } from '@image-search/vector-store';

interface Pending {
  ids: Set<string>;
  waiters: { resolve: (m: Map<string, StoredPoint>) => void; reject: (err: unknown) => void }[];
}

interface Lane {
  pending: Pending | undefined;
  inFlight: number;
}

/**
 * Lookups by id, coalesced: each engine query pays a fixed cost (planning, and on the event loop its start
 * and the decoding of its answer) whatever its size, so the lookups of many requests share one `retrieve`.
 * At most `maxInFlight` queries per collection run at once; lookups that arrive meanwhile wait for the next
 * one, so under load a batch holds what arrived during one query, and an idle reader answers at once (the
 * first lookup waits only for the end of the event loop's turn). A lookup always goes into a query started
 * after it was asked, so it sees every write finished before it. Errors (a missing collection is NOT_FOUND)
 * reach every caller of the batch. Nothing is cached.
 */
export class PointReader {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    private readonly store: Pick<VectorStore, 'retrieve'>,
    /** Most ids in one store call (the engine's IN-list grows the query's cost past a few hundred). */
    private readonly maxBatch = 256,
    private readonly maxInFlight = 2,
  ) {}

  /** The points of these ids that exist in the collection, in the order asked (missing ids left out). */
  async get(collection: string, ids: string[], opts: { withVectors?: boolean } = {}): Promise<StoredPoint[]> {
    if (ids.length === 0) return [];
    const withVectors = opts.withVectors === true;
    if (ids.length > this.maxBatch) return this.retrieve(collection, ids, withVectors);
    const key = `${withVectors ? 'v' : 'p'}:${collection}`;
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { pending: undefined, inFlight: 0 }));
    if (lane.pending && lane.pending.ids.size + ids.length > this.maxBatch) this.flush(lane, collection, withVectors);
    if (!lane.pending) {
      lane.pending = { ids: new Set(), waiters: [] };
      const l = lane;
      setImmediate(() => {
        if (l.inFlight < this.maxInFlight) this.flush(l, collection, withVectors);
      });
    }
    const batch = lane.pending;
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

  private flush(lane: Lane, collection: string, withVectors: boolean): void {
    const p = lane.pending;
    if (!p) return;
    lane.pending = undefined;
    lane.inFlight++;
    this.retrieve(collection, [...p.ids], withVectors)
      .then(
        (points) => {
          const m = new Map(points.map((pt) => [pt.assetId, pt]));
          for (const w of p.waiters) w.resolve(m);
        },
        (err: unknown) => {
          for (const w of p.waiters) w.reject(err);
        },
      )
      .finally(() => {
        lane.inFlight--;
        // What arrived while this query ran goes next.
        if (lane.pending && lane.inFlight < this.maxInFlight) this.flush(lane, collection, withVectors);
      });
  }

  private retrieve(collection: string, ids: string[], withVectors: boolean): Promise<StoredPoint[]> {
    return this.store.retrieve(collection, ids, withVectors ? { withVectors: true } : {});
  }
}
