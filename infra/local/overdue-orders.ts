// Reserved orders already past their expiry, persisted as the consumer persists them: what the
// release run expires. Made in process against the stack the environment names (lib/container), by
// the expiry bench (infra/local/expiry-bench.ts) and the tests that race expiry (tests/helpers).
import { inventory, settleDeps } from '../../lib/container';
import { domainLog } from '../../lib/platform/logger';
import { persistAccepted } from '../../lib/sale/persist';
import { reserveOrder } from '../../lib/sale/reserve';
import type { AcceptedOrder, Order } from '../../lib/sale/types';

/** Orders persisted in one call, as many as a queue batch of the consumer holds. */
const PERSIST_BATCH_MAX = 100;

/**
 * Reserve as createOrder does, but the SQS message is lost on the way: the order stays only in the
 * outbox, where a failed send leaves it too (without the warning a failed send logs for each order).
 */
export async function reserveUnsent(customer_id: string, product_id: number, qty: number): Promise<Order> {
  const outcome = await reserveOrder(
    { inventory: inventory(), queue: { send: async () => {} }, log: domainLog },
    { customer_id, product_id, qty, idempotency_key: null },
  );
  if (outcome.kind !== 'reserved') throw new Error(`reserve failed: ${outcome.kind}`);
  return outcome.order;
}

/** A reserved order as the queue carries it (without the generation and sequence reserve.lua adds). */
export function acceptedOf(o: Order): AcceptedOrder {
  return {
    order_id: o.order_id,
    product_id: o.product_id,
    customer_id: o.customer_id,
    qty: o.qty,
    unit_price_cents: o.unit_price_cents,
    currency: o.currency,
    created_ms: o.created_at.getTime(),
    expires_ms: o.expires_at.getTime(),
  };
}

/** Persists reserved orders (still in their outbox) as already past their expiry: their TTL ran out. */
export async function persistOverdue(orders: Order[]): Promise<void> {
  const expires_ms = Date.now() - 1000;
  const accepted = orders.map((o) => ({ ...acceptedOf(o), expires_ms }));
  for (let i = 0; i < accepted.length; i += PERSIST_BATCH_MAX)
    await persistAccepted(settleDeps(), accepted.slice(i, i + PERSIST_BATCH_MAX));
}
