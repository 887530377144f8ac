// What the data-loss scenarios do inside the loss window (infra/chaos/faults.ts): cancel and pay
// persisted orders as their owners and the provider would, park an order's message in the DLQ.
import { randomUUID } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { mintToken } from '../../lib/http/auth';
import { ORDER_COLUMNS, type OrderRow, orderFromRow } from '../../lib/orders/rows';
import { acceptedFromOrder } from '../../lib/sale/types';
import { webhookHeaders } from '../local/sandbox/sign';
import { localSqsClient } from '../local/services/queue';
import type { Stack } from '../local/stack';
import type { FaultContext } from './faults';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (at most 20 s) until the product has an order in `status`. */
export async function untilSome(ctx: FaultContext, status: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const [r] =
      await ctx.sql`SELECT 1 FROM orders WHERE product_id = ${ctx.product_id} AND status = ${status} LIMIT 1`;
    if (r) return;
    await sleep(250);
  }
}

/** Owners cancel up to `n` persisted reserved orders; each must answer 200 (or 409 if it expired). */
export async function cancelSome(stack: Stack, ctx: FaultContext, n: number): Promise<void> {
  const orders = await ctx.sql<{ order_id: string; customer_id: string }[]>`
    SELECT order_id, customer_id FROM orders WHERE product_id = ${ctx.product_id} AND status = 'reserved' LIMIT ${n}`;
  if (orders.length === 0) ctx.problems.push('no reserved order to cancel in the loss window');
  for (const o of orders) {
    const r = await fetch(`${stack.baseUrl}/api/orders/${o.order_id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await mintToken({ customer_id: o.customer_id })}` },
    });
    if (r.status !== 200 && r.status !== 409) ctx.problems.push(`cancel ${o.order_id} answered ${r.status}`);
  }
}

/**
 * Signed webhooks for up to `n` orders in `status`, retried as a provider retries (503 + Retry-After
 * while the product is rebuilt) until a final answer; a success on an expired order must end
 * `paid` (units free) or `refund_required` (units gone), never anything else.
 */
export async function paySome(
  stack: Stack,
  ctx: FaultContext,
  status: 'reserved' | 'expired',
  type: 'payment.succeeded' | 'payment.failed',
  n: number,
): Promise<void> {
  const orders = await ctx.sql<{ order_id: string; amount_cents: string; currency: string }[]>`
    SELECT order_id, amount_cents, currency FROM orders
    WHERE product_id = ${ctx.product_id} AND status = ${status} LIMIT ${n}`;
  if (orders.length === 0) ctx.problems.push(`no ${status} order to send ${type} for in the loss window`);
  await Promise.all(
    orders.map(async (o) => {
      const webhook_id = `msg_${randomUUID()}`;
      const body = JSON.stringify({
        type,
        data: {
          order_id: o.order_id,
          amount_cents: Number(o.amount_cents),
          currency: o.currency,
          payment_id: webhook_id,
        },
      });
      for (let attempt = 0; attempt < 120; attempt++) {
        const r = await fetch(`${stack.baseUrl}/api/payments/webhook`, {
          method: 'POST',
          headers: webhookHeaders(stack.env['WEBHOOK_SECRET']!, webhook_id, body),
          body,
        }).catch(() => null);
        if (r?.status === 503 && r.headers.get('retry-after') === null) {
          ctx.problems.push('webhook 503 without Retry-After');
          return;
        }
        if (!r || r.status === 503) {
          await sleep(500);
          continue;
        }
        const res = (await r.json()) as { result?: string; status?: string };
        const fine = r.status === 200 && (res.result === 'applied' || res.result === 'ignored');
        if (!fine)
          ctx.problems.push(`${type} on a ${status} order answered ${r.status} ${JSON.stringify(res)}`);
        return;
      }
      const last = ctx.last_run as { rebuilt?: unknown } | string | null;
      const seen = typeof last === 'string' ? last : JSON.stringify(last?.rebuilt);
      ctx.problems.push(`${type} on ${o.order_id} never got a final answer; last release run: ${seen}`);
    }),
  );
}

/** A persisted order's message parked in the DLQ (as a poison-listed duplicate would be). */
export async function dlqCopyOfAnOrder(stack: Stack, ctx: FaultContext): Promise<void> {
  const [o] = await ctx.sql<OrderRow[]>`
    SELECT ${ctx.sql(ORDER_COLUMNS)} FROM orders WHERE product_id = ${ctx.product_id} LIMIT 1`;
  if (!o) throw new Error('no persisted order to park in the DLQ yet');
  const message = acceptedFromOrder(orderFromRow(o));
  await localSqsClient(stack.queue!.endpoint).send(
    new SendMessageCommand({ QueueUrl: stack.env['ORDERS_DLQ_URL']!, MessageBody: JSON.stringify(message) }),
  );
}
