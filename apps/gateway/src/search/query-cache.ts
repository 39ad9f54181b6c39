import { LRUCache } from 'lru-cache';

/**
 * Normalises a query for the cache key: Unicode NFKC, trimmed, inner whitespace collapsed.
 * CLIP's tokenizer lowercases its input, so for CLIP case is folded too; SigLIP's is case-sensitive.
 */
export function normaliseQuery(model: string, query: string): string {
  const q = query.normalize('NFKC').trim().replace(/\s+/g, ' ');
  return model === 'clip' ? q.toLowerCase() : q;
}

/** LRU of query embeddings with a TTL, keyed by model + normalised query text. */
export class QueryCache {
  private readonly lru: LRUCache<string, Float32Array> | undefined;

  constructor(opts: { max: number; ttlMs: number }) {
    this.lru = opts.max > 0 ? new LRUCache({ max: opts.max, ...(opts.ttlMs > 0 ? { ttl: opts.ttlMs } : {}) }) : undefined;
  }

  private key(model: string, query: string): string {
    return `${model}\u0000${normaliseQuery(model, query)}`;
  }

  get(model: string, query: string): Float32Array | undefined {
    return this.lru?.get(this.key(model, query));
  }

  set(model: string, query: string, vector: Float32Array): void {
    this.lru?.set(this.key(model, query), vector);
  }

  get size(): number {
    return this.lru?.size ?? 0;
  }

  clear(): void {
    this.lru?.clear();
  }
}
