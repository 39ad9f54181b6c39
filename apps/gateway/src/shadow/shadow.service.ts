import type { Logger } from '@image-search/service-kit';
import type { RegisteredModel } from '@image-search/model-registry';
import type { SearchFilters } from '../search/search.service.js';
import type { PairSearch } from './pair-search.js';
import { OVERLAP_DEPTH, overlapAt, rankBiasedOverlap } from './list-overlap.js';
import type { ShadowMetrics } from './shadow.metrics.js';
import { ShadowStats, type ShadowPairSummary } from './shadow-stats.js';

/** SHADOW_* settings. */
export interface ShadowSettings {
  /** Share of live text searches (0..100) repeated on the other model. */
  percentage: number;
  /** Shadow searches in flight at once in this replica; more are skipped (`concurrency`). */
  maxConcurrency: number;
  /** Shadow searches per second at most in this replica (token bucket); more are skipped (`budget`). */
  maxPerSecond: number;
  /** Deadline of a shadow embed call. */
  deadlineMs: number;
  /**
   * How long a scheduled shadow search waits for this replica to have no user search in flight before
   * it gives up (`busy`): user searches go first, the shadow takes the idle time between them.
   */
  idleWaitMs: number;
}

/** The search a user made and what they got (the primary arm). */
export interface ShadowRequest {
  query: string;
  limit: number;
  offset: number;
  filters?: SearchFilters | undefined;
  minScore?: number | undefined;
  /** The collection that answered (names the answering model in the registry). */
  collection: string;
  resultIds: string[];
  latencyMs: number;
}

/** The admin API's shadow summary. */
export interface ShadowSummary {
  settings: {
    percentage: number;
    max_concurrency: number;
    max_per_second: number;
    deadline_ms: number;
    idle_wait_ms: number;
  };
  in_flight: number;
  skipped: Record<string, number>;
  pairs: ShadowPairSummary[];
}

/**
 * Shadow comparison: after a text search's answer is sent, a SHADOW_PERCENTAGE share of them is run
 * again on the other model of the rollout pair (its embedder, then its collection), and the two top-10
 * lists are compared (Jaccard overlap, rank-biased overlap, zero results, latency). The user's request
 * never waits for it: `afterAnswer` only samples and schedules; a scheduled shadow search starts only
 * while no user search is in flight here (else it waits up to idleWaitMs, then is skipped as `busy`);
 * the work is bounded by a concurrency cap and a per-second budget (excess is skipped and counted), and
 * every failure is swallowed and counted.
 */
export class ShadowService {
  private inFlight = 0;
  private tokens: number;
  private refilledAt = performance.now();
  private readonly running = new Set<Promise<void>>();
  private readonly skippedCounts: Record<string, number> = {};
  private userInFlight = 0;
  private idleWaiters: (() => void)[] = [];
  readonly stats = new ShadowStats();

  constructor(
    private readonly deps: {
      /** The other arm's search (its embedder, then its collection). */
      pair: PairSearch;
      metrics: ShadowMetrics;
      logger: Logger;
      settings: ShadowSettings;
      random?: () => number;
    },
  ) {
    this.tokens = deps.settings.maxPerSecond;
  }

  /** Whether any search is shadowed. */
  get enabled(): boolean {
    return this.deps.settings.percentage > 0;
  }

  private skip(reason: string): void {
    this.skippedCounts[reason] = (this.skippedCounts[reason] ?? 0) + 1;
    this.deps.metrics.skipped.inc({ reason });
  }

  private takeToken(): boolean {
    const now = performance.now();
    const rate = this.deps.settings.maxPerSecond;
    this.tokens = Math.min(rate, this.tokens + ((now - this.refilledAt) / 1000) * rate);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** A user search started (the router calls it; shadow work waits until none is in flight). */
  userBegin(): () => void {
    this.userInFlight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.userInFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    };
  }

  /** Resolves true once no user search is in flight, false after `ms`. */
  private idle(ms: number): Promise<boolean> {
    if (this.userInFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== waiter);
        resolve(false);
      }, ms);
      this.idleWaiters.push(waiter);
    });
  }

  /** Called once the answer has been sent: samples, checks the bounds, schedules. Never throws, never blocks. */
  afterAnswer(req: ShadowRequest): void {
    try {
      const { percentage, maxConcurrency } = this.deps.settings;
      if (percentage <= 0 || (this.deps.random ?? Math.random)() * 100 >= percentage) return;
      // Page 2 of one model and page 2 of another are not comparable lists.
      if (req.offset > 0) return this.skip('paged');
      const arms = this.deps.pair.arms(req.collection);
      if (!arms) return this.skip('no_pair');
      if (!this.deps.pair.canEmbed(arms.other)) return this.skip('no_embedder');
      if (this.inFlight >= maxConcurrency) return this.skip('concurrency');
      if (!this.takeToken()) return this.skip('budget');
      this.inFlight++;
      const job: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => this.idle(this.deps.settings.idleWaitMs))
        .then((idle) => (idle ? this.compare(req, arms.primary, arms.other) : this.skip('busy')))
        .finally(() => {
          this.inFlight--;
          this.running.delete(job);
        });
      this.running.add(job);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'shadow comparison not scheduled');
    }
  }

  private async compare(req: ShadowRequest, primary: RegisteredModel, shadow: RegisteredModel): Promise<void> {
    const m = this.deps.metrics;
    const depth = Math.min(OVERLAP_DEPTH, req.limit);
    const primaryIds = req.resultIds.slice(0, depth);
    const labels = { primary: primary.id, shadow: shadow.id };
    const t0 = performance.now();
    try {
      const hits = await this.deps.pair.search(
        shadow,
        { query: req.query, limit: depth, filters: req.filters, minScore: req.minScore },
        this.deps.settings.deadlineMs,
      );
      const shadowMs = performance.now() - t0;
      const shadowIds = hits.map((h) => h.assetId);
      const overlap = overlapAt(primaryIds, shadowIds, depth);
      const rbo = rankBiasedOverlap(primaryIds, shadowIds, 0.9, depth);
      m.comparisons.inc(labels);
      m.overlap.observe(labels, overlap);
      m.rbo.observe(labels, rbo);
      m.latency.observe({ model: primary.id, role: 'primary' }, req.latencyMs / 1000);
      m.latency.observe({ model: shadow.id, role: 'shadow' }, shadowMs / 1000);
      if (primaryIds.length === 0) m.zeroResults.inc({ model: primary.id, role: 'primary' });
      if (shadowIds.length === 0) m.zeroResults.inc({ model: shadow.id, role: 'shadow' });
      this.stats.record(primary.id, shadow.id, {
        overlap,
        rbo,
        primaryZero: primaryIds.length === 0,
        shadowZero: shadowIds.length === 0,
        primaryMs: req.latencyMs,
        shadowMs,
        at: Date.now(),
      });
    } catch (err) {
      m.errors.inc({ model: shadow.id });
      this.stats.record(primary.id, shadow.id, {
        overlap: 0,
        rbo: 0,
        primaryZero: primaryIds.length === 0,
        shadowZero: true,
        primaryMs: req.latencyMs,
        shadowMs: undefined,
        at: Date.now(),
      });
      this.deps.logger.debug({ err: (err as Error).message, model: shadow.id }, 'shadow search failed');
    }
  }

  /** Waits for the shadow searches in flight (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }

  /** Settings, skips and each pair's recent figures. */
  summary(): ShadowSummary {
    const s = this.deps.settings;
    return {
      settings: {
        percentage: s.percentage,
        max_concurrency: s.maxConcurrency,
        max_per_second: s.maxPerSecond,
        deadline_ms: s.deadlineMs,
        idle_wait_ms: s.idleWaitMs,
      },
      in_flight: this.inFlight,
      skipped: { ...this.skippedCounts },
      pairs: this.stats.summary(),
    };
  }
}
