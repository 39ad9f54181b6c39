import express from 'express';
import type { AddressInfo } from 'node:net';
import { createLogger, GracefulShutdown, HealthState } from '@image-search/service-kit';
import { loadGatewayConfig } from './config.js';

const config = loadGatewayConfig();
const logger = createLogger('gateway', config.LOG_LEVEL);
const health = new HealthState();
const app = express();
app.get('/health', (_req, res) => {
  res.json({ status: 'ok' });
});
app.get('/ready', (_req, res) => {
  void health.probe().then((p) => res.status(p.ready ? 200 : 503).json({ status: p.ready ? 'ready' : 'not_ready', checks: p.checks }));
});

const server = app.listen(config.GATEWAY_PORT, config.GATEWAY_HOST, () => {
  const { port } = server.address() as AddressInfo;
  health.setReady(true);
  logger.info({ url: `http://${config.GATEWAY_HOST}:${port}` }, 'gateway listening');
});

new GracefulShutdown(logger, config.SHUTDOWN_TIMEOUT_MS)
  .add('readiness off', () => health.setReady(false))
  .add('http server', () => new Promise<void>((resolve) => server.close(() => resolve())))
  .listen();
