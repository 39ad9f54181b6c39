import type { RouterLogger } from './flags-source.js';

/** The part of the vector store the coverage gate reads (structurally the VectorStore port). */
export interface CollectionCounter {
  exists(collection: string): Promise<boolean>;
  count(collection: string): Promise<number>;
}

/** Cached counts of the pair's two collections. */
export interface CoverageSnapshot {
  /** Registry ids of the pair the counts are for. */
  fromModel: string;
  /** Empty between migrations (no `to` model: nothing is rolled out). */
  toModel: string;
  fromCollection: string;
  toCollection: string;
  fromExists: boolean;
  toExists: boolean;
  fromPoints: number;
  toPoints: number;
  /** How many assets the asset catalogue holds (undefined without a catalogue). */
  catalogueAssets: number | undefined;
  /** What coverage is measured against: the catalogue (when it holds assets) or the `from` collection. */
  baseline: 'catalogue' | 'from';
  /**
   * toPoints / the baseline's count (1 when it is empty, 0 when the `to` collection is missing). Against
   * the catalogue, an asset the `from` model failed on still counts: the `to` model must cover it too.
   */
  coverage: number;
  /** When the counts were read; undefined until the first successful refresh. */
  refreshedAt: string | undefined;
  /** The last refresh error, if the last refresh failed (the previous counts are kept). */
  lastError: string | undefined;
}

/** The pair whose collections are counted (read at every refresh, so a pair that moves on is followed). */
export interface CoveragePair {
  from: { model: string; collection: string };
  /** Undefined between migrations. */
  to: { model: string; collection: string } | undefined;
}

/**
 * Keeps the pair's point counts in memory, refreshed in the background every `intervalMs`, so the
 * readiness gate costs a field read per request and never a store call.
 */
export class CoverageMonitor {
  private snap: CoverageSnapshot;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<CoverageSnapshot> | undefined;

  constructor(
    private readonly store: CollectionCounter,
    private readonly pair: () => CoveragePair,
    private readonly opts: {
      intervalMs?: number;
      logger?: RouterLogger;
      /** The asset catalogue's count (which assets exist); 0 (an installation from before it) falls back to `from`. */
      catalogueCount?: () => Promise<number>;
    } = {},
  ) {
    const p = pair();
    this.snap = {
      fromModel: p.from.model,
      toModel: p.to?.model ?? '',
      fromCollection: p.from.collection,
      toCollection: p.to?.collection ?? '',
      fromExists: false,
      toExists: false,
      fromPoints: 0,
      toPoints: 0,
      catalogueAssets: undefined,
      baseline: 'from',
      coverage: 0,
      refreshedAt: undefined,
      lastError: undefined,
    };
  }

  /** The cached counts (no I/O). */
  get snapshot(): CoverageSnapshot {
    return this.snap;
  }

  /** Refreshes once now, then every `intervalMs` in the background. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.opts.intervalMs ?? 5000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads the counts now (concurrent callers share one read); failures keep the old counts. */
  refresh(): Promise<CoverageSnapshot> {
    this.inFlight ??= this.read().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async read(): Promise<CoverageSnapshot> {
    const p = this.pair();
    try {
      const [fromExists, toExists] = await Promise.all([
        this.store.exists(p.from.collection),
        p.to ? this.store.exists(p.to.collection) : false,
      ]);
      const [fromPoints, toPoints, catalogueAssets] = await Promise.all([
        fromExists ? this.store.count(p.from.collection) : 0,
        toExists && p.to ? this.store.count(p.to.collection) : 0,
        this.opts.catalogueCount?.(),
      ]);
      const baseline = catalogueAssets ? 'catalogue' : 'from';
      const of = catalogueAssets || fromPoints;
      const coverage = !toExists ? 0 : of === 0 ? 1 : toPoints / of;
      this.snap = {
        fromModel: p.from.model,
        toModel: p.to?.model ?? '',
        fromCollection: p.from.collection,
        toCollection: p.to?.collection ?? '',
        fromExists,
        toExists,
        fromPoints,
        toPoints,
        catalogueAssets,
        baseline,
        coverage,
        refreshedAt: new Date().toISOString(),
        lastError: undefined,
      };
    } catch (err) {
      const message = (err as Error).message;
      if (this.snap.lastError !== message)
        this.opts.logger?.warn({ err: message }, 'coverage refresh failed; keeping the previous counts');
      this.snap = { ...this.snap, lastError: message };
    }
    return this.snap;
  }
}
