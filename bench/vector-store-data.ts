// The vector-store benchmark's seeded data, in a module of its own so the 100k run (main thread) and the large run's
// generator worker (bench/vector-store-gen.worker.ts) produce the same vectors from the same seed.

/** Number of topics and the latent dimension of the generated embeddings. */
export const CLUSTERS = 200;
export const LATENT = 48;
/** Per-dimension noise std: about 10% of the total variance, the rest in the latent subspace. */
const NOISE = 0.3;

/** A generated point: its unit vector and the topic it came from (the filter field is derived from it). */
export interface Sample {
  v: Float32Array;
  cluster: number;
}

/**
 * Realistic structure: points come from CLUSTERS topics in a LATENT-dim space, mapped linearly to `dim` dims,
 * plus isotropic noise, then L2-normalised (as embeddings are). Pure Gaussian vectors have no neighbourhood
 * structure and make every approximate index look broken. Seeded, so every run sees the same vectors.
 */
export function createGenerator(dim: number, seed0 = 20261124): () => Sample {
  let seed = seed0;
  const rand = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  // Decaying spectrum over the latent dims (a few strong directions, a long tail), as in real embedding models.
  const W = Array.from({ length: LATENT }, (_, l) =>
    Float32Array.from({ length: dim }, () => (gauss() / Math.sqrt(LATENT)) * Math.sqrt(2 / (1 + l / 8))),
  );
  const centres = Array.from({ length: CLUSTERS }, () => Float32Array.from({ length: LATENT }, gauss));
  return () => {
    const cluster = Math.floor(rand() * CLUSTERS);
    const c = centres[cluster]!;
    const v = new Float32Array(dim);
    for (let l = 0; l < LATENT; l++) {
      const z = c[l]! * 0.8 + gauss() * 0.6;
      const w = W[l]!;
      for (let d = 0; d < dim; d++) v[d]! += z * w[d]!;
    }
    let n = 0;
    for (let d = 0; d < dim; d++) {
      v[d]! += gauss() * NOISE;
      n += v[d]! * v[d]!;
    }
    n = Math.sqrt(n);
    for (let d = 0; d < dim; d++) v[d]! /= n;
    return { v, cluster };
  };
}
