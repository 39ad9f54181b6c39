import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Liveness and readiness of one service, shared by its HTTP and gRPC health endpoints. */
export class HealthState {
  private ready = false;
  private readonly listeners = new Set<(ready: boolean) => void>();
  private readonly checks = new Map<string, { check: () => Promise<boolean>; required: boolean }>();

  /** Marks the service ready (it answers work) or not (it is starting or draining). */
  setReady(ready: boolean): void {
    if (this.ready === ready) return;
    this.ready = ready;
    for (const l of this.listeners) l(ready);
  }

  /** Whether the service was marked ready. */
  isReady(): boolean {
    return this.ready;
  }

  /** Calls `fn` whenever readiness changes. */
  onChange(fn: (ready: boolean) => void): void {
    this.listeners.add(fn);
  }

  /**
   * Adds a dependency check that readiness probes run (e.g. "redis reachable"). A check with
   * `required: false` is reported (the service is then `degraded`) without making it unready.
   */
  addCheck(name: string, check: () => Promise<boolean>, opts: { required?: boolean } = {}): void {
    this.checks.set(name, { check, required: opts.required ?? true });
  }

  /** Runs every dependency check with a timeout; ready only if marked ready and every required check passes. */
  async probe(timeoutMs = 2000): Promise<{ ready: boolean; degraded: boolean; checks: Record<string, boolean> }> {
    const results: Record<string, boolean> = {};
    let requiredOk = true;
    let optionalOk = true;
    await Promise.all(
      [...this.checks].map(async ([name, { check, required }]) => {
        const ok = await Promise.race([
          check().catch(() => false),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
        ]);
        results[name] = ok;
        if (!ok && required) requiredOk = false;
        if (!ok && !required) optionalOk = false;
      }),
    );
    const ready = this.ready && requiredOk;
    return { ready, degraded: ready && !optionalOk, checks: results };
  }
}

/**
 * A small HTTP server for services that are not HTTP servers themselves (embedders, worker):
 * GET /health (alive), GET /ready (ready and dependencies reachable), GET /metrics (Prometheus).
 */
export async function startHealthServer(opts: {
  host: string;
  port: number;
  health: HealthState;
  registry?: Registry;
}): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    void (async () => {
      const url = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET' }).end();
        return;
      }
      if (url === '/health' || url === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
        return;
      }
      if (url === '/ready' || url === '/readyz') {
        const probe = await opts.health.probe();
        res
          .writeHead(probe.ready ? 200 : 503, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: probe.ready ? 'ready' : 'not_ready', checks: probe.checks }));
        return;
      }
      if (url === '/metrics' && opts.registry) {
        const body = await opts.registry.metrics();
        res.writeHead(200, { 'content-type': opts.registry.contentType }).end(body);
        return;
      }
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'NOT_FOUND', message: `no route ${url}` } }));
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
