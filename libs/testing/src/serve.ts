import * as grpc from '@grpc/grpc-js';
import { loadHealthProto } from '@image-search/embedder-proto';

/** GET a URL on loopback and return status and parsed JSON (or text). */
export async function httpGet(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body };
}

/** grpc.health.v1 Check against a server; resolves to the status name (e.g. SERVING). */
export function grpcHealthCheck(address: string, service = '', deadlineMs = 2000): Promise<string> {
  const proto = loadHealthProto();
  const client = new proto.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.check({ service }, { deadline: Date.now() + deadlineMs }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(String(res?.status ?? 'UNKNOWN'));
    });
  });
}
