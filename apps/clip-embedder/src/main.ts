import { createLogger, GracefulShutdown } from '@image-search/service-kit';
import { EmbedderServer, loadWorkerModel, toEmbedderSettings } from '@image-search/embedder-server';
import { loadEmbedderConfig } from './config.js';

const config = loadEmbedderConfig();
const logger = createLogger('clip-embedder', config.LOG_LEVEL);
const server = new EmbedderServer({
  settings: toEmbedderSettings('clip', config),
  logger,
  loadModel: loadWorkerModel,
  processMetrics: true,
  onFatal: () => void shutdown.shutdown(1),
});
const shutdown = new GracefulShutdown(logger, config.SHUTDOWN_TIMEOUT_MS).add('drain and stop the embedder', () => server.stop()).listen();
// GracefulShutdown listens once; a repeated signal (wrappers such as tsx or npm may relay it twice)
// must not kill the process half-way through the drain. The shutdown deadline still bounds it.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => logger.debug({ signal }, 'signal received; shutdown runs once'));

try {
  await server.start();
} catch (err) {
  logger.fatal({ err }, 'clip-embedder could not start');
  await shutdown.shutdown(1);
}
