// tools:make-bench-models — writes full-size, architecture-faithful CLIP ViT-B/32 and SigLIP B/16-224
// models with seeded random weights (fp32 and int8) in the transformers.js layout, for benchmarks.
//   npx nx run tools:make-bench-models -- [--out models/bench] [--family clip|siglip] [--variants fp32,int8]
import { spawnSync } from 'node:child_process';
import { resolve, join } from 'node:path';
import cliProgress from 'cli-progress';
import { parseCommandLine, runCli, UsageError } from '@image-search/service-kit';
import {
  archModelPlan,
  benchArch,
  paramCounts,
  writeBenchModel,
  type BenchVariant,
  type Family,
} from '@image-search/model-builder';

const USAGE = `make-bench-models: full-size random-weight CLIP / SigLIP models for benchmarks

usage: npx nx run tools:make-bench-models -- [options]

  --out DIR             parent folder (default models/bench); models go to DIR/clip and DIR/siglip
  --family F            clip or siglip (default: both)
  --variants LIST       comma-separated fp32,int8 (default fp32,int8); int8 files are *_quantized.onnx
  --seed N              weight seed (default 1); the same seed gives the same weights
  --tokenizer-from DIR  copy tokenizer files from a real model folder (default: a small generated tokenizer)
  --verify              afterwards, load each file in onnxruntime-node and run one inference
  -h, --help

The weights are random: embeddings mean nothing, but compute cost and file sizes are the real ones
(CLIP: 87,849,216 + 63,428,096 parameters; SigLIP: 92,884,224 + 110,271,744).`;

const M = 1e6;

function fmtDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--';
  return s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

/**
 * done/total parameters, rate, ETA: a bar on a terminal, a line every few seconds elsewhere.
 * Counted in parameters, not bytes, because generating a weight costs the same in fp32 and int8.
 */
function progress(total: number): { update: (done: number, label: string) => void; stop: () => void } {
  const started = Date.now();
  const payload = (done: number, label: string) => {
    const rate = done / Math.max(0.001, (Date.now() - started) / 1000);
    return {
      mb: `${(done / M).toFixed(0)} / ${(total / M).toFixed(0)} M params`,
      rate: `${(rate / M).toFixed(1)} M/s`,
      eta: rate > 0 ? fmtDuration((total - done) / rate) : '--',
      label,
    };
  };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: '{bar} {percentage}% | {mb} | {rate} | ETA {eta} | {label}',
        stream: process.stderr,
        hideCursor: true,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, payload(0, ''));
    return { update: (d, l) => bar.update(d, payload(d, l)), stop: () => bar.stop() };
  }
  let last = 0;
  return {
    update: (d, l) => {
      if (Date.now() - last < 3000 && d < total) return;
      last = Date.now();
      const p = payload(d, l);
      process.stderr.write(
        `make-bench-models: ${p.mb} (${Math.floor((d / total) * 100)}%)  ${p.rate}  ETA ${p.eta}  ${l}\n`,
      );
    },
    stop: () => undefined,
  };
}

async function main(): Promise<number> {
  const { values } = parseCommandLine({
    options: {
      out: { type: 'string', default: 'models/bench' },
      family: { type: 'string' },
      variants: { type: 'string', default: 'fp32,int8' },
      seed: { type: 'string', default: '1' },
      'tokenizer-from': { type: 'string' },
      verify: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  if (values.family !== undefined && values.family !== 'clip' && values.family !== 'siglip')
    throw new UsageError(`--family must be clip or siglip, got ${JSON.stringify(values.family)}`);
  const families: Family[] = values.family ? [values.family] : ['clip', 'siglip'];
  const variants = values.variants
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  const bad = variants.filter((v) => v !== 'fp32' && v !== 'int8');
  if (bad.length || !variants.length)
    throw new UsageError(`--variants takes fp32 and/or int8 (comma-separated), got ${JSON.stringify(values.variants)}`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0)
    throw new UsageError(`--seed must be a non-negative integer, got ${JSON.stringify(values.seed)}`);
  const out = resolve(values.out);
  const plans = families.map((family) => ({
    family,
    dir: join(out, family),
    files: archModelPlan(benchArch(family), variants as BenchVariant[]),
  }));
  const total = plans.reduce((s, p) => s + p.files.reduce((t, f) => t + f.params, 0), 0);
  const bytes = plans.reduce((s, p) => s + p.files.reduce((t, f) => t + f.weightBytes, 0), 0);
  for (const p of plans) {
    const c = paramCounts(benchArch(p.family));
    console.error(
      `make-bench-models: ${p.family} -> ${p.dir} (vision ${c.vision.toLocaleString('en')} + text ${c.text.toLocaleString('en')} parameters; ${variants.join(', ')})`,
    );
  }
  const started = Date.now();
  const bar = progress(total);
  let before = 0;
  for (const p of plans) {
    await writeBenchModel(p.dir, p.family, {
      variants: variants as BenchVariant[],
      seed,
      ...(values['tokenizer-from'] ? { tokenizerFrom: resolve(values['tokenizer-from']) } : {}),
      onProgress: ({ file, written }) => {
        const f = p.files.find((x) => x.file === file);
        bar.update(before + (f ? (written * f.params) / f.weightBytes : 0), `${p.family}/${file}`);
      },
      onFile: (file) => (before += p.files.find((f) => f.file === file)?.params ?? 0),
    });
  }
  bar.stop();
  console.error(
    `make-bench-models: wrote ${(bytes / 2 ** 20).toFixed(0)} MiB of weights in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  for (const p of plans)
    for (const f of p.files)
      console.log(
        `${join(p.dir, f.file)}\t${f.params.toLocaleString('en')} params\t${(f.weightBytes / 2 ** 20).toFixed(1)} MiB`,
      );
  if (values.verify) {
    // onnxruntime-node is banned in tools by lint; the check runs as its own node process.
    const script = resolve(import.meta.dirname, '../../libs/model-builder/scripts/check-models.mjs');
    for (const p of plans) {
      const r = spawnSync(process.execPath, [script, p.dir], { stdio: 'inherit' });
      if (r.status !== 0) {
        console.error(`make-bench-models: verification of ${p.dir} failed (see above)`);
        return 1;
      }
    }
  }
  return 0;
}

await runCli('make-bench-models', USAGE, main, { exit: true });
