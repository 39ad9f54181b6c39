import { randomBytes } from 'node:crypto';
import { collectionSchema, type CollectionSchema } from '@image-search/collection-schema';
import type { UpsertPoint } from '../vector-store.port.js';

/** Dimension used by the contract tests: small keeps them fast, the behaviour is the same at 768. */
export const DIM = 16;

/** A collection name no other test uses (both engines accept it). */
export function testCollection(label: string): string {
  return `t_${label}_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** The SigLIP schema with a test name and the small dimension. */
export function testSchema(label: string, overrides: Partial<CollectionSchema> = {}): CollectionSchema {
  return { ...collectionSchema('siglip', { name: testCollection(label), vectorSize: DIM }), ...overrides };
}

/** A seeded pseudo-random generator (tests must be reproducible). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A deterministic unit vector. */
export function unitVector(rand: () => number, dim = DIM): Float32Array {
  const v = Float32Array.from({ length: dim }, () => rand() * 2 - 1);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** The float32 L2 normalisation both engines apply on upsert (the test oracle for "exact vector"). */
export function normalized(v: ArrayLike<number>): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const n = Math.sqrt(s);
  return Float32Array.from(v, (x) => x / n);
}

/** Cosine similarity (test oracle only). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return d / Math.sqrt(na * nb);
}

const CATEGORIES = ['beach', 'city', 'forest', "o'hare"];

/** `n` points with asset ids `<prefix>-<i>` and a realistic payload. */
export function makePoints(n: number, seed = 1, prefix = 'asset'): UpsertPoint[] {
  const rand = rng(seed);
  return Array.from({ length: n }, (_, i) => ({
    assetId: `${prefix}-${i}`,
    vector: unitVector(rand),
    payload: {
      path: `/photos/${CATEGORIES[i % 4]}/img_${i}.jpg`,
      path_hash: `h${i}`,
      category: CATEGORIES[i % 4]!,
      width: 100 + i,
      height: 50,
      date_taken: new Date(Date.UTC(2024, 0, 1 + (i % 28))).toISOString(),
      tags: ['x', i],
    },
  }));
}

/** The point a test writer process writes for (writer, batch, index): regenerable by the checker. */
export function writerPoint(prefix: string, batch: number, size: number, j: number, dim = DIM): UpsertPoint {
  const rand = rng(batch * 1000 + j + prefix.length * 7919 + 1);
  return {
    assetId: `${prefix}-b${batch}-n${size}-${j}`,
    vector: unitVector(rand, dim),
    payload: { category: prefix, width: batch, height: j, path: `/w/${prefix}/${batch}/${j}.jpg` },
  };
}

/** Parses a writer asset id back to its batch and batch size. */
export function parseWriterId(id: string): { prefix: string; batch: number; size: number } | undefined {
  const m = /^(.+)-b(\d+)-n(\d+)-\d+$/.exec(id);
  return m ? { prefix: m[1]!, batch: Number(m[2]), size: Number(m[3]) } : undefined;
}
