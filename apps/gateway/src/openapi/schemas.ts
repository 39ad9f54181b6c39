/** JSON Schemas (OpenAPI 3.1 = JSON Schema 2020-12) of the gateway's responses and bodies. */
const nullable = (t: string, extra: Record<string, unknown> = {}) => ({ type: [t, 'null'], ...extra });

export const schemas = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', description: 'Machine-readable code, e.g. INVALID_ARGUMENT' },
          message: { type: 'string' },
          details: { type: 'object', description: 'For a bad request, `field` names the offending field' },
          correlation_id: { type: 'string' },
        },
      },
    },
  },
  Asset: {
    type: 'object',
    required: ['id', 'path', 'url', 'thumbnail_url', 'width', 'height', 'created_at'],
    properties: {
      id: { type: 'string', pattern: '^[0-9a-f]{32}$' },
      path: nullable('string'),
      url: { type: 'string' },
      thumbnail_url: { type: 'string' },
      width: nullable('integer'),
      height: nullable('integer'),
      format: nullable('string'),
      file_size: nullable('integer'),
      category: nullable('string'),
      date_taken: nullable('string'),
      created_at: nullable('string'),
    },
    additionalProperties: false,
  },
  Filters: {
    type: 'object',
    additionalProperties: false,
    properties: {
      category: {
        oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 100 }],
      },
      date_from: { type: 'string', description: 'ISO 8601 date or date-time (date_taken ≥)' },
      date_to: { type: 'string', description: 'ISO 8601 date or date-time (date_taken ≤)' },
    },
  },
  SearchRequest: {
    type: 'object',
    required: ['query'],
    additionalProperties: false,
    properties: {
      query: { type: 'string', minLength: 1, maxLength: 1000 },
      limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
      offset: { type: 'integer', minimum: 0, maximum: 10000, default: 0 },
      user_id: {
        oneOf: [{ type: 'string', minLength: 1, maxLength: 256 }, { type: 'number' }],
        description: 'Rollout bucketing key: integers go to id mod 100, other ids to a stable hash mod 100',
      },
      filters: { $ref: '#/components/schemas/Filters' },
      min_score: { type: 'number', minimum: -1, maximum: 1 },
    },
  },
  SearchResponse: {
    type: 'object',
    required: ['results', 'total', 'query', 'model', 'collection', 'rollout'],
    properties: {
      results: {
        type: 'array',
        items: {
          type: 'object',
          required: ['asset', 'score'],
          properties: { asset: { $ref: '#/components/schemas/Asset' }, score: { type: 'number' } },
          additionalProperties: false,
        },
      },
      total: { type: 'integer', minimum: 0, description: 'Number of results in this page' },
      query: nullable('string'),
      model: { enum: ['clip', 'siglip'] },
      collection: { type: 'string' },
      rollout: {
        type: 'object',
        required: ['bucket', 'reason', 'fallback'],
        properties: {
          bucket: { type: 'integer', minimum: 0, maximum: 99 },
          reason: {
            type: 'string',
            pattern: '^(forced|bucket_below_percentage|bucket_above_percentage|fallback:[a-z_]+)$',
          },
          bucket_source: { enum: ['user_id', 'session_id', 'random'] },
          fallback: { type: 'boolean', description: 'SigLIP was chosen but CLIP answered' },
        },
      },
      timing_ms: {
        type: 'object',
        properties: { embed: { type: 'number' }, search: { type: 'number' }, total: { type: 'number' } },
      },
      cached_embedding: { type: 'boolean' },
      cached_results: {
        type: 'boolean',
        description: 'Answered from the short-lived result cache (RESULT_CACHE_TTL_MS)',
      },
    },
  },
  AssetList: {
    type: 'object',
    required: ['assets', 'total', 'next_cursor'],
    properties: {
      assets: { type: 'array', items: { $ref: '#/components/schemas/Asset' } },
      total: { type: 'integer' },
      next_cursor: nullable('string'),
      collection: { type: 'string' },
    },
  },
  AssetDetail: {
    type: 'object',
    required: ['asset', 'collections'],
    properties: {
      asset: { $ref: '#/components/schemas/Asset' },
      collections: {
        type: 'object',
        required: ['clip', 'siglip'],
        properties: { clip: { type: 'boolean' }, siglip: { type: 'boolean' } },
      },
    },
  },
  IngestRequest: {
    type: 'object',
    required: ['root_path'],
    additionalProperties: false,
    properties: {
      root_path: {
        type: 'string',
        description: 'Absolute folder under ASSET_ROOTS (checked after resolving .. and symlinks)',
      },
      recursive: { type: 'boolean', default: true },
      extensions: { type: 'array', items: { type: 'string' } },
      dry_run: { type: 'boolean', default: false },
    },
  },
  IngestStatus: {
    type: 'object',
    required: ['ingest_id', 'state', 'total', 'done', 'skipped', 'failed'],
    properties: {
      ingest_id: { type: 'string' },
      state: { enum: ['queued', 'scanning', 'running', 'completed', 'failed'] },
      root_path: { type: 'string' },
      total: { type: 'integer' },
      done: { type: 'integer' },
      skipped: { type: 'integer' },
      failed: { type: 'integer' },
      refused: { type: 'integer' },
      batches_total: { type: 'integer' },
      batches_done: { type: 'integer' },
      rate_per_s: nullable('number'),
      eta_s: nullable('number'),
      started_at: nullable('string'),
      updated_at: nullable('string'),
      last_error: nullable('string'),
      failed_sample: {
        type: 'array',
        items: {
          type: 'object',
          required: ['path', 'reason'],
          properties: { path: { type: 'string' }, reason: { type: 'string' } },
        },
      },
    },
  },
  IngestAccepted: {
    type: 'object',
    required: ['ingest_id', 'status_url'],
    properties: {
      ingest_id: { type: 'string' },
      status_url: { type: 'string' },
      status: { oneOf: [{ $ref: '#/components/schemas/IngestStatus' }, { type: 'null' }] },
    },
  },
  IngestDryRun: {
    type: 'object',
    required: ['dry_run', 'root_path', 'files', 'new', 'changed', 'unchanged', 'refused', 'sample'],
    properties: {
      dry_run: { const: true },
      root_path: { type: 'string' },
      files: { type: 'integer' },
      new: { type: 'integer' },
      changed: { type: 'integer' },
      unchanged: { type: 'integer' },
      refused: {
        type: 'array',
        items: { type: 'object', properties: { path: { type: 'string' }, reason: { type: 'string' } } },
      },
      sample: { type: 'array', items: { type: 'string' } },
    },
  },
  RolloutStatus: {
    type: 'object',
    required: ['flags', 'source', 'origins', 'coverage', 'siglip_servable', 'siglip_blocker'],
    properties: {
      flags: {
        type: 'object',
        required: ['use_siglip', 'siglip_rollout_percentage', 'siglip_min_coverage'],
        properties: {
          use_siglip: { type: 'boolean' },
          siglip_rollout_percentage: { type: 'number', minimum: 0, maximum: 100 },
          siglip_min_coverage: { type: 'number', minimum: 0, maximum: 1 },
        },
      },
      source: { enum: ['env', 'env+file'] },
      origins: { type: 'object', additionalProperties: { enum: ['default', 'env', 'file'] } },
      flags_file: {
        oneOf: [
          { type: 'null' },
          {
            type: 'object',
            required: ['path'],
            properties: {
              path: { type: 'string' },
              applied_at: nullable('string'),
              last_error: nullable('string'),
              last_error_at: nullable('string'),
            },
          },
        ],
      },
      coverage: {
        type: 'object',
        required: ['clip_points', 'siglip_points', 'ratio', 'siglip_exists'],
        properties: {
          clip_collection: { type: 'string' },
          siglip_collection: { type: 'string' },
          clip_exists: { type: 'boolean' },
          siglip_exists: { type: 'boolean' },
          clip_points: { type: 'integer' },
          siglip_points: { type: 'integer' },
          ratio: { type: 'number' },
          refreshed_at: nullable('string'),
          last_error: nullable('string'),
        },
      },
      siglip_servable: { type: 'boolean' },
      siglip_blocker: nullable('string'),
      breakers: {
        type: 'object',
        properties: {
          clip: { enum: ['closed', 'open', 'half_open'] },
          siglip: { enum: ['closed', 'open', 'half_open'] },
        },
      },
      embedders: { type: 'object' },
    },
  },
  Health: { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } },
  Ready: {
    type: 'object',
    required: ['status', 'checks'],
    properties: {
      status: { enum: ['ready', 'not_ready'] },
      checks: { type: 'object', additionalProperties: { type: 'boolean' } },
    },
  },
} as const;
