import type { Logger } from '@image-search/service-kit';
import type { VectorStore } from './vector-store.port.js';
import { LanceVectorStore, type LanceVectorStoreOptions } from './lance-vector-store.js';
import { QdrantVectorStore } from './qdrant-vector-store.js';

/** What picks and configures the engine: Qdrant when `qdrantUrl` is set, else the embedded engine in `dataDir`. */
export interface VectorStoreConfig {
  qdrantUrl?: string | undefined;
  qdrantApiKey?: string | undefined;
  dataDir: string;
  logger: Logger;
  /** Embedded-engine tuning (tests and benchmarks). */
  lance?: Partial<Omit<LanceVectorStoreOptions, 'dataDir' | 'logger'>>;
}

/** Opens the configured vector store. */
export async function createVectorStore(config: VectorStoreConfig): Promise<VectorStore> {
  if (config.qdrantUrl) {
    config.logger.info({ url: config.qdrantUrl }, 'vector store: Qdrant');
    return new QdrantVectorStore({
      url: config.qdrantUrl,
      ...(config.qdrantApiKey ? { apiKey: config.qdrantApiKey } : {}),
      logger: config.logger,
    });
  }
  config.logger.info({ dataDir: config.dataDir }, 'vector store: embedded (LanceDB)');
  return LanceVectorStore.open({ ...config.lance, dataDir: config.dataDir, logger: config.logger });
}

/** Where the store keeps its data, for logs and tool output. */
export function storeLocation(config: Pick<VectorStoreConfig, 'qdrantUrl' | 'dataDir'>): string {
  return config.qdrantUrl ?? config.dataDir;
}
