import { describe, expect, it } from 'vitest';
import { backoffDelayMs, chunkItems, sleep } from './retry.js';

describe('client helpers', () => {
  it('backs off exponentially with jitter, capped', () => {
    expect(backoffDelayMs(0, 100, 2000, () => 0)).toBe(50);
    expect(backoffDelayMs(0, 100, 2000, () => 1)).toBe(100);
    expect(backoffDelayMs(3, 100, 2000, () => 1)).toBe(800);
    expect(backoffDelayMs(10, 100, 2000, () => 1)).toBe(2000);
  });

  it('chunks by item count and by bytes, keeping order', () => {
    expect(chunkItems([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunkItems([5, 5, 5, 20, 1], 10, 12, (x) => x)).toEqual([[5, 5], [5], [20], [1]]);
    expect(chunkItems([], 3)).toEqual([]);
  });

  it('sleep stops early when aborted', async () => {
    const ac = new AbortController();
    const p = sleep(10_000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });
});
