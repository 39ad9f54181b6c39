import { LRUCache } from 'lru-cache';
import { approxBytes } from './approx-bytes.js';

/** Heap bytes of one cache entry beyond its key and value (the LRU's slots, a typed array's wrapper objects). */
const ENTRY_OVERHEAD = 200;

/** Bounds of a cache: the most entries and the most bytes (key and value, estimated); either 0 disables it. */
export interface CacheBounds {
  max: number;
  maxBytes: number;
  ttlMs: number;
}

/**
 * Normalises a query for the cache key: Unicode NFKC, trimmed, inner whitespace collapsed.
 * CLIP's tokenizer lowercases its input, so for CLIP case is folded too; SigLIP's is case-sensitive.
 */
export function normaliseQuery(family: string, query: string): string {
  const q = query.normalize('NFKC').trim().replace(/\s+/g, ' ');
  return family === 'clip' ? q.toLowerCase() : q;
}

/**
 * LRU of query embeddings with a TTL, keyed by registry model id + query text normalised for the
 * model's family (`family` defaults to the id, so the seed's `clip` key folds case as before).
 * Bounded by entries and by bytes: an entry's size is its vector's bytes, so a wide model's cache holds fewer.
 */
export class QueryCache {
  private readonly lru: LRUCache<string, Float32Array> | undefined;

  constructor(opts: CacheBounds) {
    this.lru =
      opts.max > 0 && opts.maxBytes > 0
        ? new LRUCache<string, Float32Array>({
            max: opts.max,
            maxSize: opts.maxBytes,
            sizeCalculation: (v, k) => v.byteLength + 2 * k.length + ENTRY_OVERHEAD,
            ...(opts.ttlMs > 0 ? { ttl: opts.ttlMs } : {}),
          })
        : undefined;
  }

  private key(model: string, query: string, family: string): string {
    return `${model}\u0000${normaliseQuery(family, query)}`;
  }

  get(model: string, query: string, family: string = model): Float32Array | undefined {
    return this.lru?.get(this.key(model, query, family));
  }

  set(model: string, query: string, vector: Float32Array, family: string = model): void {
    this.lru?.set(this.key(model, query, family), vector);
  }

  get size(): number {
    return this.lru?.size ?? 0;
  }

  /** Estimated bytes held (the sum its byte bound limits). */
  get bytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }

  clear(): void {
    this.lru?.clear();
  }
}

/**
 * Short-lived LRU of whole text-search answers, for hot queries: without it every repeated query
 * still pays a vector search (~2 ms of store CPU each), which caps the cached path at a few hundred
 * requests per second on 2 vCPUs. The key holds the collection's cached point count, so an ingest
 * or re-embedding changes the key within one coverage refresh; the TTL bounds staleness otherwise.
 * Bounded by bytes as well as entries: an answer of 50 hits keeps ~27 KB of heap, so 5,000 of them
 * (the entry bound alone) held ~130 MB and the soak's gateway heap grew until the cache was full.
 * Expired answers stay until pushed out (no timers), so the bytes bound what it holds, not the TTL.
 */
export class ResultCache<T extends object> {
  private readonly lru: LRUCache<string, { value: T }> | undefined;

  constructor(opts: CacheBounds) {
    this.lru =
      opts.max > 0 && opts.maxBytes > 0 && opts.ttlMs > 0
        ? new LRUCache<string, { value: T }>({
            max: opts.max,
            ttl: opts.ttlMs,
            maxSize: opts.maxBytes,
            sizeCalculation: (v, k) => approxBytes(v.value) + 2 * k.length + ENTRY_OVERHEAD,
          })
        : undefined;
  }

  /** The cache key of one search (model, collection, its point count, normalised query, page, filters). */
  key(parts: {
    model: string;
    /** The model's family (decides case folding); defaults to `model`. */
    family?: string;
    collection: string;
    points: number;
    query: string;
    limit: number;
    offset: number;
    filters: unknown;
    minScore: number | undefined;
  }): string {
    return [
      parts.model,
      parts.collection,
      parts.points,
      normaliseQuery(parts.family ?? parts.model, parts.query),
      parts.limit,
      parts.offset,
      JSON.stringify(parts.filters ?? null),
      parts.minScore ?? '',
    ].join('\u0000');
  }

  get(key: string): T | undefined {
    return this.lru?.get(key)?.value;
  }

  set(key: string, value: T): void {
    this.lru?.set(key, { value });
  }

  get enabled(): boolean {
    return this.lru !== undefined;
  }

  /** Answers held (expired ones included until pushed out). */
  get size(): number {
    return this.lru?.size ?? 0;
  }

  /** Estimated bytes held (the sum its byte bound limits). */
  get bytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }
}
