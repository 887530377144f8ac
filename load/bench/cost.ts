// Cost per million orders in AWS, from measured figures and published list prices.
// Prices: us-east-1, on-demand list prices as published on the AWS pricing pages (Lambda, API
// Gateway, SQS, ElastiCache, RDS), as read for this report in November 2026 (secondary summaries
// dated March–June 2026 give the same figures). Free tiers are ignored. Recheck before budgeting.

export const PRICES = {
  as_of: '2026-11 (us-east-1 list prices; free tiers ignored)',
  lambda_request_usd_per_million: 0.2,
  /** arm64 (serverless.yml architecture: arm64), first 7.5 billion GB-s per month */
  lambda_arm_usd_per_gb_s: 0.0000133334,
  /** HTTP API, first 300 million requests per month; requests metered per 512 KB */
  http_api_usd_per_million: 1.0,
  /** SQS standard, per million requests (each 64 KB chunk of a payload is one request) */
  sqs_usd_per_million: 0.4,
} as const;

/** Fixed monthly costs of the stateful tiers, shown apart from the per-order cost. Indicative. */
export const FIXED_MONTHLY = [
  {
    item: 'Redis: ElastiCache cache.t4g.medium, primary + 1 replica (on-demand, 730 h)',
    usd_per_hour: 2 * 0.065,
  },
  {
    item: 'PostgreSQL: RDS db.t4g.medium Multi-AZ (on-demand, 730 h; storage extra)',
    usd_per_hour: 0.13,
  },
  { item: 'RDS Proxy: 2 vCPU x $0.015 per vCPU-hour (730 h)', usd_per_hour: 2 * 0.015 },
].map((f) => ({ ...f, usd_per_month: Math.round(f.usd_per_hour * 730 * 100) / 100 }));

export interface CostInputs {
  /** createOrder: mean billed duration (ms, already rounded up per invocation) */
  create_order_billed_ms_mean: number;
  memory_mb: number;
  /** persistOrders: mean duration of one batch invocation (ms) and orders per batch */
  persist_batch_ms_mean: number;
  persist_orders_per_batch: number;
  /** SQS requests per order on the consuming side: receives (10 per call) + delete batches */
  sqs_receive_delete_per_order: number;
}

export interface CostLine {
  item: string;
  usd_per_million_orders: number;
}

export interface CostReport {
  prices: typeof PRICES;
  lines: CostLine[];
  request_path_usd_per_million: number;
  total_usd_per_million: number;
  fixed_monthly: typeof FIXED_MONTHLY;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

export function costPerMillionOrders(m: CostInputs): CostReport {
  const gb = m.memory_mb / 1024;
  const million = 1_000_000;
  const createDuration =
    million * gb * (m.create_order_billed_ms_mean / 1000) * PRICES.lambda_arm_usd_per_gb_s;
  const batches = million / Math.max(1, m.persist_orders_per_batch);
  const persistBilled_ms = Math.ceil(m.persist_batch_ms_mean);
  const request_path: CostLine[] = [
    {
      item: 'API Gateway HTTP API: 1 request per order',
      usd_per_million_orders: PRICES.http_api_usd_per_million,
    },
    { item: 'Lambda createOrder: requests', usd_per_million_orders: PRICES.lambda_request_usd_per_million },
    {
      item: `Lambda createOrder: duration (${m.create_order_billed_ms_mean} ms billed mean x ${m.memory_mb} MB, arm64)`,
      usd_per_million_orders: createDuration,
    },
    { item: 'SQS SendMessage: 1 request per order', usd_per_million_orders: PRICES.sqs_usd_per_million },
  ];
  const persist_path: CostLine[] = [
    {
      item: `SQS receive + delete (${m.sqs_receive_delete_per_order} requests per order, batches of 10)`,
      usd_per_million_orders: m.sqs_receive_delete_per_order * PRICES.sqs_usd_per_million,
    },
    {
      item: `Lambda persistOrders: ${Math.round(batches)} batches of ${Math.round(m.persist_orders_per_batch)} (requests)`,
      usd_per_million_orders: (batches / million) * PRICES.lambda_request_usd_per_million,
    },
    {
      item: `Lambda persistOrders: duration (${persistBilled_ms} ms per batch x ${m.memory_mb} MB)`,
      usd_per_million_orders: batches * gb * (persistBilled_ms / 1000) * PRICES.lambda_arm_usd_per_gb_s,
    },
  ];
  const lines = [...request_path, ...persist_path].map((l) => ({
    ...l,
    usd_per_million_orders: round(l.usd_per_million_orders),
  }));
  const sum = (ls: CostLine[]) => round(ls.reduce((n, l) => n + l.usd_per_million_orders, 0));
  return {
    prices: PRICES,
    lines,
    request_path_usd_per_million: sum(request_path),
    total_usd_per_million: sum([...request_path, ...persist_path]),
    fixed_monthly: FIXED_MONTHLY,
  };
}
