import { AppError } from '@image-search/service-kit';
import {
  describeDifferences,
  diffCollection,
  diffModelDimension,
  type CollectionSchema,
} from '@image-search/collection-schema';
import type { CollectionInfo, VectorStore } from './vector-store.port.js';

/**
 * Start-up check for a service: the model's reported dimension must match the schema, and the live
 * collection must exist and match it. Throws SCHEMA_MISMATCH (or NOT_FOUND) saying what differs, so a
 * wrong deployment fails at start rather than as a stream of rejected upserts later.
 */
export async function verifyCollection(
  store: VectorStore,
  schema: CollectionSchema,
  modelDim: number,
): Promise<CollectionInfo> {
  const modelDiffs = diffModelDimension(schema, modelDim);
  if (modelDiffs.length) {
    throw new AppError(
      'SCHEMA_MISMATCH',
      `the embedding model reports ${modelDim} dimensions but collection '${schema.name}' is defined with ${schema.vectorSize}; set the ${schema.family === 'clip' ? 'CLIP' : 'SIGLIP'}_EMBEDDING_DIM / model to agree, or use another collection`,
      {
        details: { collection: schema.name, differences: modelDiffs },
      },
    );
  }
  const info = await store.info(schema.name);
  const diffs = diffCollection(schema, info);
  if (diffs.length) {
    throw new AppError(
      'SCHEMA_MISMATCH',
      `${describeDifferences(schema.name, diffs)}\n(recreate the collection or fix the configuration)`,
      { details: { collection: schema.name, differences: diffs } },
    );
  }
  return info;
}
