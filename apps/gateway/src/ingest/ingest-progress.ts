import type { Redis } from 'ioredis';

/** Progress of one ingestion, as the API returns it. */
export interface IngestStatus {
  ingest_id: string;
  state: 'queued' | 'scanning' | 'running' | 'completed' | 'failed';
  root_path: string;
  total: number;
  done: number;
  skipped: number;
  failed: number;
  refused: number;
  batches_total: number;
  batches_done: number;
  rate_per_s: number | null;
  eta_s: number | null;
  started_at: string | null;
  updated_at: string | null;
  last_error: string | null;
  failed_sample: { path: string; reason: string }[];
}

const SAMPLE = 1000;

/** Ingestion progress in Redis (a hash per run, a capped list of failures), shared by every gateway replica. */
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
    await this.redis
      .multi()
      .hset(this.key(id), {
        state: 'queued',
        root_path: rootPath,
        total: 0,
        done: 0,
        skipped: 0,
        failed: 0,
        refused: 0,
        batches_total: 0,
        batches_done: 0,
        started_at: now,
        updated_at: now,
      })
      .expire(this.key(id), this.ttlS)
      .exec();
  }

  async planned(
    id: string,
    total: number,
    batches: number,
    refused: { path: string; reason: string }[],
  ): Promise<void> {
    const k = this.key(id);
    const m = this.redis.multi().hset(k, {
      state: batches === 0 ? 'completed' : 'running',
      total,
      batches_total: batches,
      refused: refused.length,
      updated_at: new Date().toISOString(),
    });
    for (const r of refused.slice(0, SAMPLE)) m.rpush(`${k}:failed`, JSON.stringify(r));
    await m
      .ltrim(`${k}:failed`, 0, SAMPLE - 1)
      .expire(`${k}:failed`, this.ttlS)
      .exec();
  }

  async setState(id: string, state: IngestStatus['state'], lastError?: string): Promise<void> {
    await this.redis.hset(this.key(id), {
      state,
      updated_at: new Date().toISOString(),
      ...(lastError ? { last_error: lastError } : {}),
    });
  }

  /** Counts a finished batch once (a retried batch is not counted twice) and completes the run after the last. */
  async batchDone(
    id: string,
    batchNo: number,
    o: { done: number; skipped: number; failed: { path: string; reason: string }[] },
  ): Promise<void> {
    const k = this.key(id);
    const first = await this.redis.sadd(`${k}:batches`, String(batchNo));
    await this.redis.expire(`${k}:batches`, this.ttlS);
    if (first === 0) return;
    const m = this.redis
      .multi()
      .hincrby(k, 'done', o.done)
      .hincrby(k, 'skipped', o.skipped)
      .hincrby(k, 'failed', o.failed.length)
      .hincrby(k, 'batches_done', 1)
      .hset(k, 'updated_at', new Date().toISOString());
    for (const f of o.failed.slice(0, SAMPLE)) m.rpush(`${k}:failed`, JSON.stringify(f));
    m.ltrim(`${k}:failed`, 0, SAMPLE - 1).expire(`${k}:failed`, this.ttlS);
    const res = await m.exec();
    const batchesDone = Number(res?.[3]?.[1] ?? 0);
    const total = Number(await this.redis.hget(k, 'batches_total'));
    if (batchesDone >= total) await this.setState(id, 'completed');
  }

  async get(id: string): Promise<IngestStatus | undefined> {
    const k = this.key(id);
    const [h, failed] = await Promise.all([this.redis.hgetall(k), this.redis.lrange(`${k}:failed`, 0, 19)]);
    if (!h || Object.keys(h).length === 0) return undefined;
    const n = (f: string) => Number(h[f] ?? 0);
    const started = h['started_at'] ? Date.parse(h['started_at']) : NaN;
    const updated = h['updated_at'] ? Date.parse(h['updated_at']) : NaN;
    const processed = n('done') + n('skipped') + n('failed');
    const elapsedS = (updated - started) / 1000;
    const rate = Number.isFinite(elapsedS) && elapsedS > 0 && processed > 0 ? processed / elapsedS : null;
    const remaining = Math.max(0, n('total') - processed);
    return {
      ingest_id: id,
      state: (h['state'] ?? 'queued') as IngestStatus['state'],
      root_path: h['root_path'] ?? '',
      total: n('total'),
      done: n('done'),
      skipped: n('skipped'),
      failed: n('failed'),
      refused: n('refused'),
      batches_total: n('batches_total'),
      batches_done: n('batches_done'),
      rate_per_s: rate === null ? null : Math.round(rate * 100) / 100,
      eta_s: rate && h['state'] === 'running' ? Math.round(remaining / rate) : h['state'] === 'completed' ? 0 : null,
      started_at: h['started_at'] ?? null,
      updated_at: h['updated_at'] ?? null,
      last_error: h['last_error'] ?? null,
      failed_sample: failed.map((s) => JSON.parse(s) as { path: string; reason: string }),
    };
  }
}
