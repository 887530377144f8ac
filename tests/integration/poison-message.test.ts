// Pins down partial batch failures: an unreadable record fails alone (its valid batch-mates are
// persisted and deleted), is retried until maxReceiveCount and then lands in the DLQ, using the real
// persistOrders handler behind the local event source mapping on a fresh queue pair.
import { randomUUID } from 'node:crypto';
import {
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import postgres from 'postgres';
import { afterAll, expect, inject, it } from 'vitest';
import { createOrderQueues, localSqsClient } from '../../infra/local/services';
import { offlineInvoker, startSqsTrigger } from '../../infra/local/sqs-trigger';
import { closeRedis, redisClient } from '../../lib/inventory/client';
import { productKeys } from '../../lib/inventory/keys';
import { closeDb } from '../../lib/orders/db';
import { queueDepth, redrive } from '../../lib/queue/dlq';
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

const persistedIds = async (ids: string[]) =>
  (await sql<{ order_id: string }[]>`SELECT order_id FROM orders WHERE order_id = ANY(${ids}::uuid[])`)
    .map((r) => r.order_id)
    .sort();

it('in one invocation, only the unreadable records are reported as failures', async () => {
  const product = await newProduct({ stock_total: 10 });
  const good = [await accepted(product.id), await accepted(product.id, 2)];
  const records = [
    sqsRecord(JSON.stringify(good[0])),
    sqsRecord('{"order_id": "not json'),
    sqsRecord(JSON.stringify({ ...good[1], qty: 0 })), // valid JSON, not an order
    sqsRecord(JSON.stringify(good[1])),
    sqsRecord(JSON.stringify({ ...good[0], surprise: true })), // unknown field
  ];

  const res = await persist(sqsEvent(records));

  expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
    [records[1]!, records[2]!, records[4]!].map((r) => r.messageId).sort(),
  );
  expect(await persistedIds(good.map((o) => o.order_id))).toEqual(good.map((o) => o.order_id).sort());
  expect(await audit(product.id)).toMatchObject({ available: 7, reserved: 3, in_flight: 0, ok: true });
});

it('through a queue: valid records persisted and deleted, the poison one retried then moved to the DLQ', async () => {
  const product = await newProduct({ stock_total: 10 });
  const good = [await accepted(product.id), await accepted(product.id, 2), await accepted(product.id)];
  const poison = `not an order ${randomUUID()}`;
  const sqs = localSqsClient(process.env['SQS_ENDPOINT']!);
  const suffix = randomUUID().slice(0, 8);
  const q = await createOrderQueues(
    sqs,
    { queue: `poison-${suffix}`, dlq: `poison-${suffix}-dlq` },
    {
      visibility_timeout_s: 1,
      max_receive_count: 2,
    },
  );
  await sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: JSON.stringify(good[0]) }));
  await sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: poison }));
  for (const o of good.slice(1)) {
    await sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: JSON.stringify(o) }));
  }

  const trigger = await startPersistTrigger(sqs, q.queueUrl, { batch_size: 10, maximum_concurrency: 1 });
  try {
    await waitUntil('the poison message in the DLQ and the queue empty', async () => {
      const [main, dlq] = await Promise.all([queueDepth(sqs, q.queueUrl), queueDepth(sqs, q.dlqUrl)]);
      return main.visible === 0 && main.in_flight === 0 && dlq.visible === 1;
    });
  } finally {
    await trigger.stop();
  }

  // valid ones: persisted once and out of the outbox; the poison one was delivered maxReceiveCount (2)
  // times and failed each time (a valid one may come back only if a batch outlived the 1 s visibility)
  expect(await persistedIds(good.map((o) => o.order_id))).toEqual(good.map((o) => o.order_id).sort());
  const outbox = await redisClient().zrange(
    productKeys(process.env['REDIS_KEY_PREFIX']!, product.id).outbox,
    '0',
    '-1',
  );
  expect(outbox).toEqual([]);
  expect(await audit(product.id)).toMatchObject({
    available: 6,
    reserved: 4,
    in_flight: 0,
    drift: 0,
    ok: true,
  });
  expect(trigger.stats).toMatchObject({ failed_records: 2, invoke_errors: 0 });
  expect(trigger.stats.records).toBeGreaterThanOrEqual(3 + 2);

  const fromDlq = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: q.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  expect((fromDlq.Messages ?? []).map((m) => m.Body)).toEqual([poison]);

  await sqs.send(new DeleteQueueCommand({ QueueUrl: q.queueUrl }));
  await sqs.send(new DeleteQueueCommand({ QueueUrl: q.dlqUrl }));
});

it('the DLQ re-drive moves big messages too: ten received together that exceed one SendMessageBatch (before, BatchRequestTooLong every time, nothing moved)', async () => {
  const sqs = localSqsClient(process.env['SQS_ENDPOINT']!);
  const suffix = randomUUID().slice(0, 8);
  const q = await createOrderQueues(sqs, { queue: `redrive-${suffix}`, dlq: `redrive-${suffix}-dlq` });
  // Each alone is a valid message; together they are over SQS's batch limit (fauxqs: 1 MiB).
  const bodies = Array.from({ length: 10 }, (_, i) => `${i} ${'x'.repeat(150 * 1024)}`);
  for (const b of bodies) await sqs.send(new SendMessageCommand({ QueueUrl: q.dlqUrl, MessageBody: b }));

  expect(await redrive(sqs, q.dlqUrl, q.queueUrl)).toBe(10);
  expect(await queueDepth(sqs, q.dlqUrl)).toEqual({ visible: 0, in_flight: 0 });
  const moved: string[] = [];
  for (let i = 0; i < 5 && moved.length < 10; i++) {
    const r = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: q.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    moved.push(...(r.Messages ?? []).map((m) => m.Body!));
  }
  expect(moved.sort()).toEqual([...bodies].sort());

  await sqs.send(new DeleteQueueCommand({ QueueUrl: q.queueUrl }));
  await sqs.send(new DeleteQueueCommand({ QueueUrl: q.dlqUrl }));
});

it('big poison messages beside orders, through serverless-offline: the orders are persisted, only the poison reaches the DLQ (before, the batch was over the 6 MiB invoke limit: all of it in the DLQ)', async () => {
  const product = await newProduct({ stock_total: 10 });
  const good = [await accepted(product.id), await accepted(product.id), await accepted(product.id)];
  const sqs = localSqsClient(process.env['SQS_ENDPOINT']!);
  const suffix = randomUUID().slice(0, 8);
  const q = await createOrderQueues(
    sqs,
    { queue: `big-poison-${suffix}`, dlq: `big-poison-${suffix}-dlq` },
    { visibility_timeout_s: 2, max_receive_count: 2 },
  );
  // Seven of 900 KiB: each a valid SQS message (fauxqs takes 1 MiB), together over 6 MiB.
  for (let i = 0; i < 7; i++) {
    await sqs.send(
      new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: `${i} ${'x'.repeat(900 * 1024)}` }),
    );
  }
  for (const o of good) {
    await sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: JSON.stringify(o) }));
  }
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: q.queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const trigger = startSqsTrigger({
    sqs,
    queueUrl: q.queueUrl,
    queueArn: Attributes!['QueueArn']!,
    invoke: offlineInvoker(inject('lambdaPort'), 'flash-sale-dev-persistOrders'),
    batch_size: 10,
    maximum_batching_window_s: 1,
    maximum_concurrency: 1,
  });
  try {
    await waitUntil(
      'the queue empty, every message persisted or in the DLQ',
      async () => {
        const [main, dlq] = await Promise.all([queueDepth(sqs, q.queueUrl), queueDepth(sqs, q.dlqUrl)]);
        return main.visible === 0 && main.in_flight === 0 && dlq.visible + dlq.in_flight >= 7;
      },
      60_000,
    );
  } finally {
    await trigger.stop();
  }
  expect(await persistedIds(good.map((o) => o.order_id))).toEqual(good.map((o) => o.order_id).sort());
  expect((await queueDepth(sqs, q.dlqUrl)).visible, 'only the seven poison messages').toBe(7);

  await sqs.send(new DeleteQueueCommand({ QueueUrl: q.queueUrl }));
  await sqs.send(new DeleteQueueCommand({ QueueUrl: q.dlqUrl }));
}, 90_000);
