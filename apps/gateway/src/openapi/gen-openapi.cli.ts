// `npm run openapi:gen`: writes the generated API document to docs/openapi.json, for readers and reviewers who
// want it as a file (the gateway serves the same document at /api/v1/openapi.json). A test fails when it drifts.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openApiDocument } from './openapi.js';

/** Where the committed copy of the document lives. */
export const OPENAPI_FILE = resolve(import.meta.dirname, '../../../../docs/openapi.json');

/** The document as the committed file holds it. */
export function renderOpenApi(): string {
  return `${JSON.stringify(openApiDocument, null, 2)}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(OPENAPI_FILE, renderOpenApi());
  console.log(`wrote ${OPENAPI_FILE}`);
}
