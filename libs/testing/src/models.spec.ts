import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tinyModelDir } from './models.js';

describe('tinyModelDir', () => {
  it('builds a tiny model folder once and returns the same complete folder afterwards', async () => {
    const [a, b] = await Promise.all([tinyModelDir('siglip', 'colour', 'hf'), tinyModelDir('siglip', 'colour', 'hf')]);
    expect(a).toBe(b);
    expect(existsSync(join(a, 'onnx', 'vision_model.onnx'))).toBe(true);
    expect(existsSync(join(a, 'onnx', 'text_model.onnx'))).toBe(true);
    expect(await tinyModelDir('siglip', 'colour', 'hf')).toBe(a);
  });

  it('keeps layouts and kinds apart', async () => {
    const immich = await tinyModelDir('clip', 'random', 'immich');
    expect(immich).toMatch(/clip-random-immich-v\d+-[0-9a-f]{8}$/);
    expect(existsSync(join(immich, 'visual', 'model.onnx'))).toBe(true);
  });
});
