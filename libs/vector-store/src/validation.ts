import { AppError } from '@image-search/service-kit';
import type { SearchParams, UpsertPoint } from './vector-store.port.js';

/** Collection names both engines accept (Lance table names and Qdrant collection names). */
const COLLECTION_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** The most points one upsert call may carry (keeps one request/commit bounded). */
export const MAX_UPSERT_BATCH = 10_000;
/** The largest `offset + limit` one search may ask for. */
export const MAX_SEARCH_WINDOW = 10_000;

/** Throws INVALID_ARGUMENT unless the name is a usable collection name. */
export function assertCollectionName(name: string): void {
  if (typeof name !== 'string' || !COLLECTION_NAME.test(name)) {
    throw new AppError(
      'INVALID_ARGUMENT',
      `collection name ${JSON.stringify(name)} is invalid: use 1-128 letters, digits, '_', '-' or '.', not starting with '-' or '.'`,
    );
  }
}

function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20) return true;
  return false;
}

/** Throws INVALID_ARGUMENT unless the asset id is a non-empty printable string of at most 512 characters. */
export function assertAssetId(assetId: unknown, where: string): asserts assetId is string {
  if (typeof assetId !== 'string' || assetId.length === 0 || assetId.length > 512 || hasControlChar(assetId)) {
    throw new AppError(
      'INVALID_ARGUMENT',
      `${where}: asset id ${JSON.stringify(assetId)} is invalid: expected 1-512 printable characters`,
    );
  }
}

/**
 * Checks one vector and returns it L2-normalised as float32, the form both engines store for cosine
 * (Qdrant normalises on upsert too, so `retrieve` gives the same vector back from either).
 */
export function normalizedVector(vector: unknown, dim: number, where: string): Float32Array {
  if (!(vector instanceof Float32Array) && !Array.isArray(vector)) {
    throw new AppError('INVALID_ARGUMENT', `${where}: vector must be a Float32Array or an array of numbers`);
  }
  if (vector.length !== dim) {
    throw new AppError(
      'INVALID_ARGUMENT',
      `${where}: vector has ${vector.length} dimensions, the collection expects ${dim}`,
      { details: { expected: dim, actual: vector.length } },
    );
  }
  let sum = 0;
  for (let i = 0; i < dim; i++) {
    const x = vector[i] as unknown;
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw new AppError(
        'INVALID_ARGUMENT',
        `${where}: vector component ${i} is ${String(x)}; every component must be a finite number`,
        { details: { index: i } },
      );
    }
    sum += x * x;
  }
  const norm = Math.sqrt(sum);
  // Cosine similarity is undefined for a zero vector; float32 noise below 1e-12 counts as zero.
  if (!(norm > 1e-12))
    throw new AppError('INVALID_ARGUMENT', `${where}: vector is all zeros; cosine similarity needs a non-zero vector`);
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) out[i] = (vector[i] as number) / norm;
  return out;
}

/** A point after validation: what the adapters write. */
export interface ValidPoint {
  assetId: string;
  vector: Float32Array;
  payload: Record<string, unknown> & { asset_id: string };
}

/**
 * Validates a whole batch before anything is written (one bad point rejects the batch, naming it),
 * normalises vectors, fills `payload.asset_id`, and keeps the last of duplicate asset ids, as Qdrant does.
 */
export function validateBatch(points: UpsertPoint[], dim: number): ValidPoint[] {
  if (!Array.isArray(points)) throw new AppError('INVALID_ARGUMENT', 'upsert expects an array of points');
  if (points.length > MAX_UPSERT_BATCH)
    throw new AppError(
      'INVALID_ARGUMENT',
      `upsert batch has ${points.length} points; split it into batches of at most ${MAX_UPSERT_BATCH}`,
    );
  const byId = new Map<string, ValidPoint>();
  points.forEach((p, i) => {
    const where = `point ${i}`;
    if (p === null || typeof p !== 'object')
      throw new AppError('INVALID_ARGUMENT', `${where}: expected an object with assetId, vector and payload`);
    assertAssetId(p.assetId, where);
    const at = `${where} (asset ${p.assetId})`;
    const vector = normalizedVector(p.vector, dim, at);
    const payload = p.payload ?? {};
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload))
      throw new AppError('INVALID_ARGUMENT', `${at}: payload must be an object`);
    if (payload.asset_id !== undefined && payload.asset_id !== p.assetId) {
      throw new AppError(
        'INVALID_ARGUMENT',
        `${at}: payload.asset_id ${JSON.stringify(payload.asset_id)} differs from assetId`,
      );
    }
    let json: string;
    try {
      json = JSON.stringify(payload);
    } catch (err) {
      throw new AppError('INVALID_ARGUMENT', `${at}: payload is not JSON-serialisable (${(err as Error).message})`);
    }
    const copy = JSON.parse(json) as Record<string, unknown>;
    byId.delete(p.assetId);
    byId.set(p.assetId, { assetId: p.assetId, vector, payload: { ...copy, asset_id: p.assetId } });
  });
  return [...byId.values()];
}

/** Validates search parameters and returns the query vector normalised. */
export function validateSearch(params: SearchParams, dim: number): Float32Array {
  if (params === null || typeof params !== 'object')
    throw new AppError('INVALID_ARGUMENT', 'search expects parameters');
  const { limit, offset = 0, minScore, ef } = params;
  if (!Number.isInteger(limit) || limit < 1)
    throw new AppError(
      'INVALID_ARGUMENT',
      `search limit ${String(limit)} is invalid: expected an integer of at least 1`,
    );
  if (!Number.isInteger(offset) || offset < 0)
    throw new AppError(
      'INVALID_ARGUMENT',
      `search offset ${String(offset)} is invalid: expected an integer of at least 0`,
    );
  if (limit + offset > MAX_SEARCH_WINDOW)
    throw new AppError('INVALID_ARGUMENT', `search offset + limit is ${limit + offset}; at most ${MAX_SEARCH_WINDOW}`);
  if (minScore !== undefined && (typeof minScore !== 'number' || !Number.isFinite(minScore)))
    throw new AppError('INVALID_ARGUMENT', `search minScore ${String(minScore)} is invalid: expected a finite number`);
  if (ef !== undefined && (!Number.isInteger(ef) || ef < 1 || ef > 10_000))
    throw new AppError(
      'INVALID_ARGUMENT',
      `search ef ${String(ef)} is invalid: expected an integer between 1 and 10000`,
    );
  return normalizedVector(params.vector, dim, 'search');
}

/** Validates a list of asset ids (retrieve / delete). */
export function validateIds(assetIds: string[], what: string): string[] {
  if (!Array.isArray(assetIds)) throw new AppError('INVALID_ARGUMENT', `${what} expects an array of asset ids`);
  assetIds.forEach((id, i) => assertAssetId(id, `${what} id ${i}`));
  return [...new Set(assetIds)];
}

/** Validates a scroll/page limit. */
export function validatePageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH_WINDOW)
    throw new AppError(
      'INVALID_ARGUMENT',
      `page limit ${String(limit)} is invalid: expected an integer between 1 and ${MAX_SEARCH_WINDOW}`,
    );
}
