import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { SearchIdClaims } from './search-id.js';

/** What a user did with a result. */
export type EventType = 'click' | 'open' | 'download';

/** Latency histogram bounds (ms) of the per-model online latency. */
export const LATENCY_BOUNDS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, Infinity];
const CTR_KS = [1, 3, 5, 10] as const;

/** One model's online figures (overall or for one bucket range). */
export interface OnlineFigures {
  searches: number;
  zero_result_rate: number | null;
  error_rate: number | null;
  errors: number;
  /** Searches with at least one interaction / searches (first interaction at rank <= k for ctr@k). */
  'ctr@1': number | null;
  'ctr@3': number | null;
  'ctr@5': number | null;
  'ctr@10': number | null;
  /** Mean over searches of 1/rank of the first interaction (0 for a search without one). */
  mrr: number | null;
  /** Searches without any interaction / searches. */
  abandonment: number | null;
  latency_ms: { mean: number | null; p50: number | null; p95: number | null };
  events: Record<EventType, number>;
}

/** The interleaving verdict of one pair. */
export interface InterleavingFigures {
  a: string;
  b: string;
  searches: number;
  wins: { a: number; b: number };
  /** wins.b / (wins.a + wins.b) (null without any). */
  win_rate_b: number | null;
  /** Two-sided exact binomial (sign) test of wins against 50/50. */
  p_value: number | null;
  significant: boolean;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 10_000) / 10_000 : null);

/** Two-sided exact binomial test of k successes in n trials against p = 0.5. */
export function signTest(k: number, n: number): number {
  if (n === 0) return 1;
  const logC = (m: number, r: number) => {
    let s = 0;
    for (let i = 1; i <= r; i++) s += Math.log(m - r + i) - Math.log(i);
    return s;
  };
  const tail = (from: number) => {
    let p = 0;
    for (let i = from; i <= n; i++) p += Math.exp(logC(n, i) - n * Math.LN2);
    return p;
  };
  const extreme = Math.max(k, n - k);
  return Math.min(1, 2 * tail(extreme));
}

/** How long counts wait in memory before they go to Redis in one transaction (the lag of another process's view). */
export const ONLINE_FLUSH_MS = 50;

/**
 * Online search metrics in Redis, compact: one hash per UTC day (fields per model and bucket, expired
 * after the retention), plus a short-lived marker per search that had an interaction (so a search
 * counts once towards CTR and MRR however many events it gets). Every replica writes the same keys.
 * Counts are summed in memory and written together at most `flushMs` later: a MULTI per search cost a
 * fifth of a text search's event-loop time under load. This process's own reads (`totals`) send what is
 * pending first, so they see every count made before them; other processes see it within `flushMs`.
 */
export class OnlineMetrics {
  /** Sums waiting to be written: hash key -> field -> amount. */
  private pending = new Map<string, Map<string, number>>();
  /** The timer of the next write and the promise its counts' callers wait on. */
  private next: { timer: NodeJS.Timeout; done: Promise<void>; settle: (p: Promise<void>) => void } | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly retentionDays: number,
    /** How long a search can still receive events (the marker's lifetime). */
    private readonly eventWindowMs: number,
    private readonly flushMs = ONLINE_FLUSH_MS,
  ) {}

  private aggKey(ms: number): string {
    return `${this.prefix}:events:agg:${day(ms)}`;
  }

  /** Adds to the pending sums; the promise settles when they are written (with the others of that write). */
  private incr(fields: [string, number][], at: number): Promise<void> {
    const key = this.aggKey(at);
    let sums = this.pending.get(key);
    if (!sums) this.pending.set(key, (sums = new Map()));
    for (const [f, by] of fields) sums.set(f, (sums.get(f) ?? 0) + by);
    if (!this.next) {
      let settle!: (p: Promise<void>) => void;
      const done = new Promise<void>((resolve) => (settle = resolve));
      const timer = setTimeout(() => void this.flush(), this.flushMs);
      timer.unref();
      this.next = { timer, done, settle };
    }
    return this.next.done;
  }

  /**
   * Writes the pending sums now (shutdown, and before this process reads the counters). The transaction is
   * sent before this returns, so a command sent after it on the same connection runs after it in Redis.
   */
  flush(): Promise<void> {
    const n = this.next;
    if (!n) return Promise.resolve();
    clearTimeout(n.timer);
    this.next = undefined;
    const batch = this.pending;
    this.pending = new Map();
    const p = this.redis.multi();
    for (const [key, sums] of batch) {
      for (const [f, by] of sums) {
        if (Number.isInteger(by)) p.hincrby(key, f, by);
        else p.hincrbyfloat(key, f, by);
      }
      p.expire(key, this.retentionDays * 86_400);
    }
    const written = p.exec().then(() => undefined);
    n.settle(written);
    return written;
  }

  /** Counts one answered search (or one failed search when `error`). */
  async recordSearch(s: { model: string; bucket: number; results: number; latencyMs: number; error?: boolean }) {
    const now = Date.now();
    const mb = `${s.model}|${s.bucket}`;
    if (s.error)
      return this.incr(
        [
          [`s|${mb}`, 1],
          [`e|${mb}`, 1],
        ],
        now,
      );
    const h = LATENCY_BOUNDS.findIndex((b) => s.latencyMs <= b);
    return this.incr(
      [
        [`s|${mb}`, 1],
        [`z|${mb}`, s.results === 0 ? 1 : 0],
        [`l|${mb}`, Math.round(s.latencyMs)],
        [`h|${s.model}|${h}`, 1],
      ],
      now,
    );
  }

  /** Counts a search answered with an interleaved list (team-draft) between two models. */
  async recordInterleaved(a: string, b: string): Promise<void> {
    await this.incr([[`il|${a}|${b}|searches`, 1]], Date.now());
  }

  /**
   * Counts one event at a rank of a search. The search's first event also counts towards CTR@k,
   * MRR and (for an interleaved list) the winning team, on the day the search was answered.
   */
  async recordEvent(c: SearchIdClaims, searchId: string, type: EventType, rank: number): Promise<{ first: boolean }> {
    const mb = `${c.model}|${c.bucket}`;
    const marker = `${this.prefix}:events:first:${createHash('sha256').update(searchId).digest('base64url').slice(0, 22)}`;
    const first = (await this.redis.set(marker, '1', 'PX', this.eventWindowMs, 'NX')) === 'OK';
    // Per model and bucket, like the other counters, so a bucket range's row counts its own events.
    const fields: [string, number][] = [[`ev|${type}|${c.model}|${c.bucket}`, 1]];
    if (first) {
      fields.push([`c|${mb}`, 1], [`rr|${mb}`, 1 / rank]);
      for (const k of CTR_KS) if (rank <= k) fields.push([`k${k}|${mb}`, 1]);
      const team = c.teams?.ranks[rank - 1];
      if (c.teams && (team === 'a' || team === 'b')) fields.push([`il|${c.teams.a}|${c.teams.b}|${team}`, 1]);
    }
    // A user's request waits on this one: written now, with whatever else is pending.
    const written = this.incr(fields, c.at);
    void this.flush();
    await written;
    return { first };
  }

  /** The raw counters (field -> sum) of the last `days` days (the ramp controller's step figures). */
  async totals(days: number): Promise<Map<string, number>> {
    // Sent before the reads on the same connection, so Redis applies this process's counts first.
    void this.flush().catch(() => undefined);
    const sum = new Map<string, number>();
    const now = Date.now();
    const keys = Array.from({ length: days }, (_, i) => this.aggKey(now - i * 86_400_000));
    const p = this.redis.pipeline();
    for (const k of keys) p.hgetall(k);
    for (const [, h] of (await p.exec()) ?? []) {
      for (const [f, v] of Object.entries((h ?? {}) as Record<string, string>))
        sum.set(f, (sum.get(f) ?? 0) + Number(v));
    }
    return sum;
  }

  /**
   * Per model: overall figures and figures per bucket range (`bucketSize` buckets each), over the
   * last `days` days; and each interleaved pair's win rate with its sign test.
   */
  async summary(days = 7, bucketSize = 10) {
    const t = await this.totals(days);
    const models = new Set<string>();
    for (const f of t.keys()) {
      const [kind, model] = f.split('|');
      if (kind === 's' && model) models.add(model);
    }
    const figures = (model: string, inBucket: (b: number) => boolean): OnlineFigures => {
      const get = (kind: string) => {
        let s = 0;
        for (const [f, v] of t) {
          const [k, m, b] = f.split('|');
          if (k === kind && m === model && inBucket(Number(b))) s += v;
        }
        return s;
      };
      const searches = get('s');
      const errors = get('e');
      const answered = searches - errors;
      const hist = LATENCY_BOUNDS.map((_, i) => t.get(`h|${model}|${i}`) ?? 0);
      const q = (p: number) => {
        const total = hist.reduce((a, b) => a + b, 0);
        if (total === 0) return null;
        let acc = 0;
        for (let i = 0; i < hist.length; i++) {
          acc += hist[i]!;
          if (acc >= p * total) return LATENCY_BOUNDS[i] === Infinity ? LATENCY_BOUNDS[i - 1]! : LATENCY_BOUNDS[i]!;
        }
        return null;
      };
      const clicked = get('c');
      // ev|TYPE|MODEL|BUCKET; counters written before events had a bucket (ev|TYPE|MODEL) count overall only.
      const events = (type: EventType) => {
        let s = 0;
        for (const [f, v] of t) {
          const [k, ty, m, b] = f.split('|');
          if (k !== 'ev' || ty !== type || m !== model) continue;
          if (b === undefined ? inBucket(-1) : inBucket(Number(b))) s += v;
        }
        return s;
      };
      return {
        searches,
        errors,
        error_rate: ratio(errors, searches),
        zero_result_rate: ratio(get('z'), answered),
        'ctr@1': ratio(get('k1'), answered),
        'ctr@3': ratio(get('k3'), answered),
        'ctr@5': ratio(get('k5'), answered),
        'ctr@10': ratio(get('k10'), answered),
        mrr: ratio(get('rr'), answered),
        abandonment: answered > 0 ? ratio(answered - clicked, answered) : null,
        // The histogram is per model (not per bucket): its quantiles are bucket upper bounds.
        latency_ms: { mean: ratio(get('l'), answered), p50: q(0.5), p95: q(0.95) },
        events: { click: events('click'), open: events('open'), download: events('download') },
      };
    };
    const perModel = [...models].sort().map((model) => ({
      model,
      overall: figures(model, () => true),
      buckets: Array.from({ length: Math.ceil(100 / bucketSize) }, (_, i) => {
        const lo = i * bucketSize;
        const hi = Math.min(99, lo + bucketSize - 1);
        return { range: `${lo}-${hi}`, ...figures(model, (b) => b >= lo && b <= hi) };
      }).filter((r) => r.searches > 0),
    }));
    const pairs = new Map<string, InterleavingFigures>();
    for (const [f, v] of t) {
      const [kind, a, b, what] = f.split('|');
      if (kind !== 'il' || !a || !b) continue;
      const p = pairs.get(`${a}|${b}`) ?? {
        a,
        b,
        searches: 0,
        wins: { a: 0, b: 0 },
        win_rate_b: null,
        p_value: null,
        significant: false,
      };
      if (what === 'searches') p.searches += v;
      if (what === 'a') p.wins.a += v;
      if (what === 'b') p.wins.b += v;
      pairs.set(`${a}|${b}`, p);
    }
    const interleaving = [...pairs.values()].map((p) => {
      const n = p.wins.a + p.wins.b;
      const pv = n > 0 ? Math.round(signTest(p.wins.b, n) * 10_000) / 10_000 : null;
      return { ...p, win_rate_b: ratio(p.wins.b, n), p_value: pv, significant: pv !== null && pv < 0.05 };
    });
    return { days, models: perModel, interleaving };
  }
}
