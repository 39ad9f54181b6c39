// Integration: a real tiny model in onnxruntime inside a real worker thread; the worker is terminated to stand for a crash.
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { isAppError } from '@image-search/service-kit';
import { loadWorkerModel } from './worker-model.js';
import { testModelDir } from '../test/models.js';

describe('WorkerEmbeddingModel', () => {
  it('embeds a batch in the worker thread and matches the in-order single results', async () => {
    const model = await loadWorkerModel({ modelDir: await testModelDir('clip') });
    try {
      const pixels = Array.from({ length: 64 }, () => new Float32Array(model.info.imageSize ** 2 * 3).fill(0.1));
      pixels[5]!.fill(0.9);
      const out = await model.embedPixels(pixels);
      expect(out).toHaveLength(64);
      expect(Math.hypot(...out[0]!)).toBeCloseTo(1, 4);
      const [alone] = await model.embedPixels([pixels[5]!]);
      alone!.forEach((x, i) => expect(out[5]![i]).toBeCloseTo(x, 5));
      const texts = await Promise.all([model.embedTexts(['red']), model.embedTexts(['blue'])]);
      expect(texts.map((t) => t.length)).toEqual([1, 1]);
    } finally {
      await model.close();
    }
  });

  it('reports a dead worker once and refuses further work with UNAVAILABLE', async () => {
    const crashes: Error[] = [];
    const model = await loadWorkerModel({ modelDir: await testModelDir('clip'), onCrash: (e) => crashes.push(e) });
    await (model as unknown as { worker: Worker }).worker.terminate();
    await new Promise((r) => setTimeout(r, 50));
    expect(crashes).toHaveLength(1);
    const err = await model.embedTexts(['red']).catch((e: unknown) => e);
    expect(isAppError(err, 'UNAVAILABLE')).toBe(true);
    await model.close();
  });
});
