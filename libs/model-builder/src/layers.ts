import { F, type Graph } from './graph.js';
import { Rng } from './rng.js';

/**
 * How weights are made: seeded random per tensor name, unless `source` supplies real values
 * (used to load a reference model's weights into these graphs and compare outputs).
 */
export interface WeightInit {
  seed: number;
  source?: (name: string, dims: number[]) => Float32Array | undefined;
}

/** Normal(mean, std) initializer, generated lazily from (seed, name). */
export function normalParam(g: Graph, w: WeightInit, name: string, dims: number[], std: number, mean = 0): string {
  const n = dims.reduce((a, b) => a * b, 1);
  return g.init(name, 'FLOAT', dims, () => w.source?.(name, dims) ?? Rng.for(w.seed, name).normals(n, std, mean));
}

/** Activation functions of the supported architectures. */
export type Activation = 'quick_gelu' | 'gelu_tanh';

/**
 * y = x W + b, with W stored [in, out] as exporters leave it after constant folding. Weights have
 * std 1/sqrt(in) (unit gain, close to HF's CLIP init) so that, even in tiny random models, outputs
 * clearly depend on the input rather than on biases and embeddings alone.
 */
export function linear(
  g: Graph,
  w: WeightInit,
  x: string,
  name: string,
  dIn: number,
  dOut: number,
  bias = true,
): string {
  const weight = normalParam(g, w, `${name}.weight`, [dIn, dOut], 1 / Math.sqrt(dIn));
  const y = g.node('MatMul', [x, weight]);
  if (!bias) return y;
  return g.node('Add', [y, normalParam(g, w, `${name}.bias`, [dOut], 0.02)]);
}

/** LayerNormalization (opset 17). Gains/biases are jittered so random models give input-dependent outputs. */
export function layerNorm(g: Graph, w: WeightInit, x: string, name: string, d: number, eps: number): string {
  const scale = normalParam(g, w, `${name}.weight`, [d], 0.1, 1);
  const bias = normalParam(g, w, `${name}.bias`, [d], 0.02);
  return g.node('LayerNormalization', [x, scale, bias], { axis: -1, epsilon: F(eps) });
}

/** The activation as standard ops, in the form PyTorch's exporter emits it. */
export function activation(g: Graph, x: string, act: Activation): string {
  switch (act) {
    case 'quick_gelu': {
      // x * sigmoid(1.702 x)
      const s = g.node('Sigmoid', [g.node('Mul', [x, g.constF([1.702], [])])]);
      return g.node('Mul', [x, s]);
    }
    case 'gelu_tanh': {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      const x3 = g.node('Mul', [g.node('Mul', [x, x]), x]);
      const inner = g.node('Mul', [
        g.node('Add', [x, g.node('Mul', [x3, g.constF([0.044715], [])])]),
        g.constF([Math.sqrt(2 / Math.PI)], []),
      ]);
      const t = g.node('Add', [g.node('Tanh', [inner]), g.constF([1], [])]);
      return g.node('Mul', [g.node('Mul', [x, g.constF([0.5], [])]), t]);
    }
  }
}

/** Transformer encoder dimensions shared by the vision and text towers. */
export interface EncoderConfig {
  hidden: number;
  heads: number;
  intermediate: number;
  layers: number;
  eps: number;
  act: Activation;
}

/** [N, L, D] -> [N, H, L, dh] (or [N, H, dh, L] with `keyLayout`). */
function splitHeads(g: Graph, x: string, heads: number, headDim: number, keyLayout = false): string {
  const r = g.node('Reshape', [x, g.constI64([0, 0, heads, headDim])]);
  return g.node('Transpose', [r], { perm: keyLayout ? [0, 2, 3, 1] : [0, 2, 1, 3] });
}

/**
 * Multi-head attention with separate q/k/v/out projections (HF CLIPAttention / SiglipAttention;
 * nn.MultiheadAttention's packed in_proj has the same parameters). `mask` is added to the scores.
 */
export function attention(
  g: Graph,
  w: WeightInit,
  q: string,
  kv: string,
  name: string,
  cfg: EncoderConfig,
  mask?: string,
  outNames = ['q_proj', 'k_proj', 'v_proj', 'out_proj'],
): string {
  const d = cfg.hidden;
  const dh = d / cfg.heads;
  const [qn, kn, vn, on] = outNames as [string, string, string, string];
  const qh = splitHeads(
    g,
    g.node('Mul', [linear(g, w, q, `${name}.${qn}`, d, d), g.constF([dh ** -0.5], [])]),
    cfg.heads,
    dh,
  );
  const kh = splitHeads(g, linear(g, w, kv, `${name}.${kn}`, d, d), cfg.heads, dh, true);
  const vh = splitHeads(g, linear(g, w, kv, `${name}.${vn}`, d, d), cfg.heads, dh);
  let scores = g.node('MatMul', [qh, kh]);
  if (mask) scores = g.node('Add', [scores, mask]);
  const probs = g.node('Softmax', [scores], { axis: -1 });
  const ctx = g.node('Transpose', [g.node('MatMul', [probs, vh])], { perm: [0, 2, 1, 3] });
  const merged = g.node('Reshape', [ctx, g.constI64([0, 0, d])]);
  return linear(g, w, merged, `${name}.${on}`, d, d);
}

/** fc1 -> activation -> fc2. */
export function mlp(g: Graph, w: WeightInit, x: string, name: string, cfg: EncoderConfig): string {
  return linear(
    g,
    w,
    activation(g, linear(g, w, x, `${name}.fc1`, cfg.hidden, cfg.intermediate), cfg.act),
    `${name}.fc2`,
    cfg.intermediate,
    cfg.hidden,
  );
}

/** Pre-LN transformer encoder layers (CLIP and SigLIP share this structure). */
export function encoder(g: Graph, w: WeightInit, x: string, prefix: string, cfg: EncoderConfig, mask?: string): string {
  let h = x;
  for (let i = 0; i < cfg.layers; i++) {
    const p = `${prefix}.layers.${i}`;
    const n1 = layerNorm(g, w, h, `${p}.layer_norm1`, cfg.hidden, cfg.eps);
    const a = attention(g, w, n1, n1, `${p}.self_attn`, cfg, mask);
    h = g.node('Add', [h, a]);
    h = g.node('Add', [h, mlp(g, w, layerNorm(g, w, h, `${p}.layer_norm2`, cfg.hidden, cfg.eps), `${p}.mlp`, cfg)]);
  }
  return h;
}

/** Parameters of `layers` encoder layers. */
export function encoderParams(cfg: EncoderConfig): number {
  const d = cfg.hidden;
  const perLayer =
    2 * (2 * d) + 4 * (d * d + d) + (d * cfg.intermediate + cfg.intermediate) + (cfg.intermediate * d + d);
  return cfg.layers * perLayer;
}
