// Real parts: the clip-embedder app in its own process (tiny 'colour' model) over gRPC on loopback, and the
// real embedder client; vi.spyOn only counts the client's calls.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EmbedderClient } from '@image-search/embedder-client';
import { startEmbedderProcess, type RunningEmbedder } from '@image-search/testing';
import { TextBatcher } from './text-batcher.js';

let emb: RunningEmbedder;
let client: EmbedderClient;
beforeAll(async () => {
  emb = await startEmbedderProcess('clip');
  client = new EmbedderClient({ address: emb.addr, defaultDeadlineMs: 30_000 });
}, 120_000);
afterAll(async () => {
  client?.close();
  await emb?.proc.stop('SIGKILL');
});

const texts = Array.from({ length: 24 }, (_, i) => `${['red', 'green', 'blue'][i % 3]} photo number ${i}`);

describe('TextBatcher (real embedder process)', () => {
  it('answers concurrent queries through fewer calls, each with the vector its text gets alone', async () => {
    const alone = await Promise.all(texts.map((t) => client.embedTexts([t])));
    const batcher = new TextBatcher(client, { maxInFlight: 1 });
    const spy = vi.spyOn(client, 'embedTexts');
    const together = await Promise.all(texts.map((t) => batcher.embedTexts([t], { deadlineMs: 20_000 })));
    expect(spy.mock.calls.length).toBeLessThan(texts.length / 4);
    expect(spy.mock.calls.every(([, o]) => o?.deadlineMs === 20_000)).toBe(true);
    spy.mockRestore();
    together.forEach((r, i) => {
      const [a, b] = [alone[i]![0]!, r[0]!];
      if (!a.ok || !b.ok) throw new Error(`item ${i} failed`);
      expect(Array.from(b.vector).map((x) => x.toFixed(4))).toEqual(Array.from(a.vector).map((x) => x.toFixed(4)));
    });
  });

  it("keeps a per-item failure and a caller's abort to that caller", async () => {
    const batcher = new TextBatcher(client);
    const ac = new AbortController();
    const calls = [
      batcher.embedTexts(['red']),
      batcher.embedTexts(['']),
      batcher.embedTexts(['blue'], { signal: ac.signal }),
      batcher.embedTexts(['green']),
    ];
    ac.abort();
    const [red, empty, blue, green] = await Promise.allSettled(calls);
    expect(red).toMatchObject({ status: 'fulfilled', value: [{ ok: true }] });
    expect(empty).toMatchObject({ status: 'fulfilled', value: [{ ok: false, reason: 'EMPTY_INPUT' }] });
    expect(blue).toMatchObject({ status: 'rejected', reason: { code: 'CANCELLED' } });
    expect(green).toMatchObject({ status: 'fulfilled', value: [{ ok: true }] });
  });

  it('passes a whole-call failure to every caller of the call', async () => {
    const gone = new EmbedderClient({ address: '127.0.0.1:1', defaultDeadlineMs: 2_000 });
    const batcher = new TextBatcher(gone);
    const r = await Promise.allSettled([batcher.embedTexts(['red']), batcher.embedTexts(['blue'])]);
    expect(r.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    expect(r.map((x) => (x as PromiseRejectedResult).reason.code)).toEqual(['UNAVAILABLE', 'UNAVAILABLE']);
    gone.close();
  });
});
