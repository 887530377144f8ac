// Keeping an accepted order "in flight" (in the Redis outbox, not yet in PostgreSQL) while a test
// looks at it, a stock adjustment pending (in PostgreSQL, not yet decided by Redis), and invoking persistOrders with the SQS events that carry orders (built by
// infra/local/lambda-event.ts, re-exported here).
import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { handler as persistOrders } from '../../functions/persistOrders';
import { lambdaContext } from '../../infra/local/lambda-event';
import { startSqsTrigger } from '../../infra/local/sqs-trigger';
import { inventory, products, settleDeps } from '../../lib/container';
import { db } from '../../lib/orders/db';
import { pgOrders } from '../../lib/orders/orders';
import { newOrderId } from '../../lib/sale/order-id';
import { persistAccepted } from '../../lib/sale/persist';
import type { IdempotentRequest, StockAdjustment } from '../../lib/sale/ports';
import { type AcceptedOrder, STOCK_TOTAL_MAX } from '../../lib/sale/types';

export { sqsEvent, sqsRecord } from '../../infra/local/lambda-event';

/** A PATCH's first write only (PostgreSQL): its process "dies" before it reaches Redis. */
export async function pendingAdjustment(
  product_id: number,
  delta: number,
  idempotency: IdempotentRequest | null = null,
): Promise<StockAdjustment> {
  const written = await products().update(product_id, {}, { delta, total_max: STOCK_TOTAL_MAX }, idempotency);
  if (!written || typeof written === 'string' || !('adjustment' in written) || !written.adjustment) {
    throw new Error('not written');
  }
  return written.adjustment;
}

/** A realistic accepted order: reserved in the real inventory, never sent to the queue. */
export async function reservedUnsent(
  product_id: number,
  qty = 1,
  customer_id = `c-${randomUUID()}`,
): Promise<AcceptedOrder> {
  const r = await inventory().reserve({
    order_id: newOrderId(product_id),
    product_id,
    customer_id,
    qty,
    idempotency_key: null,
  });
  if (r.kind !== 'reserved') throw new Error(`reserve failed: ${r.kind}`);
  return r.accepted;
}

/** An accepted order PostgreSQL refuses (a NUL in its customer id): persisting it quarantines it. */
export const reservedQuarantinable = (product_id: number): Promise<AcceptedOrder> =>
  reservedUnsent(product_id, 1, 'bad\u0000customer');

/** The real persistOrders handler, invoked in-process with an SQS event. */
export const persistInProcess = (event: SQSEvent) =>
  (persistOrders as unknown as (e: SQSEvent, c: unknown) => Promise<SQSBatchResponse>)(
    event,
    lambdaContext('persistOrders'),
  );

/** The local SQS trigger on a test's own queue, invoking the real persistOrders in-process. */
export async function startPersistTrigger(
  sqs: SQSClient,
  queueUrl: string,
  opts: { batch_size: number; maximum_concurrency: number },
) {
  const arn = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  return startSqsTrigger({
    sqs,
    queueUrl,
    queueArn: arn.Attributes!['QueueArn']!,
    invoke: persistInProcess,
    maximum_batching_window_s: 0,
    ...opts,
  });
}

/** Reserved and persisted, as the queue would have done it (expiry moved when asked). */
export async function persistedOrder(product_id: number, qty = 1, opts: { overdue?: boolean } = {}) {
  const accepted = await reservedUnsent(product_id, qty);
  await persistAccepted(settleDeps(), [
    { ...accepted, ...(opts.overdue ? { expires_ms: Date.now() - 1000 } : {}) },
  ]);
  const order = await pgOrders(db()).get(accepted.order_id);
  if (!order) throw new Error('order not persisted');
  return order;
}
