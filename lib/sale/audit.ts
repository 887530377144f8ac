// The invariant report of API.md, in units:
//   drift = stock_total - available - reserved - paid, where reserved counts accepted orders that
//   have not reached PostgreSQL yet (in_flight). ok = drift is 0 and nothing is negative.
// Two ways to find in_flight. The audit reads the whole outbox and checks each entry against
// PostgreSQL (exact, O(outbox)), and also checks the outbox counters against those records. The
// dashboard reads the counters only (O(1) per product) and trusts them; the audit is what says
// whether it may.
// Both read Redis, then PostgreSQL: two reads, not one snapshot. A transition that frees units
// commits in PostgreSQL first and gives them back in Redis a moment later (release-units.ts); a
// late payment re-takes units in Redis just before its commit. A read that falls between the two
// halves sees drift that is not there, so drift is only reported once reading again still finds it.
import { setTimeout as pause } from 'node:timers/promises';
import type {
  AuditingInventory,
  CutFigures,
  InventoryAuditState,
  InventoryStatsState,
  OrderStore,
  OutboxCounters,
} from './ports';
import type { AcceptedOrder, OrderStatus } from './types';

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

/** How far the sale hash's outbox counters are from the records (0 when exact). */
export interface CounterDrift {
  /** in_flight counter minus the units of the outbox's entries */
  in_flight: number;
  /** acked counters minus what PostgreSQL holds of the generation and the outbox no longer does; null: no such counters */
  acked_units: number | null;
  acked_orders: number | null;
}

export type ProductAudit = AuditReport & { counter_drift: CounterDrift };

/** Reads again after seeing drift, at most this many times, this far apart. */
export const DRIFT_REREADS_MAX = 4;
export const DRIFT_REREAD_DELAY_MS = 50;

/**
 * `read` again while it finds drift (`clean` false), up to DRIFT_REREADS_MAX times: drift caught
 * between the two halves of a transition is gone at the next read, real drift is not. Returns
 * the first clean read, or the last one.
 */
export async function confirmedRead<T>(
  read: () => Promise<T>,
  clean: (figures: T) => boolean,
  delay_ms = DRIFT_REREAD_DELAY_MS,
): Promise<T> {
  let figures = await read();
  for (let reread = 0; reread < DRIFT_REREADS_MAX && !clean(figures); reread++) {
    await pause(delay_ms);
    figures = await read();
  }
  return figures;
}

export interface AuditDeps {
  inventory: AuditingInventory;
  orders: Pick<OrderStore, 'auditFigures'>;
}

export function auditProduct(deps: AuditDeps, product_id: number): Promise<ProductAudit | null> {
  return confirmedRead(
    () => auditOnce(deps, product_id),
    (audit) => audit === null || audit.ok,
  );
}

async function auditOnce(deps: AuditDeps, product_id: number): Promise<ProductAudit | null> {
  const audited = await auditWithOutbox(deps, product_id);
  if (!audited) return null;
  const { report, counter_drift } = audited;
  const exact = Object.values(counter_drift).every((d) => d === null || d === 0);
  return { ...report, ok: report.ok && exact, counter_drift };
}

/** The audit and the outbox it was computed from (the dashboard's fallback for hashes without acked counters). */
export async function auditWithOutbox(
  deps: AuditDeps,
  product_id: number,
): Promise<{ report: AuditReport; outbox: AcceptedOrder[]; counter_drift: CounterDrift } | null> {
  // Redis first, PostgreSQL second: an order persisted in between is found in PostgreSQL and
  // dropped from in_flight, so it is counted once, never zero times.
  const state = await deps.inventory.auditState(product_id);
  if (!state) return null;
  const { units, existing, counted } = await deps.orders.auditFigures(
    product_id,
    state.outbox.map((o) => o.order_id),
    state.counters.cut,
  );
  const persisted = state.outbox.filter((o) => existing.has(o.order_id));
  const in_flight = unitsOf(state.outbox) - unitsOf(persisted);
  const report = invariant(product_id, state, units, in_flight);
  return { report, outbox: state.outbox, counter_drift: counterDrift(state, counted) };
}

/**
 * The same report from the counters (the dashboard): orders PostgreSQL holds of the read's cut,
 * less those acked, are the ones persisted but still in the outbox at the read (acks run after the
 * commit), so they are taken off in_flight and counted once. Also returns how many orders that is.
 */
export function auditFromCounters(
  product_id: number,
  state: InventoryStatsState,
  units: Partial<Record<OrderStatus, number>>,
  counted: CutFigures,
): { report: AuditReport; persisted_in_outbox: number } {
  const acked = state.counters.acked ?? { units: 0, orders: 0 };
  const in_flight = state.counters.in_flight - (counted.units - acked.units);
  return {
    report: invariant(product_id, state, units, in_flight),
    persisted_in_outbox: counted.orders - acked.orders,
  };
}

function invariant(
  product_id: number,
  state: Pick<InventoryAuditState, 'stock_total' | 'available'>,
  units: Partial<Record<OrderStatus, number>>,
  in_flight: number,
): AuditReport {
  const reserved = (units.reserved ?? 0) + in_flight;
  const paid = units.paid ?? 0;
  const drift = state.stock_total - state.available - reserved - paid;
  const ok = drift === 0 && [state.available, reserved, paid, in_flight].every((n) => n >= 0);
  return {
    product_id,
    stock_total: state.stock_total,
    available: state.available,
    reserved,
    paid,
    in_flight,
    drift,
    ok,
  };
}

function counterDrift(
  state: { outbox: AcceptedOrder[]; counters: OutboxCounters },
  counted: CutFigures | undefined,
): CounterDrift {
  // `counted` leaves the outbox's orders out: what is left of the cut in PostgreSQL was acked.
  const { acked } = state.counters;
  const known = acked !== null && counted !== undefined;
  return {
    in_flight: state.counters.in_flight - unitsOf(state.outbox),
    acked_units: known ? acked.units - counted.units : null,
    acked_orders: known ? acked.orders - counted.orders : null,
  };
}

const unitsOf = (orders: AcceptedOrder[]) => orders.reduce((n, o) => n + o.qty, 0);
