import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { createLogger, GracefulShutdown, HealthState, startHealthServer } from '@image-search/service-kit';
import { EMBEDDER_SERVICE_NAME } from '@image-search/embedder-proto';
import { loadEmbedderConfig } from './config.js';

const config = loadEmbedderConfig();
const logger = createLogger('siglip-embedder', config.LOG_LEVEL);
const health = new HealthState();
const grpcHealth = new HealthImplementation({ '': 'NOT_SERVING', [EMBEDDER_SERVICE_NAME]: 'NOT_SERVING' });
health.onChange((ready) => {
  const status = ready ? 'SERVING' : 'NOT_SERVING';
  grpcHealth.setStatus('', status);
  grpcHealth.setStatus(EMBEDDER_SERVICE_NAME, status);
});

const server = new grpc.Server();
grpcHealth.addToServer(server);
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync(`${config.EMBEDDER_HOST}:${config.EMBEDDER_PORT}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
);
const metrics = await startHealthServer({ host: config.EMBEDDER_HOST, port: config.METRICS_PORT, health });
health.setReady(true);
logger.info({ grpc_port: port, metrics_port: metrics.port }, 'siglip-embedder listening');

new GracefulShutdown(logger, config.SHUTDOWN_TIMEOUT_MS)
  .add('readiness off', () => health.setReady(false))
  .add('grpc server', () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())))
  .add('metrics server', () => metrics.close())
  .listen();
