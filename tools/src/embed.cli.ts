// tools:embed — embeds images or texts with a model folder and prints JSON; for debugging preprocessing.
//   npx nx run tools:embed -- --model DIR (--image FILE... | --text "...") [--tokens] [--pixels OUT]
import { readFile, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { resolve } from 'node:path';
import { isAppError, parseCommandLine, runCli, UsageError } from '@image-search/service-kit';
import {
  ItemFailure,
  loadEmbeddingModel,
  type DeviceRequest,
  type ModelVariant,
  type OnnxEmbeddingModel,
} from '@image-search/embedding';

const USAGE = `embed: print embeddings (or token ids, or preprocessed pixels) from a model folder as JSON

usage: npx nx run tools:embed -- --model DIR (--image FILE... | --text "TEXT"...) [options]

  --model DIR        a model folder (transformers.js layout: onnx/*.onnx, or immich: visual/ + textual/)
  --image FILE       an image to embed; repeat it, or list more files after it
  --text TEXT        a text to embed; repeat it, or list more texts after it
  --tokens           print the token ids of each text (padded row + count before padding) instead of embeddings
  --pixels OUT       also write the preprocessed image tensors to OUT as raw little-endian float32,
                     shape [N, 3, S, S] in the order given (compare with a reference; numpy:
                     np.fromfile(OUT, '<f4').reshape(N, 3, S, S))
  --variant V        fp32 | fp16 | quantized (default fp32)
  --device D         cpu | cuda | cuda:N | auto (default cpu)
  --threads N        onnxruntime intra-op threads (default: physical cores; 1 on two cores or fewer)
  --decimals N       decimals printed per value (default 6)
  -h, --help

Exit status: 0 all items done, 1 some item failed or the model did not load, 2 bad arguments.`;

interface Args {
  model: string;
  images: string[];
  texts: string[];
  tokens: boolean;
  pixels: string | undefined;
  variant: ModelVariant;
  device: DeviceRequest;
  threads: number | undefined;
  decimals: number;
}

/** Parses the command line; a string is a usage error (empty for --help). */
function parse(argv: string[]): Args | string {
  const { values: v, positionals } = parseCommandLine({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      image: { type: 'string', multiple: true },
      text: { type: 'string', multiple: true },
      tokens: { type: 'boolean', default: false },
      pixels: { type: 'string' },
      variant: { type: 'string', default: 'fp32' },
      device: { type: 'string', default: 'cpu' },
      threads: { type: 'string' },
      decimals: { type: 'string', default: '6' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (v.help) return '';
  if (!v.model) return 'missing --model DIR';
  const images = [...(v.image ?? [])];
  const texts = [...(v.text ?? [])];
  if (positionals.length > 0) {
    if (images.length > 0 && texts.length === 0) images.push(...positionals);
    else if (texts.length > 0 && images.length === 0) texts.push(...positionals);
    else
      return `unexpected arguments ${JSON.stringify(positionals)} (extra files follow --image, extra texts follow --text)`;
  }
  if (images.length === 0 && texts.length === 0) return 'nothing to do: give --image FILE or --text "TEXT"';
  if (v.tokens && texts.length === 0) return '--tokens needs --text';
  if (v.pixels && images.length === 0) return '--pixels needs --image';
  if (!['fp32', 'fp16', 'quantized'].includes(v.variant))
    return `--variant must be fp32, fp16 or quantized (got ${v.variant})`;
  const threads = v.threads === undefined ? undefined : Number(v.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads > 0))
    return `--threads must be a positive integer (got ${v.threads})`;
  const decimals = Number(v.decimals);
  if (!(Number.isInteger(decimals) && decimals >= 0 && decimals <= 9))
    return `--decimals must be 0-9 (got ${v.decimals})`;
  return {
    model: v.model,
    images,
    texts,
    tokens: v.tokens,
    pixels: v.pixels,
    variant: v.variant as ModelVariant,
    device: v.device as DeviceRequest,
    threads,
    decimals,
  };
}

const rounded = (xs: Float32Array, d: number) => Array.from(xs, (x) => Number(x.toFixed(d)));

async function embedImages(model: OnnxEmbeddingModel, args: Args): Promise<{ results: object[]; failed: number }> {
  const len = model.images.tensorLength;
  const s = model.info.imageSize;
  const batch = new Float32Array(args.images.length * len);
  const results: object[] = [];
  let failed = 0;
  for (const [i, file] of args.images.entries()) {
    try {
      const bytes = await readFile(file);
      const px = await model.preparePixels(bytes);
      model.images.normalizeInto(px.data, batch, i * len);
      const view = batch.subarray(i * len, (i + 1) * len);
      const [embedding] = await model.embedPixelBatch(view, 1);
      const plane = s * s;
      const mean = [0, 1, 2].map((c) => view.subarray(c * plane, (c + 1) * plane).reduce((a, b) => a + b, 0) / plane);
      results.push({
        image: file,
        format: px.format,
        width: px.sourceWidth,
        height: px.sourceHeight,
        pixel_values_mean: mean.map((m) => Number(m.toFixed(6))),
        embedding: rounded(embedding!, args.decimals),
      });
    } catch (err) {
      failed++;
      if (err instanceof ItemFailure)
        results.push({ image: file, error: { reason: err.reason, message: err.message } });
      else if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        results.push({ image: file, error: { reason: 'NOT_FOUND', message: `no such file: ${file}` } });
      else throw err;
    }
  }
  if (args.pixels) {
    if (endianness() !== 'LE') throw new Error('--pixels writes little-endian float32; this machine is big-endian');
    await writeFile(args.pixels, new Uint8Array(batch.buffer, batch.byteOffset, batch.byteLength));
    results.push({
      pixels: resolve(args.pixels),
      dtype: 'float32-le',
      shape: [args.images.length, 3, s, s],
      note: 'failed images are left as zeros',
    });
  }
  return { results, failed };
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  if (typeof args === 'string') throw new UsageError(args);
  let model: OnnxEmbeddingModel;
  try {
    model = await loadEmbeddingModel({
      modelDir: args.model,
      variant: args.variant,
      device: args.device,
      intraOpThreads: args.threads,
      logger: { warn: (o, msg) => console.error(`embed: WARNING ${msg} ${JSON.stringify(o)}`) },
    });
  } catch (err) {
    if (isAppError(err)) {
      console.error(`embed: ${err.message}`);
      return 1;
    }
    throw err;
  }
  try {
    const results: object[] = [];
    let failed = 0;
    if (args.texts.length > 0) {
      const { ids, counts } = model.tokenizeWithCounts(args.texts);
      const ctx = model.info.contextLength;
      if (args.tokens) {
        args.texts.forEach((text, i) =>
          results.push({
            text,
            num_tokens: counts[i],
            ids: Array.from(ids.subarray(i * ctx, (i + 1) * ctx), Number),
          }),
        );
      } else {
        const embs = await model.embedTokens(ids, args.texts.length);
        args.texts.forEach((text, i) => results.push({ text, embedding: rounded(embs[i]!, args.decimals) }));
      }
    }
    if (args.images.length > 0) {
      const r = await embedImages(model, args);
      results.push(...r.results);
      failed += r.failed;
    }
    // One line per result keeps long vectors readable and greppable.
    process.stdout.write(
      `{"model":${JSON.stringify(model.info)},"results":[\n${results.map((r) => ` ${JSON.stringify(r)}`).join(',\n')}\n]}\n`,
    );
    if (failed > 0)
      console.error(`embed: ${failed} of ${args.images.length} images failed (see "error" in the output)`);
    return failed > 0 ? 1 : 0;
  } finally {
    await model.close();
  }
}

await runCli('embed', USAGE, main);
