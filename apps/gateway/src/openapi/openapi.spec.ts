// The API document generated from the zod schemas: its examples pass both the zod validation the routers run
// and the JSON Schema of the document, the two agree on what they refuse, every $ref resolves, and the
// committed docs/openapi.json is current. (Real responses are validated against it in the gateway specs.)
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { ingestBodySchema } from '../routes/assets.router.js';
import { searchBodySchema } from '../routes/search.router.js';
import { OPENAPI_FILE, renderOpenApi } from './gen-openapi.cli.js';
import { openApiDocument } from './openapi.js';

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ $id: 'openapi.json', components: openApiDocument.components }, 'openapi.json');
const component = (name: string) => ajv.compile({ $ref: `openapi.json#/components/schemas/${name}` });
const schemas = openApiDocument.components.schemas as Record<string, { examples?: unknown[] }>;

describe('OpenAPI document from the zod schemas', () => {
  it('keeps the component names', () => {
    expect(Object.keys(schemas)).toEqual(
      expect.arrayContaining(['Error', 'Asset', 'SearchRequest', 'SearchResponse', 'Filters', 'IngestRequest']),
    );
  });

  it('every $ref points at a component', () => {
    const refs = [...JSON.stringify(openApiDocument).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)];
    expect(refs.length).toBeGreaterThan(10);
    for (const [, name] of refs) expect(Object.keys(schemas)).toContain(name);
  });

  it.each([
    ['SearchRequest', searchBodySchema],
    ['IngestRequest', ingestBodySchema],
  ] as const)('%s: its examples pass the router validation and the document', (name, zod) => {
    const examples = schemas[name]?.examples ?? [];
    expect(examples.length).toBeGreaterThan(0);
    for (const ex of examples) {
      expect(zod.safeParse(ex).success).toBe(true);
      expect(component(name)(ex)).toBe(true);
    }
  });

  it.each([
    [{ query: 'x', limit: 0 }],
    [{ query: 'x', limit: 201 }],
    [{ query: 'x', unknown_field: 1 }],
    [{ limit: 5 }],
    [{ query: 'x', filters: { category: [] } }],
    [{ query: 'x', min_score: 2 }],
  ])('SearchRequest: the document refuses what the router refuses (%j)', (body) => {
    expect(searchBodySchema.safeParse(body).success).toBe(false);
    expect(component('SearchRequest')(body)).toBe(false);
  });

  it('describes fields and query parameters as the zod schemas say', () => {
    const search = openApiDocument.components.schemas['SearchRequest'] as {
      properties: Record<string, { description?: string }>;
    };
    expect(search.properties['user_id']?.description).toMatch(/bucketing/);
    const similar = openApiDocument.paths['/api/v1/search/similar/{asset_id}'].get.parameters;
    expect(similar.find((p) => p['name'] === 'limit')).toMatchObject({
      in: 'query',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
    });
  });

  it('docs/openapi.json is the current document (npm run openapi:gen)', () => {
    expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(renderOpenApi());
  });
});
