import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { backoffDelay, JITTER_BACKOFF, jitterBackoffStrategy } from './backoff.js';

describe('exponential backoff with jitter', () => {
  const s = { baseMs: 1000, capMs: 30_000 };
  it('doubles per attempt, is never below half of the exponential delay, and caps', () => {
    expect(backoffDelay(1, s, () => 0)).toBe(500);
    expect(backoffDelay(1, s, () => 1)).toBe(1000);
    expect(backoffDelay(3, s, () => 0)).toBe(2000);
    expect(backoffDelay(3, s, () => 0.999999)).toBeLessThanOrEqual(4000);
    expect(backoffDelay(20, s, () => 1)).toBe(30_000);
  });
  it('spreads retries of replicas that failed together', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(4, s)));
    expect(delays.size).toBeGreaterThan(10);
  });
  it('never retries an UnrecoverableError, and leaves other backoff types alone', () => {
    const strategy = jitterBackoffStrategy(s);
    expect(strategy(1, JITTER_BACKOFF, new UnrecoverableError('bad input'))).toBe(-1);
    expect(strategy(2, JITTER_BACKOFF, new Error('UNAVAILABLE'))).toBeGreaterThanOrEqual(1000);
    expect(strategy(2, 'other', new Error('x'))).toBe(0);
  });
});
