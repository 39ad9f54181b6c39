import { describe, expect, it } from 'vitest';
import { AppError } from '@image-search/service-kit';
import { EmbedPacer } from './embed-pacer.js';

describe('EmbedPacer (fake embed calls: plain async functions)', () => {
  it('retries RESOURCE_EXHAUSTED after a backoff and halves the requests in flight instead of failing', async () => {
    const limits: number[] = [];
    let throttled = 0;
    const pacer = new EmbedPacer({
      maxInflight: 4,
      ratePerS: 0,
      backoffBaseMs: 5,
      backoffCapMs: 20,
      onLimitChange: (l) => limits.push(l),
      onThrottled: () => throttled++,
    });
    let calls = 0;
    const result = await pacer.run(8, async () => {
      if (++calls <= 2) throw new AppError('RESOURCE_EXHAUSTED', 'queue full');
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(throttled).toBe(2);
    // Halved twice, then one success at cap 1 grows it back to 2.
    expect(limits).toEqual([2, 1, 2]);
    // Successes grow the cap back, one step per `limit` successes.
    for (let i = 0; i < 10; i++) await pacer.run(1, async () => 1);
    expect(pacer.currentLimit).toBe(4);
  });

  it('passes other errors through at once', async () => {
    const pacer = new EmbedPacer({ maxInflight: 2, ratePerS: 0 });
    await expect(pacer.run(1, async () => Promise.reject(new AppError('UNAVAILABLE', 'down')))).rejects.toThrow('down');
  });

  it('never has more calls in flight than the cap', async () => {
    const pacer = new EmbedPacer({ maxInflight: 3, ratePerS: 0 });
    let inflight = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 12 }, () =>
        pacer.run(1, async () => {
          peak = Math.max(peak, ++inflight);
          await new Promise((r) => setTimeout(r, 5));
          inflight--;
        }),
      ),
    );
    expect(peak).toBe(3);
  });

  it('keeps to the images-per-second rate', async () => {
    const pacer = new EmbedPacer({ maxInflight: 8, ratePerS: 200 });
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 5 }, () => pacer.run(10, async () => 1)));
    // 50 images at 200/s: the last call may start after 4 x 50 ms.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });
});
