import { open, rename, rm } from 'node:fs/promises';
import { endianness } from 'node:os';
import { attrToProto, byteLength, dataTypeOf, type Dim, type Graph, type ValueInfo } from './graph.js';
import { OnnxProto } from './onnx-proto.js';

/** Options for writing one .onnx file. */
export interface WriteOnnxOptions {
  opset?: number;
  producer?: string;
  docString?: string;
  /** Called after each initializer is written (bytes written so far, total bytes). */
  onProgress?: (written: number, total: number) => void;
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

function valueInfo(v: ValueInfo): Record<string, unknown> {
  return {
    name: v.name,
    type: {
      tensor_type: {
        elem_type: dataTypeOf(v.dtype),
        shape: { dim: v.shape.map((d: Dim) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

const GRAPH_FIELD = 0x3a; // ModelProto.graph: field 7, length-delimited
const INITIALIZER_FIELD = 0x2a; // GraphProto.initializer: field 5, length-delimited
const RAW_DATA_FIELD = 0x4a; // TensorProto.raw_data: field 9, length-delimited

/**
 * Writes a graph as an ONNX model file. The protobuf framing of the graph and of each initializer
 * is computed from shapes first, then each initializer's values are generated and written one at a
 * time, so a 600 MB model never needs more than its largest tensor in memory. The result is an
 * ordinary single-file ModelProto (repeated fields may be split across the message, which protobuf
 * parsers merge). Written to a temporary name and renamed, so readers never see a partial file.
 */
export async function writeOnnx(path: string, graph: Graph, opts: WriteOnnxOptions = {}): Promise<void> {
  if (endianness() !== 'LE') throw new Error('ONNX raw_data is little-endian; big-endian hosts are not supported');
  const opset = opts.opset ?? 17;
  const graphHead = Buffer.from(
    OnnxProto.Graph.encode(
      OnnxProto.Graph.fromObject({
        name: graph.name,
        node: graph.nodes.map((n) => ({
          name: n.name,
          op_type: n.opType,
          input: n.inputs,
          output: n.outputs,
          attribute: Object.entries(n.attrs).map(([k, a]) => attrToProto(k, a)),
          ...(n.domain ? { domain: n.domain } : {}),
        })),
        input: graph.inputs.map(valueInfo),
        output: graph.outputs.map(valueInfo),
      }),
    ).finish(),
  );
  const inits = graph.initializers.map((init) => {
    const head = Buffer.from(
      OnnxProto.Tensor.encode(
        OnnxProto.Tensor.fromObject({ dims: init.dims, data_type: dataTypeOf(init.dtype), name: init.name }),
      ).finish(),
    );
    const raw = byteLength(init);
    const tensorLen = head.length + 1 + varint(raw).length + raw;
    return { init, head, raw, tensorLen, fieldLen: 1 + varint(tensorLen).length + tensorLen };
  });
  const graphLen = graphHead.length + inits.reduce((s, i) => s + i.fieldLen, 0);
  const domains = new Set(graph.nodes.map((n) => n.domain).filter((d): d is string => !!d));
  const modelHead = Buffer.from(
    OnnxProto.Model.encode(
      OnnxProto.Model.fromObject({
        ir_version: 8,
        producer_name: opts.producer ?? '@image-search/model-builder',
        producer_version: '1',
        ...(opts.docString ? { doc_string: opts.docString } : {}),
        opset_import: [{ domain: '', version: opset }, ...[...domains].map((d) => ({ domain: d, version: 1 }))],
      }),
    ).finish(),
  );

  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fh = await open(tmp, 'w');
  try {
    let pos = 0;
    const write = async (buf: Buffer | Uint8Array): Promise<void> => {
      let off = 0;
      while (off < buf.length) {
        const { bytesWritten } = await fh.write(buf, off, buf.length - off, pos);
        off += bytesWritten;
        pos += bytesWritten;
      }
    };
    await write(Buffer.concat([modelHead, Buffer.from([GRAPH_FIELD]), varint(graphLen), graphHead]));
    const total = inits.reduce((s, i) => s + i.raw, 0);
    let done = 0;
    for (const { init, head, raw, tensorLen } of inits) {
      const data = init.data();
      if (data.byteLength !== raw)
        throw new Error(
          `initializer ${init.name}: expected ${raw} bytes for ${init.dtype}[${init.dims.join(',')}], got ${data.byteLength}`,
        );
      await write(
        Buffer.concat([
          Buffer.from([INITIALIZER_FIELD]),
          varint(tensorLen),
          head,
          Buffer.from([RAW_DATA_FIELD]),
          varint(raw),
        ]),
      );
      await write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      done += raw;
      opts.onProgress?.(done, total);
    }
    await fh.close();
    await rename(tmp, path);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
}
