import * as lancedb from '@lancedb/lancedb';
import { Schema, Field, Utf8, FixedSizeList, Float32 } from 'apache-arrow';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const N = Number(process.argv[2] ?? 50000), D = 768, L = 32, Q = 200;
let seed = 42; const rnd = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 2 ** 32; };
const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
const W = Array.from({ length: L }, () => Float32Array.from({ length: D }, gauss));
function vec() { const z = Array.from({ length: L }, gauss); const v = new Float32Array(D); for (let l = 0; l < L; l++) { const w = W[l]; for (let d = 0; d < D; d++) v[d] += z[l] * w[d]; } let n = 0; for (let d = 0; d < D; d++) { v[d] += gauss() * 1.5; n += v[d] * v[d]; } n = Math.sqrt(n); for (let d = 0; d < D; d++) v[d] /= n; return v; }
const dir = mkdtempSync(join(tmpdir(), 'lx-'));
const db = await lancedb.connect(dir, { readConsistencyInterval: 0 });
const schema = new Schema([new Field('id', new Utf8(), false), new Field('vector', new FixedSizeList(D, new Field('item', new Float32(), true)), false)]);
const t = await db.createEmptyTable('c', schema);
let t0 = Date.now();
const vecs: Float32Array[] = [];
for (let b = 0; b < N; b += 5000) { const rows = []; for (let i = b; i < Math.min(N, b + 5000); i++) { const v = vec(); vecs.push(v); rows.push({ id: `p${i}`, vector: v }); } await t.add(lancedb.makeArrowTable(rows, { schema })); }
console.log('load', Date.now() - t0);
const qs = Array.from({ length: Q }, () => vec());
t0 = Date.now();
const exact: string[][] = [];
for (const q of qs) exact.push((await t.vectorSearch(q).distanceType('cosine').limit(10).select(['id']).toArray()).map((r) => r.id));
console.log('exact q ms', (Date.now() - t0) / Q);
t0 = Date.now();
await t.createIndex('vector', { config: lancedb.Index.hnswSq({ distanceType: 'cosine', m: 16, efConstruction: 100, numPartitions: 1 }) });
console.log('index build', Date.now() - t0);
for (const ef of [10, 20, 40, 64, 100, 150]) {
  let hit = 0; const lat: number[] = [];
  for (let i = 0; i < Q; i++) { const s = performance.now(); const r = await t.vectorSearch(qs[i]).distanceType('cosine').ef(ef).limit(10).select(['id']).toArray(); lat.push(performance.now() - s); const ex = new Set(exact[i]); hit += r.filter((x) => ex.has(x.id)).length; }
  lat.sort((a, b) => a - b);
  console.log(`ef=${ef} recall=${(hit / Q / 10).toFixed(3)} p50=${lat[Q >> 1].toFixed(2)} p95=${lat[Math.floor(Q * 0.95)].toFixed(2)}`);
}
for (const rf of [2, 5]) {
  let hit = 0; const lat: number[] = [];
  for (let i = 0; i < Q; i++) { const s = performance.now(); const r = await t.vectorSearch(qs[i]).distanceType('cosine').ef(64).refineFactor(rf).limit(10).select(['id']).toArray(); lat.push(performance.now() - s); const ex = new Set(exact[i]); hit += r.filter((x) => ex.has(x.id)).length; }
  lat.sort((a, b) => a - b);
  console.log(`ef=64 rf=${rf} recall=${(hit / Q / 10).toFixed(3)} p50=${lat[Q >> 1].toFixed(2)}`);
}
