import { describe, expect, it } from 'vitest';
import { loadModelRegistry } from '@image-search/model-registry';
import { PairSearch } from './pair-search.js';
import { overlapAt, rankBiasedOverlap } from './list-overlap.js';
import { ShadowStats } from './shadow-stats.js';

describe('list overlap (hand-computed)', () => {
  it('Jaccard of the first 10', () => {
    expect(overlapAt(['1', '2', '3', '4'], ['1', '2', '5', '6'])).toBeCloseTo(1 / 3, 12);
    expect(overlapAt(['1', '2', '3'], ['3', '2', '1'])).toBe(1);
    expect(overlapAt([], [])).toBe(1);
    expect(overlapAt(['1'], [])).toBe(0);
    const many = Array.from({ length: 12 }, (_, i) => String(i));
    expect(overlapAt(many, [...many.slice(0, 10), 'x', 'y'])).toBe(1);
  });

  it('rank-biased overlap weighs the top: one swap at ranks 2-3 of 3 gives (1 + 0.9/2 + 0.81) / 2.71', () => {
    expect(rankBiasedOverlap(['1', '2', '3'], ['1', '3', '2'])).toBeCloseTo((1 + 0.45 + 0.81) / 2.71, 12);
    expect(rankBiasedOverlap(['1', '2', '3'], ['1', '2', '3'])).toBeCloseTo(1, 12);
    expect(rankBiasedOverlap(['1', '2'], ['3', '4'])).toBe(0);
    expect(rankBiasedOverlap([], [])).toBe(1);
    expect(rankBiasedOverlap(['1'], [])).toBe(0);
    // A swap at the top costs more than the same swap lower down.
    const top = rankBiasedOverlap(['a', 'b', 'c', 'd'], ['b', 'a', 'c', 'd']);
    const low = rankBiasedOverlap(['a', 'b', 'c', 'd'], ['a', 'b', 'd', 'c']);
    expect(top).toBeLessThan(low);
  });
});

describe('ShadowStats', () => {
  it('summarises a pair over its window, failures counted apart', () => {
    const s = new ShadowStats(3);
    const base = { primaryZero: false, shadowZero: false, primaryMs: 10, at: Date.parse('2026-01-01T00:00:00Z') };
    s.record('a', 'b', { ...base, overlap: 0.2, rbo: 0.1, shadowMs: 20 });
    s.record('a', 'b', { ...base, overlap: 0.4, rbo: 0.3, shadowMs: 40, shadowZero: true });
    s.record('a', 'b', { ...base, overlap: 0, rbo: 0, shadowMs: undefined });
    s.record('a', 'b', { ...base, overlap: 0.6, rbo: 0.5, shadowMs: 60, primaryMs: 30 });
    const [p] = s.summary();
    // The window holds the last 3: the 2nd, the failed 3rd and the 4th.
    expect(p).toMatchObject({ primary: 'a', shadow: 'b', comparisons: 2, total: 4, errors: 1 });
    expect(p!.overlap_at_10).toBe(0.5);
    expect(p!.rbo).toBe(0.4);
    expect(p!.zero_result_rate).toEqual({ primary: 0, shadow: 0.5 });
    expect(p!.latency_ms.shadow.p50).toBe(50);
    expect(p!.latency_ms.primary.p50).toBe(10);
    expect(p!.last_at).toBe('2026-01-01T00:00:00.000Z');
  });
});

describe('PairSearch arms follow the serving pair', () => {
  it('takes the arms from the pair in effect at each call: none between migrations, the new pair after a move', async () => {
    const registry = loadModelRegistry();
    const { from, to } = registry.pair;
    let pair: { from: typeof from; to?: typeof to } = { from, to };
    const search = new PairSearch({ pair: () => pair, embedders: new Map(), store: {} as never });
    expect(search.arms(from.collection)).toMatchObject({ primary: { id: from.id }, other: { id: to.id } });
    expect(search.arms(to.collection)).toMatchObject({ primary: { id: to.id }, primaryIsFrom: false });
    // The old model retired: the new one serves everyone and there is nothing to compare against.
    pair = { from: to };
    expect(search.arms(from.collection)).toBeUndefined();
    expect(search.arms(to.collection)).toBeUndefined();
  });
});
