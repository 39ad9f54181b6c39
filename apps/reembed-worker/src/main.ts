import { Redis } from 'ioredis';
import { createLogger, GracefulShutdown, HealthState, startHealthServer } from '@image-search/service-kit';
import { loadWorkerConfig } from './config.js';

const config = loadWorkerConfig();
const logger = createLogger('reembed-worker', config.LOG_LEVEL);
const health = new HealthState();
const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null, lazyConnect: true });
redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
health.addCheck('redis', async () => (await redis.ping()) === 'PONG');
await redis.connect();
const server = await startHealthServer({ host: config.WORKER_HEALTH_HOST, port: config.WORKER_HEALTH_PORT, health });
health.setReady(true);
logger.info({ health_port: server.port }, 'reembed-worker started');

new GracefulShutdown(logger, config.SHUTDOWN_TIMEOUT_MS)
  .add('readiness off', () => health.setReady(false))
  .add('health server', () => server.close())
  .add('redis', async () => {
    await redis.quit();
  })
  .listen();
