import { createLogger, GracefulShutdown } from '@image-search/service-kit';
import { loadEmbeddingModel } from '@image-search/embedding';
import { EmbedderServer, toEmbedderSettings } from '@image-search/embedder-server';
import { loadEmbedderConfig } from './config.js';

const config = loadEmbedderConfig();
const logger = createLogger('clip-embedder', config.LOG_LEVEL);
const server = new EmbedderServer({ settings: toEmbedderSettings('clip', config), logger, loadModel: loadEmbeddingModel, processMetrics: true });
const shutdown = new GracefulShutdown(logger, config.SHUTDOWN_TIMEOUT_MS).add('drain and stop the embedder', () => server.stop()).listen();

try {
  await server.start();
} catch (err) {
  logger.fatal({ err }, 'clip-embedder could not start');
  await shutdown.shutdown(1);
}
