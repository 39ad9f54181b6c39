// Closed-loop load generator for the read benchmark (bench/gateway-reads.ts), run as its own process so
// the load never shares an event loop with the gateway. `connections` clients each send the next request
// as soon as the previous answer is read; every request is distinct where the endpoint allows (random ids
// from the seeded set, never-seen query texts). Prints one JSON line: req/s, p50/p95/p99 (ms), errors.
//   npx tsx bench/reads-load.ts '{"url":"http://127.0.0.1:8000","connections":32,"durationS":10,"endpoint":"asset","idsFile":"ids.json"}'
import { readFileSync } from 'node:fs';
import http from 'node:http';

/** Which read a run sends; `mixed` is the soak's 60 % searches, 30 % thumbnails, 10 % asset views. */
export type ReadEndpoint =
  'health' | 'asset' | 'thumbnail' | 'list' | 'list-distinct' | 'list-pages' | 'similar' | 'search' | 'mixed' | 'path';

interface LoadArgs {
  url: string;
  connections: number;
  durationS: number;
  endpoint: ReadEndpoint;
  /** JSON file: { ids: string[], thumbnails: string[] } (asset ids; thumbnail URLs of assets with real files). */
  idsFile: string;
  seed?: string;
  categories?: number;
  /** For `path`: one fixed GET path (probing what a route costs over /health). */
  path?: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as LoadArgs;
const { ids, thumbnails } = JSON.parse(readFileSync(args.idsFile, 'utf8')) as { ids: string[]; thumbnails: string[] };
const u = new URL(args.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: args.connections });
const WORDS = ['red', 'blue', 'green', 'sunset', 'mountain', 'beach', 'dog', 'cat', 'city', 'forest', 'snow', 'night'];
let n = 0;
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

/** One client's place in the list it pages through (list-pages). */
interface ClientState {
  listPath?: string;
  cursor?: string;
}

function next(endpoint: ReadEndpoint, st: ClientState): { method: string; path: string; body?: string } {
  n++;
  switch (endpoint) {
    case 'health':
      return { method: 'GET', path: '/health' };
    case 'path':
      return { method: 'GET', path: args.path ?? '/health' };
    case 'asset':
      return { method: 'GET', path: `/api/v1/assets/${pick(ids)}` };
    case 'thumbnail':
      return { method: 'GET', path: pick(thumbnails) };
    case 'list': {
      // Distinct pages: one of the categories (or none), 50 per page.
      const c = n % ((args.categories ?? 50) + 1);
      return { method: 'GET', path: `/api/v1/assets?limit=50${c ? `&category=cat-${c - 1}` : ''}` };
    }
    case 'list-distinct': {
      // Page sizes 40..60 by category: ~1,000 distinct pages, more than the store keeps per version.
      const c = n % ((args.categories ?? 50) + 1);
      const limit = 40 + Math.floor(Math.random() * 21);
      return { method: 'GET', path: `/api/v1/assets?limit=${limit}${c ? `&category=cat-${c - 1}` : ''}` };
    }
    case 'list-pages': {
      // A person paging through a list: the next page (its cursor) until the end, then another list.
      if (!st.cursor) {
        const c = Math.floor(Math.random() * ((args.categories ?? 50) + 1));
        st.listPath = `/api/v1/assets?limit=50${c ? `&category=cat-${c - 1}` : ''}`;
        return { method: 'GET', path: st.listPath };
      }
      return { method: 'GET', path: `${st.listPath!}&cursor=${encodeURIComponent(st.cursor)}` };
    }
    case 'similar':
      return { method: 'GET', path: `/api/v1/search/similar/${pick(ids)}?limit=50` };
    case 'search': {
      // A query never sent before (the counter is in the text), so neither cache can answer it.
      const text = `${WORDS[n % WORDS.length]} ${WORDS[(n * 7) % WORDS.length]} photo ${args.seed ?? ''}${n}`;
      return { method: 'POST', path: '/api/v1/search', body: JSON.stringify({ query: text, limit: 50 }) };
    }
    case 'mixed': {
      const r = Math.random();
      return next(r < 0.6 ? 'search' : r < 0.9 ? 'thumbnail' : 'asset', st);
    }
  }
}

function send(req: { method: string; path: string; body?: string }, st?: ClientState): Promise<number> {
  return new Promise((resolve) => {
    const r = http.request(
      {
        host: u.hostname,
        port: u.port,
        method: req.method,
        path: req.path,
        agent,
        headers: req.body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(req.body) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => st && chunks.push(d));
        res.on('end', () => {
          if (st) {
            const body =
              res.statusCode === 200
                ? (JSON.parse(Buffer.concat(chunks).toString()) as { next_cursor?: string | null })
                : {};
            st.cursor = body.next_cursor ?? undefined;
          }
          resolve(res.statusCode ?? 0);
        });
        res.on('error', () => resolve(0));
      },
    );
    r.setTimeout(60_000, () => r.destroy(new Error('timeout')));
    r.on('error', () => resolve(0));
    r.end(req.body);
  });
}

const lat: number[] = [];
const statuses = new Map<number, number>();
const end = performance.now() + args.durationS * 1000;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
await Promise.all(
  Array.from({ length: args.connections }, async () => {
    const st: ClientState = {};
    while (performance.now() < end) {
      const t = performance.now();
      const status = await send(next(args.endpoint, st), args.endpoint === 'list-pages' ? st : undefined);
      lat.push(performance.now() - t);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  }),
);
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
lat.sort((a, b) => a - b);
const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? 0;
const ok = [...statuses]
  .filter(([s]) => s === 200 || s === 304 || args.endpoint === 'path')
  .reduce((a, [, c]) => a + c, 0);
agent.destroy();
process.stdout.write(
  JSON.stringify({
    endpoint: args.endpoint,
    connections: args.connections,
    requests: lat.length,
    rps: lat.length / seconds,
    p50: pct(50),
    p95: pct(95),
    p99: pct(99),
    errors: lat.length - ok,
    clientCpuMs: (cpu.user + cpu.system) / 1000 / Math.max(1, lat.length),
    statuses: Object.fromEntries(statuses),
  }) + '\n',
);
