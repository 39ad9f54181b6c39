import type { Redis } from 'ioredis';
import type { BatchOutcome } from './ingest-batch.js';

/** One file the ingest could not take: refused before reading (extension, symlink) or failed (unreadable, rejected). */
export interface IngestProblem {
  path: string;
  reason: string;
  kind: 'refused' | 'failed';
}

/**
 * Progress of one ingestion, as the API returns it. Counts are files: every discovered file ends as
 * exactly one of done (added + changed + moved), unchanged, failed or refused.
 */
export interface IngestStatus {
  ingest_id: string;
  state: 'queued' | 'scanning' | 'running' | 'completed' | 'failed';
  root_path: string;
  /** Files seen under the folder (refused ones included). */
  discovered: number;
  /** Same as `discovered` (kept for older clients). */
  total: number;
  done: number;
  added: number;
  changed: number;
  moved: number;
  unchanged: number;
  /** Same as `unchanged` (kept for older clients). */
  skipped: number;
  failed: number;
  refused: number;
  /** Catalogued files gone from disk: removed from every collection, the catalogue and the thumbnails. */
  removed: number;
  batches_total: number;
  batches_done: number;
  rate_per_s: number | null;
  eta_s: number | null;
  started_at: string | null;
  updated_at: string | null;
  last_error: string | null;
  /** The first 20 problems; every one is at `failures_url` (paged). */
  failed_sample: IngestProblem[];
  failures_url: string;
}

const COUNTERS = ['added', 'changed', 'moved', 'unchanged', 'failed'] as const;

/** Ingestion progress in Redis (a hash per run, the full list of problems), shared by every gateway replica. */
export class IngestProgress {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlS = 7 * 24 * 3600,
  ) {}

  private key(id: string): string {
    return `${this.prefix}:ingest-run:${id}`;
  }

  async create(id: string, rootPath: string): Promise<void> {
    const now = new Date().toISOString();
    const zero = Object.fromEntries(COUNTERS.map((c) => [c, 0]));
    await this.redis
      .multi()
      .hset(this.key(id), {
        state: 'queued',
        root_path: rootPath,
        discovered: 0,
        ...zero,
        refused: 0,
        removed: 0,
        batches_total: 0,
        batches_done: 0,
        started_at: now,
        updated_at: now,
      })
      .expire(this.key(id), this.ttlS)
      .exec();
  }

  private pushProblems(m: ReturnType<Redis['multi']>, id: string, problems: IngestProblem[]): void {
    const k = `${this.key(id)}:failed`;
    for (let i = 0; i < problems.length; i += 1000)
      m.rpush(k, ...problems.slice(i, i + 1000).map((p) => JSON.stringify(p)));
    m.expire(k, this.ttlS);
  }

  /** The scan's result: files to process, refusals, and removals already done. */
  async planned(
    id: string,
    p: { discovered: number; batches: number; refused: { path: string; reason: string }[]; removed: number },
  ): Promise<void> {
    const m = this.redis.multi().hset(this.key(id), {
      state: p.batches === 0 ? 'completed' : 'running',
      discovered: p.discovered,
      batches_total: p.batches,
      refused: p.refused.length,
      removed: p.removed,
      updated_at: new Date().toISOString(),
    });
    this.pushProblems(
      m,
      id,
      p.refused.map((r) => ({ ...r, kind: 'refused' })),
    );
    await m.exec();
  }

  async setState(id: string, state: IngestStatus['state'], lastError?: string): Promise<void> {
    await this.redis.hset(this.key(id), {
      state,
      updated_at: new Date().toISOString(),
      ...(lastError ? { last_error: lastError } : {}),
    });
  }

  /** Counts a finished batch once (a retried batch is not counted twice) and completes the run after the last. */
  async batchDone(id: string, batchNo: number, o: BatchOutcome): Promise<void> {
    const k = this.key(id);
    const first = await this.redis.sadd(`${k}:batches`, String(batchNo));
    await this.redis.expire(`${k}:batches`, this.ttlS);
    if (first === 0) return;
    const m = this.redis
      .multi()
      .hincrby(k, 'batches_done', 1)
      .hincrby(k, 'added', o.added)
      .hincrby(k, 'changed', o.changed)
      .hincrby(k, 'moved', o.moved)
      .hincrby(k, 'unchanged', o.unchanged);
    m.hincrby(k, 'failed', o.failed.length).hset(k, 'updated_at', new Date().toISOString());
    this.pushProblems(
      m,
      id,
      o.failed.map((f) => ({ ...f, kind: 'failed' })),
    );
    const res = await m.exec();
    const batchesDone = Number(res?.[0]?.[1] ?? 0);
    const total = Number(await this.redis.hget(k, 'batches_total'));
    if (batchesDone >= total) await this.setState(id, 'completed');
  }

  /** One page of the run's problems (refusals first, then failures in batch order). */
  async problems(id: string, offset: number, limit: number): Promise<{ items: IngestProblem[]; total: number }> {
    const k = `${this.key(id)}:failed`;
    const [items, total] = await Promise.all([this.redis.lrange(k, offset, offset + limit - 1), this.redis.llen(k)]);
    return { items: items.map((s) => JSON.parse(s) as IngestProblem), total };
  }

  async get(id: string): Promise<IngestStatus | undefined> {
    const k = this.key(id);
    const [h, failed] = await Promise.all([this.redis.hgetall(k), this.redis.lrange(`${k}:failed`, 0, 19)]);
    if (!h || Object.keys(h).length === 0) return undefined;
    const n = (f: string) => Number(h[f] ?? 0);
    const started = h['started_at'] ? Date.parse(h['started_at']) : NaN;
    const updated = h['updated_at'] ? Date.parse(h['updated_at']) : NaN;
    const done = n('added') + n('changed') + n('moved');
    const processed = done + n('unchanged') + n('failed');
    const elapsedS = (updated - started) / 1000;
    const rate = Number.isFinite(elapsedS) && elapsedS > 0 && processed > 0 ? processed / elapsedS : null;
    const remaining = Math.max(0, n('discovered') - n('refused') - processed);
    return {
      ingest_id: id,
      state: (h['state'] ?? 'queued') as IngestStatus['state'],
      root_path: h['root_path'] ?? '',
      discovered: n('discovered'),
      total: n('discovered'),
      done,
      added: n('added'),
      changed: n('changed'),
      moved: n('moved'),
      unchanged: n('unchanged'),
      skipped: n('unchanged'),
      failed: n('failed'),
      refused: n('refused'),
      removed: n('removed'),
      batches_total: n('batches_total'),
      batches_done: n('batches_done'),
      rate_per_s: rate === null ? null : Math.round(rate * 100) / 100,
      eta_s: rate && h['state'] === 'running' ? Math.round(remaining / rate) : h['state'] === 'completed' ? 0 : null,
      started_at: h['started_at'] ?? null,
      updated_at: h['updated_at'] ?? null,
      last_error: h['last_error'] ?? null,
      failed_sample: failed.map((s) => JSON.parse(s) as IngestProblem),
      failures_url: `/api/v1/assets/ingest/${id}/failures`,
    };
  }
}
