// Unit: the batcher's scheduling with a plain run function (no model); the real model runs in
// embedder.server.int.spec.ts.
import { describe, expect, it, vi } from 'vitest';
import { ItemFailure } from '@image-search/embedding';
import { isAppError } from '@image-search/service-kit';
import { DynamicBatcher } from './batcher.js';

function recorder(
  opts: { maxBatch?: number; maxWaitMs?: number; capacity?: number; fail?: (x: number) => boolean } = {},
) {
  const batches: number[][] = [];
  const b = new DynamicBatcher<number>({
    name: 'test',
    maxBatch: opts.maxBatch ?? 4,
    maxWaitMs: opts.maxWaitMs ?? 0,
    capacity: opts.capacity ?? 100,
    run: (xs) => {
      batches.push(xs);
      if (xs.some((x) => opts.fail?.(x))) return Promise.reject(new Error('boom'));
      return Promise.resolve(xs.map((x) => Float32Array.of(x)));
    },
  });
  const item = (x: number) => () => Promise.resolve(x);
  return { b, batches, item };
}

describe('DynamicBatcher', () => {
  it('runs items submitted in the same turn as one batch and answers each call separately', async () => {
    const { b, batches, item } = recorder();
    const [a, c] = await Promise.all([b.submit([item(1), item(2)], () => true), b.submit([item(3)], () => true)]);
    expect(batches).toEqual([[1, 2, 3]]);
    expect(a.map((o) => (o.ok ? o.vector[0] : -1))).toEqual([1, 2]);
    expect(c.map((o) => (o.ok ? o.vector[0] : -1))).toEqual([3]);
  });

  it('splits at maxBatch and never exceeds it', async () => {
    const { b, batches, item } = recorder({ maxBatch: 4 });
    await b.submit([1, 2, 3, 4, 5, 6, 7, 8, 9].map(item), () => true);
    expect(batches.map((x) => x.length)).toEqual([4, 4, 1]);
  });

  it('runs a lone item on an idle tower at once, without waiting for companions', async () => {
    // The wait timer is faked and never advanced: an answer proves no wait was taken, with no clock involved.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const { b, batches, item } = recorder({ maxWaitMs: 10_000 });
      let answered = false;
      void b.submit([item(1)], () => true).then(() => (answered = true));
      await vi.waitFor(() => expect(answered).toBe(true), { timeout: 30_000 });
      expect(batches).toEqual([[1]]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('gives callers answered by the last batch up to maxWaitMs to join the next one', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const busy = new Promise<void>((r) => (release = r));
    const b = new DynamicBatcher<number>({
      name: 'test',
      maxBatch: 8,
      // Far above any scheduling delay under load: the join below must not depend on the machine's speed.
      maxWaitMs: 2000,
      capacity: 100,
      run: async (xs) => {
        batches.push(xs);
        if (xs[0] === 1) await busy;
        return xs.map((x) => Float32Array.of(x));
      },
    });
    const first = b.submit([() => Promise.resolve(1)], () => true);
    await vi.waitFor(() => expect(batches).toEqual([[1]])); // batch 1 is running
    // Item 2 becomes ready while the tower is busy...
    const second = b.submit([() => Promise.resolve(2)], () => true);
    await new Promise((r) => setImmediate(r));
    release();
    await first;
    // ...yet the caller answered by batch 1 still joins it, arriving just after.
    await Promise.all([second, b.submit([() => Promise.resolve(3)], () => true)]);
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it('refuses a call that does not fit the queue with RESOURCE_EXHAUSTED, accepting none of it', () => {
    const { b, item } = recorder({ capacity: 3 });
    void b.submit([item(1), item(2)], () => true);
    let err: unknown;
    try {
      void b.submit([item(3), item(4)], () => true);
    } catch (e) {
      err = e;
    }
    expect(isAppError(err, 'RESOURCE_EXHAUSTED')).toBe(true);
    expect(b.depth).toBe(2);
  });

  it('drops items whose caller is gone before inference', async () => {
    const { b, batches, item } = recorder();
    const [dead, live] = await Promise.all([b.submit([item(1)], () => false), b.submit([item(2)], () => true)]);
    expect(dead[0]).toEqual({ ok: false, dropped: true });
    expect(live[0]!.ok).toBe(true);
    expect(batches).toEqual([[2]]);
  });

  it('turns a preparation failure into that item’s failure only', async () => {
    const { b, item } = recorder();
    const out = await b.submit(
      [item(1), () => Promise.reject(new ItemFailure('NOT_AN_IMAGE', 'nope')), item(3)],
      () => true,
    );
    expect(out.map((o) => o.ok)).toEqual([true, false, true]);
    expect(out[1]).toMatchObject({ failure: { reason: 'NOT_AN_IMAGE' } });
  });

  it('isolates an item that makes the batch fail, so the rest still succeed', async () => {
    const { b, item } = recorder({ fail: (x) => x === 2 });
    const out = await b.submit([1, 2, 3].map(item), () => true);
    expect(out.map((o) => o.ok)).toEqual([true, false, true]);
    expect(out[1]).toMatchObject({ failure: { reason: 'INFERENCE_FAILED' } });
  });

  it('resolves drained() once everything has run', async () => {
    const { b, item } = recorder();
    const work = b.submit([1, 2, 3].map(item), () => true);
    await b.drained();
    expect(b.idle).toBe(true);
    await work;
  });
});
