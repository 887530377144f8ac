// Reading one order: PostgreSQL when it has it, else the inventory's record of an order still on
// its way there. Someone else's order and an unknown id look the same (no existence leak).
import { productIdOf } from './order-id';
import type { OrderStore, OutboxInventory } from './ports';
import { type Order, orderFromAccepted } from './types';

export interface ReadOrderDeps {
  orders: Pick<OrderStore, 'get'>;
  inventory: Pick<OutboxInventory, 'pendingOrder' | 'beingRebuilt'>;
}

export interface Viewer {
  customer_id: string;
  admin: boolean;
}

export interface OrderReading {
  order: Order;
  /** accepted but not yet in PostgreSQL */
  pending: boolean;
  cancel_pending: boolean;
}

/**
 * The order as the viewer may see it; null when there is none they may see; "unavailable" when it
 * is found nowhere while its product's state is being rebuilt (an accepted order may still be on its
 * way: not a definite 404).
 */
export async function readOrder(
  deps: ReadOrderDeps,
  order_id: string,
  viewer: Viewer,
): Promise<OrderReading | null | 'unavailable'> {
  const reading = await find(deps, order_id);
  if (reading === 'unavailable' || !reading) return reading;
  if (!viewer.admin && reading.order.customer_id !== viewer.customer_id) return null;
  return reading;
}

async function find(deps: ReadOrderDeps, order_id: string) {
  const stored = await deps.orders.get(order_id);
  if (stored) return { order: stored, pending: false, cancel_pending: false };
  const product_id = productIdOf(order_id);
  if (product_id === null) return null;
  const p = await deps.inventory.pendingOrder(order_id, product_id);
  // The order may have been persisted between the two reads: look once more before saying 404.
  if (!p) {
    const late = await deps.orders.get(order_id);
    if (late) return { order: late, pending: false, cancel_pending: false };
    return (await deps.inventory.beingRebuilt(product_id)) ? 'unavailable' : null;
  }
  return { order: orderFromAccepted(p.accepted), pending: true, cancel_pending: p.cancel_pending };
}
