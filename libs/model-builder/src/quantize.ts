import type { Graph, GraphNode, Initializer } from './graph.js';

/** Symmetric per-tensor int8 quantization of weights: scale = max|w| / 127, zero point 0. */
export function quantizeSymmetric(w: Float32Array): { q: Int8Array; scale: number } {
  let max = 0;
  for (let i = 0; i < w.length; i++) {
    const a = Math.abs(w[i]!);
    if (a > max) max = a;
  }
  const scale = max > 0 ? max / 127 : 1;
  const q = new Int8Array(w.length);
  const inv = 1 / scale;
  // |w * inv| <= 127 by construction of the scale, so rounding half away from zero needs no clamp.
  for (let i = 0; i < w.length; i++) {
    const x = w[i]! * inv;
    q[i] = (x + (x >= 0 ? 0.5 : -0.5)) | 0;
  }
  return { q, scale };
}

/**
 * Rewrites a float graph the way onnxruntime's `quantize_dynamic` (weight_type=QInt8, per-tensor)
 * does: each MatMul by a 2-D weight becomes DynamicQuantizeLinear(activation, shared per tensor) ->
 * MatMulInteger(uint8 x int8) -> Cast -> Mul by (activation scale x weight scale), which
 * onnxruntime fuses into its DynamicQuantizeMatMul kernel; each Gather from an embedding table
 * becomes a Gather from the int8 table followed by DequantizeLinear. Conv (only the patch
 * embedding, about 1-3% of the weights) stays float. Weights are quantized lazily while the file
 * is written, from the same seeded float weights as the fp32 model.
 */
export function quantizeDynamicInPlace(g: Graph): { matmuls: number; gathers: number } {
  const byName = new Map(g.initializers.map((i) => [i.name, i]));
  const uses = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  const quantizable = (name: string | undefined, rank: number): Initializer | undefined => {
    const init = name ? byName.get(name) : undefined;
    return init && init.param && init.dtype === 'FLOAT' && init.dims.length === rank && uses.get(init.name) === 1
      ? init
      : undefined;
  };

  const scales = new Map<string, number>();
  const quantizedWeight = (w: Initializer): { q: string; scale: string; zp: string } => {
    const q = g.init(`${w.name}_quantized`, 'INT8', w.dims, () => {
      const r = quantizeSymmetric(w.data() as Float32Array);
      scales.set(w.name, r.scale);
      return r.q;
    });
    const scale = g.init(
      `${w.name}_scale`,
      'FLOAT',
      [],
      () => {
        const s = scales.get(w.name) ?? quantizeSymmetric(w.data() as Float32Array).scale;
        scales.delete(w.name);
        return Float32Array.of(s);
      },
      false,
    );
    const zp = g.init(`${w.name}_zero_point`, 'INT8', [], () => Int8Array.of(0), false);
    return { q, scale, zp };
  };

  const dynamic = new Map<string, [string, string, string]>();
  const rewritten: GraphNode[] = [];
  const dropped = new Set<string>();
  let matmuls = 0;
  let gathers = 0;
  // Build replacements into a side list; `g.node` appends to g.nodes, so capture and splice.
  const original = g.nodes.splice(0, g.nodes.length);
  for (const n of original) {
    const mw = n.opType === 'MatMul' ? quantizable(n.inputs[1], 2) : undefined;
    const gw = n.opType === 'Gather' ? quantizable(n.inputs[0], 2) : undefined;
    if (mw) {
      const { q, scale, zp } = quantizedWeight(mw);
      const x = n.inputs[0]!;
      let dq = dynamic.get(x);
      if (!dq) {
        dq = g.nodeN('DynamicQuantizeLinear', [x], 3) as [string, string, string];
        dynamic.set(x, dq);
      }
      const acc = g.node('MatMulInteger', [dq[0], q, dq[2], zp]);
      const f = g.node('Cast', [acc], { to: 1 });
      const s = g.node('Mul', [dq[1], scale]);
      g.nodes.push({ opType: 'Mul', inputs: [f, s], outputs: n.outputs, name: `${n.name}_quant`, attrs: {} });
      dropped.add(mw.name);
      matmuls++;
    } else if (gw) {
      const { q, scale, zp } = quantizedWeight(gw);
      const gathered = g.nodeN('Gather', [q, ...n.inputs.slice(1)], 1, { axis: 0 })[0]!;
      g.nodes.push({
        opType: 'DequantizeLinear',
        inputs: [gathered, scale, zp],
        outputs: n.outputs,
        name: `${n.name}_quant`,
        attrs: {},
      });
      dropped.add(gw.name);
      gathers++;
    } else {
      g.nodes.push(n);
    }
    rewritten.push(...g.nodes.splice(0, g.nodes.length));
  }
  g.nodes.push(...rewritten);
  // Quantized copies were appended after the float weights; drop the floats and keep each
  // quantized weight next to its scale (the scale reuses the value computed with the weight).
  const kept = g.initializers.filter((i) => !dropped.has(i.name));
  g.initializers.splice(0, g.initializers.length, ...kept);
  return { matmuls, gathers };
}
