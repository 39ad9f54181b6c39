import { z } from 'zod';
import type { RolloutFlags } from '@image-search/rollout-router';

/** A rollout plan: the percentages to walk through and what must hold at each step. */
export const rampPlanSchema = z
  .object({
    steps: z
      .array(z.int().min(1).max(100))
      .min(1)
      .max(20)
      .default([1, 5, 25, 50, 100])
      .refine((s) => s.every((x, i) => i === 0 || x > s[i - 1]!), 'must be increasing')
      .describe("Percentages of buckets routed to the pair's `to` model, in order"),
    min_dwell_s: z
      .int()
      .min(0)
      .max(30 * 86_400)
      .default(600)
      .describe('Least time at a step before advancing'),
    min_searches: z
      .int()
      .min(1)
      .max(10_000_000)
      .default(200)
      .describe('Least searches answered by the `to` model at a step before any verdict'),
    guardrails: z
      .object({
        max_error_rate: z.number().min(0).max(1).default(0.02),
        max_zero_result_rate: z.number().min(0).max(1).default(0.05),
        max_p99_latency_ratio: z.number().min(1).max(100).default(1.5).describe('p99(to) / p99(from) at the step'),
        min_shadow_overlap: z
          .number()
          .min(0)
          .max(1)
          .nullable()
          .default(null)
          .describe('Floor of the mean shadow overlap@10 (null: not checked)'),
        ctr_not_worse: z.boolean().default(true).describe('CTR@10 of `to` not significantly below `from` (p < 0.05)'),
      })
      .strict()
      .default({
        max_error_rate: 0.02,
        max_zero_result_rate: 0.05,
        max_p99_latency_ratio: 1.5,
        min_shadow_overlap: null,
        ctr_not_worse: true,
      }),
  })
  .strict();

/** A parsed rollout plan. */
export type RampPlan = z.infer<typeof rampPlanSchema>;

/** Where a ramp is. */
export type RampPhase = 'idle' | 'running' | 'paused' | 'completed' | 'rolled_back' | 'aborted';

/** The ramp's state, shared by every replica in Redis. */
export interface RampState {
  phase: RampPhase;
  plan: RampPlan | null;
  /** Index into plan.steps of the current step (-1 before the first). */
  step: number;
  /** The percentage the ramp routes now (before the operator's ceiling). */
  percentage: number;
  /** The last percentage whose guardrails held (rollback target). */
  last_good: number;
  step_started_at: number | null;
  /** The online counters when the step started (the step's figures are the difference). */
  baseline: Record<string, number> | null;
  updated_at: number;
}

/** The state before any plan. */
export const IDLE_STATE: RampState = {
  phase: 'idle',
  plan: null,
  step: -1,
  percentage: 0,
  last_good: 0,
  step_started_at: null,
  baseline: null,
  updated_at: 0,
};

/**
 * The flags the router uses: the operator's flags while no ramp governs; during a ramp its percentage,
 * bounded by the operator's ceiling (USE_SIGLIP: 100, else SIGLIP_ROLLOUT_PERCENTAGE, live from FLAGS_FILE).
 */
export function effectiveFlags(operator: RolloutFlags, ramp: RampState): RolloutFlags {
  if (ramp.phase === 'idle' || ramp.phase === 'aborted') return operator;
  const ceiling = operator.useSiglip ? 100 : operator.percentage;
  return { useSiglip: false, percentage: Math.min(ceiling, ramp.percentage), minCoverage: operator.minCoverage };
}
