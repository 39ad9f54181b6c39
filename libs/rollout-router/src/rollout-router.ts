import { randomInt } from 'node:crypto';
import type { ModelFamily } from '@image-search/collection-schema';
import { BUCKETS, bucketOf } from './bucket.js';
import type { CoverageSnapshot } from './coverage-monitor.js';
import type { RolloutFlags } from './flags.js';

/** Which side of the rollout pair answers: the model serving today (`from`) or the one rolled out (`to`). */
export type RolloutRole = 'from' | 'to';

/**
 * Why a request got its model. `fallback:<why>` means the chosen model could not serve it and the other
 * one of the pair answers: the `to` model chosen but the `from` model answers, or (`source_embedder_error`)
 * the `from` model's embedder down and the `to` model answers.
 */
export type RolloutReason =
  'forced' | 'bucket_below_percentage' | 'bucket_above_percentage' | `fallback:${FallbackWhy}`;

/**
 * Why a request routed to the `to` model was served by the `from` model. Generic over the pair; the
 * seed's names (`siglip_collection_missing`, …) became these when the router learned registry ids.
 */
export type FallbackWhy =
  | 'target_collection_missing'
  | 'target_coverage_below_minimum'
  | 'coverage_unknown'
  | 'target_embedder_unavailable'
  | 'target_embedder_error'
  | 'target_not_configured'
  | 'source_embedder_error';

/** Where one registered model is served: its registry id, family, collection and embedder. */
export interface RouteTarget {
  /** Registry model id (e.g. `clip-vit-b32-openai`). */
  model: string;
  family: ModelFamily;
  collection: string;
  /** The embedder's address (host:port) or name. */
  embedder: string;
}

/** The two models routed between; `to` is undefined when its embedder is not configured. */
export interface RoutePair {
  from: RouteTarget;
  to: RouteTarget | undefined;
}

/** The routing decision for one request. */
export interface RolloutDecision {
  /** Registry id of the model that answers. */
  model: string;
  family: ModelFamily;
  role: RolloutRole;
  collection: string;
  embedder: string;
  /** The bucket (0..99); when forced the bucket is still computed, for the logs. */
  bucket: number;
  reason: RolloutReason;
  /** Whether the bucket came from a user id, an anonymous session id, or was random. */
  bucketSource: 'user_id' | 'session_id' | 'random';
  /**
   * Set (COVERAGE_MODE=blend) when the `to` model was chosen but only its coverage is below the minimum:
   * the search blends its results over the assets it covers with the `from` model's over the rest.
   */
  blend?: { from: RouteTarget; coverage: number } | undefined;
}

/** Who is asking: a user id, or an anonymous session id, or neither. */
export interface RolloutSubject {
  userId?: string | number | bigint | undefined;
  sessionId?: string | undefined;
}

/** Dependencies read per request; each must be an in-memory read (no I/O). */
export interface RouterDeps {
  flags: () => RolloutFlags;
  coverage: () => CoverageSnapshot;
  /** False while the embedder of this model (by id) is known down (circuit breaker open). */
  available?: (modelId: string) => boolean;
  /** The pair in effect (read per request, so a retirement that moves the pair on applies live). */
  pair: () => RoutePair;
  /** Random bucket source for anonymous requests (tests inject one). */
  random?: () => number;
  /** `blend`: below the coverage minimum, blend instead of falling back (COVERAGE_MODE; default `gate`). */
  coverageMode?: () => 'gate' | 'blend';
}

/**
 * Routes each search to one of two registered models. The `to` model only when the flags choose it
 * AND its collection is ready (exists, coverage ≥ the minimum, embedder not known down); otherwise the
 * `from` model with `fallback:<why>`, so turning the rollout on before re-embedding never serves
 * empty results.
 */
export class RolloutRouter {
  constructor(private readonly deps: RouterDeps) {}

  /** The pair routed between now. */
  get pair(): RoutePair {
    return this.deps.pair();
  }

  /** Decides the model for one request (pure in-memory work). */
  decide(subject: RolloutSubject = {}): RolloutDecision {
    const { bucket, bucketSource } = this.bucketFor(subject);
    const flags = this.deps.flags();
    const pair = this.deps.pair();
    let wantTo: boolean;
    let reason: RolloutReason;
    if (flags.useSiglip) {
      wantTo = true;
      reason = 'forced';
    } else if (bucket < flags.percentage) {
      wantTo = true;
      reason = 'bucket_below_percentage';
    } else {
      wantTo = false;
      reason = 'bucket_above_percentage';
    }
    if (!wantTo) return decision(pair.from, 'from', bucket, bucketSource, reason);
    const why = this.blocker(flags, pair);
    // Blend only where the sole blocker is coverage: the collection exists and its embedder is up.
    if (why === 'target_coverage_below_minimum' && pair.to && this.deps.coverageMode?.() === 'blend') {
      const unavailable = this.deps.available && !this.deps.available(pair.to.model);
      if (!unavailable)
        return {
          ...decision(pair.to, 'to', bucket, bucketSource, reason),
          blend: { from: pair.from, coverage: this.deps.coverage().coverage },
        };
    }
    if (why || !pair.to) return decision(pair.from, 'from', bucket, bucketSource, `fallback:${why!}`);
    return decision(pair.to, 'to', bucket, bucketSource, reason);
  }

  /** The same request re-routed to the `from` model (e.g. the `to` embedder failed mid-request). */
  fallback(d: RolloutDecision, why: FallbackWhy): RolloutDecision {
    return decision(this.deps.pair().from, 'from', d.bucket, d.bucketSource, `fallback:${why}`);
  }

  /**
   * The same request re-routed to the `to` model because the `from` model's embedder failed, or
   * undefined when the `to` model cannot serve it either (not configured, collection missing or below
   * the coverage minimum, embedder down): a covered `to` collection answers while the `from` embedder
   * restarts, whatever the rollout percentage.
   */
  fallbackToTarget(d: RolloutDecision): RolloutDecision | undefined {
    const pair = this.deps.pair();
    if (d.role === 'to' || this.blocker(this.deps.flags(), pair) || !pair.to) return undefined;
    return decision(pair.to, 'to', d.bucket, d.bucketSource, 'fallback:source_embedder_error');
  }

  /** Why the `to` model cannot be served now, or undefined when it can. */
  blocker(flags: RolloutFlags = this.deps.flags(), pair: RoutePair = this.deps.pair()): FallbackWhy | undefined {
    if (!pair.to) return 'target_not_configured';
    const cov = this.deps.coverage();
    if (cov.refreshedAt === undefined) return 'coverage_unknown';
    if (!cov.toExists) return 'target_collection_missing';
    if (cov.coverage < flags.minCoverage) return 'target_coverage_below_minimum';
    if (this.deps.available && !this.deps.available(pair.to.model)) return 'target_embedder_unavailable';
    return undefined;
  }

  private bucketFor(subject: RolloutSubject): { bucket: number; bucketSource: RolloutDecision['bucketSource'] } {
    const u = subject.userId;
    if (u !== undefined && !(typeof u === 'string' && u.trim() === ''))
      return { bucket: bucketOf(u), bucketSource: 'user_id' };
    const s = subject.sessionId;
    if (s !== undefined && s.trim() !== '') return { bucket: bucketOf(s), bucketSource: 'session_id' };
    const r = this.deps.random ? Math.floor(this.deps.random() * BUCKETS) : randomInt(BUCKETS);
    return { bucket: Math.min(BUCKETS - 1, Math.max(0, r)), bucketSource: 'random' };
  }
}

function decision(
  t: RouteTarget,
  role: RolloutRole,
  bucket: number,
  bucketSource: RolloutDecision['bucketSource'],
  reason: RolloutReason,
): RolloutDecision {
  return {
    model: t.model,
    family: t.family,
    role,
    collection: t.collection,
    embedder: t.embedder,
    bucket,
    reason,
    bucketSource,
  };
}
