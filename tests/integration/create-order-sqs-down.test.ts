// Pins down that the real createOrder handler answers 202 when its SQS endpoint is dead: the order is
// reserved in Redis, kept in the outbox (in flight), replays under its Idempotency-Key reserve
// nothing more, and once a re-send reaches the live queue it is persisted exactly once.
import { randomUUID } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../infra/local/procs';
import { localSqsClient } from '../../infra/local/services';
import { resetConfig } from '../../lib/config';
import { closeRedis, redisClient } from '../../lib/inventory/client';
import { productKeys } from '../../lib/inventory/keys';
import { closeDb } from '../../lib/orders/db';
import { audit, buyerToken, call, drained, newProduct } from '../helpers/api';
import { httpEvent, lambdaContext } from '../helpers/lambda-event';

const live = { endpoint: process.env['SQS_ENDPOINT']!, queueUrl: process.env['ORDERS_QUEUE_URL']! };
const sql = postgres(process.env['DATABASE_URL']!, { max: 3 });
let handler: (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;

beforeAll(async () => {
  // This file has its own worker: point the queue at a port nobody listens on before the handler
  // module (and its per-container SQS client) is loaded.
  const dead = await freePort();
  process.env['SQS_ENDPOINT'] = `http://127.0.0.1:${dead}`;
  process.env['ORDERS_QUEUE_URL'] = `http://127.0.0.1:${dead}/000000000000/nowhere`;
  resetConfig();
  handler = (await import('../../functions/createOrder')).handler as never;
});

afterAll(async () => {
  await sql.end();
  await closeRedis();
  await closeDb();
});

const createOrder = (token: string, body: unknown, key: string) =>
  handler(
    httpEvent('POST', '/api/orders', {
      headers: { authorization: `Bearer ${token}`, 'idempotency-key': key },
      body,
    }),
    lambdaContext('createOrder'),
  );

it('dead SQS endpoint: 202, the order in the outbox and in flight; a replay reserves nothing more', async () => {
  const product = await newProduct({ stock_total: 10 });
  const customer = `c-${randomUUID()}`;
  const token = await buyerToken(customer);
  const key = `k-${randomUUID()}`;
  const keys = productKeys(process.env['REDIS_KEY_PREFIX']!, product.id);

  const t0 = Date.now();
  const res = await createOrder(token, { product_id: product.id, qty: 3 }, key);
  expect(Date.now() - t0).toBeLessThan(10_000); // the failed send does not hold the buyer for long
  expect(res.statusCode).toBe(202);
  const order = JSON.parse(res.body!);
  expect(order).toMatchObject({ status: 'reserved', product_id: product.id, customer_id: customer, qty: 3 });
  expect(res.headers?.['Location']).toBe(`/api/orders/${order.order_id}`);

  expect(await redisClient().zrange(keys.outbox, '0', '-1')).toEqual([order.order_id]);
  expect(await audit(product.id)).toMatchObject({
    available: 7,
    reserved: 3,
    in_flight: 3,
    drift: 0,
    ok: true,
  });

  // the buyer retries (say the 202 was lost on the wire): same order, no second reservation
  const again = await createOrder(token, { product_id: product.id, qty: 3 }, key);
  expect(again.statusCode).toBe(202);
  expect(again.headers?.['Idempotent-Replayed']).toBe('true');
  expect(JSON.parse(again.body!)).toEqual(order);
  expect(await redisClient().zrange(keys.outbox, '0', '-1')).toEqual([order.order_id]);
  expect(await audit(product.id)).toMatchObject({ available: 7, in_flight: 3, ok: true });

  // readable over HTTP (the stack's own createOrder/getOrder containers) before persistence
  const read = await call('GET', `/api/orders/${order.order_id}`, { token });
  expect([read.status, read.body]).toEqual([200, order]);
  expect(await sql`SELECT 1 FROM orders WHERE order_id = ${order.order_id}`).toHaveLength(0);

  // the outbox entry, re-sent to the live queue, ends as exactly one row
  const pending = JSON.parse((await redisClient().get(keys.order(order.order_id)))!);
  await localSqsClient(live.endpoint).send(
    new SendMessageCommand({ QueueUrl: live.queueUrl, MessageBody: JSON.stringify(pending) }),
  );
  expect(await drained(product.id)).toMatchObject({ available: 7, reserved: 3, in_flight: 0, ok: true });
  expect(await sql`SELECT qty, status FROM orders WHERE order_id = ${order.order_id}`).toEqual([
    { qty: 3, status: 'reserved' },
  ]);
});

it('dead SQS endpoint: a rejection is still a rejection and leaves nothing in the outbox', async () => {
  const product = await newProduct({ stock_total: 1 });
  const token = await buyerToken();
  const res = await createOrder(token, { product_id: product.id, qty: 2 }, `k-${randomUUID()}`);
  expect(res.statusCode).toBe(409);
  expect(JSON.parse(res.body!)).toMatchObject({
    type: 'https://flash-sale.dev/problems/insufficient-stock',
    available: 1,
  });
  expect(await redisClient().zcard(productKeys(process.env['REDIS_KEY_PREFIX']!, product.id).outbox)).toBe(0);
});
