// Real parts: a Qdrant server at QDRANT_URL (with QDRANT_API_KEY when set). Skipped, with one line, when QDRANT_URL is
// unset.
import { describe, it } from 'vitest';
import { createLogger } from '@image-search/service-kit';
import { testEnv } from '@image-search/testing';
import { QdrantVectorStore } from './qdrant-vector-store.js';
import { vectorStoreContract } from './test/vector-store.contract.js';

const logger = createLogger('vector-store-test', 'warn');

if (testEnv.qdrantUrl) {
  const url = testEnv.qdrantUrl;
  vectorStoreContract(`Qdrant (${url})`, () =>
    Promise.resolve(
      new QdrantVectorStore({ url, ...(testEnv.qdrantApiKey ? { apiKey: testEnv.qdrantApiKey } : {}), logger }),
    ),
  );
} else {
  console.log(
    '[qdrant] SKIPPED the Qdrant adapter contract suite: QDRANT_URL is not set (e.g. QDRANT_URL=http://127.0.0.1:6333 npx vitest run, from libs/vector-store)',
  );
  describe('Qdrant: vector store contract', () => {
    it.skip('runs only when QDRANT_URL is set', () => undefined);
  });
}
