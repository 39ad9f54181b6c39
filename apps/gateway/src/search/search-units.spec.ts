import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';
import { normaliseQuery, QueryCache } from './query-cache.js';
import { toPayloadFilter } from './search.service.js';

describe('CircuitBreaker', () => {
  it('opens after N consecutive failures, half-opens after the cooldown, closes on a successful trial', async () => {
    let now = 0;
    const states: string[] = [];
    const b = new CircuitBreaker('siglip', {
      failures: 2,
      cooldownMs: 1000,
      now: () => now,
      onStateChange: (_n, s) => states.push(s),
    });
    const fail = () => b.run(() => Promise.reject(new Error('down')));
    await expect(fail()).rejects.toThrow('down');
    expect(b.state).toBe('closed');
    await expect(fail()).rejects.toThrow('down');
    expect(b.state).toBe('open');
    expect(b.allows()).toBe(false);
    expect(b.retryAfterS()).toBe(1);
    now = 1000;
    expect(b.state).toBe('half_open');
    expect(b.allows()).toBe(true);
    await expect(fail()).rejects.toThrow();
    expect(b.state).toBe('open');
    now = 2500;
    expect(await b.run(async () => 7)).toBe(7);
    expect(b.state).toBe('closed');
    expect(states).toEqual(['open', 'open', 'closed']);
  });
});

describe('QueryCache', () => {
  it('keys by model and normalised text (case folded for CLIP only)', () => {
    expect(normaliseQuery('clip', '  Red\t\nCAR ')).toBe('red car');
    expect(normaliseQuery('siglip', '  Red\t\nCAR ')).toBe('Red CAR');
    expect(normaliseQuery('clip', 'ｒｅｄ')).toBe('red');
    const c = new QueryCache({ max: 10, maxBytes: 2 ** 20, ttlMs: 0 });
    const v = new Float32Array([1, 0]);
    c.set('clip', 'Red car', v);
    expect(c.get('clip', 'red   CAR')).toBe(v);
    expect(c.get('siglip', 'Red car')).toBeUndefined();
    expect(new QueryCache({ max: 0, maxBytes: 2 ** 20, ttlMs: 0 }).get('clip', 'x')).toBeUndefined();
  });
});

describe('toPayloadFilter', () => {
  it('maps category, dates and an excluded id', () => {
    expect(toPayloadFilter(undefined)).toBeUndefined();
    expect(toPayloadFilter({ category: 'cats' })).toEqual({ must: [{ key: 'category', match: { value: 'cats' } }] });
    expect(toPayloadFilter({ category: ['a', 'b'], date_from: '2020-01-01' }, 'x')).toEqual({
      must: [
        { key: 'category', match: { any: ['a', 'b'] } },
        { key: 'date_taken', range: { gte: '2020-01-01' } },
      ],
      must_not: [{ key: 'asset_id', match: { value: 'x' } }],
    });
  });
});
