/** Which embedding model a collection holds. */
export type ModelFamily = 'clip' | 'siglip';

/** Payload fields the API filters on; each gets a payload index. */
export const PAYLOAD_INDEXES = [
  { field: 'asset_id', type: 'keyword' },
  { field: 'path_hash', type: 'keyword' },
  { field: 'category', type: 'keyword' },
  { field: 'date_taken', type: 'datetime' },
] as const;

/** Declarative definition of one model's vector collection, shared by every app and tool. */
export interface CollectionSchema {
  family: ModelFamily;
  name: string;
  vectorSize: number;
  distance: 'Cosine';
  quantization: { type: 'int8'; quantile: number; alwaysRam: boolean };
  hnsw: { m: number; efConstruct: number };
  payloadIndexes: readonly { field: string; type: 'keyword' | 'datetime' | 'integer' | 'float' }[];
}

/** Default collection names (the seed's). */
export const DEFAULT_COLLECTION_NAMES: Record<ModelFamily, string> = {
  clip: 'image_assets',
  siglip: 'image_assets_siglip',
};

/** Vector sizes of the default models: CLIP ViT-B/32 and SigLIP ViT-B/16. */
export const DEFAULT_VECTOR_SIZES: Record<ModelFamily, number> = {
  clip: 512,
  siglip: 768,
};

/** Builds the schema for one family; `name` and `vectorSize` override the defaults. */
export function collectionSchema(
  family: ModelFamily,
  overrides: { name?: string; vectorSize?: number } = {},
): CollectionSchema {
  return {
    family,
    name: overrides.name ?? DEFAULT_COLLECTION_NAMES[family],
    vectorSize: overrides.vectorSize ?? DEFAULT_VECTOR_SIZES[family],
    distance: 'Cosine',
    quantization: { type: 'int8', quantile: 0.99, alwaysRam: true },
    hnsw: { m: 16, efConstruct: 100 },
    payloadIndexes: PAYLOAD_INDEXES,
  };
}

/** One way a live collection or a model differs from the schema. */
export interface SchemaDifference {
  field: string;
  expected: unknown;
  actual: unknown;
}

/** The parts of a live collection's configuration that can be compared with the schema. */
export interface LiveCollectionConfig {
  vectorSize: number;
  distance: string;
  quantization?: { type: string; quantile?: number; alwaysRam?: boolean } | null;
  hnsw?: { m?: number; efConstruct?: number } | null;
}

/** Lists how a live collection differs from the schema (empty when it matches). */
export function diffCollection(schema: CollectionSchema, live: LiveCollectionConfig): SchemaDifference[] {
  const diffs: SchemaDifference[] = [];
  if (live.vectorSize !== schema.vectorSize)
    diffs.push({ field: 'vector size', expected: schema.vectorSize, actual: live.vectorSize });
  if (live.distance.toLowerCase() !== schema.distance.toLowerCase())
    diffs.push({ field: 'distance', expected: schema.distance, actual: live.distance });
  if (live.quantization !== undefined) {
    if (live.quantization === null || live.quantization.type !== schema.quantization.type) {
      diffs.push({
        field: 'quantization',
        expected: schema.quantization.type,
        actual: live.quantization?.type ?? 'none',
      });
    } else if (
      live.quantization.quantile !== undefined &&
      Math.abs(live.quantization.quantile - schema.quantization.quantile) > 1e-9
    ) {
      diffs.push({
        field: 'quantization quantile',
        expected: schema.quantization.quantile,
        actual: live.quantization.quantile,
      });
    }
  }
  if (live.hnsw) {
    if (live.hnsw.m !== undefined && live.hnsw.m !== schema.hnsw.m)
      diffs.push({ field: 'hnsw m', expected: schema.hnsw.m, actual: live.hnsw.m });
    if (live.hnsw.efConstruct !== undefined && live.hnsw.efConstruct !== schema.hnsw.efConstruct)
      diffs.push({ field: 'hnsw ef_construct', expected: schema.hnsw.efConstruct, actual: live.hnsw.efConstruct });
  }
  return diffs;
}

/** Checks the model's reported dimension against the schema; returns the difference, if any. */
export function diffModelDimension(schema: CollectionSchema, modelDim: number): SchemaDifference[] {
  return modelDim === schema.vectorSize
    ? []
    : [{ field: 'vector size', expected: schema.vectorSize, actual: modelDim }];
}

/** One line per difference, for start-up errors and `--check`. */
export function describeDifferences(collection: string, diffs: SchemaDifference[]): string {
  return diffs
    .map(
      (d) =>
        `collection '${collection}': ${d.field} is ${JSON.stringify(d.actual)}, schema expects ${JSON.stringify(d.expected)}`,
    )
    .join('\n');
}
