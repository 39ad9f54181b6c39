/** One shadow comparison: the answer the user got and the other model's answer to the same search. */
export interface ShadowSample {
  overlap: number;
  rbo: number;
  primaryZero: boolean;
  shadowZero: boolean;
  primaryMs: number;
  /** Undefined when the shadow search failed. */
  shadowMs: number | undefined;
  at: number;
}

/** A pair's summary over its recent comparisons (the admin API's `pairs[]`). */
export interface ShadowPairSummary {
  /** The model that answered the user. */
  primary: string;
  /** The model the search was repeated on. */
  shadow: string;
  /** Comparisons in the window (the most recent `window`), and since start. */
  comparisons: number;
  total: number;
  errors: number;
  overlap_at_10: number | null;
  rbo: number | null;
  zero_result_rate: { primary: number | null; shadow: number | null };
  latency_ms: { primary: Quantiles; shadow: Quantiles };
  /** p95 shadow latency / p95 primary latency (null without both). */
  latency_ratio_p95: number | null;
  last_at: string | null;
}

/** p50/p95/p99 of a latency sample (null when empty). */
export interface Quantiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return round(sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo));
}

function quantiles(xs: number[]): Quantiles {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p95: quantile(s, 0.95), p99: quantile(s, 0.99) };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const meanOrNull = (xs: number[]) => (xs.length ? round(xs.reduce((s, x) => s + x, 0) / xs.length) : null);

/** The most recent comparisons per (primary, shadow) pair, in memory (this replica's view; Prometheus has all). */
export class ShadowStats {
  private readonly pairs = new Map<
    string,
    { primary: string; shadow: string; ring: ShadowSample[]; next: number; total: number; errors: number }
  >();

  constructor(private readonly window = 1000) {}

  /** Records one comparison (a failed shadow search has shadowMs undefined and counts as an error). */
  record(primary: string, shadow: string, s: ShadowSample): void {
    const key = `${primary}\u0000${shadow}`;
    let p = this.pairs.get(key);
    if (!p) this.pairs.set(key, (p = { primary, shadow, ring: [], next: 0, total: 0, errors: 0 }));
    p.total++;
    if (s.shadowMs === undefined) p.errors++;
    if (p.ring.length < this.window) p.ring.push(s);
    else p.ring[p.next] = s;
    p.next = (p.next + 1) % this.window;
  }

  /** Each pair's summary over its window. Failed shadow searches count in `errors`, not in the figures. */
  summary(): ShadowPairSummary[] {
    return [...this.pairs.values()].map((p) => {
      const ok = p.ring.filter((s) => s.shadowMs !== undefined);
      const primaryLat = quantiles(p.ring.map((s) => s.primaryMs));
      const shadowLat = quantiles(ok.map((s) => s.shadowMs!));
      return {
        primary: p.primary,
        shadow: p.shadow,
        comparisons: ok.length,
        total: p.total,
        errors: p.errors,
        overlap_at_10: meanOrNull(ok.map((s) => s.overlap)),
        rbo: meanOrNull(ok.map((s) => s.rbo)),
        zero_result_rate: {
          primary: meanOrNull(p.ring.map((s) => (s.primaryZero ? 1 : 0))),
          shadow: meanOrNull(ok.map((s) => (s.shadowZero ? 1 : 0))),
        },
        latency_ms: { primary: primaryLat, shadow: shadowLat },
        latency_ratio_p95:
          primaryLat.p95 && shadowLat.p95 !== null ? round(shadowLat.p95 / Math.max(primaryLat.p95, 0.001)) : null,
        last_at: p.ring.length ? new Date(Math.max(...p.ring.map((s) => s.at))).toISOString() : null,
      };
    });
  }
}
