// Integration: idle unload (MODEL_IDLE_UNLOAD_S) of the worker model's towers with a real tiny model in onnxruntime
// inside real worker threads; the reload-failure case moves a real model file away and back. Assertions are on
// states and counts, never on how long anything took.
import { cpSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAppError } from '@image-search/service-kit';
import { waitFor } from '@image-search/testing';
import { WorkerEmbeddingModel } from './worker-model.js';
import type { TowerEvent, TowerState } from './tower-slot.js';
import { testModelDir } from '../test/models.js';

const IDLE_MS = 1000;
const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function load(modelDir?: string) {
  const events: TowerEvent[] = [];
  const model = await WorkerEmbeddingModel.load({
    modelDir: modelDir ?? (await testModelDir('clip')),
    idleUnloadMs: IDLE_MS,
    onTowerEvent: (e) => events.push(e),
  });
  const state = (tower: 'image' | 'text') => model.towers().find((t) => t.tower === tower)!;
  const until = (tower: 'image' | 'text', s: TowerState) =>
    waitFor(`${tower} tower ${s}`, () => state(tower).state === s, 30_000, 50);
  return { model, events, state, until };
}

const pixelsOf = (model: WorkerEmbeddingModel, v: number) => new Float32Array(model.info.imageSize ** 2 * 3).fill(v);

describe('idle unload of the towers', () => {
  it('unloads both towers after the idle time, reloads on the next call with one load for concurrent calls, and answers the same embeddings', async () => {
    const { model, events, state, until } = await load();
    try {
      const [[before], [textBefore]] = await Promise.all([
        model.embedPixels([pixelsOf(model, 0.3)]),
        model.embedTexts(['a red car']),
      ]);
      expect(model.towers().map((t) => t.state)).toEqual(['loaded', 'loaded']);
      expect(state('image').lastUsedAt).toBeGreaterThan(0);

      await until('image', 'unloaded');
      await until('text', 'unloaded');
      expect(() => model.imageLane).toThrow(/image tower is unloaded/);
      expect(events.filter((e) => e.event === 'unloaded').map((e) => e.tower)).toEqual(
        expect.arrayContaining(['image', 'text']),
      );

      // Four calls while the tower is down share one load.
      const calls = Array.from({ length: 4 }, () => model.embedPixels([pixelsOf(model, 0.3)]));
      expect(state('image').state).toBe('loading');
      const after = await Promise.all(calls);
      const imageEvents = events.filter((e) => e.tower === 'image').map((e) => e.event);
      expect(imageEvents).toEqual(['unloaded', 'loading', 'reloaded']);
      expect(state('image')).toMatchObject({ state: 'loaded', reloads: 1, unloads: 1 });
      for (const [v] of after) v!.forEach((x, i) => expect(x).toBeCloseTo(before![i]!, 6));

      // The text tower stayed down while the image tower came back; it loads on its own call.
      expect(state('text').state).toBe('unloaded');
      const [textAfter] = await model.embedTexts(['a red car']);
      textAfter!.forEach((x, i) => expect(x).toBeCloseTo(textBefore![i]!, 6));
      expect(state('text')).toMatchObject({ state: 'loaded', reloads: 1 });
    } finally {
      await model.close();
    }
    expect(model.towers().map((t) => t.state)).toEqual(['unloaded', 'unloaded']);
  });

  it('unloads the idle text tower while the image tower keeps working, without touching the image thread', async () => {
    const { model, state } = await load();
    try {
      const imageThread = model.imageLane.threadId;
      await model.embedTexts(['a dog']);
      // Keep the image tower busy until the text tower has idled out; the image tower never idles meanwhile.
      while (state('text').state !== 'unloaded') {
        await model.embedPixels([pixelsOf(model, 0.5)]);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(state('image')).toMatchObject({ state: 'loaded', unloads: 0, reloads: 0 });
      expect(model.imageLane.threadId).toBe(imageThread);
      expect(state('text')).toMatchObject({ state: 'unloaded', unloads: 1 });
    } finally {
      await model.close();
    }
  });

  it('answers UNAVAILABLE when the reload fails, stays unloaded, and the next call retries and succeeds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idle-unload-'));
    temps.push(dir);
    cpSync(await testModelDir('clip'), dir, { recursive: true });
    const { model, events, state, until } = await load(dir);
    try {
      const [before] = await model.embedPixels([pixelsOf(model, 0.7)]);
      await until('image', 'unloaded');
      const file = join(dir, 'onnx', 'vision_model.onnx');
      renameSync(file, `${file}.away`);
      const err = await model.embedPixels([pixelsOf(model, 0.7)]).catch((e: unknown) => e);
      expect(isAppError(err, 'UNAVAILABLE')).toBe(true);
      expect((err as Error).message).toMatch(/image tower could not be loaded again .*the next call tries again/);
      expect(state('image')).toMatchObject({ state: 'unloaded', reloads: 0 });
      expect(events.filter((e) => e.tower === 'image').map((e) => e.event)).toEqual([
        'unloaded',
        'loading',
        'reload_failed',
      ]);

      renameSync(`${file}.away`, file);
      const [again] = await model.embedPixels([pixelsOf(model, 0.7)]);
      again!.forEach((x, i) => expect(x).toBeCloseTo(before![i]!, 6));
      expect(state('image')).toMatchObject({ state: 'loaded', reloads: 1 });
    } finally {
      await model.close();
    }
  });
});
