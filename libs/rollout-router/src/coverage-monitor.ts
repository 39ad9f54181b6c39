import type { RouterLogger } from './flags-source.js';

/** The part of the vector store the coverage gate reads (structurally the VectorStore port). */
export interface CollectionCounter {
  exists(collection: string): Promise<boolean>;
  count(collection: string): Promise<number>;
}

/** Cached counts of the two collections. */
export interface CoverageSnapshot {
  clipCollection: string;
  siglipCollection: string;
  clipExists: boolean;
  siglipExists: boolean;
  clipPoints: number;
  siglipPoints: number;
  /** siglipPoints / clipPoints (1 when both are empty, 0 when SigLIP is missing). */
  coverage: number;
  /** When the counts were read; undefined until the first successful refresh. */
  refreshedAt: string | undefined;
  /** The last refresh error, if the last refresh failed (the previous counts are kept). */
  lastError: string | undefined;
}

/**
 * Keeps the collections' point counts in memory, refreshed in the background every
 * `intervalMs`, so the readiness gate costs a field read per request and never a store call.
 */
export class CoverageMonitor {
  private snap: CoverageSnapshot;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<CoverageSnapshot> | undefined;

  constructor(
    private readonly store: CollectionCounter,
    private readonly collections: { clip: string; siglip: string },
    private readonly opts: { intervalMs?: number; logger?: RouterLogger } = {},
  ) {
    this.snap = {
      clipCollection: collections.clip,
      siglipCollection: collections.siglip,
      clipExists: false,
      siglipExists: false,
      clipPoints: 0,
      siglipPoints: 0,
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
    try {
      const [clipExists, siglipExists] = await Promise.all([
        this.store.exists(this.collections.clip),
        this.store.exists(this.collections.siglip),
      ]);
      const [clipPoints, siglipPoints] = await Promise.all([
        clipExists ? this.store.count(this.collections.clip) : 0,
        siglipExists ? this.store.count(this.collections.siglip) : 0,
      ]);
      const coverage = !siglipExists ? 0 : clipPoints === 0 ? 1 : siglipPoints / clipPoints;
      this.snap = {
        ...this.snap,
        clipExists,
        siglipExists,
        clipPoints,
        siglipPoints,
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
