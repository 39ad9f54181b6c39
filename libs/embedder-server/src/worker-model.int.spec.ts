// Integration: a real tiny model in onnxruntime inside a real worker thread; the worker is terminated to stand for a
// crash.
import { describe, expect, it } from 'vitest';
import { isAppError } from '@image-search/service-kit';
import { loadWorkerModel, WorkerEmbeddingModel } from './worker-model.js';
import { testModelDir } from '../test/models.js';

describe('WorkerEmbeddingModel', () => {
  // 64 rows run as slices of CPU_RUN_ROWS (default 8) on a CPU: rows in the first and in a later slice match their single results.
  it('embeds a batch in the worker thread and matches the in-order single results', async () => {
    const model = await loadWorkerModel({ modelDir: await testModelDir('clip') });
    try {
      const pixels = Array.from({ length: 64 }, () => new Float32Array(model.info.imageSize ** 2 * 3).fill(0.1));
      pixels[5]!.fill(0.9);
      pixels[61]!.fill(0.5);
      const out = await model.embedPixels(pixels);
      expect(out).toHaveLength(64);
      expect(Math.hypot(...out[0]!)).toBeCloseTo(1, 4);
      for (const k of [5, 61]) {
        const [alone] = await model.embedPixels([pixels[k]!]);
        alone!.forEach((x, i) => expect(out[k]![i]).toBeCloseTo(x, 5));
      }
      const texts = await Promise.all([model.embedTexts(['red']), model.embedTexts(['blue'])]);
      expect(texts.map((t) => t.length)).toEqual([1, 1]);
      const words = Array.from({ length: 11 }, (_, i) => `word ${i}`);
      const many = await model.embedTexts(words);
      const [last] = await model.embedTexts([words[10]!]);
      last!.forEach((x, i) => expect(many[10]![i]).toBeCloseTo(x, 5));
    } finally {
      await model.close();
    }
  });

  it('CPU_RUN_ROWS 0 (one run) and 5 (uneven slices) give the same vectors, in order', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => i);
    const run = async (cpuRunRows?: number) => {
      const model = await loadWorkerModel({ modelDir: await testModelDir('clip'), cpuRunRows });
      try {
        const len = model.info.imageSize ** 2 * 3;
        const img = await model.embedPixels(rows.map((i) => new Float32Array(len).fill(i / 12)));
        const txt = await model.embedTexts(rows.map((i) => `word ${i}`));
        return [...img, ...txt];
      } finally {
        await model.close();
      }
    };
    const [whole, five] = [await run(0), await run(5)];
    expect(five).toHaveLength(24);
    five.forEach((v, k) => v.forEach((x, i) => expect(x).toBeCloseTo(whole[k]![i]!, 5)));
    expect(five[0]).not.toEqual(five[11]);
  });

  it('runs each tower in its own thread, so a text query need not wait for a running image batch', async () => {
    const model = await WorkerEmbeddingModel.load({ modelDir: await testModelDir('siglip') });
    try {
      const ids = [model.imageLane.threadId, model.textLane.threadId];
      expect(new Set(ids).size).toBe(2);
      expect(ids.every((id) => id > 0)).toBe(true);
      expect(model.info).toMatchObject({ family: 'siglip', executionProvider: 'cpu', contextLength: 64 });
      const [img, txt] = await Promise.all([
        model.embedPixels([new Float32Array(model.info.imageSize ** 2 * 3)]),
        model.embedTexts(['a photo']),
      ]);
      expect([img[0]!.length, txt[0]!.length]).toEqual([model.info.dim, model.info.dim]);
    } finally {
      await model.close();
    }
  });

  it('DEVICE=auto without a CUDA provider: warns once, from the thread that loaded, and both towers run on cpu', async () => {
    const warnings: string[] = [];
    const model = await WorkerEmbeddingModel.load({
      modelDir: await testModelDir('clip'),
      device: 'auto',
      logger: { warn: (_obj, msg) => warnings.push(msg) },
    });
    try {
      if (model.imageLane.info.executionProvider === 'cuda') {
        // A machine with the CUDA provider: nothing to fall back from.
        expect(warnings).toEqual([]);
        return;
      }
      expect(model.info.executionProvider).toBe('cpu');
      expect([model.imageLane.info.executionProvider, model.textLane.info.executionProvider]).toEqual(['cpu', 'cpu']);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/DEVICE=auto: .*RUNNING ON CPU/);
    } finally {
      await model.close();
    }
  });

  it.each(['image', 'text'] as const)(
    'reports a dead %s thread once and refuses further work on both towers with UNAVAILABLE',
    async (tower) => {
      const crashes: Error[] = [];
      const model = await WorkerEmbeddingModel.load({
        modelDir: await testModelDir('clip'),
        onCrash: (e) => crashes.push(e),
      });
      await (tower === 'image' ? model.imageLane : model.textLane).terminate();
      await new Promise((r) => setTimeout(r, 50));
      expect(crashes).toHaveLength(1);
      expect(crashes[0]!.message).toMatch(new RegExp(`inference worker \\(${tower}\\) exited`));
      for (const call of [
        model.embedTexts(['red']),
        model.embedPixels([new Float32Array(model.info.imageSize ** 2 * 3)]),
      ]) {
        const err = await call.catch((e: unknown) => e);
        expect(isAppError(err, 'UNAVAILABLE')).toBe(true);
      }
      await model.close();
    },
  );
});
