// The gateway's OpenAPI 3.1 document, generated from the zod schemas (zod 4's z.toJSONSchema): the request
// schemas are the ones the routers validate with, the responses are in responses.ts. Nothing here restates
// a schema by hand.
//
// Adding an endpoint:
//  1. Validate its body / query with a zod schema exported from the router (add `.describe()` to fields
//     whose meaning is not obvious).
//  2. Describe its responses in responses.ts with `component('Name', z.object(...))`.
//  3. Add the path below with the helpers: `body(schema)`, `query(schema)`, `json(schema, 'description')`,
//     `err('description')`; register a request body with `component()` in `requests` so it gets a name.
//  4. The gateway tests validate every response they receive through test/http.ts's `call()` against
//     this document, so an undocumented path, status or field fails a test.
import { z } from 'zod';
import { migrationStartBody, startBody } from '../routes/admin-migrations.router.js';
import { ingestBodySchema, listQuerySchema } from '../routes/assets.router.js';
import { assetIdSchema } from '../routes/params.js';
import { failuresQuerySchema } from '../routes/library.router.js';
import { thumbnailParamsSchema } from '../routes/thumbnails.router.js';
import { filtersSchema, imageFieldsSchema, searchBodySchema, similarQuerySchema } from '../routes/search.router.js';
import { eventBodySchema } from '../routes/events.router.js';
import { onlineQuerySchema } from '../routes/admin.router.js';
import { rampActionSchema } from '../routes/ramp.router.js';
import { rampPlanSchema } from '../ramp/ramp-plan.js';
import { component, componentId, componentIds } from './registry.js';
import * as responses from './responses.js';

const requests = {
  Filters: component('Filters', filtersSchema, { description: 'Search filters (all optional)' }),
  SearchRequest: component('SearchRequest', searchBodySchema, {
    examples: [{ query: 'sunset over mountains', limit: 20, filters: { category: 'landscape' } }],
  }),
  IngestRequest: component('IngestRequest', ingestBodySchema, {
    examples: [{ root_path: '/srv/photos/2024', extensions: ['jpg', 'heic'] }],
  }),
  SiglipStartRequest: component('SiglipStartRequest', startBody),
  MigrationStartRequest: component('MigrationStartRequest', migrationStartBody, {
    description: 'Which registered models to migrate between (defaults: the serving pair) and how',
    examples: [{ from: 'siglip-vit-b16-webli', to: 'siglip2-b16-224', batch_size: 100 }],
  }),
  RampPlan: component('RampPlan', rampPlanSchema, {
    description: 'A guarded rollout plan (every field has a default)',
    examples: [{ steps: [1, 5, 25, 50, 100], min_dwell_s: 600, min_searches: 200 }],
  }),
  EventRequest: component('EventRequest', eventBodySchema, {
    examples: [{ search_id: '<search_id of a search response>', type: 'click', asset_id: '0'.repeat(32), rank: 2 }],
  }),
};

type Json = Record<string, unknown>;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** zod's JSON Schema, trimmed of what adds nothing for a reader: safe-integer bounds, patterns behind a format. */
function tidy({ jsonSchema: s }: { jsonSchema: Json }): void {
  if (s['minimum'] === -MAX_SAFE) delete s['minimum'];
  if (s['maximum'] === MAX_SAFE) delete s['maximum'];
  if (typeof s['format'] === 'string' && s['pattern']) delete s['pattern'];
  const names = s['propertyNames'] as Json | undefined;
  if (names && Object.keys(names).length === 1 && names['type'] === 'string') delete s['propertyNames'];
}

const toJson = (schema: z.ZodType): Json =>
  z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any', override: tidy }) as Json;

/** components.schemas: every registered schema, referring to the others by $ref. */
function componentSchemas(): Record<string, Json> {
  const { schemas } = z.toJSONSchema(z.globalRegistry, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    override: tidy,
    uri: (id) => `#/components/schemas/${id}`,
  });
  const ours = componentIds();
  return Object.fromEntries(
    Object.entries(schemas)
      .filter(([id]) => ours.has(id))
      .map(([id, s]) => {
        const { $schema: _s, $id: _i, ...rest } = s as Json;
        return [id, rest];
      }),
  );
}

const ref = (schema: z.ZodType) => ({ $ref: `#/components/schemas/${componentId(schema)}` });
const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema: ref(schema) } },
});
const body = (schema: z.ZodType, required = true) => ({
  required,
  content: { 'application/json': { schema: ref(schema) } },
});
const err = (description: string) => json(responses.ErrorBody, description);

/** Query parameters from a zod object schema: one per field, its description and whether it may be left out. */
function query(schema: z.ZodObject): Json[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const { description, ...fieldSchema } = toJson(field as z.ZodType);
    delete fieldSchema['$schema'];
    return {
      name,
      in: 'query',
      required: !(field as z.ZodType).safeParse(undefined).success,
      schema: fieldSchema,
      ...(description ? { description } : {}),
    };
  });
}

/** A path parameter from a zod schema. */
function pathParam(name: string, schema: z.ZodType): Json {
  const { $schema: _s, ...s } = toJson(schema);
  return { name, in: 'path', required: true, schema: s };
}

/** A multipart form: the zod schema's fields plus the file fields. */
function multipart(fields: z.ZodObject, files: string[]): Json {
  const { $schema: _s, ...form } = toJson(fields) as Json & { properties: Json; required?: string[] };
  for (const f of files)
    form['properties'] = { [f]: { type: 'string', format: 'binary' }, ...(form['properties'] as Json) };
  return {
    required: true,
    content: {
      'multipart/form-data': { schema: { ...form, required: [...files, ...((form['required'] as string[]) ?? [])] } },
    },
  };
}

const common = {
  '400': err('Malformed request; `error.details.field` names the field'),
  '429': err('Rate limited (Retry-After)'),
  '503': err('No embedder can answer or the store is unavailable (Retry-After)'),
};
/** Every /api operation needs a credential when auth is configured (AUTH_API_KEYS, AUTH_PROXY_HEADER). */
const authErrors = {
  '401': err('Missing, wrong or revoked credential, or a proxy identity header from an untrusted address'),
  '403': err('The credential lacks the scope this needs'),
};
const adminErrors = {
  '401': authErrors['401'],
  '403': err('Not the admin scope, or admin API disabled (no ADMIN_TOKEN and no API keys)'),
};
const assetIdParam = pathParam('asset_id', assetIdSchema);
const bearer = [{ bearer: [] }, { proxyUser: [] }];
const open = [{}];

/** The gateway's OpenAPI 3.1 document (served at /api/v1/openapi.json; tests validate real responses against it). */
export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Image search gateway',
    version: '1.0.0',
    description:
      'Semantic image search with a rollout between two registered models (the seed: CLIP→SigLIP) that never serves an unready collection.',
  },
  servers: [{ url: '/' }],
  components: {
    schemas: componentSchemas(),
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description: 'An API key (isk_…, made with tools:api-key; scope search or admin) or the ADMIN_TOKEN (admin)',
      },
      proxyUser: {
        type: 'apiKey',
        in: 'header',
        name: 'X-Forwarded-User',
        description:
          'The user, set by the authenticating proxy (AUTH_PROXY_HEADER; trusted only from AUTH_TRUSTED_PROXIES)',
      },
    },
  },
  // Without AUTH_API_KEYS / AUTH_PROXY_HEADER (loopback only, or ALLOW_ANONYMOUS) searches need no credential.
  security: [{ bearer: [] }, { proxyUser: [] }, {}],
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
        requestBody: body(requests.SearchRequest),
        responses: {
          '200': json(responses.SearchResponse, 'Results'),
          ...common,
          ...authErrors,
          '413': err('Body too large'),
        },
      },
    },
    '/api/v1/events': {
      post: {
        summary: 'Record what the user did with a search result (click, open, download at a rank)',
        requestBody: body(requests.EventRequest),
        responses: {
          '202': json(responses.EventAccepted, 'Recorded'),
          ...common,
          ...authErrors,
          '413': err('Body too large'),
        },
      },
    },
    '/api/v1/search/image': {
      post: {
        summary: 'Search by example image (multipart)',
        requestBody: multipart(imageFieldsSchema, ['image']),
        responses: {
          '200': json(responses.SearchResponse, 'Results'),
          ...common,
          ...authErrors,
          '413': err('Upload too large'),
        },
      },
    },
    '/api/v1/search/similar/{asset_id}': {
      get: {
        summary: 'Assets similar to one asset (its stored vector in the routed collection)',
        parameters: [assetIdParam, ...query(similarQuerySchema)],
        responses: {
          '200': json(responses.SearchResponse, 'Results'),
          ...common,
          ...authErrors,
          '404': err('The asset has no vector in the routed collection (reason in details)'),
        },
      },
    },
    '/api/v1/assets': {
      get: {
        summary: 'List assets (CLIP collection, cursor paging)',
        parameters: query(listQuerySchema),
        responses: { '200': json(responses.AssetList, 'A page of assets'), '400': common['400'], ...authErrors },
      },
    },
    '/api/v1/assets/{asset_id}': {
      get: {
        summary: 'One asset',
        parameters: [assetIdParam],
        responses: {
          '200': json(responses.AssetDetail, 'The asset'),
          '400': common['400'],
          ...authErrors,
          '404': err('Unknown asset'),
        },
      },
      delete: {
        summary:
          'Remove an asset from every collection, the catalogue and its thumbnails (admin; the file stays on disk)',
        security: bearer,
        parameters: [assetIdParam],
        responses: {
          '200': json(responses.AssetDeleted, 'Removed'),
          '400': common['400'],
          ...adminErrors,
          '404': err('Unknown asset'),
        },
      },
    },
    '/api/v1/assets/ingest/{ingest_id}/failures': {
      get: {
        summary: 'Every refused and failed file of an ingestion, paged (admin)',
        security: bearer,
        parameters: [pathParam('ingest_id', z.uuid()), ...query(failuresQuerySchema)],
        responses: {
          '200': json(responses.IngestFailures, 'A page of problems'),
          '400': common['400'],
          '404': err('Unknown ingestion'),
          ...adminErrors,
        },
      },
    },
    '/api/v1/thumbnails/{asset_id}/{file}': {
      get: {
        summary: 'JPEG thumbnail of one version of an asset (content-addressed, made at ingest; immutable)',
        parameters: [assetIdParam, pathParam('file', thumbnailParamsSchema.shape.file)],
        responses: {
          '200': { description: 'JPEG', content: { 'image/jpeg': {} } },
          '304': { description: 'Not modified (ETag)' },
          '400': common['400'],
          '401': authErrors['401'],
          '403': authErrors['403'],
          '404': err('No thumbnail for this asset version (removed, or its file changed)'),
          '409': err('The file is not a readable image'),
        },
      },
    },
    '/api/v1/assets/ingest': {
      post: {
        summary: 'Ingest a folder under ASSET_ROOTS (background job; admin)',
        security: bearer,
        requestBody: body(requests.IngestRequest),
        responses: {
          '200': json(responses.IngestDryRun, 'Dry run report'),
          '202': json(responses.IngestAccepted, 'Ingestion started'),
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
        parameters: [pathParam('ingest_id', z.uuid())],
        responses: {
          '200': json(responses.IngestStatus, 'Progress'),
          '404': err('Unknown ingestion'),
          ...adminErrors,
        },
      },
    },
    '/api/v1/images/{asset_id}/thumbnail': {
      get: {
        summary: 'JPEG thumbnail (old address: redirects to the content-addressed thumbnail of a catalogued asset)',
        parameters: [assetIdParam],
        responses: {
          '200': { description: 'JPEG', content: { 'image/jpeg': {} } },
          '302': { description: 'The content-addressed thumbnail URL (Location)' },
          '304': { description: 'Not modified (ETag)' },
          '400': common['400'],
          '401': authErrors['401'],
          '403': err('File outside the current ASSET_ROOTS, or the credential lacks the scope'),
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
          '401': authErrors['401'],
          '403': err('File outside the current ASSET_ROOTS, or the credential lacks the scope'),
          '404': err('Unknown asset or file gone'),
        },
      },
    },
    '/api/v1/admin/models': {
      get: {
        summary: 'Registered models: id, fingerprint, dimension, collection, points, embedder',
        security: bearer,
        responses: { '200': json(responses.ModelList, 'Models'), ...adminErrors },
      },
    },
    '/api/v1/admin/rollout': {
      get: {
        summary: "Effective rollout flags, their source, and the rollout pair's coverage",
        security: bearer,
        responses: { '200': json(responses.RolloutStatus, 'Rollout status'), ...adminErrors },
      },
    },
    '/api/v1/admin/ramp': {
      get: {
        summary: 'Guarded ramp: state (phase, step, percentage), leader, effective percentage and decisions',
        security: bearer,
        responses: { '200': { description: 'Ramp status' }, ...adminErrors },
      },
    },
    '/api/v1/admin/ramp/{action}': {
      post: {
        summary: 'Start (with a plan), pause, resume or abort the guarded ramp',
        security: bearer,
        parameters: [pathParam('action', rampActionSchema.shape.action)],
        requestBody: body(requests.RampPlan, false),
        responses: {
          '200': { description: 'The new state' },
          '409': err('Not possible in the current phase (e.g. pause when not running)'),
          ...adminErrors,
        },
      },
    },
    '/api/v1/admin/online': {
      get: {
        summary:
          'Online metrics per model and bucket range (CTR@k, MRR of clicks, abandonment, …) and interleaving wins',
        security: bearer,
        parameters: query(onlineQuerySchema),
        responses: { '200': json(responses.OnlineSummary, 'Online summary'), ...adminErrors },
      },
    },
    '/api/v1/admin/shadow': {
      get: {
        summary: 'Shadow comparison per pair of models: overlap@10, rank-biased overlap, zero results, latency',
        security: bearer,
        responses: { '200': json(responses.ShadowSummary, 'Shadow summary'), ...adminErrors },
      },
    },
    '/api/v1/admin/rollout/refresh': {
      post: {
        summary: 'Re-read the flags file and the collection counts now',
        security: bearer,
        responses: { '200': json(responses.RolloutStatus, 'Rollout status'), ...adminErrors },
      },
    },
    '/api/v1/admin/migrations/status': {
      get: {
        summary: 'Re-embedding run status (the current run between two registered models: from_model, to_model)',
        security: bearer,
        responses: {
          '200': {
            description: 'Run status (state, from_model, to_model, total, done, failed, coverage, rate, ETA...)',
          },
          ...adminErrors,
        },
      },
    },
    '/api/v1/admin/migrations/{action}': {
      post: {
        summary:
          'Control the re-embedding run; start names the registered models (from/to, defaults: the serving pair) and records the pair as the serving migration, as tools:reembed start does',
        security: bearer,
        parameters: [pathParam('action', z.enum(['start', 'pause', 'resume', 'cancel', 'verify', 'retry-failed']))],
        requestBody: body(requests.MigrationStartRequest, false),
        responses: {
          '200': { description: 'Run status' },
          '202': { description: 'Accepted' },
          '404': err('from or to is not a registered model id'),
          '409': err(
            'the pair cannot be migrated now (from does not serve, a model was retired, another migration is recorded) or no run',
          ),
          ...adminErrors,
        },
      },
    },
    '/api/v1/admin/siglip/status': {
      get: {
        summary: 'Alias of /api/v1/admin/migrations/status (kept for scripts)',
        security: bearer,
        responses: {
          '200': { description: 'Run status (state, total, done, failed, coverage, rate, ETA...)' },
          ...adminErrors,
        },
      },
    },
    '/api/v1/admin/siglip/{action}': {
      post: {
        summary:
          "Alias of /api/v1/admin/migrations/{action} pinned to the configured pair (the seed's CLIP -> SigLIP, or MODEL_REGISTRY_FILE's rollout pair); start takes no model ids",
        security: bearer,
        parameters: [pathParam('action', z.enum(['start', 'pause', 'resume', 'cancel', 'verify', 'retry-failed']))],
        requestBody: body(requests.SiglipStartRequest, false),
        responses: { '200': { description: 'Run status' }, '202': { description: 'Accepted' }, ...adminErrors },
      },
    },
    '/health': { get: { summary: 'Liveness', security: open, responses: { '200': json(responses.Health, 'Alive') } } },
    '/ready': {
      get: {
        summary: 'Readiness (embedders and store reachable)',
        security: open,
        responses: { '200': json(responses.Ready, 'Ready'), '503': json(responses.Ready, 'Not ready') },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics (no credential: counters only, no user data)',
        security: open,
        responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': {} } } },
      },
    },
    '/api/v1/openapi.json': {
      get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1 document' }, ...authErrors } },
    },
    '/api/v1/auth/me': {
      get: {
        summary: 'Who the gateway thinks the caller is, and which ways of signing in it accepts',
        responses: { '200': json(responses.Me, 'The caller'), ...authErrors },
      },
    },
    '/api/v1/auth/session': {
      post: {
        summary:
          "Start the page's image session: send the API key as Authorization: Bearer; the answer sets the HttpOnly cookie isearch_session that <img> requests carry (GET/HEAD only, search scope at most)",
        responses: {
          '200': json(responses.Session, 'Session started; Set-Cookie: isearch_session=…'),
          '400': err('No API key in the request (behind the authenticating proxy no session is needed)'),
          '409': err('Sessions are off (AUTH_API_KEYS is not set)'),
          ...authErrors,
        },
      },
      delete: {
        summary: 'End the image session (sign out) and clear its cookie',
        responses: { '204': { description: 'Ended' }, ...authErrors },
      },
    },
  },
};
