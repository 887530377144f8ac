// What the release run's rollback checks cost PostgreSQL at a large sale's scale: the two evidence
// queries every run makes (rebuild-source.ts rollbackEvidence and writeEvidence), timed over a
// database filled with synthetic history. Against the
// services of load/profile/stack.ts (their PostgreSQL only; the rows stay in that throwaway database).
//   npx tsx load/profile/evidence-query.ts [--products 1000] [--orders-per-product 1000] [--runs 7]
import { parseArgs } from 'node:util';
import { readStack } from './common';

const { values } = parseArgs({
  options: {
    products: { type: 'string', default: '1000' },
    'orders-per-product': { type: 'string', default: '1000' },
    runs: { type: 'string', default: '7' },
  },
});
const product_count = Number(values.products);
const orders_per_product = Number(values['orders-per-product']);
const runs = Number(values.runs);
readStack();
const { db } = await import('../../lib/orders/db');
const { pgRebuildSource } = await import('../../lib/orders/rebuild-source');
const sql = db();

/**
 * A sale's last hour, per product: every order with its creation event; 40 % released (expired or
 * cancelled, the release stamped in Redis), 1 % of those paid late (a retake), 5 stock changes
 * applied. Every row is inside the evidence windows, the worst case for the queries.
 */
async function fill(): Promise<void> {
  const t0 = performance.now();
  const created = await sql<{ id: string }[]>`
    INSERT INTO products (sku, name, price_cents, currency, stock_total, max_per_order, reservation_ttl_s)
    SELECT 'evq-' || g || '-' || extract(epoch FROM now())::bigint, 'evidence query ' || g, 100, 'EUR',
      ${orders_per_product * 2}, 10, 600
    FROM generate_series(1, ${product_count}) g
    RETURNING id`;
  const first = Math.min(...created.map((r) => Number(r.id)));
  const ids = sql`generate_series(${first}::bigint, ${first + product_count - 1}::bigint)`;
  await sql`
    INSERT INTO orders (order_id, product_id, customer_id, qty, unit_price_cents, amount_cents, currency,
      status, created_at, expires_at, persisted_at, inventory_generation, inventory_seq)
    SELECT gen_random_uuid(), p, 'evq-c-' || n, 1, 100, 100, 'EUR',
      CASE WHEN n % 100 = 0 THEN 'paid' WHEN n % 5 < 2 THEN 'expired' ELSE 'reserved' END,
      now() - make_interval(secs => 3000 - n), now() + interval '10 minutes', now() - make_interval(secs => 2990 - n),
      0, n
    FROM ${ids} p, generate_series(1, ${orders_per_product}) n`;
  await sql`INSERT INTO order_events (order_id, from_status, to_status, actor, reason, at)
    SELECT order_id, NULL, 'reserved', 'customer', 'reserved', created_at FROM orders
    WHERE product_id BETWEEN ${first} AND ${first + product_count - 1}`;
  // Released: the expired ones, and the paid ones before their late payment took the units again.
  await sql`INSERT INTO stock_releases (order_id, product_id, customer_id, qty, created_at, released_at)
    SELECT order_id, product_id, customer_id, qty, created_at + interval '1 minute', created_at + interval '61 seconds'
    FROM orders WHERE product_id BETWEEN ${first} AND ${first + product_count - 1} AND status IN ('expired', 'paid')`;
  await sql`INSERT INTO order_events (order_id, from_status, to_status, actor, reason, at)
    SELECT order_id, 'reserved', 'expired', 'system:release', 'reservation expired', created_at + interval '1 minute'
    FROM orders WHERE product_id BETWEEN ${first} AND ${first + product_count - 1} AND status IN ('expired', 'paid')`;
  await sql`INSERT INTO order_events (order_id, from_status, to_status, actor, reason, at)
    SELECT order_id, 'expired', 'paid', 'payment:evq', 'payment succeeded after the reservation expired; units taken again',
      created_at + interval '2 minutes'
    FROM orders WHERE product_id BETWEEN ${first} AND ${first + product_count - 1} AND status = 'paid'`;
  await sql`INSERT INTO stock_adjustments (product_id, delta, created_at, applied_at)
    SELECT p, 1, now() - make_interval(mins => n), now() - make_interval(mins => n)
    FROM ${ids} p, generate_series(1, 5) n`;
  await sql`ANALYZE`;
  const counts = await sql<{ t: string; n: string }[]>`
    SELECT 'orders' AS t, count(*) AS n FROM orders UNION ALL
    SELECT 'order_events', count(*) FROM order_events UNION ALL
    SELECT 'stock_releases', count(*) FROM stock_releases UNION ALL
    SELECT 'retakes', count(*) FROM order_events WHERE from_status = 'expired' AND to_status = 'paid' UNION ALL
    SELECT 'stock_adjustments', count(*) FROM stock_adjustments`;
  console.error(
    `filled in ${((performance.now() - t0) / 1000).toFixed(1)} s: ` +
      counts.map((c) => `${c.t} ${Number(c.n).toLocaleString('en')}`).join(', '),
  );
}

async function timed<T>(name: string, f: () => Promise<T>, describe: (r: T) => string): Promise<void> {
  const ms: number[] = [];
  let last: T | undefined;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    last = await f();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const median = ms[Math.floor(ms.length / 2)]!;
  console.error(
    `${name}: median ${median.toFixed(1)} ms, min ${ms[0]!.toFixed(1)}, max ${ms.at(-1)!.toFixed(1)} over ${runs} runs; ${describe(last as T)}`,
  );
}

await fill();
const source = pgRebuildSource(sql);
await timed(
  'writeEvidence',
  () => source.writeEvidence(),
  (r) => {
    const ids = r.reduce(
      (n, e) =>
        n + e.released_order_ids.length + e.retaken_order_ids.length + e.applied_adjustment_ids.length,
      0,
    );
    return `${r.length} products, ${ids.toLocaleString('en')} ids to check in Redis`;
  },
);
await timed(
  'rollbackEvidence',
  () => source.rollbackEvidence(),
  (r) => `${r.length} product generations`,
);
await sql.end();
process.exit(0);
