// First ingest of a 12 MP photo, before and after new files are embedded from their preview (issue #15).
// Per photo, what first ingest does in either mode: the gateway renders the 512 px preview from the
// original (renderPreview, as PreviewStore.ensure does), then every model's embedder is sent either the
// original (before) or the preview (after). The thumbnail, made from the preview in both modes, is left
// out: it is the same work either way. Modes alternate photo by photo, so a loaded machine's drift hits
// both; figures are medians per photo, CPU summed over this process and both embedder process trees.
//
//   npx tsx bench/ingest-preview.bench.ts [--photos 6] [--passes 3] [--models ../shared/fixtures/models]
//
// Real parts: the clip- and siglip-embedder apps over gRPC on loopback (decode workers, onnxruntime),
// with the reference-mini models by default (full-size models: --models DIR holding clip-*/siglip-* dirs).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cosine } from '@image-search/embedding';
import { DEFAULT_PREVIEW_OPTIONS, renderPreview } from '@image-search/image-formats';
import { largePhoto } from '@image-search/testing';
import { machine, median, printTable, startServed, type Served } from './embedders-support.js';

const { values: args } = parseArgs({
  options: {
    photos: { type: 'string', default: '6' },
    passes: { type: 'string', default: '3' },
    fixtures: { type: 'string', default: resolve(import.meta.dirname, '../../shared/fixtures') },
    models: { type: 'string' },
  },
});
const modelsDir = args.models ?? join(args.fixtures!, 'models');
const modelDir = (family: string) => {
  const name = readdirSync(modelsDir).find((d) => d.startsWith(`${family}-`));
  if (!name) throw new Error(`no ${family}-* model folder in ${modelsDir}`);
  return join(modelsDir, name);
};
const cocoDir = join(args.fixtures!, 'images/coco');
if (!existsSync(cocoDir)) {
  console.error(`COCO photos not found at ${cocoDir}; pass --fixtures DIR (the reference fixtures folder).`);
  process.exit(2);
}
const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

/** CPU seconds of a process and its descendants so far (Linux /proc; clock ticks of 1/100 s). */
function treeCpu(pid: number): number {
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) / 100;
      for (const t of readdirSync(`/proc/${p}/task`))
        stack.push(
          ...readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
        );
    } catch {
      // Gone meanwhile (a replaced decode worker): its time is lost to both modes alike.
    }
  }
  return total;
}

const coco = readdirSync(cocoDir)
  .filter((f) => f.endsWith('.jpg'))
  .sort()
  .map((f) => readFileSync(join(cocoDir, f)));
log(`generating ${args.photos} 12 MP photos`);
const photos: Buffer[] = [];
for (let i = 0; i < Number(args.photos); i++)
  photos.push(await largePhoto(coco[(i * 11) % coco.length]!, { seed: i + 1 }));
log('starting the clip and siglip embedders');
const served: Served[] = [
  await startServed('clip', { MODEL_DIR: modelDir('clip') }),
  await startServed('siglip', { MODEL_DIR: modelDir('siglip') }),
];
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6 + served.reduce((s, e) => s + treeCpu(e.proc.child.pid!), 0);
};
const embedAll = async (data: Buffer) => {
  const out: Float32Array[] = [];
  for (const e of served) {
    const [r] = await e.client.embedImages([{ data, id: 'x' }], { deadlineMs: 600_000 });
    if (!r?.ok) throw new Error(`embedding failed: ${r?.message}`);
    out.push(r.vector);
  }
  return out;
};

type Mode = 'before (original)' | 'after (preview)';
const samples: Record<Mode, { wall: number[]; cpu: number[] }> = {
  'before (original)': { wall: [], cpu: [] },
  'after (preview)': { wall: [], cpu: [] },
};
const cos: number[][] = [[], []];
const load0 = loadavg();
// Warm-up: both paths once, so neither pays for the first decode worker and session start.
const warm = await renderPreview(photos[0]!, DEFAULT_PREVIEW_OPTIONS);
await embedAll(photos[0]!);
await embedAll(warm!.data);
for (let pass = 0; pass < Number(args.passes); pass++) {
  for (const [i, photo] of photos.entries()) {
    const order: Mode[] =
      (pass + i) % 2 ? ['after (preview)', 'before (original)'] : ['before (original)', 'after (preview)'];
    const vecs = new Map<Mode, Float32Array[]>();
    for (const mode of order) {
      const [t0, c0] = [performance.now(), cpuNow()];
      const preview = await renderPreview(photo, DEFAULT_PREVIEW_OPTIONS);
      vecs.set(mode, await embedAll(mode === 'after (preview)' ? preview!.data : photo));
      samples[mode].wall.push(performance.now() - t0);
      samples[mode].cpu.push((cpuNow() - c0) * 1000);
    }
    if (pass === 0)
      vecs.get('after (preview)')!.forEach((v, m) => cos[m]!.push(cosine(v, vecs.get('before (original)')![m]!)));
  }
  log(`pass ${pass + 1}/${args.passes} done`);
}
const load1 = loadavg();
for (const e of served) await e.stop();

for (const line of machine(0).slice(0, 3)) console.log(line);
console.log(
  `Load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${load1.map((x) => x.toFixed(2)).join(' ')}`,
);
console.log(
  `Models: ${modelDir('clip')}, ${modelDir('siglip')}; ${photos.length} photos 4000x3000 × ${args.passes} passes`,
);
const b = samples['before (original)'];
const a = samples['after (preview)'];
printTable(
  (Object.keys(samples) as Mode[]).map((mode) => ({
    mode,
    'wall ms/photo (median)': median(samples[mode].wall).toFixed(0),
    'CPU ms/photo (median)': median(samples[mode].cpu).toFixed(0),
  })),
);
console.log(
  `after/before: wall ${(median(a.wall) / median(b.wall)).toFixed(2)}, CPU ${(median(a.cpu) / median(b.cpu)).toFixed(2)}` +
    ` (before/after: wall ${(median(b.wall) / median(a.wall)).toFixed(2)}×, CPU ${(median(b.cpu) / median(a.cpu)).toFixed(2)}×)`,
);
console.log(
  `cosine(preview-based, original-based), min: clip ${Math.min(...cos[0]!).toFixed(6)}, siglip ${Math.min(...cos[1]!).toFixed(6)}`,
);
