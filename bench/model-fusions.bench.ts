// Offline graph optimisation (issue #15 item 5): does saving onnxruntime's fused graph ahead of time
// (attention, layer norm, GELU fusions) beat what the embedders already get online
// (graphOptimizationLevel 'all' in libs/embedding/src/onnx-session.ts)? For each tower of the full-size
// random-weight bench models it times, in a fresh process per configuration (so load time and memory
// are that configuration's own):
//   disabled   the unoptimised graph (the reference for cosine)
//   basic      constant folding and redundant-node removal only
//   all        online, as the embedders run today
//   saved-ext  the graph saved at 'extended' (the fusions, hardware-neutral), loaded with optimisations off
//   saved-all  the graph saved at 'all' (adds CPU layout transforms), loaded with optimisations off
// and counts the node types of each graph, to show which fusions fire.
//
//   npx tsx bench/model-fusions.bench.ts [--models models/bench] [--family clip|siglip|both]
//        [--variant fp32|quantized|both] [--tower vision|text|both] [--batch 8] [--reps 4] [--rounds 2]
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import protobuf from 'protobufjs';
import * as ort from 'onnxruntime-node';
import { defaultIntraOpThreads } from '@image-search/embedding';
import { machine, median, printTable } from './embedders-support.js';

type Level = 'disabled' | 'basic' | 'extended' | 'all';
interface Job {
  path: string;
  level: Level;
  save?: string;
  batch: number;
  reps: number;
  threads: number;
}
interface Result {
  loadMs: number;
  msPerItem: number[];
  loadedMiB: number;
  hwmMiB: number;
  out: number[];
  dim: number;
}

const MiB = 2 ** 20;
const statusMiB = (k: string) =>
  Number(new RegExp(`${k}:\\s+(\\d+)`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;

/** Deterministic inputs for a session: pixels in [-1, 1], token ids below 1000 with a full mask. */
function inputs(s: ort.InferenceSession, batch: number): Record<string, ort.Tensor> {
  let x = 12345;
  const rnd = () => (x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const feeds: Record<string, ort.Tensor> = {};
  for (const m of s.inputMetadata) {
    if (!m.isTensor) continue;
    const dims = m.shape.map((d, i) => (i === 0 ? batch : typeof d === 'number' && d > 0 ? d : 77));
    const n = dims.reduce((a, b) => a * b, 1);
    if (m.type === 'float32')
      feeds[m.name] = new ort.Tensor(
        'float32',
        Float32Array.from({ length: n }, () => rnd() * 2 - 1),
        dims,
      );
    else if (/mask/.test(m.name)) feeds[m.name] = new ort.Tensor('int64', new BigInt64Array(n).fill(1n), dims);
    else
      feeds[m.name] = new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: n }, () => BigInt(1 + Math.floor(rnd() * 999))),
        dims,
      );
  }
  return feeds;
}

/** Child: load one configuration, time it, send back the figures and the first run's output. */
async function child(job: Job): Promise<Result> {
  const t0 = performance.now();
  const s = await ort.InferenceSession.create(job.path, {
    executionProviders: ['cpu'],
    intraOpNumThreads: job.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: job.level,
    // As the embedders' CPU sessions (onnx-session.ts).
    enableCpuMemArena: false,
    enableMemPattern: false,
    ...(job.save ? { optimizedModelFilePath: job.save } : {}),
  });
  const loadMs = performance.now() - t0;
  const loadedMiB = statusMiB('VmRSS');
  const feeds = inputs(s, job.batch);
  const outName = s.outputNames.find((n) => /embeds|pooler/.test(n)) ?? s.outputNames[0]!;
  const first = await s.run(feeds);
  const t = first[outName]!;
  const dim = Number(t.dims[t.dims.length - 1]);
  const msPerItem: number[] = [];
  for (let i = 0; i < job.reps; i++) {
    const a = performance.now();
    await s.run(feeds);
    msPerItem.push((performance.now() - a) / job.batch);
  }
  return { loadMs, msPerItem, loadedMiB, hwmMiB: statusMiB('VmHWM'), out: Array.from(t.data as Float32Array), dim };
}

function runChild(job: Job): Promise<Result> {
  return new Promise((res, rej) => {
    const p = fork(import.meta.filename, ['--child'], {
      env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072' },
      serialization: 'advanced',
    });
    p.once('message', (m: Result | { error: string }) => ('error' in m ? rej(new Error(m.error)) : res(m)));
    p.once('exit', (code) => code !== 0 && rej(new Error(`child exited ${code}`)));
    p.send(job);
  });
}

const root = protobuf.parse(
  `syntax = "proto2"; package onnx;
   message NodeProto { optional string op_type = 4; optional string domain = 7; }
   message GraphProto { repeated NodeProto node = 1; }
   message ModelProto { optional GraphProto graph = 7; }`,
  { keepCase: true },
).root;

/** Node types of a saved graph (weights are skipped by the decoder: only nodes are declared). */
function opCounts(path: string): Map<string, number> {
  const m = root.lookupType('onnx.ModelProto').decode(readFileSync(path)) as unknown as {
    graph?: { node?: { op_type?: string; domain?: string }[] };
  };
  const c = new Map<string, number>();
  for (const n of m.graph?.node ?? []) {
    const k =
      n.domain && n.domain !== 'ai.onnx' ? `${n.op_type}(${n.domain.replace('com.microsoft', 'ms')})` : n.op_type!;
    c.set(k, (c.get(k) ?? 0) + 1);
  }
  return c;
}

function cosines(a: Result, b: Result): number {
  let min = 1;
  for (let r = 0; r < a.out.length / a.dim; r++) {
    let [d, na, nb] = [0, 0, 0];
    for (let i = r * a.dim; i < (r + 1) * a.dim; i++) {
      d += a.out[i]! * b.out[i]!;
      na += a.out[i]! ** 2;
      nb += b.out[i]! ** 2;
    }
    min = Math.min(min, d / Math.sqrt(na * nb));
  }
  return min;
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      models: { type: 'string', default: 'models/bench' },
      family: { type: 'string', default: 'both' },
      variant: { type: 'string', default: 'both' },
      tower: { type: 'string', default: 'both' },
      batch: { type: 'string', default: '8' },
      reps: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '2' },
      out: { type: 'string', default: 'models/bench-fused' },
    },
  });
  const threads = defaultIntraOpThreads();
  const pick = <T extends string>(v: string, all: T[]) => (v === 'both' ? all : [v as T]);
  console.log(`# Offline graph optimisation — ${new Date().toISOString()}`);
  for (const line of machine(threads)) console.log(line);
  console.log(
    `Batch ${args.batch}, ${args.reps} timed runs after one warm-up per process, ${args.rounds} rounds (configurations alternate)`,
  );
  const rows: Record<string, string | number>[] = [];
  mkdirSync(args.out, { recursive: true });
  for (const family of pick(args.family, ['clip', 'siglip']))
    for (const variant of pick(args.variant, ['fp32', 'quantized']))
      for (const tower of pick(args.tower, ['vision', 'text'])) {
        const file = `${tower}_model${variant === 'quantized' ? '_quantized' : ''}.onnx`;
        const path = resolve(args.models, family, 'onnx', file);
        if (!existsSync(path)) {
          console.log(`## ${family} ${file}: SKIPPED (npx nx run tools:make-bench-models -- --out models/bench)`);
          continue;
        }
        const base = { batch: Number(args.batch), reps: Number(args.reps), threads };
        const saved = {
          ext: join(args.out, `${family}-${file}.ext.onnx`),
          all: join(args.out, `${family}-${file}.all.onnx`),
        };
        // Saving is a load with optimizedModelFilePath; its figures are not the timed ones.
        await runChild({ ...base, reps: 0, path, level: 'extended', save: saved.ext });
        await runChild({ ...base, reps: 0, path, level: 'all', save: saved.all });
        const configs: Record<string, Job> = {
          disabled: { ...base, path, level: 'disabled' },
          basic: { ...base, path, level: 'basic' },
          all: { ...base, path, level: 'all' },
          'saved-ext': { ...base, path: saved.ext, level: 'disabled' },
          'saved-all': { ...base, path: saved.all, level: 'disabled' },
        };
        const res: Record<string, Result[]> = {};
        for (let r = 0; r < Number(args.rounds); r++) {
          const names = Object.keys(configs);
          for (const name of r % 2 ? names.reverse() : names) (res[name] ??= []).push(await runChild(configs[name]!));
        }
        const ref = res.disabled![0]!;
        const ms = (name: string) => median(res[name]!.flatMap((x) => x.msPerItem));
        for (const name of Object.keys(configs)) {
          const x = res[name]!;
          rows.push({
            model: `${family} ${variant === 'quantized' ? 'int8' : variant} ${tower}`,
            config: name,
            'ms/item': ms(name).toFixed(1),
            'vs disabled': (ms('disabled') / ms(name)).toFixed(2),
            'vs all': (ms('all') / ms(name)).toFixed(2),
            'min cos': cosines(ref, x[0]!).toFixed(6),
            'load ms': median(x.map((y) => y.loadMs)).toFixed(0),
            'loaded MiB': median(x.map((y) => y.loadedMiB)).toFixed(0),
            'HWM MiB': median(x.map((y) => y.hwmMiB)).toFixed(0),
            'file MiB': (statSync(configs[name]!.path).size / MiB).toFixed(0),
          });
        }
        const counts = { original: opCounts(path), 'saved-ext': opCounts(saved.ext), 'saved-all': opCounts(saved.all) };
        const ops = [...new Set(Object.values(counts).flatMap((c) => [...c.keys()]))].sort();
        console.log(`\n## ${family} ${file}: node types`);
        printTable(
          ops.map((op) => ({ op, ...Object.fromEntries(Object.entries(counts).map(([k, c]) => [k, c.get(op) ?? 0])) })),
        );
        rmSync(saved.all, { force: true });
        rmSync(saved.ext, { force: true });
      }
  console.log('\n## Timings (median over rounds × runs), load and memory');
  printTable(rows);
  console.log(`(load average at the end: ${machine(threads)[0]})`);
}

if (process.argv[2] === '--child') {
  process.once('message', (job: Job) => {
    child(job).then(
      (r) => process.send!(r, () => process.exit(0)),
      (e: Error) => process.send!({ error: e.message }, () => process.exit(1)),
    );
  });
} else {
  await main();
}
