// Load with a recorded history: virtual buyers fire POST /api/orders, each logical purchase under
// its own Idempotency-Key and its own customer (so "one key, at most one order" is checkable in
// PostgreSQL as "one customer, at most one order"), retrying with the same key on 503, 429 and
// lost replies, as a well-behaved client does.

export interface Attempt {
  status: number; // 0 = no reply (connection refused/reset, timeout)
  order_id?: string;
  ms: number;
}

export interface Purchase {
  key: string;
  customer_id: string;
  qty: number;
  attempts: Attempt[];
}

export interface LoadOpts {
  baseUrl: string;
  product_id: number;
  concurrency: number;
  duration_ms: number;
  /** signs a token for a customer */
  token: (customer_id: string) => Promise<string>;
  attempts_max: number;
  request_timeout_ms: number;
  run_tag: string;
}

export async function runLoad(opts: LoadOpts, onProgress?: (done: number) => void): Promise<Purchase[]> {
  const history: Purchase[] = [];
  const stop_at = Date.now() + opts.duration_ms;
  let n = 0;
  const worker = async (w: number) => {
    while (Date.now() < stop_at) {
      const i = n++;
      const customer_id = `${opts.run_tag}-${w}-${i}`;
      const p: Purchase = { key: `k-${customer_id}`, customer_id, qty: 1 + (i % 2), attempts: [] };
      history.push(p);
      await purchase(opts, p, await opts.token(customer_id));
      if (i % 100 === 0) onProgress?.(history.length);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, w) => worker(w)));
  return history;
}

const RETRYABLE = new Set([0, 429, 503]);

async function purchase(opts: LoadOpts, p: Purchase, token: string): Promise<void> {
  for (let a = 0; a < opts.attempts_max; a++) {
    const t0 = performance.now();
    const attempt: Attempt = { status: 0, ms: 0 };
    try {
      const res = await fetch(`${opts.baseUrl}/api/orders`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': p.key,
        },
        body: JSON.stringify({ product_id: opts.product_id, qty: p.qty }),
        signal: AbortSignal.timeout(opts.request_timeout_ms),
      });
      attempt.status = res.status;
      const body = (await res.json().catch(() => ({}))) as { order_id?: string };
      if (res.status === 202) attempt.order_id = body.order_id;
    } catch {
      attempt.status = 0;
    }
    attempt.ms = Math.round(performance.now() - t0);
    p.attempts.push(attempt);
    if (!RETRYABLE.has(attempt.status)) return;
    await new Promise((r) => setTimeout(r, 100 * 2 ** Math.min(a, 4)));
  }
}

export interface HistoryVerdict {
  purchases: number;
  accepted: number;
  accepted_units: number;
  rejected_409: number;
  unknown: number;
  lost: string[];
  duplicated_keys: string[];
  keys_with_two_order_ids: string[];
  unexpected_rows: string[];
  /** purchases whose last answer was neither an outcome (202/409/422) nor retryable: a wrong answer */
  wrong_answers: number;
  units_in_pg: number;
  stock_total: number;
  oversold_units: number;
  status_counts: Record<string, number>;
  ok: boolean;
}

/**
 * Checks the history against what PostgreSQL holds after the system settled:
 *  - every 202 appears exactly once (orders.order_id is the primary key, so: at all);
 *  - no key produced two orders (two different ids in replies, or two rows for its customer);
 *  - a row nobody got a 202 for belongs to a purchase whose outcome stayed unknown;
 *  - units in reserved + paid never exceed stock_total.
 */
export function checkHistory(
  history: Purchase[],
  rows: { order_id: string; customer_id: string; qty: number; status: string }[],
  stock_total: number,
): HistoryVerdict {
  const byCustomer = new Map<string, string[]>();
  for (const r of rows) byCustomer.set(r.customer_id, [...(byCustomer.get(r.customer_id) ?? []), r.order_id]);
  const inPg = new Set(rows.map((r) => r.order_id));
  const status_counts: Record<string, number> = {};
  const lost: string[] = [];
  const keys_with_two_order_ids: string[] = [];
  const duplicated_keys: string[] = [];
  const unexpected_rows: string[] = [];
  let accepted = 0;
  let accepted_units = 0;
  let rejected_409 = 0;
  let unknown = 0;
  let wrong_answers = 0;
  for (const p of history) {
    for (const a of p.attempts) status_counts[a.status] = (status_counts[a.status] ?? 0) + 1;
    const ids = new Set(p.attempts.flatMap((a) => (a.order_id ? [a.order_id] : [])));
    if (ids.size > 1) keys_with_two_order_ids.push(p.key);
    const pgIds = byCustomer.get(p.customer_id) ?? [];
    if (pgIds.length > 1) duplicated_keys.push(p.key);
    const last = p.attempts.at(-1)?.status ?? 0;
    if (ids.size > 0) {
      accepted++;
      accepted_units += p.qty;
      for (const id of ids) if (!inPg.has(id)) lost.push(id);
    } else if (last === 409 || last === 422) rejected_409++;
    else if (RETRYABLE.has(last)) unknown++;
    else wrong_answers++;
    if (ids.size === 0 && pgIds.length > 0 && last !== 0 && last !== 503 && last !== 429) {
      // A definite rejection (409/4xx) must not have an order behind it.
      unexpected_rows.push(...pgIds);
    }
  }
  const units_in_pg = rows
    .filter((r) => r.status === 'reserved' || r.status === 'paid')
    .reduce((n, r) => n + r.qty, 0);
  const oversold_units = Math.max(0, units_in_pg - stock_total);
  const ok =
    lost.length === 0 &&
    duplicated_keys.length === 0 &&
    keys_with_two_order_ids.length === 0 &&
    unexpected_rows.length === 0 &&
    wrong_answers === 0 &&
    oversold_units === 0;
  return {
    purchases: history.length,
    accepted,
    accepted_units,
    rejected_409,
    unknown,
    lost,
    duplicated_keys,
    keys_with_two_order_ids,
    unexpected_rows,
    wrong_answers,
    units_in_pg,
    stock_total,
    oversold_units,
    status_counts,
    ok,
  };
}
