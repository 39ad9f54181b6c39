import { randomInt } from 'node:crypto';
import { BUCKETS, bucketOf } from './bucket.js';
import type { CoverageSnapshot } from './coverage-monitor.js';
import type { RolloutFlags } from './flags.js';

/** The embedding model family a request is served with. */
export type RolloutModel = 'clip' | 'siglip';

/** Why a request got its model. `fallback:<why>` means SigLIP was chosen but CLIP answers. */
export type RolloutReason =
  'forced' | 'bucket_below_percentage' | 'bucket_above_percentage' | `fallback:${FallbackWhy}`;

/** Why a SigLIP-routed request was served by CLIP. */
export type FallbackWhy =
  | 'siglip_collection_missing'
  | 'siglip_coverage_below_minimum'
  | 'coverage_unknown'
  | 'siglip_embedder_unavailable'
  | 'siglip_embedder_error'
  | 'siglip_not_configured';

/** Where one model is served: its collection and its embedder. */
export interface RouteTarget {
  collection: string;
  /** The embedder's address (host:port) or name. */
  embedder: string;
}

/** The routing decision for one request. */
export interface RolloutDecision {
  model: RolloutModel;
  collection: string;
  embedder: string;
  /** The bucket (0..99); with USE_SIGLIP the bucket is still computed, for the logs. */
  bucket: number;
  reason: RolloutReason;
  /** Whether the bucket came from a user id, an anonymous session id, or was random. */
  bucketSource: 'user_id' | 'session_id' | 'random';
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
  /** False while the SigLIP embedder's circuit breaker is open. */
  siglipAvailable?: () => boolean;
  targets: { clip: RouteTarget; siglip: RouteTarget | undefined };
  /** Random bucket source for anonymous requests (tests inject one). */
  random?: () => number;
}

/**
 * Routes each search to CLIP or SigLIP. SigLIP only when the flags choose it AND its collection
 * is ready (exists, coverage ≥ SIGLIP_MIN_COVERAGE, embedder not known down); otherwise CLIP with
 * `fallback:<why>`, so turning SigLIP on before re-embedding never serves empty results.
 */
export class RolloutRouter {
  constructor(private readonly deps: RouterDeps) {}

  /** Decides the model for one request (pure in-memory work). */
  decide(subject: RolloutSubject = {}): RolloutDecision {
    const { bucket, bucketSource } = this.bucketFor(subject);
    const flags = this.deps.flags();
    let wantSiglip: boolean;
    let reason: RolloutReason;
    if (flags.useSiglip) {
      wantSiglip = true;
      reason = 'forced';
    } else if (bucket < flags.percentage) {
      wantSiglip = true;
      reason = 'bucket_below_percentage';
    } else {
      wantSiglip = false;
      reason = 'bucket_above_percentage';
    }
    if (!wantSiglip) return this.clip(bucket, bucketSource, reason);
    const why = this.siglipBlocker(flags);
    if (why) return this.clip(bucket, bucketSource, `fallback:${why}`);
    const siglip = this.deps.targets.siglip as RouteTarget;
    return { model: 'siglip', collection: siglip.collection, embedder: siglip.embedder, bucket, reason, bucketSource };
  }

  /** The same request re-routed to CLIP (e.g. the SigLIP embedder failed mid-request). */
  fallbackToClip(decision: RolloutDecision, why: FallbackWhy): RolloutDecision {
    return this.clip(decision.bucket, decision.bucketSource, `fallback:${why}`);
  }

  /** Why SigLIP cannot be served now, or undefined when it can. */
  siglipBlocker(flags: RolloutFlags = this.deps.flags()): FallbackWhy | undefined {
    if (!this.deps.targets.siglip) return 'siglip_not_configured';
    const cov = this.deps.coverage();
    if (cov.refreshedAt === undefined) return 'coverage_unknown';
    if (!cov.siglipExists) return 'siglip_collection_missing';
    if (cov.coverage < flags.minCoverage) return 'siglip_coverage_below_minimum';
    if (this.deps.siglipAvailable && !this.deps.siglipAvailable()) return 'siglip_embedder_unavailable';
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

  private clip(bucket: number, bucketSource: RolloutDecision['bucketSource'], reason: RolloutReason): RolloutDecision {
    const clip = this.deps.targets.clip;
    return { model: 'clip', collection: clip.collection, embedder: clip.embedder, bucket, reason, bucketSource };
  }
}
