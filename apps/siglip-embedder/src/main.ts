import { createLogger, GracefulShutdown } from '@image-search/service-kit';
import { EmbedderServer, loadWorkerModel, toEmbedderSettings } from '@image-search/embedder-server';
import { loadEmbedderConfig } from './config.js';

const config = loadEmbedderConfig();
const logger = createLogger('siglip-embedder', config.LOG_LEVEL);
const server = new EmbedderServer({
  settings: toEmbedderSettings('siglip', config),
  logger,
  loadModel: loadWorkerModel,
  processMetrics: true,
  onFatal: () => void shutdown.shutdown(1),
});
const shutdown = new GracefulShutdown(logger, config.SHUTDOWN_TIMEOUT_MS)
  .add('drain and stop the embedder', () => server.stop())
  .listen();

try {
  await server.start();
} catch (err) {
  logger.fatal({ err }, 'siglip-embedder could not start');
  await shutdown.shutdown(1);
}
