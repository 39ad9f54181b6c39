// The search caches are bounded by bytes as well as entries, so a warmed-up gateway's heap has a ceiling.
import { describe, expect, it } from 'vitest';
import { approxBytes } from './approx-bytes.js';
import { QueryCache, ResultCache } from './query-cache.js';

/** A search answer shaped like the API's: `hits` results with an asset view each. */
function answer(query: string, hits = 50) {
  return {
    query,
    model: 'clip',
    results: Array.from({ length: hits }, (_, i) => ({
      score: 1 - i / 100,
      asset: {
        id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        path: `2024/holiday/photo-${i}.jpg`,
        url: `/api/v1/images/${i}/file`,
        thumbnail_url: `/api/v1/images/${i}/thumbnail/abcdef0123456789`,
        width: 480,
        height: 360,
        category: `cat-${i % 7}`,
      },
    })),
  };
}

describe('approxBytes', () => {
  it('counts strings by length, numbers, objects and arrays by slot, typed arrays by their bytes', () => {
    expect(approxBytes('abcd')).toBe(20);
    expect(approxBytes(1.5)).toBe(16);
    expect(approxBytes({ a: 'abcd', b: [1, 2] })).toBe(16 + 8 + 20 + 8 + (16 + 8 + 16 + 8 + 16));
    expect(approxBytes(new Float32Array(768))).toBe(96 + 3072);
    expect(approxBytes(answer('q', 50))).toBeGreaterThan(approxBytes(answer('q', 10)) * 4);
  });

  it('ends on a cycle', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a['self'] = a;
    expect(approxBytes(a)).toBeGreaterThan(0);
  });
});

describe('ResultCache byte bound', () => {
  const one = approxBytes(answer('query 0'));

  it('holds at most maxBytes, pushing out the least recently used answers first', () => {
    const cache = new ResultCache<ReturnType<typeof answer>>({ max: 5_000, maxBytes: one * 10, ttlMs: 60_000 });
    const keys: string[] = [];
    for (let i = 0; i < 100; i++) {
      const q = `query ${i}`;
      const key = cache.key({
        model: 'clip',
        collection: 'c',
        points: 1,
        query: q,
        limit: 50,
        offset: 0,
        filters: undefined,
        minScore: undefined,
      });
      keys.push(key);
      cache.set(key, answer(q));
      expect(cache.bytes).toBeLessThanOrEqual(one * 10);
    }
    // Far under the entry bound: the bytes decided.
    expect(cache.size).toBeGreaterThan(0);
    expect(cache.size).toBeLessThan(10);
    expect(cache.get(keys[99]!)?.query).toBe('query 99');
    expect(cache.get(keys[0]!)).toBeUndefined();
  });

  it('keeps no answer larger than its bound, and maxBytes 0 turns it off', () => {
    const small = new ResultCache<ReturnType<typeof answer>>({ max: 10, maxBytes: Math.floor(one / 2), ttlMs: 60_000 });
    small.set('k', answer('big'));
    expect(small.get('k')).toBeUndefined();
    expect(small.bytes).toBe(0);
    expect(new ResultCache({ max: 10, maxBytes: 0, ttlMs: 60_000 }).enabled).toBe(false);
  });
});

describe('QueryCache byte bound', () => {
  it("counts each vector's bytes, so a wide model's cache holds fewer queries", () => {
    const maxBytes = 64 * 1024;
    const narrow = new QueryCache({ max: 10_000, maxBytes, ttlMs: 0 });
    const wide = new QueryCache({ max: 10_000, maxBytes, ttlMs: 0 });
    for (let i = 0; i < 1_000; i++) {
      narrow.set('clip', `q${i}`, new Float32Array(32));
      wide.set('siglip', `q${i}`, new Float32Array(768));
    }
    expect(narrow.bytes).toBeLessThanOrEqual(maxBytes);
    expect(wide.bytes).toBeLessThanOrEqual(maxBytes);
    expect(wide.size).toBeLessThanOrEqual(Math.floor(maxBytes / 3072));
    expect(narrow.size).toBeGreaterThan(wide.size * 5);
    expect(wide.get('siglip', 'q999')).toBeDefined();
    expect(wide.get('siglip', 'q0')).toBeUndefined();
  });

  it('still honours the entry bound', () => {
    const c = new QueryCache({ max: 3, maxBytes: 2 ** 20, ttlMs: 0 });
    for (let i = 0; i < 10; i++) c.set('clip', `q${i}`, new Float32Array(4));
    expect(c.size).toBe(3);
  });
});
