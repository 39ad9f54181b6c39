// Loads every ONNX file under <model dir>/onnx in onnxruntime-node, runs one inference with random
// inputs of the model's own shapes (batch 2), and compares each *_quantized.onnx against its fp32
// twin on the same input. Prints one JSON line per file plus a summary line; exits 1 on failure.
// Plain JavaScript run by `node`: the model-builder lib is scope:shared and may not import
// onnxruntime-node, so the check lives in a separate process (used by tests and make-bench-models --verify).
// Usage: node libs/model-builder/scripts/check-models.mjs <model dir> [--threads N]
import * as ort from 'onnxruntime-node';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: check-models.mjs <model dir> [--threads N]');
  process.exit(2);
}
const ti = process.argv.indexOf('--threads');
const threads = ti > 0 ? Number(process.argv[ti + 1]) : 1;
const files = readdirSync(join(dir, 'onnx'))
  .filter((f) => f.endsWith('.onnx'))
  .sort();
const BATCH = 2;
const textCfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).text_config ?? {};
const VOCAB = textCfg.vocab_size ?? 300;
const SEQ = textCfg.max_position_embeddings ?? 16;

function seeded(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function feedsFor(session) {
  const rnd = seeded(42);
  const feeds = {};
  for (const name of session.inputNames) {
    const meta = session.inputMetadata.find((m) => m.name === name);
    const dims = meta.shape.map((d, i) => (typeof d === 'number' ? d : i === 0 ? BATCH : SEQ));
    const n = dims.reduce((a, b) => a * b, 1);
    if (meta.type === 'float32')
      feeds[name] = new ort.Tensor(
        'float32',
        Float32Array.from({ length: n }, () => rnd() * 4 - 2),
        dims,
      );
    else if (meta.type === 'int64')
      feeds[name] = new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rnd() * VOCAB))),
        dims,
      );
    else if (meta.type === 'int32')
      feeds[name] = new ort.Tensor(
        'int32',
        Int32Array.from({ length: n }, () => Math.floor(rnd() * VOCAB)),
        dims,
      );
    else throw new Error(`${name}: unsupported input type ${meta.type}`);
  }
  return feeds;
}

function cosine(a, b) {
  let d = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return d / Math.sqrt(na * nb);
}

const outputs = {};
let failed = false;
for (const f of files) {
  const path = join(dir, 'onnx', f);
  try {
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(path, {
      intraOpNumThreads: threads,
      graphOptimizationLevel: 'all',
    });
    const loadMs = performance.now() - t0;
    const feeds = feedsFor(session);
    const t1 = performance.now();
    const result = await session.run(feeds);
    const runMs = performance.now() - t1;
    const main = session.outputNames.includes('pooler_output') ? 'pooler_output' : session.outputNames.at(-1);
    const data = result[main].data;
    if (!data.every(Number.isFinite)) throw new Error(`${main} has non-finite values`);
    outputs[f] = data;
    const line = {
      file: f,
      mb: +(statSync(path).size / 1e6).toFixed(1),
      inputs: session.inputNames,
      outputs: Object.fromEntries(Object.entries(result).map(([k, v]) => [k, v.dims])),
      load_ms: Math.round(loadMs),
      run_ms_batch2: Math.round(runMs),
    };
    const twin = f.replace('_quantized.onnx', '.onnx');
    if (twin !== f && outputs[twin]) line.cosine_vs_fp32 = +cosine(outputs[twin], data).toFixed(4);
    console.log(JSON.stringify(line));
    await session.release();
  } catch (err) {
    failed = true;
    console.log(JSON.stringify({ file: f, error: String(err?.message ?? err) }));
  }
}
console.log(JSON.stringify({ summary: failed ? 'FAILED' : 'ok', dir, files: files.length }));
process.exit(failed ? 1 : 0);
