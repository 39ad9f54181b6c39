import {
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Schema,
  Table as ArrowTable,
  Utf8,
  makeData,
  makeVector,
  vectorFromArray,
  RecordBatch,
  Struct,
  type Vector,
} from 'apache-arrow';
import { AppError } from '@image-search/service-kit';
import type { CollectionSchema } from '@image-search/collection-schema';
import { FILTERABLE_FIELDS, canonicalDate } from './payload-filter.js';
import { pointIdFor } from './point-id.js';
import type { ValidPoint } from './validation.js';

/** Schema metadata key under which the collection's configuration is stored, atomically with the table. */
export const CONFIG_KEY = 'isearch.collection';
/** Name of the vector index. */
export const VECTOR_INDEX = 'vector_idx';

/** The collection configuration kept in the table's schema metadata. */
export interface StoredConfig {
  formatVersion: 1;
  family: string;
  vectorSize: number;
  distance: string;
  quantization: { type: string; quantile: number; alwaysRam: boolean };
  hnsw: { m: number; efConstruct: number };
  payloadIndexes: { field: string; type: string }[];
}

/** Filterable payload fields, each stored as its own typed column next to the JSON payload. */
const FILTER_COLUMNS = Object.entries(FILTERABLE_FIELDS).filter(([k]) => k !== 'asset_id');

/** The Arrow schema of a collection table: point id, asset id, vector, payload JSON and filter columns. */
export function arrowSchema(config: StoredConfig): Schema {
  return new Schema(
    [
      new Field('id', new Utf8(), false),
      new Field('asset_id', new Utf8(), false),
      new Field('vector', new FixedSizeList(config.vectorSize, new Field('item', new Float32(), true)), false),
      new Field('payload', new Utf8(), false),
      ...FILTER_COLUMNS.map(([k, kind]) => new Field(k, kind === 'number' ? new Float64() : new Utf8(), true)),
    ],
    new Map([[CONFIG_KEY, JSON.stringify(config)]]),
  );
}

/** The stored configuration for a schema. */
export function storedConfig(schema: CollectionSchema): StoredConfig {
  return {
    formatVersion: 1,
    family: schema.family,
    vectorSize: schema.vectorSize,
    distance: schema.distance,
    quantization: { ...schema.quantization },
    hnsw: { ...schema.hnsw },
    payloadIndexes: schema.payloadIndexes.map((p) => ({ ...p })),
  };
}

/** Reads the stored configuration from a table's schema; INTERNAL when the table was not made by this adapter. */
export function readConfig(name: string, schema: Schema): StoredConfig {
  const raw = schema.metadata.get(CONFIG_KEY);
  const vectorField = schema.fields.find((f) => f.name === 'vector');
  if (raw === undefined || !vectorField) {
    throw new AppError(
      'SCHEMA_MISMATCH',
      `collection '${name}': table has no collection configuration; it was not created by this service (drop it or choose another collection name)`,
    );
  }
  const config = JSON.parse(raw) as StoredConfig;
  const dim = (vectorField.type as FixedSizeList).listSize;
  // The Arrow column is the ground truth for the dimension.
  return { ...config, vectorSize: dim };
}

function filterValue(kind: string, v: unknown): string | number | null {
  if (v === undefined || v === null) return null;
  if (kind === 'number') return typeof v === 'number' && Number.isFinite(v) ? v : null;
  if (kind === 'datetime') return canonicalDate(v) ?? null;
  return typeof v === 'string' ? v : null;
}

/**
 * Builds the Arrow batch for validated points directly from typed buffers: vectors go in as one
 * contiguous float32 buffer, which is much faster than row-object conversion for 768-d vectors.
 */
export function pointsToArrow(schema: Schema, points: ValidPoint[], dim: number): ArrowTable {
  const n = points.length;
  const flat = new Float32Array(n * dim);
  points.forEach((p, i) => flat.set(p.vector, i * dim));
  const vectorType = schema.fields.find((f) => f.name === 'vector')!.type as FixedSizeList;
  const vectorData = makeData({
    type: vectorType,
    length: n,
    nullCount: 0,
    child: makeData({ type: new Float32(), length: n * dim, data: flat }),
  });
  const columns: Record<string, Vector> = {
    id: vectorFromArray(
      points.map((p) => pointIdFor(p.assetId)),
      new Utf8(),
    ),
    asset_id: vectorFromArray(
      points.map((p) => p.assetId),
      new Utf8(),
    ),
    vector: makeVector(vectorData),
    payload: vectorFromArray(
      points.map((p) => JSON.stringify(p.payload)),
      new Utf8(),
    ),
  };
  for (const [k, kind] of FILTER_COLUMNS) {
    const values = points.map((p) => filterValue(kind, p.payload[k]));
    columns[k] = vectorFromArray(values, kind === 'number' ? new Float64() : new Utf8());
  }
  const children = schema.fields.map((f) => columns[f.name]!.data[0]!);
  const struct = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children });
  return new ArrowTable(schema, [new RecordBatch(schema, struct)]);
}

/** The columns read back for hits and retrieved points. */
export const READ_COLUMNS = ['asset_id', 'payload'];
