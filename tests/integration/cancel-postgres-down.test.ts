// Pins down that a cancel before persistence is answered 202 only once it is recorded in PostgreSQL:
// with PostgreSQL out of reach the real cancelOrder handler answers 503 + Retry-After, and nothing
// changes anywhere (no request recorded, the order not flagged in Redis, its units still held); the
// retry once PostgreSQL answers again is accepted, and the cancel is applied when the order is
// persisted.
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../infra/local/procs';
import { resetConfig } from '../../lib/config';
import { inventory, settleDeps } from '../../lib/container';
import { mintToken } from '../../lib/http/auth';
import { closeRedis } from '../../lib/inventory/client';
import { closeDb } from '../../lib/orders/db';
import { persistAccepted } from '../../lib/sale/persist';
import { audit, newProduct } from '../helpers/api';
import { reservedUnsent } from '../helpers/in-flight';
import { httpEvent, lambdaContext } from '../helpers/lambda-event';

const liveUrl = process.env['DATABASE_URL']!;
const sql = postgres(liveUrl, { max: 2 });
let handler: (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
let deadUrl = '';

beforeAll(async () => {
  const url = new URL(liveUrl);
  url.port = String(await freePort()); // nobody listens there: PostgreSQL is "down"
  deadUrl = url.toString();
  handler = (await import('../../functions/cancelOrder')).handler as never;
});

afterAll(async () => {
  await sql.end();
  await closeRedis();
  await closeDb();
});

/** This worker's adapters reach PostgreSQL at `url` from now on (a fresh pool). */
async function useDatabase(url: string) {
  await closeDb();
  process.env['DATABASE_URL'] = url;
  resetConfig();
}

const cancel = async (order_id: string, customer_id: string) =>
  handler(
    httpEvent('POST', `/api/orders/${order_id}/cancel`, {
      headers: { authorization: `Bearer ${await mintToken({ customer_id })}` },
      pathParameters: { order_id },
    }),
    lambdaContext('cancelOrder'),
  );

it('PostgreSQL down when an order still on its way is cancelled: 503 + Retry-After, nothing changes; the retry is accepted and applied', async () => {
  const product = await newProduct({ stock_total: 3 });
  const order = await reservedUnsent(product.id, 2);

  await useDatabase(deadUrl);
  try {
    const down = await cancel(order.order_id, order.customer_id);
    expect(down.statusCode).toBe(503);
    expect(down.headers?.['Retry-After']).toMatch(/^\d+$/);
    expect(JSON.parse(down.body!).type).toMatch(/\/unavailable$/);
  } finally {
    await useDatabase(liveUrl);
  }
  const recorded = await sql`SELECT 1 FROM order_cancel_requests WHERE order_id = ${order.order_id}`;
  expect(recorded.length, 'no request recorded').toBe(0);
  expect(await inventory().pendingOrder(order.order_id, product.id)).toMatchObject({ cancel_pending: false });
  expect(await audit(product.id)).toMatchObject({ available: 1, reserved: 2, in_flight: 2, ok: true });

  const retry = await cancel(order.order_id, order.customer_id);
  expect(retry.statusCode).toBe(202);
  expect(JSON.parse(retry.body!)).toMatchObject({ status: 'reserved', cancel_pending: true });
  await persistAccepted(settleDeps(), [order]);
  const [row] = await sql`SELECT status FROM orders WHERE order_id = ${order.order_id}`;
  expect(row!['status']).toBe('cancelled');
  expect(await audit(product.id)).toMatchObject({ available: 3, reserved: 0, in_flight: 0, ok: true });
});
