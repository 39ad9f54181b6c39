import { describe, expect, it } from 'vitest';
import { attentionMask, cosine, fromHalf, l2Normalized, toHalf } from './tensor-utils.js';

describe('tensor helpers', () => {
  it('L2-normalises a slice and leaves a zero vector at zero', () => {
    expect(Array.from(l2Normalized([9, 3, 4, 9], 1, 2))).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(Array.from(l2Normalized([0, 0], 0, 2))).toEqual([0, 0]);
    expect(cosine([1, 0], [0, 2])).toBe(0);
    expect(cosine([1, 1], [2, 2])).toBeCloseTo(1, 12);
  });

  it('masks padding after the first end token of each row', () => {
    const ids = BigInt64Array.from([5n, 7n, 9n, 0n, 0n, 5n, 9n, 9n, 0n, 0n, 5n, 1n, 1n, 1n, 1n].map(BigInt));
    expect(Array.from(attentionMask(ids, 3, 5, 9n), Number)).toEqual([1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1]);
  });

  it('converts float16 both ways with round-to-nearest-even', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8]) expect(fromHalf(toHalf(v))).toBe(v);
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00); // halfway rounds to even
    expect(toHalf(1e6)).toBe(0x7c00);
    expect(Number.isNaN(fromHalf(toHalf(NaN)))).toBe(true);
    expect(fromHalf(toHalf(0.1))).toBeCloseTo(0.1, 3);
  });
});
