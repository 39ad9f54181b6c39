// Integration: REAL Redis (the online metrics' counters under a unique prefix); the answers are built
// here, as the search service returns them when the chosen model's embedder failed and the other answered.
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@image-search/service-kit';
import { deleteKeys, testRedis, uniqueName, waitFor } from '@image-search/testing';
import type { SearchResponse } from '../search/search.service.js';
import { OnlineMetrics } from './online-metrics.js';
import { SearchIds } from './search-id.js';
import { SearchTracking } from './search-tracking.js';

const CLIP = 'clip-vit-b32-openai';
const SIGLIP = 'siglip-vit-b16-webli';
const redis = testRedis();
const prefix = uniqueName('tracking');

afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

function answer(model: string, reason: string): SearchResponse {
  return {
    results: [],
    total: 0,
    query: 'red',
    model,
    family: model === CLIP ? 'clip' : 'siglip',
    collection: model === CLIP ? 'clip' : 'siglip',
    rollout: {
      bucket: 7,
      reason,
      bucket_source: 'user_id',
      fallback: reason.startsWith('fallback:'),
      from: CLIP,
      to: SIGLIP,
    },
    timing_ms: { embed: 3, search: 2, total: 5 },
    cached_embedding: false,
    cached_results: false,
    degraded: null,
  } as SearchResponse;
}

describe('search tracking with real Redis', () => {
  it('counts an answer the other model gave after the chosen embedder failed as an error of the chosen model', async () => {
    const online = new OnlineMetrics(redis, prefix, 1, 60_000);
    const tracking = new SearchTracking({
      ids: new SearchIds(Buffer.from('k'.repeat(32)), 60_000),
      online,
      logger: createLogger('test', 'silent'),
      paths: {} as never,
      pair: {} as never,
      deadlineMs: 1000,
    });
    // SigLIP chosen and failed, CLIP answered (twice); CLIP chosen and failed, SigLIP answered (once);
    // one plain SigLIP answer.
    tracking.recordAnswer(answer(CLIP, 'fallback:target_embedder_error'));
    tracking.recordAnswer(answer(CLIP, 'fallback:target_embedder_error'));
    tracking.recordAnswer(answer(SIGLIP, 'fallback:source_embedder_error'));
    tracking.recordAnswer(answer(SIGLIP, 'percentage'));
    const overall = async (model: string) => (await online.summary()).models.find((m) => m.model === model)?.overall;
    await waitFor('counters written', async () => (await overall(SIGLIP))?.searches === 4, 5000, 20);
    // SigLIP: 2 failed as the chosen arm + 2 answered; CLIP: 2 answered + 1 failed as the chosen arm.
    expect(await overall(SIGLIP)).toMatchObject({ searches: 4, errors: 2, error_rate: 0.5 });
    expect(await overall(CLIP)).toMatchObject({ searches: 3, errors: 1 });
  });

  it('sums counts in memory and writes them together: this process reads them at once, another after the flush', async () => {
    const own = uniqueName('tracking-sums');
    // A long flush window, so nothing is written before the reads below ask.
    const writer = new OnlineMetrics(redis, own, 1, 60_000, 60_000);
    const reader = new OnlineMetrics(redis, own, 1, 60_000);
    try {
      const written = [1, 2, 3].map((i) => writer.recordSearch({ model: CLIP, bucket: 7, results: i, latencyMs: 4 }));
      // Another process's view: nothing yet.
      expect((await reader.totals(1)).get(`s|${CLIP}|7`)).toBeUndefined();
      // This process's own read sends the pending sums first.
      expect((await writer.totals(1)).get(`s|${CLIP}|7`)).toBe(3);
      await Promise.all(written);
      const t = await reader.totals(1);
      expect([t.get(`s|${CLIP}|7`), t.get(`l|${CLIP}|7`), t.get(`z|${CLIP}|7`)]).toEqual([3, 12, 0]);
    } finally {
      await deleteKeys(redis, own);
    }
  });
});
