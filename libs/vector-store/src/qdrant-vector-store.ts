import { QdrantClient, type Schemas } from '@qdrant/js-client-rest';
import { AppError, type Logger } from '@image-search/service-kit';
import { describeDifferences, diffCollection, type CollectionSchema } from '@image-search/collection-schema';
import type {
  AssetPayload,
  CollectionInfo,
  IdSetDifference,
  PayloadFilter,
  ScrollPage,
  SearchHit,
  SearchParams,
  StoredPoint,
  UpsertPoint,
  VectorStore,
} from './vector-store.port.js';
import { assertCollectionName, validateBatch, validateIds, validatePageLimit, validateSearch } from './validation.js';
import { checkFilter, toQdrantFilter } from './payload-filter.js';
import { pointIdFor } from './point-id.js';
import { DEFAULT_RETRY, toAppError, withRetry, type RetryPolicy } from './qdrant-retry.js';
import { diffIdSets } from './lance-util.js';

/** Options of the Qdrant adapter. */
export interface QdrantVectorStoreOptions {
  url: string;
  apiKey?: string;
  logger: Logger;
  /** Points per upsert request (each sent with wait: true). */
  batchSize?: number;
  /** Per-request timeout in milliseconds. */
  timeoutMs?: number;
  retry?: RetryPolicy;
}

type QFilter = Schemas['Filter'];

/** The production engine: a Qdrant server over REST, with retries on transient failures. */
export class QdrantVectorStore implements VectorStore {
  private readonly client: QdrantClient;
  private readonly dims = new Map<string, number>();
  private readonly batchSize: number;
  private readonly retryPolicy: RetryPolicy;

  constructor(private readonly opts: QdrantVectorStoreOptions) {
    this.client = new QdrantClient({
      url: opts.url,
      ...(opts.apiKey ? { apiKey: opts.apiKey } : {}),
      timeout: opts.timeoutMs ?? 30_000,
      checkCompatibility: false,
    });
    this.batchSize = opts.batchSize ?? 256;
    this.retryPolicy = opts.retry ?? DEFAULT_RETRY;
  }

  async ensureCollection(schema: CollectionSchema): Promise<{ created: boolean; info: CollectionInfo }> {
    assertCollectionName(schema.name);
    let created = false;
    if (!(await this.exists(schema.name))) {
      try {
        await this.call(`create collection '${schema.name}'`, () =>
          this.client.createCollection(schema.name, {
            vectors: { size: schema.vectorSize, distance: schema.distance },
            hnsw_config: { m: schema.hnsw.m, ef_construct: schema.hnsw.efConstruct },
            quantization_config: {
              scalar: {
                type: schema.quantization.type,
                quantile: schema.quantization.quantile,
                always_ram: schema.quantization.alwaysRam,
              },
            },
          }),
        );
        created = true;
      } catch (err) {
        // Another process (or a retried request) created it first: verify it below like any existing one.
        if (!(err instanceof AppError && (err.code === 'ALREADY_EXISTS' || /already exists/i.test(err.message))))
          throw err;
      }
      this.opts.logger.info({ collection: schema.name, url: this.opts.url, created }, 'collection ensured');
    }
    const info = await this.info(schema.name);
    const diffs = diffCollection(schema, info);
    if (diffs.length)
      throw new AppError('SCHEMA_MISMATCH', describeDifferences(schema.name, diffs), {
        details: { collection: schema.name, differences: diffs },
      });
    // Creating an existing payload index is a no-op in Qdrant, so this also repairs a half-made collection.
    for (const idx of schema.payloadIndexes) {
      await this.call(`payload index '${idx.field}' on '${schema.name}'`, () =>
        this.client.createPayloadIndex(schema.name, { field_name: idx.field, field_schema: idx.type, wait: true }),
      );
    }
    return { created, info };
  }

  async exists(collection: string): Promise<boolean> {
    assertCollectionName(collection);
    return (await this.call(`check collection '${collection}'`, () => this.client.collectionExists(collection))).exists;
  }

  async info(collection: string): Promise<CollectionInfo> {
    assertCollectionName(collection);
    const r = await this.call(`info of '${collection}'`, () => this.client.getCollection(collection), collection);
    const vectors = r.config.params.vectors;
    const single =
      vectors && typeof vectors === 'object' && 'size' in vectors ? (vectors as Schemas['VectorParams']) : undefined;
    const qc = r.config.quantization_config as Record<string, unknown> | null | undefined;
    const scalar = qc && 'scalar' in qc ? (qc['scalar'] as Schemas['ScalarQuantizationConfig']) : undefined;
    const other = qc && !scalar ? Object.keys(qc)[0] : undefined;
    const info: CollectionInfo = {
      name: collection,
      status: r.status,
      // points_count, not the deprecated vectors_count (which current Qdrant no longer reports).
      pointCount: r.points_count ?? 0,
      vectorSize: single?.size ?? -1,
      distance: single?.distance ?? 'named vectors',
      quantization: scalar
        ? {
            type: scalar.type,
            ...(scalar.quantile != null ? { quantile: scalar.quantile } : {}),
            ...(scalar.always_ram != null ? { alwaysRam: scalar.always_ram } : {}),
          }
        : other
          ? { type: other }
          : null,
      hnsw: { m: r.config.hnsw_config.m, efConstruct: r.config.hnsw_config.ef_construct },
      location: this.opts.url,
      indexed: (r.indexed_vectors_count ?? 0) > 0,
    };
    if (single) this.dims.set(collection, single.size);
    return info;
  }

  async upsert(collection: string, points: UpsertPoint[]): Promise<void> {
    const dim = await this.dim(collection);
    const valid = validateBatch(points, dim);
    for (let i = 0; i < valid.length; i += this.batchSize) {
      const batch = valid
        .slice(i, i + this.batchSize)
        .map((p) => ({ id: pointIdFor(p.assetId), vector: Array.from(p.vector), payload: p.payload }));
      await this.call(
        `upsert into '${collection}'`,
        () => this.client.upsert(collection, { wait: true, points: batch }),
        collection,
      );
    }
  }

  async search(collection: string, params: SearchParams): Promise<SearchHit[]> {
    const vector = validateSearch(params, await this.dim(collection));
    const filter = toQdrantFilter(checkFilter(params.filter)) as QFilter | undefined;
    const r = await this.call(
      `search '${collection}'`,
      () =>
        this.client.query(collection, {
          query: Array.from(vector),
          limit: params.limit,
          offset: params.offset ?? 0,
          with_payload: true,
          ...(filter ? { filter } : {}),
          ...(params.minScore !== undefined ? { score_threshold: params.minScore } : {}),
          params: { exact: params.exact === true, ...(params.ef !== undefined ? { hnsw_ef: params.ef } : {}) },
        }),
      collection,
    );
    return r.points.map((p) => ({
      assetId: String((p.payload as AssetPayload | null)?.asset_id),
      score: p.score,
      payload: p.payload as AssetPayload,
    }));
  }

  async retrieve(collection: string, assetIds: string[], opts: { withVectors?: boolean } = {}): Promise<StoredPoint[]> {
    assertCollectionName(collection);
    const ids = validateIds(assetIds, 'retrieve');
    const found = new Map<string, StoredPoint>();
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000).map(pointIdFor);
      const rows = await this.call(
        `retrieve from '${collection}'`,
        () =>
          this.client.retrieve(collection, { ids: chunk, with_payload: true, with_vector: opts.withVectors === true }),
        collection,
      );
      for (const r of rows) {
        const payload = r.payload as AssetPayload;
        found.set(payload.asset_id, {
          assetId: payload.asset_id,
          payload,
          ...(opts.withVectors && Array.isArray(r.vector) ? { vector: Float32Array.from(r.vector as number[]) } : {}),
        });
      }
    }
    return ids.flatMap((id) => found.get(id) ?? []);
  }

  async scrollIds(
    collection: string,
    opts: { limit: number; cursor?: string; filter?: PayloadFilter; withPayload?: boolean },
  ): Promise<ScrollPage> {
    assertCollectionName(collection);
    validatePageLimit(opts.limit);
    const filter = toQdrantFilter(checkFilter(opts.filter)) as QFilter | undefined;
    const r = await this.call(
      `scroll '${collection}'`,
      () =>
        this.client.scroll(collection, {
          limit: opts.limit,
          with_payload: opts.withPayload ? true : ['asset_id'],
          with_vector: false,
          ...(opts.cursor !== undefined ? { offset: opts.cursor } : {}),
          ...(filter ? { filter } : {}),
        }),
      collection,
    );
    const next = r.next_page_offset;
    const assetIds = r.points.map((p) => String((p.payload as AssetPayload).asset_id));
    return {
      assetIds,
      next: next === null || next === undefined ? undefined : String(next),
      ...(opts.withPayload
        ? { points: r.points.map((p, i) => ({ assetId: assetIds[i]!, payload: p.payload as AssetPayload })) }
        : {}),
    };
  }

  async count(collection: string, opts: { filter?: PayloadFilter } = {}): Promise<number> {
    assertCollectionName(collection);
    const filter = toQdrantFilter(checkFilter(opts.filter)) as QFilter | undefined;
    return (
      await this.call(
        `count '${collection}'`,
        () => this.client.count(collection, { exact: true, ...(filter ? { filter } : {}) }),
        collection,
      )
    ).count;
  }

  async deleteIds(collection: string, assetIds: string[]): Promise<void> {
    assertCollectionName(collection);
    const ids = validateIds(assetIds, 'delete');
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000).map(pointIdFor);
      await this.call(
        `delete from '${collection}'`,
        () => this.client.delete(collection, { wait: true, points: chunk }),
        collection,
      );
    }
  }

  async deleteByFilter(collection: string, filter: PayloadFilter): Promise<void> {
    assertCollectionName(collection);
    const f = toQdrantFilter(checkFilter(filter)) as QFilter | undefined;
    if (!f)
      throw new AppError(
        'INVALID_ARGUMENT',
        'deleteByFilter needs a non-empty filter; an empty one would delete every point (use dropCollection)',
      );
    await this.call(
      `delete from '${collection}'`,
      () => this.client.delete(collection, { wait: true, filter: f }),
      collection,
    );
  }

  async diffIds(a: string, b: string, opts: { sampleLimit?: number } = {}): Promise<IdSetDifference> {
    const all = async (name: string) => {
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await this.scrollIds(name, { limit: 1000, ...(cursor !== undefined ? { cursor } : {}) });
        ids.push(...page.assetIds);
        cursor = page.next;
      } while (cursor !== undefined);
      return ids;
    };
    const [ia, ib] = await Promise.all([all(a), all(b)]);
    return diffIdSets(ia, ib, opts.sampleLimit);
  }

  async dropCollection(collection: string): Promise<void> {
    assertCollectionName(collection);
    await this.call(`drop '${collection}'`, () => this.client.deleteCollection(collection));
    this.dims.delete(collection);
  }

  async close(): Promise<void> {
    // The REST client holds only pooled keep-alive sockets, which close with the process.
  }

  private async dim(collection: string): Promise<number> {
    assertCollectionName(collection);
    const known = this.dims.get(collection);
    if (known !== undefined) return known;
    const info = await this.info(collection);
    if (info.vectorSize < 0)
      throw new AppError(
        'SCHEMA_MISMATCH',
        `collection '${collection}' uses named vectors; this service expects one unnamed vector`,
      );
    return info.vectorSize;
  }

  /** One Qdrant call with retries; a 404 on a collection-scoped call becomes NOT_FOUND naming the collection. */
  private async call<T>(what: string, fn: () => Promise<T>, collection?: string): Promise<T> {
    try {
      return await withRetry(fn, this.retryPolicy, (err, attempt, delayMs) =>
        this.opts.logger.warn(
          { err, attempt, delayMs, url: this.opts.url },
          `${what}: transient Qdrant failure, retrying`,
        ),
      );
    } catch (err) {
      const mapped = toAppError(err, this.opts.url, what);
      if (mapped.code === 'NOT_FOUND' && collection) {
        this.dims.delete(collection);
        throw new AppError(
          'NOT_FOUND',
          `collection '${collection}' does not exist in Qdrant at ${this.opts.url}; create it with: npx nx run tools:create-collection -- --model clip|siglip`,
          { cause: err, details: { collection } },
        );
      }
      throw mapped;
    }
  }
}
