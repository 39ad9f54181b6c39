// Readiness checks for `npm start`: grpc.health.v1 and Info on the embedders, HTTP on the others.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT } from './start-config.mjs';

// The same loader options as libs/embedder-proto (PROTO_LOADER_OPTIONS), so fields read the same.
const OPTIONS = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [join(ROOT, 'proto')],
};
let protos;
function load() {
  protos ??= {
    health: grpc.loadPackageDefinition(protoLoader.loadSync('grpc/health/v1/health.proto', OPTIONS)).grpc.health.v1,
    embedder: grpc.loadPackageDefinition(protoLoader.loadSync('embedder.proto', OPTIONS)).imagesearch.embedder.v1,
  };
  return protos;
}

function unary(client, method, req, deadlineMs) {
  return new Promise((resolve, reject) => {
    client[method](req, { deadline: Date.now() + deadlineMs }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res);
    });
  });
}

/** True when the embedder at `address` answers SERVING (model loaded and warmed up). */
export async function grpcServing(address) {
  const { health } = load();
  const res = await unary(
    new health.Health(address, grpc.credentials.createInsecure()),
    'check',
    { service: '' },
    1500,
  ).catch(() => undefined);
  return res?.status === 'SERVING';
}

/** The embedder's Info (model id, embedding dimension, device, ...). */
export async function grpcInfo(address) {
  const { embedder } = load();
  return unary(new embedder.Embedder(address, grpc.credentials.createInsecure()), 'info', {}, 5000);
}

/** True when GET `url` answers 2xx. */
export async function httpOk(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

export { freePort } from './redis-env.mjs';

/** True when nothing listens on host:port yet. */
export function portFree(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/**
 * Polls `check` until true. Rejects after `timeoutMs`, or as soon as `failed()` returns a reason
 * (the service exited, Ctrl-C), so a dead service never leaves the script waiting.
 */
export async function waitUntil(what, check, { timeoutMs, failed = () => undefined, intervalMs = 250 }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = failed();
    if (reason) throw new Error(`${what}: ${reason}`);
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
