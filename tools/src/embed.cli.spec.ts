// tools:embed end to end: the real CLI process (tsx), real generated tiny ONNX models, real sharp; the
// fixture case uses the reference-mini model and its golden file when the fixtures are present.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  announceFixtureSkip,
  fixturePath,
  fixturesAvailable,
  startTsProcess,
  tinyModelDir,
} from '@image-search/testing';

interface CliResult {
  code: number | string;
  stdout: string;
  output: string;
}

async function embed(args: string[]): Promise<CliResult> {
  const p = startTsProcess('tools/src/embed.cli.ts', {}, args);
  let stdout = '';
  p.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await p.exited;
  return { code, stdout, output: p.output() };
}

function parseJson(stdout: string): {
  model: { family: string; dim: number; contextLength: number };
  results: Record<string, unknown>[];
} {
  return JSON.parse(stdout) as ReturnType<typeof parseJson>;
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'embed-cli-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('tools:embed', () => {
  it('prints token ids with --tokens, padded to the context length', async () => {
    const dir = await tinyModelDir('siglip', 'colour', 'hf');
    const r = await embed(['--model', dir, '--tokens', '--text', 'Red, red!', 'blue']);
    expect(r.code, r.output).toBe(0);
    const out = parseJson(r.stdout);
    expect(out.model).toMatchObject({ family: 'siglip', contextLength: 64 });
    expect(out.results).toHaveLength(2);
    const first = out.results[0] as { text: string; ids: number[]; num_tokens: number };
    expect(first.text).toBe('Red, red!');
    expect(first.ids).toHaveLength(64);
    expect(first.num_tokens).toBeGreaterThan(1);
  });

  it('embeds images, writes the preprocessed tensor with --pixels, and reports a bad file without stopping', async () => {
    const dir = await tinyModelDir('clip', 'colour', 'hf');
    const red = join(work, 'red.png');
    const fake = join(work, 'fake.jpg');
    await writeFile(
      red,
      await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 255, g: 0, b: 0 } } })
        .png()
        .toBuffer(),
    );
    await writeFile(fake, 'not really a jpeg');
    const pixels = join(work, 'pixels.f32');
    const r = await embed(['--model', dir, '--image', red, fake, '--pixels', pixels]);
    expect(r.code, r.output).toBe(1);
    expect(r.output).toContain('1 of 2 images failed');
    const out = parseJson(r.stdout);
    const [ok, bad, px] = out.results as [
      { embedding: number[]; width: number },
      { error: { reason: string } },
      { shape: number[] },
    ];
    expect(ok.embedding).toHaveLength(out.model.dim);
    expect(Math.hypot(...ok.embedding)).toBeCloseTo(1, 4);
    expect(ok.width).toBe(300);
    expect(bad.error.reason).toBe('NOT_AN_IMAGE');
    expect(px.shape).toEqual([2, 3, 224, 224]);
    expect((await stat(pixels)).size).toBe(2 * 3 * 224 * 224 * 4);
    const f = new Float32Array((await readFile(pixels)).buffer.slice(0));
    // Red channel of a pure red image under CLIP's normalisation: (1 - 0.48145466) / 0.26862954.
    expect(f[0]).toBeCloseTo((1 - 0.48145466) / 0.26862954, 4);
  });

  it('exits 2 with usage on bad arguments and 1 with a clear message when the model cannot load', async () => {
    const bad = await embed(['--text', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain('missing --model DIR');
    expect(bad.output).toContain('usage:');
    const missing = await embed(['--model', join(work, 'no-such-model'), '--text', 'x']);
    expect(missing.code).toBe(1);
    expect(missing.output).toMatch(/model folder not found/);
  });

  const fixtures = fixturesAvailable();
  if (!fixtures) announceFixtureSkip('tools:embed against the golden SigLIP embedding');
  it.skipIf(!fixtures)('reproduces a golden SigLIP text embedding (conformance)', async () => {
    const golden = JSON.parse(await readFile(fixturePath('golden', 'siglip-reference-mini.public.json'), 'utf8')) as {
      texts: { text: string; embedding_normalized: number[] }[];
    };
    const t = golden.texts[0]!;
    const r = await embed(['--model', fixturePath('models', 'siglip-reference-mini'), '--text', t.text]);
    expect(r.code, r.output).toBe(0);
    const e = (parseJson(r.stdout).results[0] as { embedding: number[] }).embedding;
    const dot = e.reduce((s, v, i) => s + v * t.embedding_normalized[i]!, 0);
    expect(dot).toBeGreaterThan(0.9999);
  });

  it.skipIf(!fixtures)('--tokens counts a literal <|endoftext|> in the text (the real CLIP tokenizer)', async () => {
    const r = await embed([
      '--model',
      fixturePath('models', 'clip-reference-mini'),
      '--tokens',
      '--text',
      'a photo of a <|endoftext|>',
    ]);
    expect(r.code, r.output).toBe(0);
    const first = parseJson(r.stdout).results[0] as { ids: number[]; num_tokens: number };
    // [sot, a, photo, of, a, eot (the literal), eot], then zero padding.
    expect(first.num_tokens).toBe(7);
    expect(first.ids.slice(5, 8)).toEqual([49407, 49407, 0]);
  });
});
