// Integration: idle unload (MODEL_IDLE_UNLOAD_S) of the worker model's towers with a real tiny model in onnxruntime
// inside real worker threads; the reload-failure case moves a real model file away and back. Assertions are on
// states and counts, never on how long anything took.
import { cpSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '@image-search/service-kit';
import { waitFor } from '@image-search/testing';
import { WorkerEmbeddingModel } from './worker-model.js';
import type { TowerEvent, TowerState } from './tower-slot.js';
import { testModelDir } from '../test/models.js';

// The tests share one model (loads are the slow part) and run in order; each reads the events it caused.
describe('idle unload of the towers', () => {
  let dir: string;
  let model: WorkerEmbeddingModel;
  const events: TowerEvent[] = [];
  const state = (tower: 'image' | 'text') => model.towers().find((t) => t.tower === tower)!;
  const until = (tower: 'image' | 'text', s: TowerState) =>
    waitFor(`${tower} tower ${s}`, () => state(tower).state === s, 30_000, 50);
  const pixels = (v: number) => new Float32Array(model.info.imageSize ** 2 * 3).fill(v);
  /** The events of `tower` from index `from` on. */
  const since = (from: number, tower: 'image' | 'text') =>
    events
      .slice(from)
      .filter((e) => e.tower === tower)
      .map((e) => e.event);

  beforeAll(async () => {
    // A copy of the model, so the reload-failure case can move one of its files away.
    dir = mkdtempSync(join(tmpdir(), 'idle-unload-'));
    cpSync(await testModelDir('clip'), dir, { recursive: true });
    model = await WorkerEmbeddingModel.load({ modelDir: dir, idleUnloadMs: 1000, onTowerEvent: (e) => events.push(e) });
  });
  afterAll(async () => {
    await model?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('unloads both towers after the idle time, reloads on the next call with one load for concurrent calls, and answers the same embeddings', async () => {
    const [[before], [textBefore]] = await Promise.all([
      model.embedPixels([pixels(0.3)]),
      model.embedTexts(['a red car']),
    ]);
    expect(state('image').lastUsedAt).toBeGreaterThan(0);

    await until('image', 'unloaded');
    await until('text', 'unloaded');
    expect(() => model.imageLane).toThrow(/image tower is unloaded/);
    expect(events.filter((e) => e.event === 'unloaded').map((e) => e.tower)).toEqual(
      expect.arrayContaining(['image', 'text']),
    );

    // Four calls while the tower is down share one load.
    const [from, image, text] = [events.length, state('image'), state('text')];
    const calls = Array.from({ length: 4 }, () => model.embedPixels([pixels(0.3)]));
    expect(state('image').state).toBe('loading');
    const after = await Promise.all(calls);
    expect(since(from, 'image')).toEqual(['loading', 'reloaded']);
    expect(state('image')).toMatchObject({ state: 'loaded', reloads: image.reloads + 1 });
    for (const [v] of after) v!.forEach((x, i) => expect(x).toBeCloseTo(before![i]!, 6));

    // The text tower stayed down while the image tower came back; it loads on its own call.
    expect(state('text').state).toBe('unloaded');
    const [textAfter] = await model.embedTexts(['a red car']);
    textAfter!.forEach((x, i) => expect(x).toBeCloseTo(textBefore![i]!, 6));
    expect(state('text').reloads).toBe(text.reloads + 1);
  });

  it('unloads the idle text tower while the image tower keeps working, without touching the image thread', async () => {
    await model.embedPixels([pixels(0.5)]);
    const imageThread = model.imageLane.threadId;
    const image = state('image');
    // The image tower works without a pause of the idle time while the text tower is used once and idles out.
    let working = true;
    const work = (async () => {
      while (working) {
        await model.embedPixels([pixels(0.5)]);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await model.embedTexts(['a dog']);
    const text = state('text');
    await until('text', 'unloaded');
    working = false;
    await work;
    expect(state('image')).toMatchObject({ state: 'loaded', unloads: image.unloads, reloads: image.reloads });
    expect(model.imageLane.threadId).toBe(imageThread);
    expect(state('text').unloads).toBe(text.unloads + 1);
  });

  it('answers UNAVAILABLE when the reload fails, stays unloaded, and the next call retries and succeeds', async () => {
    const [before] = await model.embedPixels([pixels(0.7)]);
    const { reloads } = state('image');
    const from = events.length;
    await until('image', 'unloaded');
    const file = join(dir, 'onnx', 'vision_model.onnx');
    renameSync(file, `${file}.away`);
    const err = await model.embedPixels([pixels(0.7)]).catch((e: unknown) => e);
    expect(isAppError(err, 'UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toMatch(/image tower could not be loaded again .*the next call tries again/);
    expect(state('image')).toMatchObject({ state: 'unloaded', reloads });
    expect(since(from, 'image')).toEqual(['unloaded', 'loading', 'reload_failed']);

    renameSync(`${file}.away`, file);
    const [again] = await model.embedPixels([pixels(0.7)]);
    again!.forEach((x, i) => expect(x).toBeCloseTo(before![i]!, 6));
    expect(state('image')).toMatchObject({ state: 'loaded', reloads: reloads + 1 });
  });

  it('leaves both towers unloaded once the model is closed', async () => {
    await model.close();
    expect(model.towers().map((t) => t.state)).toEqual(['unloaded', 'unloaded']);
  });
});
