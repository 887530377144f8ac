// Pins down "duplicate delivery" for the real persistOrders handler: the same order arriving several
// times, in one batch, in concurrent batches and through a real queue, ends as exactly one orders row
// and one creation event, and its in-flight units are released from the count exactly once.
import { randomUUID } from 'node:crypto';
import { DeleteQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { createOrderQueues, localSqsClient } from '../../infra/local/services';
import { closeRedis, redisClient } from '../../lib/inventory/client';
import { productKeys } from '../../lib/inventory/keys';
import { closeDb } from '../../lib/orders/db';
import { queueDepth } from '../../lib/queue/dlq';
import { audit, newProduct } from '../helpers/api';
import { waitUntil } from '../helpers/domain';
import {
  persistInProcess,
  reservedUnsent,
  sqsEvent,
  sqsRecord,
  startPersistTrigger,
} from '../helpers/in-flight';

const sql = postgres(process.env['DATABASE_URL']!, { max: 3 });
afterAll(async () => {
  await sql.end();
  await closeRedis();
  await closeDb();
});

const persist = persistInProcess;
const accepted = reservedUnsent;

const rowCount = async (order_id: string) =>
  (await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM orders WHERE order_id = ${order_id}`)[0]!.n;
const creationEvents = async (order_id: string) =>
  (
    await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM order_events
      WHERE order_id = ${order_id} AND from_status IS NULL`
  )[0]!.n;
const inFlightCounter = async (product_id: number) =>
  Number(
    await redisClient().hget(productKeys(process.env['REDIS_KEY_PREFIX']!, product_id).sale, 'in_flight'),
  );

it('the same order in concurrent batches (and twice in one batch): one row, one creation event', async () => {
  const product = await newProduct({ stock_total: 20 });
  const x = await accepted(product.id, 2);
  const a = await accepted(product.id);
  const b = await accepted(product.id);
  const body = JSON.stringify(x);

  const batches = [
    sqsEvent([sqsRecord(body), sqsRecord(JSON.stringify(a))]),
    sqsEvent([sqsRecord(body, 2), sqsRecord(body), sqsRecord(JSON.stringify(b))]),
    sqsEvent([sqsRecord(body)]),
    sqsEvent([sqsRecord(JSON.stringify(b)), sqsRecord(body)]),
  ];
  const responses = await Promise.all(batches.map(persist));

  expect(responses).toEqual(batches.map(() => ({ batchItemFailures: [] })));
  expect(await rowCount(x.order_id)).toBe(1);
  expect(await creationEvents(x.order_id)).toBe(1);
  for (const o of [a, b]) {
    expect(await rowCount(o.order_id)).toBe(1);
    expect(await creationEvents(o.order_id)).toBe(1);
  }
  const rows =
    await sql`SELECT order_id, qty, status, customer_id FROM orders WHERE product_id = ${product.id}`;
  expect(rows).toHaveLength(3);
  expect(rows.find((r) => r['order_id'] === x.order_id)).toMatchObject({
    qty: 2,
    status: 'reserved',
    customer_id: x.customer_id,
  });
  expect(await inFlightCounter(product.id)).toBe(0);
  expect(await audit(product.id)).toMatchObject({
    available: 16,
    reserved: 4,
    in_flight: 0,
    drift: 0,
    ok: true,
  });

  // a late duplicate, after everything is persisted, changes nothing (in_flight never goes negative)
  expect(await persist(sqsEvent([sqsRecord(body), sqsRecord(body)]))).toEqual({ batchItemFailures: [] });
  expect(await rowCount(x.order_id)).toBe(1);
  expect(await creationEvents(x.order_id)).toBe(1);
  expect(await inFlightCounter(product.id)).toBe(0);
  expect(await audit(product.id)).toMatchObject({
    available: 16,
    reserved: 4,
    in_flight: 0,
    drift: 0,
    ok: true,
  });
});

it('the same message body sent to a real queue several times: consumed in separate, concurrent batches, one row', async () => {
  const product = await newProduct({ stock_total: 20 });
  const x = await accepted(product.id, 3);
  const y = await accepted(product.id);
  const sqs = localSqsClient(process.env['SQS_ENDPOINT']!);
  const suffix = randomUUID().slice(0, 8);
  const q = await createOrderQueues(
    sqs,
    { queue: `dup-${suffix}`, dlq: `dup-${suffix}-dlq` },
    {
      visibility_timeout_s: 5,
      max_receive_count: 3,
    },
  );
  const copies = 6;
  for (let i = 0; i < copies; i++) {
    await sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: JSON.stringify(x) }));
  }
  await sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: JSON.stringify(y) }));

  const trigger = await startPersistTrigger(sqs, q.queueUrl, { batch_size: 2, maximum_concurrency: 3 });
  try {
    await waitUntil('all copies consumed', async () => {
      const d = await queueDepth(sqs, q.queueUrl);
      return trigger.stats.records >= copies + 1 && d.visible === 0 && d.in_flight === 0;
    });
  } finally {
    await trigger.stop();
  }

  expect(trigger.stats).toMatchObject({ records: copies + 1, failed_records: 0, invoke_errors: 0 });
  expect(trigger.stats.invocations).toBeGreaterThan(1);
  expect(await rowCount(x.order_id)).toBe(1);
  expect(await creationEvents(x.order_id)).toBe(1);
  expect(await rowCount(y.order_id)).toBe(1);
  expect(await audit(product.id)).toMatchObject({
    available: 16,
    reserved: 4,
    in_flight: 0,
    drift: 0,
    ok: true,
  });
  expect(await queueDepth(sqs, q.dlqUrl)).toEqual({ visible: 0, in_flight: 0 });

  await sqs.send(new DeleteQueueCommand({ QueueUrl: q.queueUrl }));
  await sqs.send(new DeleteQueueCommand({ QueueUrl: q.dlqUrl }));
});
