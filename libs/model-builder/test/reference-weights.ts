import { readFileSync } from 'node:fs';
import { OnnxProto } from '../src/onnx-proto.js';

/** A float tensor read from an ONNX file. */
export interface RefTensor {
  dims: number[];
  data: Float32Array;
}

interface TensorMsg {
  name?: string;
  dims?: number[];
  data_type?: number;
  raw_data?: Uint8Array;
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function toFloat(t: TensorMsg): RefTensor {
  const raw = t.raw_data ?? new Uint8Array();
  const buf = Buffer.from(raw);
  const dims = (t.dims ?? []).map(Number);
  if (t.data_type === 1) {
    const out = new Float32Array(buf.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
    return { dims, data: out };
  }
  if (t.data_type === 10) {
    const out = new Float32Array(buf.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = f16ToF32(buf.readUInt16LE(i * 2));
    return { dims, data: out };
  }
  throw new Error(`tensor ${t.name}: data type ${t.data_type} is not float`);
}

/**
 * The float weights of an exported model: named initializers, the unnamed `onnx::MatMul_N` weights
 * the PyTorch exporter leaves after transposing Linear weights (in N order, i.e. creation order),
 * other unnamed initializers, and large Constant-node tensors (e.g. a float16 token table).
 */
export function readReferenceWeights(path: string): {
  named: Map<string, RefTensor>;
  matmuls: RefTensor[];
  unnamed: Map<string, RefTensor>;
  constants: RefTensor[];
} {
  const model = OnnxProto.Model.toObject(OnnxProto.Model.decode(readFileSync(path)), { longs: Number }) as {
    graph: { initializer: TensorMsg[]; node: { op_type: string; attribute?: { name: string; t?: TensorMsg }[] }[] };
  };
  const named = new Map<string, RefTensor>();
  const unnamed = new Map<string, RefTensor>();
  const mm: { n: number; t: RefTensor }[] = [];
  for (const init of model.graph.initializer) {
    if (init.data_type !== 1 && init.data_type !== 10) continue;
    const name = init.name ?? '';
    const m = /^onnx::MatMul_(\d+)$/.exec(name);
    if (m) mm.push({ n: Number(m[1]), t: toFloat(init) });
    else if (name.startsWith('onnx::')) unnamed.set(name, toFloat(init));
    else named.set(name, toFloat(init));
  }
  const constants = model.graph.node
    .filter((n) => n.op_type === 'Constant')
    .map((n) => n.attribute?.find((a) => a.name === 'value')?.t)
    .filter(
      (t): t is TensorMsg =>
        !!t && (t.data_type === 1 || t.data_type === 10) && (t.dims?.length ?? 0) === 2 && Number(t.dims![0]) > 1000,
    )
    .map(toFloat);
  return { named, matmuls: mm.sort((a, b) => a.n - b.n).map((x) => x.t), unnamed, constants };
}

/** Columns [from, to) of a row-major [rows, cols] matrix. */
export function columns(t: RefTensor, from: number, to: number): Float32Array {
  const [rows, cols] = t.dims as [number, number];
  const out = new Float32Array(rows * (to - from));
  for (let r = 0; r < rows; r++) out.set(t.data.subarray(r * cols + from, r * cols + to), r * (to - from));
  return out;
}

/** Transpose of a row-major [rows, cols] matrix (PyTorch Linear [out, in] -> MatMul [in, out]). */
export function transpose(t: RefTensor): Float32Array {
  const [rows, cols] = t.dims as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c]!;
  return out;
}
