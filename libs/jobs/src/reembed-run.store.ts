import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ACTIVE_STATES, type FailedItem, type RunState, type VerificationReport } from './reembed.types.js';

/** The raw fields of one run as stored in its Redis hash. */
export interface RunRecord {
  id: string;
  state: RunState;
  batchSize: number;
  onlyMissing: boolean;
  total: number;
  done: number;
  skipped: number;
  failed: number;
  batchesTotal: number;
  batchesFinished: number;
  batchesFailed: number;
  planDone: boolean;
  startedAt: string | null;
  updatedAt: string | null;
  finishedAt: string | null;
  lastError: string | null;
  verification: VerificationReport | null;
  /** Rate samples, newest first: [epoch ms, done]. */
  samples: [number, number][];
  /** The registered models the run migrates from and to (null: a run started before runs named them). */
  fromModel: string | null;
  toModel: string | null;
}

/** Result of finishing a batch: a repeat of an already finished batch, counted, or the last one. */
export type FinalizeResult = 'duplicate' | 'counted' | 'all-finished';

// Marks a batch finished exactly once (SADD guard: a batch processed twice after a stall is
// counted once), updates counters and rate samples, and moves running -> verifying atomically
// when the plan is complete and every batch has finished, so exactly one caller enqueues verify.
const MAYBE_FINISH = `
local st = redis.call('HGET', KEYS[1], 'state')
if st == 'running' and redis.call('HGET', KEYS[1], 'plan_done') == '1'
   and tonumber(redis.call('HGET', KEYS[1], 'batches_finished') or '0') >= tonumber(redis.call('HGET', KEYS[1], 'batches_total') or '0') then
  redis.call('HSET', KEYS[1], 'state', 'verifying', 'updated_at', ARGV[1])
  return 2
end
return 1`;

const FINALIZE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return -1 end
redis.call('HINCRBY', KEYS[1], 'done', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'skipped', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'batches_finished', 1)
if ARGV[4] == '1' then redis.call('HINCRBY', KEYS[1], 'batches_failed', 1) end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[5])
local done = redis.call('HGET', KEYS[1], 'done')
redis.call('LPUSH', KEYS[3], ARGV[6] .. ' ' .. done)
redis.call('LTRIM', KEYS[3], 0, 199)
for i = 7, #ARGV do redis.call('HDEL', KEYS[4], ARGV[i]) end
local st = redis.call('HGET', KEYS[1], 'state')
if st == 'running' and redis.call('HGET', KEYS[1], 'plan_done') == '1'
   and tonumber(redis.call('HGET', KEYS[1], 'batches_finished')) >= tonumber(redis.call('HGET', KEYS[1], 'batches_total') or '0') then
  redis.call('HSET', KEYS[1], 'state', 'verifying')
  return 2
end
return 1`;

// Compare-and-set of the state: ARGV[1] is a comma list of allowed current states.
const TRANSITION = `
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return nil end
for s in string.gmatch(ARGV[1], '[^,]+') do
  if s == st then
    redis.call('HSET', KEYS[1], 'state', ARGV[2], 'updated_at', ARGV[3])
    if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'finished_at', ARGV[3]) end
    return st
  end
end
return false`;

// Creates a run unless one is active; returns the id of the run that is current afterwards.
const CREATE = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local st = redis.call('HGET', ARGV[3] .. cur, 'state')
  for s in string.gmatch(ARGV[4], '[^,]+') do
    if s == st then return {cur, 0} end
  end
end
redis.call('HSET', ARGV[3] .. ARGV[1], unpack(cjson.decode(ARGV[2])))
redis.call('SET', KEYS[1], ARGV[1])
return {ARGV[1], 1}`;

/** How long a finished run's keys stay in Redis (status and failed items stay inspectable). */
const FINISHED_TTL_S = 30 * 24 * 3600;

/**
 * The run state machine and counters in Redis. Every replica, the CLI and the gateway read and
 * write runs through this class, so they all see one state.
 */
export class ReembedRunStore {
  private readonly base: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.base = `${prefix}:reembed-run`;
  }

  private runKey(id: string, part?: string): string {
    return part ? `${this.base}:run:${id}:${part}` : `${this.base}:run:${id}`;
  }

  /** The id of the current (latest) run, if any. */
  async currentId(): Promise<string | null> {
    return this.redis.get(`${this.base}:current`);
  }

  /** Creates a run in `planning` unless one is active; `created` false returns the active one. */
  async create(opts: {
    batchSize: number;
    onlyMissing: boolean;
    expectedTotal: number;
    models?: { from: string; to: string } | undefined;
  }): Promise<{ id: string; created: boolean }> {
    const id = `r${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
    const now = new Date().toISOString();
    const fields = [
      'state',
      'planning',
      'batch_size',
      String(opts.batchSize),
      'only_missing',
      opts.onlyMissing ? '1' : '0',
      'total',
      String(opts.expectedTotal),
      'done',
      '0',
      'skipped',
      '0',
      'plan_skipped',
      '0',
      'batches_total',
      '0',
      'batches_finished',
      '0',
      'batches_failed',
      '0',
      'plan_done',
      '0',
      'started_at',
      now,
      'updated_at',
      now,
      ...(opts.models ? ['from_model', opts.models.from, 'to_model', opts.models.to] : []),
    ];
    const [runId, created] = (await this.redis.eval(
      CREATE,
      1,
      `${this.base}:current`,
      id,
      JSON.stringify(fields),
      `${this.base}:run:`,
      ACTIVE_STATES.join(','),
    )) as [string, number];
    return { id: runId, created: created === 1 };
  }

  /** Reads a run (null when unknown). */
  async get(id: string): Promise<RunRecord | null> {
    const [h, failed, samples] = await Promise.all([
      this.redis.hgetall(this.runKey(id)),
      this.redis.hlen(this.runKey(id, 'failed')),
      this.redis.lrange(this.runKey(id, 'samples'), 0, -1),
    ]);
    if (!h['state']) return null;
    const n = (k: string) => Number(h[k] ?? 0);
    return {
      id,
      state: h['state'] as RunState,
      batchSize: n('batch_size'),
      fromModel: h['from_model'] ?? null,
      toModel: h['to_model'] ?? null,
      onlyMissing: h['only_missing'] === '1',
      total: n('total'),
      done: n('done'),
      skipped: n('skipped') + n('plan_skipped'),
      failed,
      batchesTotal: n('batches_total'),
      batchesFinished: n('batches_finished'),
      batchesFailed: n('batches_failed'),
      planDone: h['plan_done'] === '1',
      startedAt: h['started_at'] ?? null,
      updatedAt: h['updated_at'] ?? null,
      finishedAt: h['finished_at'] ?? null,
      lastError: h['last_error'] ?? null,
      verification: h['verification'] ? (JSON.parse(h['verification']) as VerificationReport) : null,
      samples: samples.map((s) => s.split(' ').map(Number) as [number, number]),
    };
  }

  /** The run's state only (one round trip; null when unknown). */
  async state(id: string): Promise<RunState | null> {
    return (await this.redis.hget(this.runKey(id), 'state')) as RunState | null;
  }

  /** Moves the run from one of `from` to `to`; returns the previous state, or null when not allowed. */
  async transition(id: string, from: readonly RunState[], to: RunState): Promise<RunState | null> {
    const terminal = to === 'completed' || to === 'failed' || to === 'cancelled';
    const prev = (await this.redis.eval(
      TRANSITION,
      1,
      this.runKey(id),
      from.join(','),
      to,
      new Date().toISOString(),
      terminal ? '1' : '',
    )) as string | null;
    if (prev && terminal) await this.expireRun(id);
    return (prev as RunState | null) ?? null;
  }

  /** Sets the last error (shown in status). */
  async setError(id: string, message: string | null): Promise<void> {
    if (message === null) await this.redis.hdel(this.runKey(id), 'last_error');
    else
      await this.redis.hset(
        this.runKey(id),
        'last_error',
        message.slice(0, 2000),
        'updated_at',
        new Date().toISOString(),
      );
  }

  /** Stores the verification report. */
  async setVerification(id: string, report: VerificationReport): Promise<void> {
    await this.redis.hset(
      this.runKey(id),
      'verification',
      JSON.stringify(report),
      'updated_at',
      new Date().toISOString(),
    );
  }

  /** The planner's checkpoint (resume point after a crash). */
  async planCheckpoint(
    id: string,
  ): Promise<{ cursor: string | undefined; batchNo: number; scanned: number; skipped: number }> {
    const h = await this.redis.hgetall(this.runKey(id, 'plan'));
    return {
      cursor: h['cursor'] || undefined,
      batchNo: Number(h['batch_no'] ?? 0),
      scanned: Number(h['scanned'] ?? 0),
      skipped: Number(h['skipped'] ?? 0),
    };
  }

  /** Saves the planner's progress after a page's batches were enqueued. */
  async savePlanCheckpoint(
    id: string,
    cp: { cursor: string | undefined; batchNo: number; scanned: number; skipped: number },
  ): Promise<void> {
    await this.redis
      .multi()
      .hset(
        this.runKey(id, 'plan'),
        'cursor',
        cp.cursor ?? '',
        'batch_no',
        String(cp.batchNo),
        'scanned',
        String(cp.scanned),
        'skipped',
        String(cp.skipped),
      )
      .hset(
        this.runKey(id),
        'batches_total',
        String(cp.batchNo),
        'plan_skipped',
        String(cp.skipped),
        'updated_at',
        new Date().toISOString(),
      )
      .exec();
  }

  /** Marks planning finished: the exact total is known; planning -> running. Returns true when every batch already finished. */
  async finishPlanning(id: string, total: number): Promise<boolean> {
    const now = new Date().toISOString();
    await this.redis.hset(this.runKey(id), 'plan_done', '1', 'total', String(total), 'updated_at', now);
    await this.transition(id, ['planning'], 'running');
    return this.maybeFinish(id);
  }

  /** running -> verifying when the plan is done and every batch finished; true for the caller that made the move. */
  async maybeFinish(id: string): Promise<boolean> {
    return (await this.redis.eval(MAYBE_FINISH, 1, this.runKey(id), new Date().toISOString())) === 2;
  }

  /** Records item failures in the run's failed set (idempotent per asset id); `keepExisting` keeps an earlier, more specific reason. */
  async recordFailures(id: string, items: FailedItem[], opts: { keepExisting?: boolean } = {}): Promise<void> {
    if (items.length === 0) return;
    const at = new Date().toISOString();
    const key = this.runKey(id, 'failed');
    const value = (it: FailedItem) =>
      JSON.stringify({ reason: it.reason, message: it.message.slice(0, 500), batch: it.batch, at });
    if (opts.keepExisting) {
      const m = this.redis.multi();
      for (const it of items) m.hsetnx(key, it.asset_id, value(it));
      await m.exec();
      return;
    }
    await this.redis.hset(key, ...items.flatMap((it) => [it.asset_id, value(it)]));
  }

  /** Counts a batch once (see FINALIZE); `succeeded` ids leave the failed set. */
  async finalizeBatch(
    id: string,
    batchNo: number,
    r: { done: number; skipped: number; batchFailed: boolean; succeeded: string[] },
  ): Promise<FinalizeResult | 'unknown-run'> {
    const now = Date.now();
    const res = (await this.redis.eval(
      FINALIZE,
      4,
      this.runKey(id),
      this.runKey(id, 'finished'),
      this.runKey(id, 'samples'),
      this.runKey(id, 'failed'),
      String(batchNo),
      String(r.done),
      String(r.skipped),
      r.batchFailed ? '1' : '0',
      new Date(now).toISOString(),
      String(now),
      ...r.succeeded,
    )) as number;
    return res === 0 ? 'unknown-run' : res === -1 ? 'duplicate' : res === 2 ? 'all-finished' : 'counted';
  }

  /** Counts a start of a batch (diagnostics: how often each batch was processed). */
  async noteBatchStart(id: string, batchNo: number): Promise<number> {
    return this.redis.hincrby(this.runKey(id, 'starts'), String(batchNo), 1);
  }

  /** How many times each batch was started. */
  async batchStarts(id: string): Promise<Record<string, number>> {
    const h = await this.redis.hgetall(this.runKey(id, 'starts'));
    return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Number(v)]));
  }

  /** Up to `limit` failed items (SCAN order). */
  async failedSample(id: string, limit: number): Promise<FailedItem[]> {
    const [, flat] = await this.redis.hscan(this.runKey(id, 'failed'), '0', 'COUNT', Math.max(limit, 10));
    const out: FailedItem[] = [];
    for (let i = 0; i + 1 < flat.length && out.length < limit; i += 2)
      out.push({ asset_id: flat[i]!, ...(JSON.parse(flat[i + 1]!) as Omit<FailedItem, 'asset_id'>) });
    return out;
  }

  /** Every failed item of the run. */
  async allFailed(id: string): Promise<FailedItem[]> {
    const h = await this.redis.hgetall(this.runKey(id, 'failed'));
    return Object.entries(h).map(([asset_id, v]) => ({ asset_id, ...(JSON.parse(v) as Omit<FailedItem, 'asset_id'>) }));
  }

  /** Removes items from the failed set (before they are retried). */
  async clearFailures(id: string, assetIds: string[]): Promise<void> {
    for (let i = 0; i < assetIds.length; i += 1000)
      await this.redis.hdel(this.runKey(id, 'failed'), ...assetIds.slice(i, i + 1000));
  }

  /** Reserves `n` more batch numbers (retry-failed); returns the first. */
  async reserveBatches(id: string, n: number): Promise<number> {
    const end = await this.redis.hincrby(this.runKey(id), 'batches_total', n);
    return end - n;
  }

  /** Next verification sequence number (deterministic verify job ids). */
  async nextVerifySeq(id: string): Promise<number> {
    return this.redis.hincrby(this.runKey(id), 'verify_seq', 1);
  }

  /** Reopens a finished run for more work (retry-failed): state -> running, finished_at cleared. */
  async reopen(id: string): Promise<void> {
    await this.redis
      .multi()
      .hset(this.runKey(id), 'state', 'running', 'updated_at', new Date().toISOString())
      .hdel(this.runKey(id), 'finished_at')
      .exec();
    for (const part of ['', 'failed', 'finished', 'samples', 'plan', 'starts'])
      await this.redis.persist(part ? this.runKey(id, part) : this.runKey(id));
  }

  private async expireRun(id: string): Promise<void> {
    const m = this.redis.multi();
    for (const part of ['', 'failed', 'finished', 'samples', 'plan', 'starts'])
      m.expire(part ? this.runKey(id, part) : this.runKey(id), FINISHED_TTL_S);
    await m.exec();
  }
}
