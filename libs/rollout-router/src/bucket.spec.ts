import { describe, expect, it } from 'vitest';
import { bucketOf, hashBucket } from './bucket.js';

describe('bucketOf', () => {
  it('puts numeric ids in id mod 100 (the seed example corrected: user 23 → bucket 23)', () => {
    expect(bucketOf(23)).toBe(23);
    expect(bucketOf(87)).toBe(87);
    expect(bucketOf(5)).toBe(5);
    expect(bucketOf(1234)).toBe(34);
    expect(bucketOf('1234')).toBe(34);
    expect(bucketOf(0)).toBe(0);
  });
  it('uses a non-negative mod for negative ids', () => {
    expect(bucketOf(-7)).toBe(93);
    expect(bucketOf('-7')).toBe(93);
    expect(bucketOf(-100)).toBe(0);
    expect(bucketOf(-101)).toBe(99);
  });
  it('is exact beyond 2^53 for digit strings and bigints', () => {
    expect(bucketOf('9007199254740993')).toBe(93); // 2^53 + 1, not representable as a double
    expect(bucketOf(9007199254740993n)).toBe(93);
    expect(bucketOf('123456789012345678901234567890')).toBe(90);
    expect(bucketOf('-123456789012345678901234567899')).toBe(1);
    expect(bucketOf('+42')).toBe(42);
  });
  it('hashes other ids stably and never throws', () => {
    const ids = ['alice', 'b7f2c1e0-8a1d-4c2e-9f00-123456789abc', 'x@y.z', '', '   ', '12a', '1.5', '∞', '🙂'];
    for (const id of ids) {
      const b = bucketOf(id);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(100);
      expect(bucketOf(id)).toBe(b);
    }
    expect(bucketOf('alice')).toBe(hashBucket('alice'));
    expect(bucketOf(1.5)).toBe(hashBucket('1.5'));
    expect(bucketOf(Number.NaN)).toBe(hashBucket('NaN'));
  });
  it('spreads hashed ids roughly evenly over the buckets', () => {
    const counts = new Array<number>(100).fill(0);
    for (let i = 0; i < 20_000; i++) counts[bucketOf(`user-${i}`)]! += 1;
    expect(Math.min(...counts)).toBeGreaterThan(120);
    expect(Math.max(...counts)).toBeLessThan(290);
  });
});
