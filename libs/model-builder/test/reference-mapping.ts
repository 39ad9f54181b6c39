import { columns, readReferenceWeights, transpose, type RefTensor } from './reference-weights.js';

type Source = (name: string, dims: number[]) => Float32Array | undefined;

/**
 * A named reference weight. The exporter keeps one copy of identical tensors (e.g. the all-zero
 * attention biases of every layer), so a later layer's missing weight is layer 0's.
 */
function need(map: Map<string, RefTensor>, name: string): Float32Array {
  const t = map.get(name) ?? map.get(name.replace(/\.(resblocks|blocks)\.\d+\./, '.$1.0.'));
  if (!t) throw new Error(`reference weight ${name} not found`);
  return t.data;
}

/** Wraps a name -> values table as a weight source that fails loudly on a missing or mis-sized weight. */
function sourceOf(table: Map<string, Float32Array>): Source {
  return (name, dims) => {
    const v = table.get(name);
    if (!v) throw new Error(`no reference weight mapped to ${name}`);
    const n = dims.reduce((a, b) => a * b, 1);
    if (v.length !== n) throw new Error(`${name}: reference has ${v.length} values, graph wants [${dims.join(',')}]`);
    return v;
  };
}

/**
 * Maps the OpenAI-CLIP-layout fixture export (clip.visual.*, clip.transformer.*; packed in_proj
 * weights as unnamed MatMul initializers) onto this builder's HF-style weight names.
 */
export function clipReferenceSource(
  visionPath: string,
  textPath: string,
  layers: number,
  hidden: { vision: number; text: number },
): { vision: Source; text: Source } {
  const tower = (path: string, prefix: string, d: number, vision: boolean): Source => {
    const ref = readReferenceWeights(path);
    const t = new Map<string, Float32Array>();
    const p = vision ? 'vision_model' : 'text_model';
    for (let i = 0; i < layers; i++) {
      const r = `${prefix}.transformer.resblocks.${i}`;
      const l = `${p}.encoder.layers.${i}`;
      const [inProj, fc, proj] = ref.matmuls.slice(3 * i, 3 * i + 3) as [RefTensor, RefTensor, RefTensor];
      const inBias = need(ref.named, `${r}.attn.in_proj_bias`);
      ['q_proj', 'k_proj', 'v_proj'].forEach((n, j) => {
        t.set(`${l}.self_attn.${n}.weight`, columns(inProj, j * d, (j + 1) * d));
        t.set(`${l}.self_attn.${n}.bias`, inBias.slice(j * d, (j + 1) * d));
      });
      t.set(
        `${l}.self_attn.out_proj.weight`,
        transpose({ dims: [d, d], data: need(ref.named, `${r}.attn.out_proj.weight`) }),
      );
      t.set(`${l}.self_attn.out_proj.bias`, need(ref.named, `${r}.attn.out_proj.bias`));
      t.set(`${l}.mlp.fc1.weight`, fc.data);
      t.set(`${l}.mlp.fc1.bias`, need(ref.named, `${r}.mlp.c_fc.bias`));
      t.set(`${l}.mlp.fc2.weight`, proj.data);
      t.set(`${l}.mlp.fc2.bias`, need(ref.named, `${r}.mlp.c_proj.bias`));
      for (const [a, b] of [
        ['layer_norm1', 'ln_1'],
        ['layer_norm2', 'ln_2'],
      ]) {
        t.set(`${l}.${a}.weight`, need(ref.named, `${r}.${b}.weight`));
        t.set(`${l}.${a}.bias`, need(ref.named, `${r}.${b}.bias`));
      }
    }
    if (vision) {
      t.set('vision_model.embeddings.patch_embedding.weight', need(ref.named, 'clip.visual.conv1.weight'));
      const unnamed = [...ref.unnamed.values()];
      t.set('vision_model.embeddings.class_embedding', unnamed.find((u) => u.dims.length === 1)!.data);
      t.set('vision_model.embeddings.position_embedding.weight', unnamed.find((u) => u.dims.length === 2)!.data);
      for (const [a, b] of [
        ['pre_layrnorm', 'ln_pre'],
        ['post_layernorm', 'ln_post'],
      ]) {
        t.set(`vision_model.${a}.weight`, need(ref.named, `clip.visual.${b}.weight`));
        t.set(`vision_model.${a}.bias`, need(ref.named, `clip.visual.${b}.bias`));
      }
      t.set('visual_projection.weight', need(ref.named, 'clip.visual.proj'));
    } else {
      t.set('text_model.embeddings.token_embedding.weight', ref.constants[0]!.data);
      t.set('text_model.embeddings.position_embedding.weight', need(ref.named, 'clip.positional_embedding'));
      t.set('text_model.final_layer_norm.weight', need(ref.named, 'clip.ln_final.weight'));
      t.set('text_model.final_layer_norm.bias', need(ref.named, 'clip.ln_final.bias'));
      t.set('text_projection.weight', need(ref.named, 'clip.text_projection'));
    }
    return sourceOf(t);
  };
  return {
    vision: tower(visionPath, 'clip.visual', hidden.vision, true),
    text: tower(textPath, 'clip', hidden.text, false),
  };
}

/** Maps the HF-SigLIP-layout fixture export (vis.*, txt.*; q/k/v/out/fc1/fc2 as unnamed MatMuls in order). */
export function siglipReferenceSource(
  visionPath: string,
  textPath: string,
  layers: number,
): { vision: Source; text: Source } {
  const blocks = (
    ref: ReturnType<typeof readReferenceWeights>,
    t: Map<string, Float32Array>,
    from: string,
    to: string,
  ) => {
    for (let i = 0; i < layers; i++) {
      const r = `${from}.blocks.${i}`;
      const l = `${to}.encoder.layers.${i}`;
      const mats = ref.matmuls.slice(6 * i, 6 * i + 6);
      ['q_proj', 'k_proj', 'v_proj', 'out_proj'].forEach((n, j) => {
        t.set(`${l}.self_attn.${n}.weight`, mats[j]!.data);
        t.set(`${l}.self_attn.${n}.bias`, need(ref.named, `${r}.attn.${n}.bias`));
      });
      t.set(`${l}.mlp.fc1.weight`, mats[4]!.data);
      t.set(`${l}.mlp.fc1.bias`, need(ref.named, `${r}.fc1.bias`));
      t.set(`${l}.mlp.fc2.weight`, mats[5]!.data);
      t.set(`${l}.mlp.fc2.bias`, need(ref.named, `${r}.fc2.bias`));
      for (const [a, b] of [
        ['layer_norm1', 'ln_1'],
        ['layer_norm2', 'ln_2'],
      ]) {
        t.set(`${l}.${a}.weight`, need(ref.named, `${r}.${b}.weight`));
        t.set(`${l}.${a}.bias`, need(ref.named, `${r}.${b}.bias`));
      }
    }
  };
  const v = readReferenceWeights(visionPath);
  const vt = new Map<string, Float32Array>();
  blocks(v, vt, 'vis', 'vision_model');
  vt.set('vision_model.embeddings.patch_embedding.weight', need(v.named, 'vis.patch_embedding.weight'));
  vt.set('vision_model.embeddings.patch_embedding.bias', need(v.named, 'vis.patch_embedding.bias'));
  vt.set('vision_model.embeddings.position_embedding.weight', need(v.named, 'vis.position_embedding'));
  vt.set('vision_model.post_layernorm.weight', need(v.named, 'vis.post_layernorm.weight'));
  vt.set('vision_model.post_layernorm.bias', need(v.named, 'vis.post_layernorm.bias'));
  vt.set('vision_model.head.probe', need(v.named, 'vis.head.probe'));
  const head = v.matmuls.slice(6 * layers);
  ['q', 'k', 'v'].forEach((n, j) => {
    vt.set(`vision_model.head.attention.in_proj_${n}.weight`, head[j]!.data);
    vt.set(`vision_model.head.attention.in_proj_${n}.bias`, need(v.named, `vis.head.attention.${n}_proj.bias`));
  });
  vt.set('vision_model.head.attention.out_proj.weight', head[3]!.data);
  vt.set('vision_model.head.attention.out_proj.bias', need(v.named, 'vis.head.attention.out_proj.bias'));
  vt.set('vision_model.head.layernorm.weight', need(v.named, 'vis.head.layernorm.weight'));
  vt.set('vision_model.head.layernorm.bias', need(v.named, 'vis.head.layernorm.bias'));
  vt.set('vision_model.head.mlp.fc1.weight', head[4]!.data);
  vt.set('vision_model.head.mlp.fc1.bias', need(v.named, 'vis.head.fc1.bias'));
  vt.set('vision_model.head.mlp.fc2.weight', head[5]!.data);
  vt.set('vision_model.head.mlp.fc2.bias', need(v.named, 'vis.head.fc2.bias'));

  const tr = readReferenceWeights(textPath);
  const tt = new Map<string, Float32Array>();
  blocks(tr, tt, 'txt', 'text_model');
  tt.set('text_model.embeddings.token_embedding.weight', need(tr.named, 'txt.token_embedding.weight'));
  tt.set('text_model.embeddings.position_embedding.weight', need(tr.named, 'txt.position_embedding'));
  tt.set('text_model.final_layer_norm.weight', need(tr.named, 'txt.final_layer_norm.weight'));
  tt.set('text_model.final_layer_norm.bias', need(tr.named, 'txt.final_layer_norm.bias'));
  tt.set('text_model.head.weight', transpose(tr.named.get('txt.head.weight')!));
  tt.set('text_model.head.bias', need(tr.named, 'txt.head.bias'));
  return { vision: sourceOf(vt), text: sourceOf(tt) };
}
