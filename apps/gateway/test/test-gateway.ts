import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createLogger } from '@image-search/service-kit';
import { deleteKeys, testRedis, type TestProcess } from '@image-search/testing';
import type { EmbedderApi } from '@image-search/embedder-client';
import type { VectorStore } from '@image-search/vector-store';
import { createApp } from '../src/app.js';
import { loadGatewayConfig } from '../src/config.js';
import { wireGateway, type Gateway } from '../src/gateway.wiring.js';

/** A gateway app on a loopback port, wired like main.ts with the given env (and optional store/embedders). */
export interface RunningGateway {
  url: string;
  gw: Gateway;
  close: () => Promise<void>;
}

export async function startTestGateway(
  env: Record<string, string>,
  opts: {
    store?: VectorStore;
    embedders?: { clip: EmbedderApi; siglip: EmbedderApi | undefined; byId?: Record<string, EmbedderApi> };
  } = {},
): Promise<RunningGateway> {
  const config = loadGatewayConfig({ GATEWAY_PORT: '0', LOG_LEVEL: 'silent', ...env });
  const logger = createLogger('gateway-test', config.LOG_LEVEL);
  const gw = await wireGateway(config, logger, opts);
  gw.deps.health.setReady(true);
  const app = createApp(gw.deps);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    gw,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await gw.stop();
    },
  };
}

/** Stops what a full-stack test started (gateway, embedder processes) and removes its Redis keys and temp folder. */
export async function tearDownStack(s: {
  gw: RunningGateway | undefined;
  procs: TestProcess[];
  prefix: string;
  root: string;
}): Promise<void> {
  await s.gw?.close();
  for (const p of s.procs) await p.stop('SIGKILL');
  const redis = testRedis();
  await deleteKeys(redis, s.prefix);
  redis.disconnect();
  rmSync(s.root, { recursive: true, force: true });
}
