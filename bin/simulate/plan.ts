// The plan of a rehearsed sale, fixed by its seed: who arrives when (a spike at the start, then a
// tail), how many units each asks for, whether they double-submit, and what each does after a
// reservation (pay, fail, abandon, cancel, pay late) with how the provider delivers its webhooks.
// Nothing here depends on timing or I/O, so the same seed gives the same plan and the same hash.
import { createHash } from 'node:crypto';

export type Path = 'pay' | 'fail' | 'abandon' | 'cancel' | 'cancel_then_pay' | 'late_pay';
/** every path a rehearsal must take at least once; the first buyers take them in this order */
export const PATHS: readonly Path[] = ['pay', 'fail', 'abandon', 'cancel', 'cancel_then_pay', 'late_pay'];

export interface Webhooks {
  /** 0: sent at once, racing the order's persistence */
  delay_ms: number;
  duplicates: number;
  /** a declined first attempt delivered after the final event */
  reorder: boolean;
}

export interface Buyer {
  n: number;
  at_ms: number;
  qty: number;
  /** sends the same reservation twice with one Idempotency-Key (a double click) */
  double_submit: boolean;
  path: Path;
  /** before the cancel, or before paying late after the expiry */
  think_ms: number;
  webhooks: Webhooks;
}

export interface PlanOpts {
  seed: number;
  buyers: number;
  /** arrivals spread over this; most of them in the first seconds */
  arrival_s: number;
  reservation_ttl_s: number;
  /** stock as a share of the units demanded (at most a quarter) */
  stock_share: number;
}

export const PLAN_DEFAULTS: PlanOpts = {
  seed: 42,
  buyers: 2000,
  arrival_s: 20,
  reservation_ttl_s: 5,
  stock_share: 0.25,
};

export interface Plan {
  opts: PlanOpts;
  stock_total: number;
  demand_units: number;
  max_per_order: number;
  buyers: Buyer[];
}

const MAX_PER_ORDER = 3;
/** share of arrivals in the opening spike; the rest form a tail that thins out */
const SPIKE_SHARE = 0.6;
const SPIKE_MEAN_S = 1.5;

/** mulberry32: a small, well-known seeded generator (Math.random cannot be seeded). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makePlan(opts: PlanOpts): Plan {
  if (opts.stock_share <= 0 || opts.stock_share > 0.25) throw new Error('stock_share must be in (0, 0.25]');
  const r = rng(opts.seed);
  const pick = <T>(weighted: [T, number][]): T => {
    let x = r() * weighted.reduce((s, [, w]) => s + w, 0);
    for (const [v, w] of weighted) {
      x -= w;
      if (x < 0) return v;
    }
    return weighted[weighted.length - 1]![0];
  };
  const arrivals = Array.from({ length: opts.buyers }, () => arrival_ms(r, opts.arrival_s)).sort(
    (a, b) => a - b,
  );
  const buyers = arrivals.map((at_ms, n): Buyer => {
    const path: Path =
      n < PATHS.length
        ? PATHS[n]!
        : pick<Path>([
            ['pay', 50],
            ['fail', 15],
            ['abandon', 18],
            ['cancel', 8],
            ['cancel_then_pay', 4],
            ['late_pay', 5],
          ]);
    return {
      n,
      at_ms,
      qty: pick([
        [1, 60],
        [2, 30],
        [3, 10],
      ]),
      // the first buyers cover each webhook variation too
      double_submit: n === 0 || r() < 0.1,
      path,
      think_ms: Math.round(200 + r() * 1300),
      webhooks: {
        delay_ms: n === 0 || r() < 0.15 ? 0 : Math.round(100 + r() * 1400),
        duplicates: n === 0 || r() < 0.1 ? 1 : 0,
        reorder: n === 1 || r() < 0.05,
      },
    };
  });
  const demand_units = buyers.reduce((s, b) => s + b.qty, 0);
  return {
    opts,
    stock_total: Math.max(1, Math.floor(demand_units * opts.stock_share)),
    demand_units,
    max_per_order: MAX_PER_ORDER,
    buyers,
  };
}

/** A spike (exponential, mean SPIKE_MEAN_S) then a tail whose density falls linearly to zero. */
function arrival_ms(r: () => number, arrival_s: number): number {
  const s = r() < SPIKE_SHARE ? -Math.log(1 - r()) * SPIKE_MEAN_S : arrival_s * (1 - Math.sqrt(1 - r()));
  return Math.round(Math.min(s, arrival_s) * 1000);
}

/** How many buyers take each path. */
export function pathCounts(plan: Plan): Record<Path, number> {
  const out = Object.fromEntries(PATHS.map((p) => [p, 0])) as Record<Path, number>;
  for (const b of plan.buyers) out[b.path]++;
  return out;
}

export function planHash(plan: Plan): string {
  return createHash('sha256').update(JSON.stringify(plan)).digest('hex');
}
