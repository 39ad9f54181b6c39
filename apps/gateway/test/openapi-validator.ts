import { Ajv2020 } from 'ajv/dist/2020.js';
import { openApiDocument } from '../src/openapi/openapi.js';

const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ $id: 'openapi.json', components: openApiDocument.components }, 'openapi.json');

type Doc = {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> }>
  >;
};

/**
 * Validates a real response against the OpenAPI document: the path template, method and status
 * must be documented, and a JSON body must match the documented schema.
 */
export function checkResponse(pathTemplate: string, method: string, status: number, body: unknown): void {
  const op = (openApiDocument as unknown as Doc).paths[pathTemplate]?.[method.toLowerCase()];
  if (!op) throw new Error(`OpenAPI: ${method} ${pathTemplate} is not documented`);
  const resp = op.responses[String(status)];
  if (!resp)
    throw new Error(
      `OpenAPI: ${method} ${pathTemplate} does not document status ${status} (body ${JSON.stringify(body).slice(0, 300)})`,
    );
  const schema = resp.content?.['application/json']?.schema;
  if (!schema?.$ref) return;
  const validate = ajv.getSchema(`openapi.json${schema.$ref}`) ?? ajv.compile({ $ref: `openapi.json${schema.$ref}` });
  if (!validate(body))
    throw new Error(
      `OpenAPI: ${method} ${pathTemplate} ${status} body does not match ${schema.$ref}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`,
    );
}
