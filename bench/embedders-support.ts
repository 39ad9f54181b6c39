// Helpers for bench/embedders.bench.ts: machine description, timing, statistics, tables, the served process.
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startNodeProcess, startTsProcess, freePort, waitFor, type TestProcess } from '@image-search/testing';
import { EmbedderClient } from '@image-search/embedder-client';

/** One line per fact about the machine and the software the figures come from. */
export function machine(threads: number): string[] {
  const c = cpus();
  const ver = (p: string) => {
    try {
      return (
        JSON.parse(readFileSync(resolve(import.meta.dirname, '../node_modules', p, 'package.json'), 'utf8')) as {
          version: string;
        }
      ).version;
    } catch {
      return '?';
    }
  };
  return [
    `CPU: ${c[0]?.model ?? 'unknown'} × ${c.length} logical cores (load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')})`,
    `Memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB total, ${(freemem() / 2 ** 30).toFixed(1)} GiB free`,
    `Node ${process.version} on ${process.platform}/${process.arch}; onnxruntime-node ${ver('onnxruntime-node')}, sharp ${ver('sharp')}, @huggingface/transformers ${ver('@huggingface/transformers')}, @grpc/grpc-js ${ver('@grpc/grpc-js')}`,
    `Intra-op threads: ${threads} (same for every contender)`,
  ];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Milliseconds of one awaited call. */
export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const out = await fn();
  return [out, performance.now() - t0];
}

/** Runs `items` through `fn` in consecutive slices of `batch`, returning items per second. */
export async function throughput<T>(items: T[], batch: number, fn: (slice: T[]) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < items.length; i += batch) await fn(items.slice(i, i + batch));
  return items.length / ((performance.now() - t0) / 1000);
}

/** Prints rows as an aligned text table (also valid Markdown). */
export function printTable(rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]!);
  const cell = (v: string | number | undefined) =>
    typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1)) : (v ?? '');
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => `| ${vals.map((v, i) => v.padEnd(width[i]!)).join(' | ')} |`;
  console.log(line(cols));
  console.log(`|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(cols.map((c) => cell(r[c]))));
}

/** Progress line on stderr (done/total, rate). */
export function progress(label: string, done: number, total: number, startedMs: number): void {
  const rate = done / ((performance.now() - startedMs) / 1000);
  const eta = rate > 0 ? (total - done) / rate : 0;
  process.stderr.write(
    `\r  ${label}: ${done}/${total} (${rate.toFixed(1)}/s, ETA ${eta.toFixed(0)} s)   ${done === total ? '\n' : ''}`,
  );
}

/** The real embedder app as a separate process, with a client on loopback. */
export interface Served {
  address: string;
  proc: TestProcess;
  client: EmbedderClient;
  metricsPort: number;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<number | string>;
}

/** How the app runs: from TypeScript through tsx (the default), or its compiled bundle as the Dockerfiles run it. */
export interface ServedOptions {
  /** Run dist/apps/<family>-embedder/main.mjs with plain node (`npx nx run <family>-embedder:build` first). */
  built?: boolean;
  /** The folder holding apps/<family>-embedder when built (default dist), e.g. a copy of another build to compare. */
  dist?: string;
}

const REPO = resolve(import.meta.dirname, '..');

/** The compiled bundle in a plain node process, as the Dockerfiles' CMD starts it (no tsx loader). */
function startBuilt(family: 'clip' | 'siglip', env: Record<string, string>, dist = 'dist'): TestProcess {
  const entry = resolve(REPO, `${dist}/apps/${family}-embedder/main.mjs`);
  if (!existsSync(entry)) throw new Error(`${entry} not found: npx nx run ${family}-embedder:build`);
  return startNodeProcess(['--enable-source-maps', entry], { NODE_ENV: 'production', ...env });
}

export async function startServed(
  family: 'clip' | 'siglip',
  env: Record<string, string>,
  opts: ServedOptions = {},
): Promise<Served> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const F = family.toUpperCase();
  const start = opts.built
    ? (e: Record<string, string>) => startBuilt(family, e, opts.dist)
    : (e: Record<string, string>) => startTsProcess(`apps/${family}-embedder/src/main.ts`, e);
  const proc = start({
    EMBEDDER_HOST: '127.0.0.1',
    EMBEDDER_PORT: String(port),
    METRICS_PORT: String(metricsPort),
    [`${F}_EMBEDDING_DIM`]: '0',
    LOG_LEVEL: 'warn',
    // As the embedders' Dockerfiles and npm start run them (docs/benchmarks/memory.md).
    MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '131072',
    ...env,
  });
  const client = new EmbedderClient({ address: `127.0.0.1:${port}`, defaultDeadlineMs: 600_000 });
  try {
    await waitFor(`${family}-embedder SERVING`, () => client.isServing(), 300_000, 250);
  } catch (err) {
    console.error(proc.output());
    throw err;
  }
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    let total = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
        total += Number(line.split(' ').pop());
    }
    return total;
  };
  return {
    address: `127.0.0.1:${port}`,
    proc,
    client,
    metricsPort,
    metric,
    stop: async () => {
      client.close();
      return proc.stop('SIGTERM', 30_000);
    },
  };
}

/** Resident KiB of one process (VmRSS), 0 when it is gone. */
export function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The process and all its descendants (via each thread's children list). */
export function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const t of readdirSync(`/proc/${out[i]}/task`)) {
        const kids = readFileSync(`/proc/${out[i]}/task/${t}/children`, 'utf8').trim();
        if (kids) out.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
