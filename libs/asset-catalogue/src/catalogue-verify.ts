import { isAppError } from '@image-search/service-kit';
import { FINGERPRINT_KEY, MODEL_ID_KEY, type VectorStore } from '@image-search/vector-store';
import type { AssetCatalogue } from './asset-catalogue.port.js';

/** The payload key of the content hash a vector was embedded from. */
export const CONTENT_HASH_KEY = 'content_hash';

/** Ids of one kind of problem: how many, and the first few. */
export interface IdSample {
  count: number;
  sample: string[];
}

/** One collection compared with the catalogue. */
export interface CatalogueVerification {
  collection: string;
  model_id: string;
  /** The fingerprint every vector must carry (null: none known, so fingerprints were not checked). */
  expected_fingerprint: string | null;
  catalogue_count: number;
  points: number;
  /** Catalogue assets the collection has no vector for. */
  missing: IdSample;
  /** Vectors of assets the catalogue does not hold (deleted, or never catalogued). */
  extra: IdSample;
  /** Vectors embedded from other bytes than the catalogue's content hash (the file changed since). */
  stale: IdSample;
  /** Vectors tagged with another model or fingerprint than expected. */
  wrong_fingerprint: IdSample;
  /** Vectors without model tags or content hash (written before vectors were tagged); not counted as problems. */
  untagged: number;
  /** Share of catalogue assets with a current vector of the right fingerprint (0..1; 1 for an empty catalogue). */
  coverage: number;
  passed: boolean;
  problems: string[];
}

const bucket = (limit: number) => {
  const s: IdSample = { count: 0, sample: [] };
  return { s, add: (id: string) => (s.count++, s.sample.length < limit && s.sample.push(id)) };
};

/**
 * Compares a model's collection with the catalogue, by ids and content hashes: what is missing,
 * extra, stale (the file changed after it was embedded) or tagged with another model's fingerprint.
 * The catalogue's ids and hashes are held in memory (about 150 bytes an asset); the collection is
 * read in pages.
 */
export async function verifyAgainstCatalogue(opts: {
  store: VectorStore;
  catalogue: AssetCatalogue;
  collection: string;
  modelId: string;
  expectedFingerprint: string | undefined;
  sampleLimit?: number;
  pageSize?: number;
}): Promise<CatalogueVerification> {
  const limit = opts.sampleLimit ?? 20;
  const page = opts.pageSize ?? 1000;
  const hashes = new Map<string, string>();
  let cursor: string | undefined;
  do {
    const p = await opts.catalogue.scroll({ limit: page, cursor });
    for (const e of p.entries) hashes.set(e.assetId, e.contentHash);
    cursor = p.next;
  } while (cursor);

  const missing = bucket(limit);
  const extra = bucket(limit);
  const stale = bucket(limit);
  const wrong = bucket(limit);
  let untagged = 0;
  let points = 0;
  let current = 0;
  const seen = new Set<string>();
  let exists = true;
  cursor = undefined;
  do {
    let ids: string[];
    try {
      const p = await opts.store.scrollIds(opts.collection, { limit: page, cursor });
      ids = p.assetIds;
      cursor = p.next;
    } catch (err) {
      if (!isAppError(err, 'NOT_FOUND')) throw err;
      exists = false;
      break;
    }
    for (const pt of ids.length ? await opts.store.retrieve(opts.collection, ids) : []) {
      points++;
      seen.add(pt.assetId);
      const want = hashes.get(pt.assetId);
      if (want === undefined) {
        extra.add(pt.assetId);
        continue;
      }
      const fp = pt.payload[FINGERPRINT_KEY];
      const mid = pt.payload[MODEL_ID_KEY];
      const hash = pt.payload[CONTENT_HASH_KEY];
      if (typeof fp !== 'string' || typeof hash !== 'string') untagged++;
      let ok = true;
      if (
        typeof fp === 'string' &&
        ((opts.expectedFingerprint !== undefined && fp !== opts.expectedFingerprint) ||
          (typeof mid === 'string' && mid !== opts.modelId))
      ) {
        wrong.add(pt.assetId);
        ok = false;
      }
      if (typeof hash === 'string' && hash !== want) {
        stale.add(pt.assetId);
        ok = false;
      }
      if (ok) current++;
    }
  } while (cursor);
  for (const id of hashes.keys()) if (!seen.has(id)) missing.add(id);

  const problems: string[] = [];
  if (!exists) problems.push(`collection '${opts.collection}' does not exist`);
  if (missing.s.count) problems.push(`${missing.s.count} catalogue asset(s) have no vector in '${opts.collection}'`);
  if (extra.s.count)
    problems.push(`${extra.s.count} vector(s) in '${opts.collection}' are of assets not in the catalogue`);
  if (stale.s.count)
    problems.push(`${stale.s.count} vector(s) were embedded from an older version of the file (content hash differs)`);
  if (wrong.s.count)
    problems.push(
      `${wrong.s.count} vector(s) carry another model or fingerprint than ${opts.modelId} ${opts.expectedFingerprint ?? ''}`.trim(),
    );
  return {
    collection: opts.collection,
    model_id: opts.modelId,
    expected_fingerprint: opts.expectedFingerprint ?? null,
    catalogue_count: hashes.size,
    points,
    missing: missing.s,
    extra: extra.s,
    stale: stale.s,
    wrong_fingerprint: wrong.s,
    untagged,
    coverage: hashes.size === 0 ? 1 : current / hashes.size,
    passed: problems.length === 0,
    problems,
  };
}
