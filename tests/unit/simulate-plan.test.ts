// Pins down the plan of `cli simulate`: fixed by its seed (same seed, same hash; another seed,
// another hash), at least 2,000 buyers on a spike-then-tail curve by default, stock at most a
// quarter of the demand, and every buyer path present, the first buyers taking each one.
import { describe, expect, it } from 'vitest';
import { makePlan, PATHS, PLAN_DEFAULTS, pathCounts, planHash } from '../../bin/simulate/plan';

describe('simulate plan', () => {
  it('is fixed by the seed', () => {
    const a = makePlan(PLAN_DEFAULTS);
    const b = makePlan({ ...PLAN_DEFAULTS });
    expect(planHash(a)).toBe(planHash(b));
    expect(planHash(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(planHash(makePlan({ ...PLAN_DEFAULTS, seed: PLAN_DEFAULTS.seed + 1 }))).not.toBe(planHash(a));
  });

  it('by default: >= 2,000 buyers, stock <= 1/4 of the units demanded, a spike then a tail', () => {
    const plan = makePlan(PLAN_DEFAULTS);
    expect(plan.buyers.length).toBeGreaterThanOrEqual(2000);
    expect(plan.stock_total * 4).toBeLessThanOrEqual(plan.demand_units);
    expect(plan.demand_units).toBe(plan.buyers.reduce((n, b) => n + b.qty, 0));
    const window_ms = PLAN_DEFAULTS.arrival_s * 1000;
    const at = plan.buyers.map((b) => b.at_ms);
    expect(at).toEqual([...at].sort((x, y) => x - y));
    expect(Math.max(...at)).toBeLessThanOrEqual(window_ms);
    const firstTenth = at.filter((t) => t < window_ms / 10).length;
    const lastHalf = at.filter((t) => t >= window_ms / 2).length;
    expect(firstTenth).toBeGreaterThan(plan.buyers.length / 2); // the spike
    expect(lastHalf).toBeGreaterThan(0); // the tail
    expect(lastHalf).toBeLessThan(firstTenth);
  });

  it('takes every path, the first buyers one each, with early, duplicate and reordered webhooks', () => {
    const plan = makePlan({ ...PLAN_DEFAULTS, buyers: 50 });
    expect(plan.buyers.slice(0, PATHS.length).map((b) => b.path)).toEqual(PATHS);
    for (const n of Object.values(pathCounts(plan))) expect(n).toBeGreaterThan(0);
    expect(plan.buyers[0]).toMatchObject({ double_submit: true, webhooks: { delay_ms: 0, duplicates: 1 } });
    expect(plan.buyers[1]?.webhooks.reorder).toBe(true);
  });

  it('refuses stock above a quarter of the demand', () => {
    expect(() => makePlan({ ...PLAN_DEFAULTS, stock_share: 0.3 })).toThrow(/stock_share/);
  });
});
