import { batchExpandShape, patchEmbed, textEmbeddings } from './clip-arch.js';
import type { SiglipArch } from './configs.js';
import { Graph } from './graph.js';
import { attention, encoder, layerNorm, mlp, normalParam, linear, type WeightInit } from './layers.js';

/**
 * HF SiglipVisionModel: pixel_values [N,3,S,S] -> last_hidden_state [N,patches,H], pooler_output [N,H]
 * (multihead attention pooling head with a learned probe; no class token).
 */
export function siglipVisionGraph(arch: SiglipArch, w: WeightInit): Graph {
  const { imageSize: s, patchSize: p, enc } = arch.vision;
  const h = enc.hidden;
  const patches = (s / p) ** 2;
  const g = new Graph('siglip_vision');
  const pixels = g.input('pixel_values', 'FLOAT', ['batch_size', 3, s, s]);
  const tokens = patchEmbed(g, w, pixels, 'vision_model.embeddings.patch_embedding', h, p, true);
  const emb = g.node('Add', [
    tokens,
    normalParam(g, w, 'vision_model.embeddings.position_embedding.weight', [patches, h], 0.02),
  ]);
  const last = layerNorm(
    g,
    w,
    encoder(g, w, emb, 'vision_model.encoder', enc),
    'vision_model.post_layernorm',
    h,
    enc.eps,
  );
  const probe = g.node('Expand', [
    normalParam(g, w, 'vision_model.head.probe', [1, 1, h], 0.02),
    batchExpandShape(g, pixels),
  ]);
  const attn = attention(g, w, probe, last, 'vision_model.head.attention', enc, undefined, [
    'in_proj_q',
    'in_proj_k',
    'in_proj_v',
    'out_proj',
  ]);
  const x = g.node('Add', [
    attn,
    mlp(g, w, layerNorm(g, w, attn, 'vision_model.head.layernorm', h, enc.eps), 'vision_model.head.mlp', enc),
  ]);
  const pooled = g.node('Gather', [x, g.constI64([0], [])], { axis: 1 });
  g.output('last_hidden_state', last, 'FLOAT', ['batch_size', patches, h]);
  g.output('pooler_output', pooled, 'FLOAT', ['batch_size', h]);
  return g;
}

/**
 * HF SiglipTextModel: input_ids [N,L] (padded to the context length) -> last_hidden_state [N,L,D],
 * pooler_output [N,P] = head(last_hidden_state[:, -1]). No attention mask, as in the real model.
 */
export function siglipTextGraph(arch: SiglipArch, w: WeightInit): Graph {
  const { vocabSize, contextLength, enc, projectionSize } = arch.text;
  const d = enc.hidden;
  const g = new Graph('siglip_text');
  const ids = g.input('input_ids', 'INT64', ['batch_size', 'sequence_length']);
  const x = textEmbeddings(g, w, ids, vocabSize, contextLength, d);
  const last = layerNorm(g, w, encoder(g, w, x, 'text_model.encoder', enc), 'text_model.final_layer_norm', d, enc.eps);
  const pooled = linear(
    g,
    w,
    g.node('Gather', [last, g.constI64([-1], [])], { axis: 1 }),
    'text_model.head',
    d,
    projectionSize,
  );
  g.output('last_hidden_state', last, 'FLOAT', ['batch_size', 'sequence_length', d]);
  g.output('pooler_output', pooled, 'FLOAT', ['batch_size', projectionSize]);
  return g;
}
