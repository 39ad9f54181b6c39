import { AttrType, BYTES_PER_ELEMENT, DataType, type DataTypeName } from './onnx-proto.js';

/** Typed arrays that can back an initializer. */
export type TensorData = Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

/** A graph constant. `data` is called once, while the file is written, so large weights are never all in memory. */
export interface Initializer {
  name: string;
  dtype: DataTypeName;
  dims: number[];
  data: () => TensorData;
  /** A learned parameter (counted in parameter totals), as opposed to a shape or index constant. */
  param: boolean;
}

/** A dimension is a fixed size or a named dynamic axis. */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  dtype: DataTypeName;
  shape: Dim[];
}

/** An attribute with its ONNX type made explicit (plain numbers are ints, see `attr`). */
export type AttrValue =
  | { kind: 'f'; value: number }
  | { kind: 'i'; value: number }
  | { kind: 's'; value: string }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: number[] };

export interface GraphNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  domain?: string;
  attrs: Record<string, AttrValue>;
}

/** Float attribute (plain numbers given to `node` are ints). */
export function F(value: number): AttrValue {
  return { kind: 'f', value };
}
/** List-of-floats attribute. */
export function FS(value: number[]): AttrValue {
  return { kind: 'floats', value };
}

type AttrInput = number | number[] | string | AttrValue;

function toAttr(v: AttrInput): AttrValue {
  if (typeof v === 'string') return { kind: 's', value: v };
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute value ${v} is not an integer; wrap floats with F()`);
    return { kind: 'i', value: v };
  }
  if (Array.isArray(v)) return { kind: 'ints', value: v };
  return v;
}

/** Number of elements of a shape. */
export function numel(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Byte length of an initializer's raw data. */
export function byteLength(init: Pick<Initializer, 'dtype' | 'dims'>): number {
  return numel(init.dims) * BYTES_PER_ELEMENT[init.dtype];
}

/**
 * An ONNX graph under construction. Node outputs get unique generated names; initializers keep
 * their given names (the weight names, used as RNG keys, so weights do not depend on build order).
 */
export class Graph {
  readonly nodes: GraphNode[] = [];
  readonly initializers: Initializer[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  private counter = 0;
  private readonly names = new Set<string>();
  private readonly initNames = new Set<string>();

  constructor(readonly name: string) {}

  fresh(hint: string): string {
    let n = `${hint}_${this.counter++}`;
    while (this.names.has(n)) n = `${hint}_${this.counter++}`;
    this.names.add(n);
    return n;
  }

  input(name: string, dtype: DataTypeName, shape: Dim[]): string {
    this.inputs.push({ name, dtype, shape });
    this.names.add(name);
    return name;
  }

  /** Declares a graph output; `value` is renamed to `name` with an Identity when they differ. */
  output(name: string, value: string, dtype: DataTypeName, shape: Dim[]): void {
    if (value !== name)
      this.nodes.push({ opType: 'Identity', inputs: [value], outputs: [name], name: `${name}_identity`, attrs: {} });
    this.names.add(name);
    this.outputs.push({ name, dtype, shape });
  }

  /** Adds an initializer; its values are produced lazily when the file is written. */
  init(name: string, dtype: DataTypeName, dims: number[], data: () => TensorData, param = true): string {
    if (this.initNames.has(name)) throw new Error(`duplicate tensor name ${name}`);
    this.initNames.add(name);
    this.names.add(name);
    this.initializers.push({ name, dtype, dims, data, param });
    return name;
  }

  /** Small float constant (not a parameter). */
  constF(values: number[] | Float32Array, dims: number[] = [values.length], hint = 'const'): string {
    const arr = Float32Array.from(values);
    return this.init(this.fresh(hint), 'FLOAT', dims, () => arr, false);
  }

  /** Small int64 constant (shapes, axes, indices). */
  constI64(values: number[], dims: number[] = [values.length], hint = 'const'): string {
    const arr = BigInt64Array.from(values.map((v) => BigInt(v)));
    return this.init(this.fresh(hint), 'INT64', dims, () => arr, false);
  }

  /** Adds a node and returns its output names. */
  nodeN(
    opType: string,
    inputs: string[],
    nOut: number,
    attrs: Record<string, AttrInput> = {},
    domain?: string,
  ): string[] {
    const outputs = Array.from({ length: nOut }, () => this.fresh(opType.toLowerCase()));
    const a: Record<string, AttrValue> = {};
    for (const [k, v] of Object.entries(attrs)) a[k] = toAttr(v);
    this.nodes.push({
      opType,
      inputs,
      outputs,
      name: `${opType}_${this.counter++}`,
      attrs: a,
      ...(domain ? { domain } : {}),
    });
    return outputs;
  }

  /** Adds a single-output node and returns its output name. */
  node(opType: string, inputs: string[], attrs: Record<string, AttrInput> = {}): string {
    return this.nodeN(opType, inputs, 1, attrs)[0]!;
  }

  /** Number of learned parameters (elements of param initializers). */
  paramCount(): number {
    return this.initializers.filter((i) => i.param).reduce((s, i) => s + numel(i.dims), 0);
  }

  /** Total initializer bytes (the bulk of the file size). */
  weightBytes(): number {
    return this.initializers.reduce((s, i) => s + byteLength(i), 0);
  }

  findInitializer(name: string): Initializer | undefined {
    return this.initializers.find((i) => i.name === name);
  }
}

/** The ONNX enum value for a dtype name. */
export function dataTypeOf(name: DataTypeName): number {
  return DataType[name];
}

/** Maps an attribute to the protobufjs AttributeProto object. */
export function attrToProto(name: string, a: AttrValue): Record<string, unknown> {
  switch (a.kind) {
    case 'f':
      return { name, type: AttrType.FLOAT, f: a.value };
    case 'i':
      return { name, type: AttrType.INT, i: a.value };
    case 's':
      return { name, type: AttrType.STRING, s: Buffer.from(a.value, 'utf8') };
    case 'floats':
      return { name, type: AttrType.FLOATS, floats: a.value };
    case 'ints':
      return { name, type: AttrType.INTS, ints: a.value };
  }
}
