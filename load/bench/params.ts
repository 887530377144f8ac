// The bench's parameters: the full run (<= 15 minutes on the two-core machine) and `--quick`
// (<= 5 minutes: shorter rounds, a smaller backlog, fewer sends). Environment overrides are kept
// for the figures people already tune: BENCH_SECONDS, BENCH_DRAIN_ORDERS, LOG_LEVEL.

export interface BenchParams {
  quick: boolean;
  connections: number;
  /** measured seconds per HTTP scenario and generator, split over `rounds` */
  measure_s: number;
  rounds: number;
  warmup_s: number;
  buyer_tokens: number;
  handler_warmup_s: number;
  handler_duration_s: number;
  handler_in_flight: number[];
  /** createOrder profiled at 1 in flight after the measured rounds, for the flame graph */
  handler_profile_s: number;
  drain_orders: number;
  /** SDK isolation: sends per variant and in-flight level */
  sdk_sends: number;
  /** Redis ceiling: reserve.lua calls per case, concurrent clients */
  redis_calls: number;
  redis_clients: number;
  redis_products_many: number;
  log_level: string;
  rowlock_pool_max: number;
  qty: number;
  ab: { n: number; c: number; stock: number; qty: number };
}

const env = (k: string) => (process.env[k] ? Number(process.env[k]) : undefined);

export function benchParams(quick: boolean): BenchParams {
  return {
    quick,
    connections: 100,
    measure_s: env('BENCH_SECONDS') ?? (quick ? 4 : 10),
    rounds: quick ? 2 : 5,
    warmup_s: quick ? 2 : 3,
    buyer_tokens: 1000,
    handler_warmup_s: quick ? 1 : 2,
    handler_duration_s: quick ? 2 : 4,
    handler_in_flight: [1, 10, 100],
    handler_profile_s: quick ? 2 : 4,
    drain_orders: env('BENCH_DRAIN_ORDERS') ?? (quick ? 20_000 : 100_000),
    sdk_sends: quick ? 1500 : 4000,
    redis_calls: quick ? 20_000 : 100_000,
    redis_clients: 50,
    redis_products_many: 100,
    log_level: process.env['LOG_LEVEL'] ?? 'INFO',
    rowlock_pool_max: 16,
    qty: 1,
    ab: { n: 1000, c: 100, stock: 1000, qty: 2 },
  };
}
