import type { AddressInfo } from 'node:net';
import { createLogger, GracefulShutdown, isAppError } from '@image-search/service-kit';
import { createApp } from './app.js';
import { loadGatewayConfig } from './config.js';
import { wireGateway } from './gateway.wiring.js';

let config;
try {
  config = loadGatewayConfig();
} catch (err) {
  // A bad variable is an operator's mistake: say which, without a stack trace.
  process.stderr.write(`gateway: ${isAppError(err) ? err.message : String(err)}\n`);
  process.exit(2);
}
const logger = createLogger('gateway', config.LOG_LEVEL);
const gateway = await wireGateway(config, logger);
const app = createApp(gateway.deps);

const server = app.listen(config.GATEWAY_PORT, config.GATEWAY_HOST, () => {
  const { port } = server.address() as AddressInfo;
  gateway.deps.health.setReady(true);
  logger.info(
    {
      url: `http://${config.GATEWAY_HOST}:${port}`,
      flags: gateway.deps.flags.flags,
      admin: config.ADMIN_TOKEN ? 'enabled' : 'disabled (no ADMIN_TOKEN)',
      auth: {
        api_keys: config.AUTH_API_KEYS,
        proxy_header: config.AUTH_PROXY_HEADER ?? null,
        anonymous: gateway.deps.auth.anonymous,
      },
    },
    'gateway listening',
  );
});
server.on('error', (err) => {
  logger.fatal({ err: err.message }, 'gateway cannot listen');
  process.exit(1);
});

new GracefulShutdown(logger, config.SHUTDOWN_TIMEOUT_MS)
  .add('readiness off', () => gateway.deps.health.setReady(false))
  .add('http server', () => new Promise<void>((resolve) => server.close(() => resolve())))
  .add('clients, workers and store', () => gateway.stop())
  .listen();
