import { describe, expect, it } from 'vitest';
import type { CoverageSnapshot } from './coverage-monitor.js';
import { DEFAULT_FLAGS, type RolloutFlags } from './flags.js';
import { RolloutRouter } from './rollout-router.js';

const ready: CoverageSnapshot = {
  fromModel: 'clip-a',
  toModel: 'siglip-b',
  fromCollection: 'clip',
  toCollection: 'siglip',
  fromExists: true,
  toExists: true,
  fromPoints: 100,
  toPoints: 100,
  catalogueAssets: undefined,
  baseline: 'from',
  coverage: 1,
  refreshedAt: '2026-01-01T00:00:00Z',
  lastError: undefined,
};

function router(
  flags: Partial<RolloutFlags>,
  cov: Partial<CoverageSnapshot> = {},
  extra: { available?: (id: string) => boolean; random?: () => number } = {},
) {
  return new RolloutRouter({
    flags: () => ({ ...DEFAULT_FLAGS, ...flags }),
    coverage: () => ({ ...ready, ...cov }),
    pair: () => ({ from: CLIP, to: SIGLIP }),
    ...extra,
  });
}

const CLIP = { model: 'clip-a', family: 'clip', collection: 'clip', embedder: 'clip:1' } as const;
const SIGLIP = { model: 'siglip-b', family: 'siglip', collection: 'siglip', embedder: 'siglip:2' } as const;

describe('RolloutRouter', () => {
  it('with 10%: user 23 → bucket 23 → CLIP (the seed got this wrong); user 5 → SigLIP; user 87 → CLIP', () => {
    const r = router({ percentage: 10 });
    expect(r.decide({ userId: 23 })).toMatchObject({
      model: 'clip-a',
      collection: 'clip',
      embedder: 'clip:1',
      bucket: 23,
      reason: 'bucket_above_percentage',
      bucketSource: 'user_id',
    });
    expect(r.decide({ userId: 5 })).toMatchObject({
      model: 'siglip-b',
      collection: 'siglip',
      embedder: 'siglip:2',
      bucket: 5,
      reason: 'bucket_below_percentage',
    });
    expect(r.decide({ userId: 87 })).toMatchObject({ model: 'clip-a', bucket: 87 });
    expect(r.decide({ userId: 10 })).toMatchObject({ model: 'clip-a', bucket: 10 }); // bucket < percentage, strictly
    expect(r.decide({ userId: 9 })).toMatchObject({ model: 'siglip-b', bucket: 9 });
  });
  it('0% is all CLIP and 100% is all SigLIP', () => {
    for (let u = 0; u < 100; u++) {
      expect(router({ percentage: 0 }).decide({ userId: u }).model).toBe('clip-a');
      expect(router({ percentage: 100 }).decide({ userId: u }).model).toBe('siglip-b');
    }
  });
  it('USE_SIGLIP forces SigLIP and ignores the percentage', () => {
    expect(router({ useSiglip: true, percentage: 0 }).decide({ userId: 99 })).toMatchObject({
      model: 'siglip-b',
      reason: 'forced',
      bucket: 99,
    });
  });
  it('falls back to CLIP when SigLIP is not ready, and says why', () => {
    expect(router({ useSiglip: true }, { toExists: false, coverage: 0 }).decide({ userId: 1 })).toMatchObject({
      model: 'clip-a',
      collection: 'clip',
      reason: 'fallback:target_collection_missing',
    });
    expect(router({ useSiglip: true }, { toPoints: 99, coverage: 0.99 }).decide({ userId: 1 })).toMatchObject({
      model: 'clip-a',
      reason: 'fallback:target_coverage_below_minimum',
    });
    expect(
      router({ useSiglip: true, minCoverage: 0.95 }, { toPoints: 99, coverage: 0.99 }).decide({ userId: 1 }).model,
    ).toBe('siglip-b');
    expect(router({ useSiglip: true }, { refreshedAt: undefined }).decide({ userId: 1 }).reason).toBe(
      'fallback:coverage_unknown',
    );
    expect(router({ useSiglip: true }, {}, { available: (id) => id !== 'siglip-b' }).decide({ userId: 1 }).reason).toBe(
      'fallback:target_embedder_unavailable',
    );
    const noSiglip = new RolloutRouter({
      flags: () => ({ ...DEFAULT_FLAGS, useSiglip: true }),
      coverage: () => ready,
      pair: () => ({ from: CLIP, to: undefined }),
    });
    expect(noSiglip.decide({ userId: 1 }).reason).toBe('fallback:target_not_configured');
  });
  it('never falls back for requests that CLIP serves anyway', () => {
    expect(router({ percentage: 10 }, { toExists: false }).decide({ userId: 50 }).reason).toBe(
      'bucket_above_percentage',
    );
  });
  it('buckets anonymous sessions like user ids and gives other anonymous requests a random bucket', () => {
    const r = router({ percentage: 50 }, {}, { random: () => 0.421 });
    expect(r.decide({ sessionId: '7' })).toMatchObject({ bucket: 7, bucketSource: 'session_id', model: 'siglip-b' });
    const s = r.decide({ sessionId: 'sess-abc' });
    expect(r.decide({ sessionId: 'sess-abc' }).bucket).toBe(s.bucket);
    expect(r.decide({})).toMatchObject({ bucket: 42, bucketSource: 'random', model: 'siglip-b' });
    expect(r.decide({ userId: '', sessionId: '' }).bucketSource).toBe('random');
    expect(r.decide({ userId: 77, sessionId: '7' })).toMatchObject({ bucket: 77, bucketSource: 'user_id' });
    const real = router({ percentage: 50 });
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) seen.add(real.decide({}).bucket);
    expect(seen.size).toBeGreaterThan(50);
  });
  it('re-routes a decision to CLIP with a reason', () => {
    const r = router({ useSiglip: true });
    const d = r.decide({ userId: 3 });
    expect(r.fallback(d, 'target_embedder_error')).toMatchObject({
      model: 'clip-a',
      collection: 'clip',
      bucket: 3,
      reason: 'fallback:target_embedder_error',
    });
  });
  it('routes between any two registered models, and follows a pair that moves on', () => {
    const third = {
      model: 'siglip2-b16-224',
      family: 'siglip',
      collection: 'image_assets_siglip2',
      embedder: 's2:3',
    } as const;
    let pair: { from: typeof CLIP | typeof SIGLIP; to: typeof SIGLIP | typeof third } = { from: CLIP, to: SIGLIP };
    const r = new RolloutRouter({
      flags: () => ({ ...DEFAULT_FLAGS, percentage: 50 }),
      coverage: () => ready,
      pair: () => pair,
    });
    expect(r.decide({ userId: 7 })).toMatchObject({ model: 'siglip-b', role: 'to', family: 'siglip' });
    expect(r.decide({ userId: 70 })).toMatchObject({ model: 'clip-a', role: 'from', family: 'clip' });
    pair = { from: SIGLIP, to: third };
    expect(r.decide({ userId: 7 })).toMatchObject({
      model: 'siglip2-b16-224',
      role: 'to',
      collection: 'image_assets_siglip2',
      embedder: 's2:3',
    });
    expect(r.decide({ userId: 70 })).toMatchObject({ model: 'siglip-b', role: 'from', collection: 'siglip' });
    expect(r.fallback(r.decide({ userId: 7 }), 'target_embedder_error')).toMatchObject({
      model: 'siglip-b',
      role: 'from',
    });
  });
  it('re-routes a from-model decision to the to model when its embedder is down, only while the to model could serve it', () => {
    const d = router({ percentage: 0 }).decide({ userId: 42 });
    expect(d).toMatchObject({ model: 'clip-a', role: 'from' });
    expect(router({ percentage: 0 }).fallbackToTarget(d)).toMatchObject({
      model: 'siglip-b',
      role: 'to',
      collection: 'siglip',
      bucket: 42,
      reason: 'fallback:source_embedder_error',
    });
    expect(router({}, { toPoints: 50, coverage: 0.5 }).fallbackToTarget(d)).toBeUndefined();
    expect(router({}, { toExists: false }).fallbackToTarget(d)).toBeUndefined();
    expect(router({}, {}, { available: (id) => id !== 'siglip-b' }).fallbackToTarget(d)).toBeUndefined();
    expect(router({ useSiglip: true }).fallbackToTarget(router({ useSiglip: true }).decide({}))).toBeUndefined();
  });
  it('with COVERAGE_MODE=blend, a `to` model below its coverage minimum is blended instead of falling back', () => {
    const make = (mode: 'gate' | 'blend', available = true) =>
      new RolloutRouter({
        flags: () => ({ ...DEFAULT_FLAGS, percentage: 50 }),
        coverage: () => ({ ...ready, toPoints: 40, coverage: 0.4 }),
        pair: () => ({ from: CLIP, to: SIGLIP }),
        available: () => available,
        coverageMode: () => mode,
      });
    expect(make('gate').decide({ userId: 7 })).toMatchObject({
      model: 'clip-a',
      reason: 'fallback:target_coverage_below_minimum',
    });
    expect(make('gate').decide({ userId: 7 }).blend).toBeUndefined();
    expect(make('blend').decide({ userId: 7 })).toMatchObject({
      model: 'siglip-b',
      role: 'to',
      reason: 'bucket_below_percentage',
      blend: { from: CLIP, coverage: 0.4 },
    });
    // Users outside the bucket, and a `to` embedder that is down, are not blended.
    expect(make('blend').decide({ userId: 70 })).toMatchObject({ model: 'clip-a', reason: 'bucket_above_percentage' });
    expect(make('blend', false).decide({ userId: 7 }).reason).toBe('fallback:target_coverage_below_minimum');
  });
});
