import type { ClipArch } from './configs.js';
import { Graph } from './graph.js';
import { encoder, layerNorm, normalParam, type WeightInit } from './layers.js';

/** Batch-sized [N,1,1] shape for Expand, from the first dim of `x`. */
export function batchExpandShape(g: Graph, x: string): string {
  const n = g.node('Shape', [x], { start: 0, end: 1 });
  return g.node('Concat', [n, g.constI64([1, 1])], { axis: 0 });
}

/** Patch embedding: Conv with stride = kernel = patch, then [N, patches, hidden]. */
export function patchEmbed(
  g: Graph,
  w: WeightInit,
  pixels: string,
  name: string,
  hidden: number,
  patch: number,
  bias: boolean,
): string {
  const weight = normalParam(g, w, `${name}.weight`, [hidden, 3, patch, patch], 0.02);
  const inputs = bias ? [pixels, weight, normalParam(g, w, `${name}.bias`, [hidden], 0.02)] : [pixels, weight];
  const conv = g.node('Conv', inputs, { kernel_shape: [patch, patch], strides: [patch, patch] });
  return g.node('Transpose', [g.node('Reshape', [conv, g.constI64([0, hidden, -1])])], { perm: [0, 2, 1] });
}

/** HF CLIPVisionModelWithProjection: pixel_values [N,3,S,S] -> image_embeds [N,P] (not normalised). */
export function clipVisionGraph(arch: ClipArch, w: WeightInit): Graph {
  const { imageSize: s, patchSize: p, enc } = arch.vision;
  const h = enc.hidden;
  const g = new Graph('clip_vision');
  const pixels = g.input('pixel_values', 'FLOAT', ['batch_size', 3, s, s]);
  const tokens = patchEmbed(g, w, pixels, 'vision_model.embeddings.patch_embedding', h, p, false);
  const cls = g.node('Reshape', [
    normalParam(g, w, 'vision_model.embeddings.class_embedding', [h], 0.02),
    g.constI64([1, 1, h]),
  ]);
  const clsN = g.node('Expand', [cls, batchExpandShape(g, pixels)]);
  const patches = (s / p) ** 2;
  const pos = normalParam(g, w, 'vision_model.embeddings.position_embedding.weight', [patches + 1, h], 0.02);
  const emb = g.node('Add', [g.node('Concat', [clsN, tokens], { axis: 1 }), pos]);
  const hs = encoder(g, w, layerNorm(g, w, emb, 'vision_model.pre_layrnorm', h, enc.eps), 'vision_model.encoder', enc);
  const pooled = layerNorm(
    g,
    w,
    g.node('Gather', [hs, g.constI64([0], [])], { axis: 1 }),
    'vision_model.post_layernorm',
    h,
    enc.eps,
  );
  const out = g.node('MatMul', [pooled, normalParam(g, w, 'visual_projection.weight', [h, arch.projectionDim], 0.02)]);
  g.output('image_embeds', out, 'FLOAT', ['batch_size', arch.projectionDim]);
  return g;
}

/** Token + position embeddings for ids [N, L] (L dynamic, at most the context length). */
export function textEmbeddings(g: Graph, w: WeightInit, ids: string, vocab: number, ctx: number, d: number): string {
  const tok = g.node(
    'Gather',
    [normalParam(g, w, 'text_model.embeddings.token_embedding.weight', [vocab, d], 0.02), ids],
    { axis: 0 },
  );
  const len = g.node('Shape', [ids], { start: 1, end: 2 });
  const pos = g.node('Slice', [
    normalParam(g, w, 'text_model.embeddings.position_embedding.weight', [ctx, d], 0.01),
    g.constI64([0]),
    len,
    g.constI64([0]),
  ]);
  return g.node('Add', [tok, pos]);
}

/** HF CLIPTextModelWithProjection: input_ids [N,L] -> text_embeds [N,P], pooled at argmax(input_ids) (the first EOT). */
export function clipTextGraph(arch: ClipArch, w: WeightInit): Graph {
  const { vocabSize, contextLength, enc } = arch.text;
  const d = enc.hidden;
  const g = new Graph('clip_text');
  const ids = g.input('input_ids', 'INT64', ['batch_size', 'sequence_length']);
  const x = textEmbeddings(g, w, ids, vocabSize, contextLength, d);
  // Causal mask [L, L]: -1e9 above the diagonal, broadcast over batch and heads.
  const len = g.node('Reshape', [g.node('Shape', [ids], { start: 1, end: 2 }), g.constI64([], [0])]);
  const r = g.node('Range', [g.constI64([0], []), len, g.constI64([1], [])]);
  const future = g.node('Greater', [
    g.node('Unsqueeze', [r, g.constI64([0])]),
    g.node('Unsqueeze', [r, g.constI64([1])]),
  ]);
  const mask = g.node('Where', [future, g.constF([-1e9], []), g.constF([0], [])]);
  const hs = layerNorm(
    g,
    w,
    encoder(g, w, x, 'text_model.encoder', enc, mask),
    'text_model.final_layer_norm',
    d,
    enc.eps,
  );
  // ArgMax has no int64 kernel in onnxruntime; the HF exporter casts to int32 too.
  const eot = g.node('ArgMax', [g.node('Cast', [ids], { to: 6 })], { axis: -1, keepdims: 0 });
  const pooled = g.node('GatherND', [hs, g.node('Unsqueeze', [eot, g.constI64([-1])])], { batch_dims: 1 });
  const out = g.node('MatMul', [pooled, normalParam(g, w, 'text_projection.weight', [d, arch.projectionDim], 0.02)]);
  g.output('text_embeds', out, 'FLOAT', ['batch_size', arch.projectionDim]);
  return g;
}
