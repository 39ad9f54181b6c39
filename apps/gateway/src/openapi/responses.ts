// The gateway's response bodies, as zod schemas registered as named components of the OpenAPI document.
// Nothing validates responses at run time; the gateway's tests validate every real response they receive
// against the document generated from these (apps/gateway/test/openapi-validator.ts).
import { z } from 'zod';
import { component } from './registry.js';

const assetId = z.string().regex(/^[0-9a-f]{32}$/);
const modelId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/)
  .describe('Registry model id (GET /api/v1/admin/models), e.g. clip-vit-b32-openai');
const count = z.int().min(0);

export const ErrorBody = component(
  'Error',
  z.object({
    error: z.object({
      code: z.string().describe('Machine-readable code, e.g. INVALID_ARGUMENT'),
      message: z.string(),
      details: z
        .record(z.string(), z.unknown())
        .optional()
        .describe('For a bad request, `field` names the offending field'),
      correlation_id: z.string().optional(),
    }),
  }),
  {
    examples: [
      { error: { code: 'INVALID_ARGUMENT', message: 'query: must not be empty', details: { field: 'query' } } },
    ],
  },
);

export const Me = component(
  'Me',
  z.strictObject({
    authenticated: z.boolean(),
    identity: z
      .strictObject({
        id: z.string().describe('The user: an API key name, the proxy user, or admin for the ADMIN_TOKEN'),
        scope: z.enum(['search', 'admin']),
        method: z.enum(['api_key', 'proxy', 'admin_token']),
      })
      .nullable(),
    auth: z.strictObject({
      api_keys: z.boolean(),
      proxy_header: z.string().nullable(),
      anonymous: z.boolean().describe('Whether requests without a credential may search'),
    }),
  }),
);

export const Session = component(
  'Session',
  z.strictObject({
    identity: z.strictObject({
      id: z.string(),
      scope: z.literal('search').describe('A session grants at most the search scope, and only on GET/HEAD'),
      method: z.enum(['api_key', 'admin_token']),
    }),
    expires_at: z.string().describe('When the cookie and the session end (AUTH_SESSION_TTL_S)'),
  }),
  {
    description:
      "The page's image session: an HttpOnly, SameSite=Strict cookie `isearch_session` (Path=/api/v1) set in the response, which <img> requests for thumbnails and originals carry since they cannot send a header",
  },
);

export const Asset = component(
  'Asset',
  z.strictObject({
    id: assetId,
    path: z
      .string()
      .nullable()
      .describe(
        "Relative to its asset root, forward slashes (never the server's absolute path); the file name alone when outside the current roots",
      ),
    root: z.string().nullable().describe('The asset root it lies in (the folder name of its ASSET_ROOTS entry)'),
    url: z.string(),
    thumbnail_url: z.string(),
    width: z.int().nullable(),
    height: z.int().nullable(),
    format: z.string().nullable().optional(),
    file_size: z.int().nullable().optional(),
    category: z.string().nullable().optional(),
    date_taken: z.string().nullable().optional(),
    created_at: z.string().nullable(),
  }),
);

export const SearchResponse = component(
  'SearchResponse',
  z.object({
    results: z.array(z.strictObject({ asset: Asset, score: z.number() })),
    total: count.describe('Number of results in this page'),
    query: z.string().nullable(),
    model: modelId.describe('Registry id of the model that answered (the seed answered clip|siglip here: see family)'),
    family: z
      .enum(['clip', 'siglip'])
      .optional()
      .describe("The answering model's family: the value the seed's two-model API put in `model`"),
    collection: z.string(),
    rollout: z.object({
      bucket: z.int().min(0).max(99),
      reason: z.string().regex(/^(forced|bucket_below_percentage|bucket_above_percentage|fallback:[a-z_]+)$/),
      bucket_source: z.enum(['user_id', 'session_id', 'random']).optional(),
      fallback: z
        .boolean()
        .describe(
          "The chosen model could not answer and the other of the pair did: the `to` model chosen but the `from` model answered, or (reason fallback:source_embedder_error) the `from` model's embedder down and the `to` model answered",
        ),
      from: modelId.optional().describe('The rollout pair this request was routed in: the model serving today'),
      to: modelId.nullable().optional().describe('…and the model rolled out (null: no embedder configured for it)'),
    }),
    timing_ms: z.object({ embed: z.number(), search: z.number(), total: z.number() }).partial().optional(),
    cached_embedding: z.boolean().optional(),
    cached_results: z.boolean().optional().describe('Answered from the short-lived result cache (RESULT_CACHE_TTL_MS)'),
    blend: z
      .object({
        method: z.literal('rrf'),
        k: z.int(),
        coverage: z.number().min(0),
        models: z.array(z.object({ model: modelId, collection: z.string(), results: count })),
      })
      .optional()
      .describe(
        "COVERAGE_MODE=blend while the `to` model is below its coverage minimum: this page fuses the `to` model's results (assets it covers) with the `from` model's over the rest by reciprocal rank fusion (score = sum of 1/(k + rank)); absent otherwise",
      ),
    search_id: z
      .string()
      .optional()
      .describe('Names this answer in POST /api/v1/events (signed; accepted for EVENTS_WINDOW_HOURS)'),
    interleaved: z
      .object({ a: modelId, b: modelId })
      .optional()
      .describe('Set when the list is a team-draft interleaving of two models (INTERLEAVE_BUCKETS)'),
    degraded: z
      .strictObject({
        unavailable: z
          .array(modelId)
          .min(1)
          .describe(
            "Models whose embedder cannot answer now (this request's call failed, or its circuit breaker is open)",
          ),
        answered_by: modelId.describe('The model that answered this request (the same as `model`)'),
        message: z.string().describe('One sentence for people, e.g. for a banner on the page'),
      })
      .nullable()
      .describe(
        'null while every embedder of the rollout pair answers; set while one is down (crashed and restarting, overloaded, unreachable): search keeps answering from the model that is up and says so here',
      ),
  }),
);

export const AssetList = component(
  'AssetList',
  z.object({
    assets: z.array(Asset),
    total: z.int(),
    next_cursor: z.string().nullable(),
    collection: z.string().optional(),
  }),
);

export const AssetDetail = component(
  'AssetDetail',
  z.object({
    asset: Asset,
    collections: z.object({ clip: z.boolean(), siglip: z.boolean() }),
    vectors: z
      .array(
        z.object({
          collection: z.string(),
          registered_model: z.string(),
          model_id: z.string().nullable(),
          fingerprint: z.string().nullable(),
        }),
      )
      .optional()
      .describe('Which model wrote each stored vector of the asset (null tags: written before vectors were tagged)'),
  }),
);

const IngestProblem = z.object({
  path: z.string(),
  reason: z.string(),
  kind: z.enum(['refused', 'failed']).optional(),
});

export const IngestStatus = component(
  'IngestStatus',
  z.object({
    ingest_id: z.string(),
    state: z.enum(['queued', 'scanning', 'running', 'completed', 'failed']),
    root_path: z.string().optional(),
    discovered: z.int().describe('Files seen under the folder: done + unchanged + failed + refused'),
    total: z.int().describe('Same as discovered (kept for older clients)'),
    done: z.int().describe('added + changed + moved'),
    added: z.int().describe('New files, embedded by every live model'),
    changed: z.int().describe('Files whose content changed (or that a live collection lacked): re-embedded'),
    moved: z.int().describe('Files found at a new path with the content of a vanished one: re-pointed, same id'),
    unchanged: z.int(),
    skipped: z.int().describe('Same as unchanged (kept for older clients)'),
    failed: z.int().describe('Files that could not be read or that a model rejected (each file once)'),
    refused: z.int().describe('Files not read: unsupported extension, symlink leaving ASSET_ROOTS, unreadable folder'),
    removed: z
      .int()
      .describe('Catalogued files gone from disk: removed from every collection, the catalogue and thumbnails'),
    batches_total: z.int().optional(),
    batches_done: z.int().optional(),
    rate_per_s: z.number().nullable().optional(),
    eta_s: z.number().nullable().optional(),
    started_at: z.string().nullable().optional(),
    updated_at: z.string().nullable().optional(),
    last_error: z.string().nullable().optional(),
    failed_sample: z.array(IngestProblem).optional(),
    failures_url: z.string().optional().describe('Every refused and failed file, paged'),
  }),
);

export const IngestFailures = component(
  'IngestFailures',
  z.object({
    failures: z.array(IngestProblem),
    total: z.int(),
    next_offset: z.int().nullable().describe('Pass as offset for the next page; null on the last'),
  }),
);

export const AssetDeleted = component('AssetDeleted', z.object({ asset_id: z.string(), deleted: z.literal(true) }));

export const IngestAccepted = component(
  'IngestAccepted',
  z.object({
    ingest_id: z.string(),
    status_url: z.string(),
    status: IngestStatus.nullable().optional(),
  }),
);

export const IngestDryRun = component(
  'IngestDryRun',
  z.object({
    dry_run: z.literal(true),
    root_path: z.string(),
    files: z.int(),
    new: z.int(),
    changed: z.int(),
    unchanged: z.int(),
    moved: z.int().optional(),
    removed: z.int().optional(),
    refused: z.array(z.object({ path: z.string(), reason: z.string() }).partial()),
    sample: z.array(z.string()),
  }),
);

const origin = z.enum(['default', 'env', 'file']);
const breaker = z.enum(['closed', 'open', 'half_open']);

export const RolloutStatus = component(
  'RolloutStatus',
  z.object({
    flags: z.object({
      use_siglip: z.boolean(),
      siglip_rollout_percentage: z.number().min(0).max(100),
      siglip_min_coverage: z.number().min(0).max(1),
    }),
    source: z.enum(['env', 'env+file']),
    origins: z.record(z.string(), origin),
    flags_file: z
      .object({
        path: z.string(),
        applied_at: z.string().nullable().optional(),
        last_error: z.string().nullable().optional(),
        last_error_at: z.string().nullable().optional(),
      })
      .nullable()
      .optional(),
    pair: z
      .object({
        from: modelId,
        to: modelId.nullable().describe('null between migrations: the `from` model serves everyone'),
        source: z.enum(['registry', 'state']).optional().describe('Registry rollout pair, or the recorded model state'),
        retired: z.array(modelId).optional(),
      })
      .optional()
      .describe('The registered models routed between'),
    coverage: z.object({
      from_model: modelId.optional(),
      to_model: modelId.nullable().optional(),
      from_collection: z.string().optional(),
      to_collection: z.string().nullable().optional(),
      from_exists: z.boolean().optional(),
      to_exists: z.boolean().optional(),
      from_points: z.int().optional(),
      to_points: z.int().optional(),
      catalogue_assets: z.int().nullable().optional().describe('Assets in the asset catalogue (which assets exist)'),
      baseline: z
        .enum(['catalogue', 'from'])
        .optional()
        .describe('ratio = to_points / the catalogue count, or / from_points while the catalogue is empty'),
      ratio: z.number(),
      refreshed_at: z.string().nullable().optional(),
      last_error: z.string().nullable().optional(),
      clip_collection: z
        .string()
        .optional()
        .describe('Deprecated: from_collection (the seed named the pair clip/siglip)'),
      siglip_collection: z.string().optional().describe('Deprecated: to_collection'),
      clip_exists: z.boolean().optional().describe('Deprecated: from_exists'),
      siglip_exists: z.boolean().describe('Deprecated: to_exists'),
      clip_points: z.int().describe('Deprecated: from_points'),
      siglip_points: z.int().describe('Deprecated: to_points'),
    }),
    servable: z.boolean().optional().describe("Whether the pair's `to` model can be served now"),
    blocker: z.string().nullable().optional().describe('Why not (a fallback reason), or null'),
    siglip_servable: z.boolean().describe('Deprecated: servable'),
    siglip_blocker: z.string().nullable().describe('Deprecated: blocker'),
    breakers: z.record(z.string(), breaker).optional().describe("Each registered model's embedder breaker, by id"),
    embedders: z.record(z.string(), z.unknown()).optional().describe("Each registered model's embedder address, by id"),
  }),
);

export const ModelList = component(
  'ModelList',
  z.object({
    models: z.array(
      z.object({
        id: z.string().describe('Registry id, e.g. clip-vit-b32-openai'),
        family: z.string(),
        dim: z.int().min(1),
        collection: z.string(),
        embedder: z.string().nullable(),
        role: z.enum(['from', 'to', 'retired']).nullable().describe('Member of the serving pair, or retired'),
        origin: z.enum(['seed', 'file']).describe('Seed variables or MODEL_REGISTRY_FILE'),
        fingerprint: z.string().nullable().describe("What the model's embedder reports in Info (null: not reachable)"),
        pinned_fingerprint: z.string().nullable(),
        embedder_status: z.enum(['serving', 'unreachable', 'not_configured']),
        embedder_model: z.string().nullable(),
        collection_exists: z.boolean(),
        points: z.int().min(0),
        towers: z
          .array(
            z.object({
              tower: z.enum(['image', 'text']),
              state: z
                .enum(['loaded', 'unloaded', 'loading', 'unknown'])
                .describe('unloaded: freed after idle_unload_s without jobs; the next request needing it loads it'),
              last_used_at: z
                .string()
                .nullable()
                .describe('When it last ran a job (ISO 8601); null: not since its start'),
            }),
          )
          .nullable()
          .describe("The embedder's towers (Info); null while it cannot be asked or is too old to report them"),
        idle_unload_s: z
          .int()
          .min(0)
          .nullable()
          .describe("The embedder's MODEL_IDLE_UNLOAD_S (0: towers stay loaded); null as for towers"),
      }),
    ),
  }),
  { description: 'Every registered model (the seed pair plus MODEL_REGISTRY_FILE) with its embedder and collection' },
);

export const Health = component('Health', z.object({ status: z.literal('ok') }));

export const Ready = component(
  'Ready',
  z.object({
    status: z.enum(['ready', 'not_ready']),
    checks: z
      .record(z.string(), z.boolean())
      .describe(
        "Each dependency: clip_embedder and siglip_embedder (the rollout pair's from and to embedders, when configured), vector_store, and search_embedder (at least one embedder can answer searches: the from model, or the to model with its collection covered). Ready needs vector_store and search_embedder; one embedder down makes the gateway degraded, not unready",
      ),
    degraded: z
      .boolean()
      .optional()
      .describe('true while a configured embedder is down but searches are still answered by the other'),
  }),
);

const quantiles = z.object({ p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable() });

export const ShadowSummary = component(
  'ShadowSummary',
  z.object({
    settings: z.object({
      percentage: z
        .int()
        .min(0)
        .max(100)
        .describe('SHADOW_PERCENTAGE: share of text searches repeated on the other model'),
      max_concurrency: z.int().min(0),
      max_per_second: z.int().min(0),
      deadline_ms: z.int().min(0),
      idle_wait_ms: z.int().min(0).describe('How long a shadow search waits for no user search to be in flight'),
    }),
    in_flight: z.int().min(0),
    skipped: z
      .record(z.string(), z.int())
      .describe('Sampled searches not shadowed, by reason (concurrency, budget, paged, …)'),
    pairs: z.array(
      z.object({
        primary: z.string().describe('Registry id of the model that answered the user'),
        shadow: z.string().describe('Registry id of the model the search was repeated on'),
        comparisons: z.int().min(0).describe('Successful comparisons in the window (the last 1000)'),
        total: z.int().min(0),
        errors: z.int().min(0),
        overlap_at_10: z.number().nullable().describe('Mean Jaccard overlap of the two top-10 lists'),
        rbo: z.number().nullable().describe('Mean rank-biased overlap (p = 0.9, depth 10)'),
        zero_result_rate: z.object({ primary: z.number().nullable(), shadow: z.number().nullable() }),
        latency_ms: z.object({ primary: quantiles, shadow: quantiles }),
        latency_ratio_p95: z.number().nullable(),
        last_at: z.string().nullable(),
      }),
    ),
  }),
  { description: "This replica's shadow comparisons per pair of models, over the most recent 1000 of each" },
);

export const EventAccepted = component(
  'EventAccepted',
  z.object({
    accepted: z.literal(true),
    first_for_search: z.boolean().describe("The search's first event (the one CTR@k and MRR count)"),
    model: modelId.describe('The model whose answer the event is credited to'),
  }),
);

const nullableRate = z.number().nullable();
const onlineFigures = {
  searches: z.int().min(0),
  errors: z.int().min(0),
  error_rate: nullableRate,
  zero_result_rate: nullableRate,
  'ctr@1': nullableRate,
  'ctr@3': nullableRate,
  'ctr@5': nullableRate,
  'ctr@10': nullableRate,
  mrr: nullableRate.describe('Mean over searches of 1/rank of the first event (0 without one)'),
  abandonment: nullableRate.describe('Searches without any event / searches'),
  latency_ms: z.object({ mean: nullableRate, p50: nullableRate, p95: nullableRate }),
  events: z.object({ click: z.int(), open: z.int(), download: z.int() }),
};

export const OnlineSummary = component(
  'OnlineSummary',
  z.object({
    days: z.int().min(1),
    models: z.array(
      z.object({
        model: modelId,
        overall: z.object(onlineFigures),
        buckets: z.array(z.object({ range: z.string(), ...onlineFigures })),
      }),
    ),
    interleaving: z.array(
      z.object({
        a: modelId,
        b: modelId,
        searches: z.int().min(0),
        wins: z.object({ a: z.int().min(0), b: z.int().min(0) }),
        win_rate_b: nullableRate,
        p_value: nullableRate.describe('Two-sided exact sign test of the wins against 50/50'),
        significant: z.boolean(),
      }),
    ),
  }),
  { description: "Online metrics per model and bucket range from the users' events, and interleaving wins" },
);
