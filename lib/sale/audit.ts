// The invariant report of API.md, in units:
//   drift = stock_total - available - reserved - paid, where reserved counts accepted orders that
//   have not reached PostgreSQL yet (in_flight). ok = drift is 0 and nothing is negative.
import type { AuditingInventory, OrderStore } from './ports';
import type { AcceptedOrder } from './types';

export interface AuditDeps {
  inventory: AuditingInventory;
  orders: Pick<OrderStore, 'auditFigures'>;
}

export interface AuditReport {
  product_id: number;
  stock_total: number;
  available: number;
  reserved: number;
  paid: number;
  in_flight: number;
  drift: number;
  ok: boolean;
}

export async function auditProduct(deps: AuditDeps, product_id: number): Promise<AuditReport | null> {
  return (await auditWithOutbox(deps, product_id))?.report ?? null;
}

/** The audit and the outbox it was computed from (the dashboard reuses it instead of reading it again). */
export async function auditWithOutbox(
  deps: AuditDeps,
  product_id: number,
): Promise<{ report: AuditReport; outbox: AcceptedOrder[] } | null> {
  // Redis first, PostgreSQL second: an order persisted in between is found in PostgreSQL and
  // dropped from in_flight, so it is counted once, never zero times.
  const state = await deps.inventory.auditState(product_id);
  if (!state) return null;
  const { units, existing } = await deps.orders.auditFigures(
    product_id,
    state.outbox.map((o) => o.order_id),
  );
  const in_flight = state.outbox.filter((o) => !existing.has(o.order_id)).reduce((n, o) => n + o.qty, 0);
  const reserved = (units.reserved ?? 0) + in_flight;
  const paid = units.paid ?? 0;
  const drift = state.stock_total - state.available - reserved - paid;
  const ok = drift === 0 && [state.available, reserved, paid, in_flight].every((n) => n >= 0);
  const report = {
    product_id,
    stock_total: state.stock_total,
    available: state.available,
    reserved,
    paid,
    in_flight,
    drift,
    ok,
  };
  return { report, outbox: state.outbox };
}
