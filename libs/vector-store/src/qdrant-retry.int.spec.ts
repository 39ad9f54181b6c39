// Real parts: the real @qdrant/js-client-rest and QdrantVectorStore over loopback HTTP. Mock: a fake Qdrant HTTP
// endpoint (no Qdrant server can run here) that answers scripted status codes, to test retries and error mapping.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@image-search/service-kit';
import { QdrantVectorStore } from './qdrant-vector-store.js';
import { expectAppError } from './test/vector-store.contract.js';

const logger = createLogger('vector-store-test', 'silent');

describe('Qdrant adapter retries (fake Qdrant HTTP endpoint: scripted statuses)', () => {
  let server: Server;
  let url: string;
  let script: number[] = [];
  const seen: { method: string; url: string; apiKey: string | undefined }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', apiKey: req.headers['api-key'] as string | undefined });
      req.resume();
      const status = script.shift() ?? 200;
      if (status === 0) {
        req.socket.destroy();
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          status === 200
            ? { result: { exists: true }, status: 'ok', time: 0 }
            : { status: { error: `scripted ${status}` }, time: 0 },
        ),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    script = [];
    seen.length = 0;
  });
  const store = () =>
    new QdrantVectorStore({ url, apiKey: 'k3y', logger, retry: { attempts: 4, baseMs: 5, maxMs: 20 } });

  it('retries 5xx and dropped connections, then succeeds, sending the API key', async () => {
    script = [503, 0, 502];
    expect(await store().exists('c')).toBe(true);
    expect(seen).toHaveLength(4);
    expect(seen.every((s) => s.apiKey === 'k3y' && s.url === '/collections/c/exists')).toBe(true);
  });

  it('never retries a 4xx and maps it to a typed error with the Qdrant message', async () => {
    script = [400];
    await expectAppError(store().exists('c'), 'INVALID_ARGUMENT', /scripted 400/);
    expect(seen).toHaveLength(1);
    script = [404];
    await expectAppError(store().info('c'), 'NOT_FOUND', /collection 'c' does not exist/);
    script = [401];
    await expectAppError(store().exists('c'), 'UNAUTHENTICATED', /QDRANT_API_KEY/);
    script = [429];
    await expectAppError(store().exists('c'), 'RATE_LIMITED');
    expect(seen).toHaveLength(4);
  });

  it('gives up after the last attempt with UNAVAILABLE naming the URL', async () => {
    script = [500, 500, 500, 500, 500];
    await expectAppError(store().exists('c'), 'UNAVAILABLE', new RegExp(`Qdrant at ${url} is unavailable`));
    expect(seen).toHaveLength(4);
  });

  it('treats a refused connection as transient and reports it', async () => {
    const dead = new QdrantVectorStore({
      url: 'http://127.0.0.1:1',
      logger,
      retry: { attempts: 2, baseMs: 1, maxMs: 2 },
    });
    await expectAppError(dead.exists('c'), 'UNAVAILABLE', /check QDRANT_URL/);
  });
});
