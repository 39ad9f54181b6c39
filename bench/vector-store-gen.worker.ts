// Worker of the large vector-store run: generates the seeded points batch by batch (on request, so it never runs
// more than a few batches ahead of the writes) and keeps the exact top k of every query as the points pass by, so
// neither the generation nor the ground truth competes with the store's writes on the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { createGenerator } from './vector-store-data.js';

/** What the main thread passes to the worker. */
export interface GenOptions {
  n: number;
  dim: number;
  queries: number;
  k: number;
  batch: number;
}

/** Messages: the queries first, then one batch per request, then the exact top k (point numbers) per query. */
export type GenMessage =
  | { type: 'queries'; flat: Float32Array }
  | { type: 'batch'; start: number; flat: Float32Array; clusters: Int32Array }
  | { type: 'truth'; ids: number[][]; truthMs: number };

const { n, dim, queries: Q, k: K, batch: B } = workerData as GenOptions;
const sample = createGenerator(dim);
const qflat = new Float32Array(Q * dim);
for (let q = 0; q < Q; q++) qflat.set(sample().v, q * dim);
// Top k per query, kept sorted descending (k is small, so insertion is cheap).
const topIds = Array.from({ length: Q }, () => [] as number[]);
const topScores = Array.from({ length: Q }, () => [] as number[]);
let next = 0;
let truthMs = 0;

function offer(q: number, id: number, score: number): void {
  const ids = topIds[q]!;
  const scores = topScores[q]!;
  if (ids.length === K && score <= scores[K - 1]!) return;
  if (ids.length === K) {
    ids.pop();
    scores.pop();
  }
  let i = ids.length;
  while (i > 0 && scores[i - 1]! < score) i--;
  ids.splice(i, 0, id);
  scores.splice(i, 0, score);
}

function makeBatch(): GenMessage {
  const start = next;
  const count = Math.min(B, n - start);
  const flat = new Float32Array(count * dim);
  const clusters = new Int32Array(count);
  for (let j = 0; j < count; j++) {
    const { v, cluster } = sample();
    flat.set(v, j * dim);
    clusters[j] = cluster;
  }
  next += count;
  const t = performance.now();
  // Blocked: one query against the whole batch, so the query row stays in cache.
  for (let q = 0; q < Q; q++) {
    const qo = q * dim;
    for (let j = 0; j < count; j++) {
      const po = j * dim;
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += qflat[qo + d]! * flat[po + d]!;
      offer(q, start + j, dot);
    }
  }
  truthMs += performance.now() - t;
  return { type: 'batch', start, flat, clusters };
}

parentPort!.postMessage({ type: 'queries', flat: qflat } satisfies GenMessage);
parentPort!.on('message', (m: 'next' | 'truth') => {
  if (m === 'next') {
    const msg = makeBatch() as Extract<GenMessage, { type: 'batch' }>;
    parentPort!.postMessage(msg, [msg.flat.buffer as ArrayBuffer, msg.clusters.buffer as ArrayBuffer]);
  } else {
    parentPort!.postMessage({ type: 'truth', ids: topIds, truthMs } satisfies GenMessage);
    parentPort!.close();
  }
});
