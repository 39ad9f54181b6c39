import { schemas } from './schemas.js';

const ref = (name: keyof typeof schemas) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: keyof typeof schemas, description: string) => ({
  description,
  content: { 'application/json': { schema: ref(name) } },
});
const err = (description: string) => json('Error', description);
const common = {
  '400': err('Malformed request; `error.details.field` names the field'),
  '429': err('Rate limited (Retry-After)'),
  '503': err('No embedder can answer or the store is unavailable (Retry-After)'),
};
const adminErrors = {
  '401': err('Missing bearer token'),
  '403': err('Wrong token, or admin API disabled (no ADMIN_TOKEN)'),
};
const assetIdParam = {
  name: 'asset_id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[0-9a-f]{32}$' },
};
const q = (name: string, schema: object, description?: string) => ({
  name,
  in: 'query',
  required: false,
  schema,
  ...(description ? { description } : {}),
});
const bearer = [{ adminToken: [] }];

/** The gateway's OpenAPI 3.1 document (served at /api/v1/openapi.json; tests validate real responses against it). */
export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Image search gateway',
    version: '1.0.0',
    description: 'Semantic image search with a CLIP→SigLIP rollout that never serves an unready collection.',
  },
  servers: [{ url: '/' }],
  components: {
    schemas,
    securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' } },
  },
  paths: {
    '/api/v1/search': {
      post: {
        summary: 'Text search',
        parameters: [
          {
            name: 'x-session-id',
            in: 'header',
            required: false,
            schema: { type: 'string' },
            description: 'Anonymous session id, bucketed like a user id',
          },
        ],
        requestBody: { required: true, content: { 'application/json': { schema: ref('SearchRequest') } } },
        responses: { '200': json('SearchResponse', 'Results'), ...common, '413': err('Body too large') },
      },
    },
    '/api/v1/search/image': {
      post: {
        summary: 'Search by example image (multipart)',
        requestBody: {
          required: true,
          content: {
            'multipart/form-data': {
              schema: {
                type: 'object',
                required: ['image'],
                properties: {
                  image: { type: 'string', format: 'binary' },
                  limit: { type: 'integer' },
                  offset: { type: 'integer' },
                  user_id: { type: 'string' },
                  min_score: { type: 'number' },
                  category: { type: 'string' },
                },
              },
            },
          },
        },
        responses: { '200': json('SearchResponse', 'Results'), ...common, '413': err('Upload too large') },
      },
    },
    '/api/v1/search/similar/{asset_id}': {
      get: {
        summary: 'Assets similar to one asset (its stored vector in the routed collection)',
        parameters: [
          assetIdParam,
          q('limit', { type: 'integer', minimum: 1, maximum: 200 }),
          q('offset', { type: 'integer', minimum: 0 }),
          q('user_id', { type: 'string' }),
          q('min_score', { type: 'number' }),
        ],
        responses: {
          '200': json('SearchResponse', 'Results'),
          ...common,
          '404': err('The asset has no vector in the routed collection (reason in details)'),
        },
      },
    },
    '/api/v1/assets': {
      get: {
        summary: 'List assets (CLIP collection, cursor paging)',
        parameters: [
          q('limit', { type: 'integer', minimum: 1, maximum: 500 }),
          q('cursor', { type: 'string' }),
          q('category', { type: 'string' }),
        ],
        responses: { '200': json('AssetList', 'A page of assets'), '400': common['400'] },
      },
    },
    '/api/v1/assets/{asset_id}': {
      get: {
        summary: 'One asset',
        parameters: [assetIdParam],
        responses: { '200': json('AssetDetail', 'The asset'), '400': common['400'], '404': err('Unknown asset') },
      },
    },
    '/api/v1/assets/ingest': {
      post: {
        summary: 'Ingest a folder under ASSET_ROOTS (background job; admin)',
        security: bearer,
        requestBody: { required: true, content: { 'application/json': { schema: ref('IngestRequest') } } },
        responses: {
          '200': json('IngestDryRun', 'Dry run report'),
          '202': json('IngestAccepted', 'Ingestion started'),
          ...common,
          ...adminErrors,
          '404': err('root_path does not exist'),
        },
      },
    },
    '/api/v1/assets/ingest/{ingest_id}': {
      get: {
        summary: 'Ingestion progress (admin)',
        security: bearer,
        parameters: [{ name: 'ingest_id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': json('IngestStatus', 'Progress'), '404': err('Unknown ingestion'), ...adminErrors },
      },
    },
    '/api/v1/images/{asset_id}/thumbnail': {
      get: {
        summary: 'JPEG thumbnail (disk-cached)',
        parameters: [assetIdParam],
        responses: {
          '200': { description: 'JPEG', content: { 'image/jpeg': {} } },
          '304': { description: 'Not modified (ETag)' },
          '400': common['400'],
          '403': err('File outside the current ASSET_ROOTS'),
          '404': err('Unknown asset or file gone'),
          '409': err('The file is not a readable image'),
        },
      },
    },
    '/api/v1/images/{asset_id}/file': {
      get: {
        summary: 'Original file',
        parameters: [assetIdParam],
        responses: {
          '200': { description: 'The file', content: { 'image/*': {} } },
          '400': common['400'],
          '403': err('File outside the current ASSET_ROOTS'),
          '404': err('Unknown asset or file gone'),
        },
      },
    },
    '/api/v1/admin/rollout': {
      get: {
        summary: 'Effective rollout flags, their source, and SigLIP coverage',
        security: bearer,
        responses: { '200': json('RolloutStatus', 'Rollout status'), ...adminErrors },
      },
    },
    '/api/v1/admin/rollout/refresh': {
      post: {
        summary: 'Re-read the flags file and the collection counts now',
        security: bearer,
        responses: { '200': json('RolloutStatus', 'Rollout status'), ...adminErrors },
      },
    },
    '/api/v1/admin/siglip/status': {
      get: {
        summary: 'SigLIP re-embedding run status',
        security: bearer,
        responses: {
          '200': { description: 'Run status (state, total, done, failed, coverage, rate, ETA...)' },
          ...adminErrors,
        },
      },
    },
    '/api/v1/admin/siglip/{action}': {
      post: {
        summary: 'Control the SigLIP re-embedding run',
        security: bearer,
        parameters: [
          {
            name: 'action',
            in: 'path',
            required: true,
            schema: { enum: ['start', 'pause', 'resume', 'cancel', 'verify', 'retry-failed'] },
          },
        ],
        responses: { '200': { description: 'Run status' }, '202': { description: 'Accepted' }, ...adminErrors },
      },
    },
    '/health': { get: { summary: 'Liveness', responses: { '200': json('Health', 'Alive') } } },
    '/ready': {
      get: {
        summary: 'Readiness (embedders and store reachable)',
        responses: { '200': json('Ready', 'Ready'), '503': json('Ready', 'Not ready') },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics',
        responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': {} } } },
      },
    },
    '/api/v1/openapi.json': {
      get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1 document' } } },
    },
  },
} as const;
