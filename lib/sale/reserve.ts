// Reserve units for a buyer: one atomic inventory call, then a best-effort send to the queue.
import { newOrderId, PRODUCT_ID_MAX } from './order-id';
import type { InventoryReserveResult, ReserveOutcome } from './outcomes';
import type { Logger, OrderQueue, ReservingInventory } from './ports';
import { orderFromAccepted } from './types';

export interface ReserveDeps {
  inventory: ReservingInventory;
  queue: OrderQueue;
  log: Logger;
}

export interface ReserveInput {
  customer_id: string;
  product_id: number;
  qty: number;
  idempotency_key: string | null;
}

export async function reserveOrder(deps: ReserveDeps, input: ReserveInput): Promise<ReserveOutcome> {
  // No product has an id past what an order id carries (order-id.ts): an unknown product, as API.md
  // answers any other.
  if (input.product_id > PRODUCT_ID_MAX) return { kind: 'product_not_found' };
  const order_id = newOrderId(input.product_id);
  let result: InventoryReserveResult;
  try {
    result = await deps.inventory.reserve({ ...input, order_id });
  } catch (err) {
    // Timeout or dropped connection: the reservation may or may not exist. It is never retried as
    // a fresh reservation; the client retries with the same Idempotency-Key instead.
    deps.log.warn('reserve outcome unknown', { order_id, error: String(err) });
    return { kind: 'unavailable', reason: 'inventory outcome unknown' };
  }
  if (result.kind !== 'reserved') return result;
  if (!result.replayed) {
    try {
      await deps.queue.send(result.accepted);
    } catch (err) {
      // The reservation is durable together with its outbox entry; the release run re-sends it.
      deps.log.warn('order send failed; left in outbox', { order_id, error: String(err) });
    }
  }
  return { kind: 'reserved', order: orderFromAccepted(result.accepted), replayed: result.replayed };
}
