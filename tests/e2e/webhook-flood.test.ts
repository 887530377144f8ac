// Pins down that anonymous webhook traffic cannot grow the database: 5,000 unsigned requests over
// HTTP add no webhook_receipts row (counters and a bounded sample in Redis instead), and orders
// placed during the flood are still persisted (the persist path keeps up).
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { resetConfig } from '../../lib/config';
import { unverifiedReport } from '../../lib/http/webhook-door';
import { buyerToken, call, drained, newProduct, reserve } from '../helpers/api';

const FLOOD_REQUESTS = 5000;
const FLOOD_CONCURRENCY = 50;
const SAMPLE_MAX = 100; // the shared stack's WEBHOOK_UNVERIFIED_SAMPLE_MAX (the default)
const sql = postgres(process.env['DATABASE_URL']!, { max: 1 });
afterAll(() => sql.end());

it('5,000 unsigned webhooks: all 401, no database row, sample bounded, orders still persisted', async () => {
  resetConfig();
  const marker = `flood-${randomUUID()}`;
  const rowsBefore = Number(
    (await sql`SELECT count(*) AS n FROM webhook_receipts WHERE body_excerpt LIKE ${`%${marker}%`}`)[0]!['n'],
  );
  const product = await newProduct({ stock_total: 50 });
  const statuses = new Map<number, number>();
  let sent = 0;
  const t0 = performance.now();
  const flood = Promise.all(
    Array.from({ length: FLOOD_CONCURRENCY }, async () => {
      while (sent < FLOOD_REQUESTS) {
        sent++;
        const r = await call('POST', '/api/payments/webhook', {
          rawBody: JSON.stringify({ type: 'payment.succeeded', data: { order_id: randomUUID(), marker } }),
        });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    }),
  );
  // Buyers during the flood: every accepted order must still reach PostgreSQL.
  const orders = await Promise.all(
    Array.from({ length: 20 }, async () => reserve(await buyerToken(), product.id, 1)),
  );
  await flood;
  const flood_s = (performance.now() - t0) / 1000;
  expect(orders.map((o) => o.status)).toEqual(Array(20).fill(202));
  expect(Object.fromEntries(statuses)).toEqual({ 401: FLOOD_REQUESTS });
  const a = await drained(product.id, 30_000);
  expect(a).toMatchObject({ reserved: 20, in_flight: 0, ok: true });
  const persisted = await sql`SELECT count(*)::int AS n FROM orders WHERE product_id = ${product.id}`;
  expect(persisted[0]!['n']).toBe(20);

  const rowsAfter = Number(
    (await sql`SELECT count(*) AS n FROM webhook_receipts WHERE body_excerpt LIKE ${`%${marker}%`}`)[0]!['n'],
  );
  expect(rowsAfter - rowsBefore).toBe(0);
  const report = await unverifiedReport(10);
  const counted = report.minutes.reduce((n, m) => n + (m.counts['missing-headers'] ?? 0), 0);
  expect(counted).toBeGreaterThanOrEqual(FLOOD_REQUESTS);
  expect(report.sample.length).toBeLessThanOrEqual(SAMPLE_MAX);
  process.stderr.write(
    `[webhook-flood] ${FLOOD_REQUESTS} unsigned in ${flood_s.toFixed(1)} s (${Math.round(FLOOD_REQUESTS / flood_s)} req/s), ` +
      `0 rows added, sample ${report.sample.length}/${SAMPLE_MAX}\n`,
  );
}, 180_000);
