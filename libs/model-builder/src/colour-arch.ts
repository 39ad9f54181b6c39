import { COLOUR_RGB, COLOUR_WORDS } from './colours.js';
import { Graph, type Dim } from './graph.js';
import { Rng } from './rng.js';

/**
 * The 'colour' tiny models: embeddings that mean something, so end-to-end tests can check that a
 * search for "red" ranks red images first. Image tower: per patch, the mean colour of the (de-normalised)
 * pixels -> softmax over negative squared distances to the colour prototypes -> mix of per-colour
 * directions; averaged over patches.
 * Text tower: sum of token vectors, where a colour word's token is its colour's direction, special
 * and padding tokens are zero, and other tokens are small noise.
 */

/** Orthonormal per-colour directions [colours, dim] (Gram–Schmidt of seeded normals). */
export function colourDirections(dim: number, seed: number): Float32Array[] {
  if (dim < COLOUR_WORDS.length) throw new Error(`colour models need dim >= ${COLOUR_WORDS.length}, got ${dim}`);
  const rng = Rng.for(seed, 'colour-directions');
  const dirs: Float32Array[] = [];
  for (let k = 0; k < COLOUR_WORDS.length; k++) {
    const v = rng.normals(dim, 1);
    for (const u of dirs) {
      let dot = 0;
      for (let i = 0; i < dim; i++) dot += v[i]! * u[i]!;
      for (let i = 0; i < dim; i++) v[i]! -= dot * u[i]!;
    }
    let n = 0;
    for (let i = 0; i < dim; i++) n += v[i]! * v[i]!;
    n = Math.sqrt(n);
    for (let i = 0; i < dim; i++) v[i]! /= n;
    dirs.push(v);
  }
  return dirs;
}

/** Sharpness of the colour classifier (squared sRGB distance in 0..1 units). */
const TEMPERATURE = 40;

/** rgb [..., 3] in 0..1 -> [..., dim] mixture of colour directions. */
function colourHead(g: Graph, rgb: string, dirs: Float32Array[]): string {
  const k = COLOUR_WORDS.length;
  const protos = COLOUR_WORDS.map((w) => COLOUR_RGB[w].map((c) => c / 255));
  // logits_k = -T |x - p_k|^2 + T |x|^2 = 2T x.p_k - T |p_k|^2 (the dropped term is the same for every k).
  const w = new Float32Array(3 * k);
  for (let c = 0; c < 3; c++) for (let j = 0; j < k; j++) w[c * k + j] = 2 * TEMPERATURE * protos[j]![c]!;
  const b = protos.map((p) => -TEMPERATURE * (p[0]! ** 2 + p[1]! ** 2 + p[2]! ** 2));
  const logits = g.node('Add', [
    g.node('MatMul', [rgb, g.constF(w, [3, k], 'colour_prototypes')]),
    g.constF(b, [k], 'colour_bias'),
  ]);
  const probs = g.node('Softmax', [logits], { axis: -1 });
  const d = dirs[0]!.length;
  const table = new Float32Array(k * d);
  dirs.forEach((v, j) => table.set(v, j * d));
  return g.node('MatMul', [probs, g.constF(table, [k, d], 'colour_directions')]);
}

/** Normalisation the image tower undoes, from the model's preprocessor config. */
export interface PixelNorm {
  mean: [number, number, number];
  std: [number, number, number];
}

/** Side of the square patches the image tower classifies (224 / 16 = 14 x 14 patches). */
const COLOUR_PATCH = 16;

/**
 * Colour image tower: each 16x16 patch's mean colour is classified, and the image embedding is the
 * average of the patch embeddings, i.e. the colours' share of the image. A red object on a white
 * background therefore matches "red" partly and "white" partly, like a real model would.
 * `perPatch` is the [N, patches, dim] hidden state (SigLIP's last_hidden_state shape).
 */
export function colourVisionGraph(opts: {
  name: string;
  input: string;
  batch: Dim;
  imageSize: number;
  norm: PixelNorm;
  dirs: Float32Array[];
}): { g: Graph; pooled: string; perPatch: string } {
  const g = new Graph(opts.name);
  const px = g.input(opts.input, 'FLOAT', [opts.batch, 3, opts.imageSize, opts.imageSize]);
  // De-normalise: x * std + mean, per channel (shape [1,3,1,1]).
  const rgbImg = g.node('Add', [
    g.node('Mul', [px, g.constF(opts.norm.std, [1, 3, 1, 1])]),
    g.constF(opts.norm.mean, [1, 3, 1, 1]),
  ]);
  const pool = g.node('AveragePool', [rgbImg], {
    kernel_shape: [COLOUR_PATCH, COLOUR_PATCH],
    strides: [COLOUR_PATCH, COLOUR_PATCH],
  });
  const perPatchRgb = g.node('Transpose', [g.node('Reshape', [pool, g.constI64([0, 3, -1])])], { perm: [0, 2, 1] });
  const perPatch = colourHead(g, perPatchRgb, opts.dirs);
  const pooled = g.node('ReduceMean', [perPatch], { axes: [1], keepdims: 0 });
  return { g, pooled, perPatch };
}

/** Token table [vocab, dim]: colour tokens -> direction, `zeroIds` -> 0, the rest small noise. */
export function colourTokenTable(
  vocab: number,
  dirs: Float32Array[],
  colourTokenIds: Map<number, number>,
  zeroIds: number[],
  seed: number,
): Float32Array {
  const d = dirs[0]!.length;
  const table = Rng.for(seed, 'colour-token-noise').normals(vocab * d, 0.02);
  for (const id of zeroIds) table.fill(0, id * d, (id + 1) * d);
  for (const [id, k] of colourTokenIds) table.set(dirs[k]!, id * d);
  return table;
}

/** Colour text tower: ids [N, L] -> tokens [N, L, dim], summed over L. */
export function colourTextGraph(opts: {
  name: string;
  input: string;
  inputType: 'INT64' | 'INT32';
  batch: Dim;
  seq: Dim;
  table: Float32Array;
  dim: number;
}): { g: Graph; tokens: string; pooled: string } {
  const g = new Graph(opts.name);
  const ids = g.input(opts.input, opts.inputType, [opts.batch, opts.seq]);
  const vocab = opts.table.length / opts.dim;
  const table = opts.table;
  const tableName = g.init('token_embedding.weight', 'FLOAT', [vocab, opts.dim], () => table);
  const tokens = g.node('Gather', [tableName, ids], { axis: 0 });
  const pooled = g.node('ReduceSum', [tokens, g.constI64([1])], { keepdims: 0 });
  return { g, tokens, pooled };
}
