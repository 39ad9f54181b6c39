import type { DataTypeName } from './onnx-proto.js';
import type { Dim, Graph } from './graph.js';

/**
 * Re-labels a graph's single input and chosen output the way immich's open_clip exports name them
 * (`image` / `text` in, `embedding` out, fixed batch 1). The old input name stays as an internal
 * value fed by an Identity (or a Cast when the type changes, e.g. immich feeds int32 token ids).
 */
export function relabelIo(
  g: Graph,
  io: {
    input: { from: string; to: string; dtype: DataTypeName; shape: Dim[] };
    output: { from: string; to: string; shape: Dim[] };
  },
): void {
  const idx = g.inputs.findIndex((i) => i.name === io.input.from);
  if (idx < 0) throw new Error(`graph ${g.name} has no input ${io.input.from}`);
  const old = g.inputs[idx]!;
  g.inputs.splice(idx, 1, { name: io.input.to, dtype: io.input.dtype, shape: io.input.shape });
  const castTo = { FLOAT: 1, INT64: 7, INT32: 6 }[old.dtype as 'FLOAT' | 'INT64' | 'INT32'];
  g.nodes.unshift(
    old.dtype === io.input.dtype
      ? { opType: 'Identity', inputs: [io.input.to], outputs: [old.name], name: `${io.input.to}_in`, attrs: {} }
      : {
          opType: 'Cast',
          inputs: [io.input.to],
          outputs: [old.name],
          name: `${io.input.to}_cast`,
          attrs: { to: { kind: 'i', value: castTo } },
        },
  );
  const out = g.outputs.find((o) => o.name === io.output.from);
  if (!out) throw new Error(`graph ${g.name} has no output ${io.output.from}`);
  g.outputs.splice(0, g.outputs.length);
  g.output(io.output.to, io.output.from, out.dtype, io.output.shape);
}
