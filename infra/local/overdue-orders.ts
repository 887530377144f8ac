// Reserved orders already past their expiry, persisted as the consumer persists them: what the
// release run expires. Made in process against the stack the environment names (lib/container), by
// the expiry bench (infra/local/expiry-bench.ts) and the tests that race expiry (tests/helpers).
import { inventory, settleDeps } from '../../lib/container';
import { domainLog } from '../../lib/platform/logger';
import { persistAccepted } from '../../lib/sale/persist';
import { reserveOrder } from '../../lib/sale/reserve';
import { acceptedFromOrder, type Order } from '../../lib/sale/types';

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

/** Persists reserved orders (still in their outbox) as already past their expiry: their TTL ran out. */
export async function persistOverdue(orders: Order[]): Promise<void> {
  const expires_ms = Date.now() - 1000;
  const accepted = orders.map((o) => ({ ...acceptedFromOrder(o), expires_ms }));
  for (let i = 0; i < accepted.length; i += PERSIST_BATCH_MAX)
    await persistAccepted(settleDeps(), accepted.slice(i, i + PERSIST_BATCH_MAX));
}
