// Tiny hand-built ONNX graphs that expose what the loader feeds them (encoded with protobufjs from a
// minimal subset of onnx.proto; field numbers as in onnx/onnx.proto3).
import { writeFile } from 'node:fs/promises';
import protobuf from 'protobufjs';

const root = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            ir_version: { type: 'int64', id: 1 },
            producer_name: { type: 'string', id: 2 },
            graph: { type: 'GraphProto', id: 7 },
            opset_import: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          },
        },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            op_type: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            i: { type: 'int64', id: 3 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            type: { type: 'int32', id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            data_type: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            raw_data: { type: 'bytes', id: 9 },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: { fields: { tensor_type: { type: 'TensorType', id: 1 } } },
        TensorType: { fields: { elem_type: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
        TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } } },
        Dimension: { fields: { dim_value: { type: 'int64', id: 1 }, dim_param: { type: 'string', id: 2 } } },
      },
    },
  },
});
const Model = root.lookupType('onnx.ModelProto');

const T = { FLOAT: 1, INT64: 7, FLOAT16: 10 } as const;
const ATTR_INT = 2;
const ATTR_INTS = 7;

const vi = (name: string, elem: number, dims: (number | string)[]) => ({
  name,
  type: {
    tensor_type: {
      elem_type: elem,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
    },
  },
});
const node = (op: string, inputs: string[], output: string, attrs: object[] = []) => ({
  op_type: op,
  input: inputs,
  output: [output],
  name: output,
  attribute: attrs,
});
const int = (name: string, i: number) => ({ name, i, type: ATTR_INT });
const ints = (name: string, v: number[]) => ({ name, ints: v, type: ATTR_INTS });

async function save(path: string, graph: object): Promise<void> {
  const msg = Model.create({
    ir_version: 8,
    producer_name: 'embedding-test',
    opset_import: [{ domain: '', version: 13 }],
    graph,
  });
  await writeFile(path, Model.encode(msg).finish());
}

/**
 * Text graph with `input_ids` and `attention_mask` (int64 [N, L]); `text_embeds` [N, 3] =
 * (sum(mask), sum(ids), sum(mask)) per row, so a test can read back what was fed.
 */
export function writeMaskProbeTextModel(path: string): Promise<void> {
  const axes = { name: 'axes', dims: [1], data_type: T.INT64, raw_data: Buffer.from(new BigInt64Array([1n]).buffer) };
  return save(path, {
    name: 'mask_probe',
    initializer: [axes],
    input: [
      vi('input_ids', T.INT64, ['batch_size', 'sequence_length']),
      vi('attention_mask', T.INT64, ['batch_size', 'sequence_length']),
    ],
    node: [
      node('Cast', ['attention_mask'], 'mask_f', [int('to', T.FLOAT)]),
      node('ReduceSum', ['mask_f', 'axes'], 'mask_sum', [int('keepdims', 1)]),
      node('Cast', ['input_ids'], 'ids_f', [int('to', T.FLOAT)]),
      node('ReduceSum', ['ids_f', 'axes'], 'ids_sum', [int('keepdims', 1)]),
      {
        op_type: 'Concat',
        input: ['mask_sum', 'ids_sum', 'mask_sum'],
        output: ['text_embeds'],
        name: 'concat',
        attribute: [int('axis', 1)],
      },
    ],
    output: [vi('text_embeds', T.FLOAT, ['batch_size', 3])],
  });
}

/** Vision graph with float16 input and output (as some fp16 exports have): `image_embeds` [N, 3] = per-channel mean. */
export function writeFp16ProbeVisionModel(path: string, size = 224): Promise<void> {
  return save(path, {
    name: 'fp16_probe',
    input: [vi('pixel_values', T.FLOAT16, ['batch_size', 3, size, size])],
    node: [
      node('Cast', ['pixel_values'], 'px_f', [int('to', T.FLOAT)]),
      node('ReduceMean', ['px_f'], 'mean', [ints('axes', [2, 3]), int('keepdims', 0)]),
      node('Cast', ['mean'], 'image_embeds', [int('to', T.FLOAT16)]),
    ],
    output: [vi('image_embeds', T.FLOAT16, ['batch_size', 3])],
  });
}
