import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError, type Logger } from '@image-search/service-kit';
import { LATENCY_BOUNDS, type OnlineMetrics } from '../events/online-metrics.js';
import { IDLE_STATE, type RampPlan, type RampState } from './ramp-plan.js';

/** One logged decision of the controller (or an operator command). */
export interface RampDecision {
  at: string;
  action: 'start' | 'advance' | 'complete' | 'rollback' | 'pause' | 'resume' | 'abort';
  from_percentage: number;
  to_percentage: number;
  reason: string;
  figures: Record<string, unknown> | null;
  by: string;
}

/** One arm's figures over the current step. */
export interface ArmFigures {
  searches: number;
  errors: number;
  error_rate: number | null;
  zero_result_rate: number | null;
  p99_ms: number | null;
  ctr_at_10: number | null;
}

const LEADER_RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const CAS = `if (redis.call('get', KEYS[1]) or '') == ARGV[1] then redis.call('set', KEYS[1], ARGV[2]) return 1 else return 0 end`;

/** The step's figures of one model from the day counters (now minus the step's baseline). */
export function armFigures(now: Map<string, number>, base: Record<string, number>, model: string): ArmFigures {
  const sum = (kind: string) => {
    let s = 0;
    for (const [f, v] of now) {
      const [k, m] = f.split('|');
      if (k === kind && m === model) s += v - (base[f] ?? 0);
    }
    return s;
  };
  const searches = sum('s');
  const errors = sum('e');
  const answered = searches - errors;
  const hist = LATENCY_BOUNDS.map((_, i) => (now.get(`h|${model}|${i}`) ?? 0) - (base[`h|${model}|${i}`] ?? 0));
  const total = hist.reduce((a, b) => a + b, 0);
  let p99: number | null = null;
  for (let i = 0, acc = 0; i < hist.length && total > 0; i++) {
    acc += hist[i]!;
    if (acc >= 0.99 * total) {
      p99 = LATENCY_BOUNDS[i] === Infinity ? 2 * LATENCY_BOUNDS[i - 1]! : LATENCY_BOUNDS[i]!;
      break;
    }
  }
  const rate = (x: number, n: number) => (n > 0 ? x / n : null);
  return {
    searches,
    errors,
    error_rate: rate(errors, searches),
    zero_result_rate: rate(sum('z'), answered),
    p99_ms: p99,
    ctr_at_10: rate(sum('k10'), answered),
  };
}

/** Which guardrail breaks (a sentence), or undefined when all hold. */
export function brokenGuardrail(
  plan: RampPlan,
  to: ArmFigures,
  from: ArmFigures,
  shadowOverlap: number | null,
): string | undefined {
  const g = plan.guardrails;
  if (to.error_rate !== null && to.error_rate > g.max_error_rate)
    return `error rate ${to.error_rate.toFixed(4)} > ${g.max_error_rate}`;
  if (to.zero_result_rate !== null && to.zero_result_rate > g.max_zero_result_rate)
    return `zero-result rate ${to.zero_result_rate.toFixed(4)} > ${g.max_zero_result_rate}`;
  // Latency is compared only while both arms have the step's traffic (at 100 % the old arm has none).
  const comparable = from.searches - from.errors >= plan.min_searches;
  if (comparable && to.p99_ms !== null && from.p99_ms !== null && to.p99_ms / from.p99_ms > g.max_p99_latency_ratio)
    return `p99 latency ratio ${(to.p99_ms / from.p99_ms).toFixed(2)} (${to.p99_ms} / ${from.p99_ms} ms) > ${g.max_p99_latency_ratio}`;
  if (g.min_shadow_overlap !== null && shadowOverlap !== null && shadowOverlap < g.min_shadow_overlap)
    return `shadow overlap@10 ${shadowOverlap.toFixed(3)} < ${g.min_shadow_overlap}`;
  if (g.ctr_not_worse && to.ctr_at_10 !== null && from.ctr_at_10 !== null && to.ctr_at_10 < from.ctr_at_10) {
    // Sign-test style check on the two click-through proportions (normal approximation of the difference).
    const n1 = to.searches - to.errors;
    const n2 = from.searches - from.errors;
    const p = (to.ctr_at_10 * n1 + from.ctr_at_10 * n2) / Math.max(1, n1 + n2);
    const se = Math.sqrt(p * (1 - p) * (1 / Math.max(1, n1) + 1 / Math.max(1, n2)));
    const z = se > 0 ? (from.ctr_at_10 - to.ctr_at_10) / se : 0;
    if (z > 1.645)
      return `CTR@10 ${to.ctr_at_10.toFixed(3)} significantly below ${from.ctr_at_10.toFixed(3)} (z ${z.toFixed(2)})`;
  }
  return undefined;
}

/**
 * The guarded ramp: state and decisions in Redis, one leader among the replicas (a Redis lock renewed
 * every tick), which advances a step when its dwell and traffic are reached and every guardrail holds,
 * and rolls back to the last good percentage when one breaks. Every replica reads the state every tick
 * and routes with it (bounded by the operator's flags, see effectiveFlags).
 */
export class RampController {
  private readonly id = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private state: RampState = IDLE_STATE;
  private ticking = false;
  leader = false;

  constructor(
    private readonly deps: {
      redis: Redis;
      prefix: string;
      online: OnlineMetrics;
      logger: Logger;
      /** The rollout pair's model ids. */
      /** The serving pair's model ids; undefined between migrations (nothing to ramp). */
      pair: () => { from: string; to: string } | undefined;
      /** Mean shadow overlap@10 of the pair in this replica, or null. */
      shadowOverlap: () => number | null;
      tickMs: number;
    },
  ) {}

  private key(k: string): string {
    return `${this.deps.prefix}:ramp:${k}`;
  }

  /** The state this replica routes with (refreshed every tick). */
  get current(): RampState {
    return this.state;
  }

  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.deps.tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async read(): Promise<{ raw: string; state: RampState }> {
    const raw = (await this.deps.redis.get(this.key('state'))) ?? '';
    return { raw, state: raw ? (JSON.parse(raw) as RampState) : IDLE_STATE };
  }

  private async write(raw: string, next: RampState, d: Omit<RampDecision, 'at' | 'by'> | undefined): Promise<boolean> {
    const ok = (await this.deps.redis.eval(CAS, 1, this.key('state'), raw, JSON.stringify(next))) === 1;
    if (ok && d) {
      const decision: RampDecision = { ...d, at: new Date().toISOString(), by: this.id };
      await this.deps.redis
        .multi()
        .lpush(this.key('decisions'), JSON.stringify(decision))
        .ltrim(this.key('decisions'), 0, 999)
        .exec();
      this.deps.logger.info(
        { ramp: decision },
        `ramp ${d.action}: ${d.from_percentage}% -> ${d.to_percentage}% (${d.reason})`,
      );
    }
    if (ok) this.state = next;
    return ok;
  }

  /** Reads the state; the leader (lock holder) evaluates the running step. Redis trouble keeps the last state. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const lockMs = String(Math.max(3 * this.deps.tickMs, 1000));
      const got = await this.deps.redis.set(this.key('leader'), this.id, 'PX', lockMs, 'NX');
      this.leader =
        got === 'OK' || (await this.deps.redis.eval(LEADER_RENEW, 1, this.key('leader'), this.id, lockMs)) === 1;
      const { raw, state } = await this.read();
      this.state = state;
      if (this.leader && state.phase === 'running' && state.plan) await this.evaluate(raw, state, state.plan);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'ramp: tick failed; keeping the last state');
    } finally {
      this.ticking = false;
    }
  }

  private async evaluate(raw: string, s: RampState, plan: RampPlan): Promise<void> {
    const pair = this.deps.pair();
    if (!pair) return;
    const now = await this.deps.online.totals(2);
    const to = armFigures(now, s.baseline ?? {}, pair.to);
    const from = armFigures(now, s.baseline ?? {}, pair.from);
    const overlap = this.deps.shadowOverlap();
    const figures = { to: { model: pair.to, ...to }, from: { model: pair.from, ...from }, shadow_overlap: overlap };
    if (to.searches < plan.min_searches) return;
    const broken = brokenGuardrail(plan, to, from, overlap);
    if (broken) {
      await this.write(
        raw,
        { ...s, phase: 'rolled_back', percentage: s.last_good, updated_at: Date.now() },
        {
          action: 'rollback',
          from_percentage: s.percentage,
          to_percentage: s.last_good,
          reason: `guardrail broken at ${s.percentage}%: ${broken}`,
          figures,
        },
      );
      return;
    }
    if (Date.now() - (s.step_started_at ?? 0) < plan.min_dwell_s * 1000) return;
    const last = s.step >= plan.steps.length - 1;
    const next = last ? s.percentage : plan.steps[s.step + 1]!;
    await this.write(
      raw,
      {
        ...s,
        phase: last ? 'completed' : 'running',
        step: last ? s.step : s.step + 1,
        percentage: next,
        last_good: s.percentage,
        step_started_at: Date.now(),
        baseline: Object.fromEntries(now),
        updated_at: Date.now(),
      },
      {
        action: last ? 'complete' : 'advance',
        from_percentage: s.percentage,
        to_percentage: next,
        reason: `every guardrail held for ${Math.round((Date.now() - (s.step_started_at ?? 0)) / 1000)} s and ${to.searches} searches`,
        figures,
      },
    );
  }

  /** Operator commands (any replica): start a plan, pause, resume, abort. */
  async command(action: 'start' | 'pause' | 'resume' | 'abort', plan?: RampPlan): Promise<RampState> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const { raw, state: s } = await this.read();
      const now = Date.now();
      let next: RampState;
      let reason: string;
      if (action === 'start') {
        if (s.phase === 'running' || s.phase === 'paused')
          throw new AppError('FAILED_PRECONDITION', `a ramp is already ${s.phase} at ${s.percentage}%; abort it first`);
        const p = plan!;
        const baseline = Object.fromEntries(await this.deps.online.totals(2));
        next = {
          phase: 'running',
          plan: p,
          step: 0,
          percentage: p.steps[0]!,
          last_good: 0,
          step_started_at: now,
          baseline,
          updated_at: now,
        };
        reason = `plan ${p.steps.join(', ')} %, dwell ${p.min_dwell_s} s, ${p.min_searches} searches per step`;
      } else if (action === 'pause') {
        if (s.phase !== 'running')
          throw new AppError('FAILED_PRECONDITION', `nothing to pause: the ramp is ${s.phase}`);
        next = { ...s, phase: 'paused', updated_at: now };
        reason = 'operator paused';
      } else if (action === 'resume') {
        if (s.phase !== 'paused')
          throw new AppError('FAILED_PRECONDITION', `nothing to resume: the ramp is ${s.phase}`);
        // The step starts over: figures from before the pause no longer describe it.
        const baseline = Object.fromEntries(await this.deps.online.totals(2));
        next = { ...s, phase: 'running', step_started_at: now, baseline, updated_at: now };
        reason = 'operator resumed';
      } else {
        if (s.phase === 'idle' || s.phase === 'aborted')
          throw new AppError('FAILED_PRECONDITION', `nothing to abort: the ramp is ${s.phase}`);
        next = { ...s, phase: 'aborted', percentage: 0, updated_at: now };
        reason = 'operator aborted: routing back to the operator flags';
      }
      if (
        await this.write(raw, next, {
          action,
          from_percentage: s.percentage,
          to_percentage: next.percentage,
          reason,
          figures: null,
        })
      )
        return next;
    }
    throw new AppError('UNAVAILABLE', 'the ramp state kept changing; retry', { retryAfterS: 1 });
  }

  /** The state and the latest decisions, newest first. */
  async status(limit = 50): Promise<{ state: RampState; leader: string | null; decisions: RampDecision[] }> {
    const { state } = await this.read();
    const leader = await this.deps.redis.get(this.key('leader'));
    const decisions = (await this.deps.redis.lrange(this.key('decisions'), 0, limit - 1)).map(
      (d) => JSON.parse(d) as RampDecision,
    );
    return { state, leader, decisions };
  }
}
