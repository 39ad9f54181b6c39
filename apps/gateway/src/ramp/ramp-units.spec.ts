import { describe, expect, it } from 'vitest';
import { DEFAULT_FLAGS } from '@image-search/rollout-router';
import { armFigures, brokenGuardrail } from './ramp-controller.js';
import { effectiveFlags, IDLE_STATE, rampPlanSchema } from './ramp-plan.js';

describe('guarded ramp rules', () => {
  const plan = rampPlanSchema.parse({ min_searches: 10 });
  it('a plan has defaults and refuses decreasing steps', () => {
    expect(plan).toMatchObject({ steps: [1, 5, 25, 50, 100], min_dwell_s: 600, guardrails: { max_error_rate: 0.02 } });
    expect(rampPlanSchema.safeParse({ steps: [5, 1] }).success).toBe(false);
  });

  it("the operator's flags are the ceiling", () => {
    const running = { ...IDLE_STATE, phase: 'running' as const, percentage: 50 };
    expect(effectiveFlags({ ...DEFAULT_FLAGS, percentage: 20 }, running).percentage).toBe(20);
    expect(effectiveFlags({ ...DEFAULT_FLAGS, useSiglip: true }, running)).toMatchObject({
      useSiglip: false,
      percentage: 50,
    });
    expect(effectiveFlags({ ...DEFAULT_FLAGS, percentage: 30 }, IDLE_STATE).percentage).toBe(30);
  });

  it("the step's figures are the counters since the step began", () => {
    const now = new Map([
      ['s|m|3', 30],
      ['s|m|4', 20],
      ['e|m|3', 5],
      ['z|m|3', 9],
      ['k10|m|4', 18],
      ['h|m|2', 40],
      ['h|m|5', 5],
    ]);
    const f = armFigures(now, { 's|m|3': 10, 'h|m|2': 0 }, 'm');
    // 40 searches since, 5 errors, 35 answered: 9 zero, 18 clicked by rank 10; p99 in the 250 ms bucket.
    expect(f).toEqual({
      searches: 40,
      errors: 5,
      error_rate: 5 / 40,
      zero_result_rate: 9 / 35,
      p99_ms: 250,
      ctr_at_10: 18 / 35,
    });
  });

  it('names the guardrail that breaks, and compares latency only with traffic on both arms', () => {
    const ok = { searches: 100, errors: 0, error_rate: 0, zero_result_rate: 0, p99_ms: 50, ctr_at_10: 0.3 };
    expect(brokenGuardrail(plan, ok, ok, null)).toBeUndefined();
    expect(brokenGuardrail(plan, { ...ok, error_rate: 0.1 }, ok, null)).toMatch(/^error rate 0.1000 > 0.02/);
    expect(brokenGuardrail(plan, { ...ok, p99_ms: 250 }, ok, null)).toMatch(/p99 latency ratio 5.00/);
    expect(brokenGuardrail(plan, { ...ok, p99_ms: 250 }, { ...ok, searches: 3 }, null)).toBeUndefined();
    expect(brokenGuardrail(plan, { ...ok, ctr_at_10: 0.1 }, ok, null)).toMatch(
      /CTR@10 0.100 significantly below 0.300/,
    );
    const floor = rampPlanSchema.parse({ guardrails: { min_shadow_overlap: 0.5 } });
    expect(brokenGuardrail(floor, ok, ok, 0.2)).toMatch(/shadow overlap@10 0.200 < 0.5/);
  });
});
