// What a rebuild closes in PostgreSQL before it counts from it: reservations already overdue, a
// second order under one Idempotency-Key, and, after the count, orders sold beyond stock. The
// product is closed meanwhile, so the releases these closes cause are counted by the snapshot that
// follows, never applied in Redis.
import { EXPIRY_BATCH_MAX } from './expire-orders';
import { closeAsSeen } from './order-transition';
import type { BulkExpiry, OrderLocks, RebuildSource, SettlementQueries } from './ports';

export interface ClosingDeps {
  source: Pick<RebuildSource, 'holdersToClose' | 'keyedDuplicates'>;
  settlement: OrderLocks & Pick<SettlementQueries, 'overdueReservations'> & BulkExpiry;
}

/** An order the rebuild chose to close, with the status the choice saw. */
interface Chosen {
  order_id: string;
  status: 'reserved' | 'paid';
}

type Holder = Awaited<ReturnType<RebuildSource['holdersToClose']>>[number];

const OVERSOLD_AFTER_ROLLBACK = 'oversold_after_rollback';
const DUPLICATE_AFTER_ROLLBACK = 'duplicate_after_rollback';
/** how many times a choice is made again after closes lost to payments */
const CHOICE_ROUNDS_MAX = 3;
/** Bounds one rebuild's expiry; overdue orders past it are expired by the release run. */
const EXPIRY_ROUNDS_MAX = 20;

/**
 * Closes the orders `choose` picks while `more` holds, each conditional on the status it was chosen
 * with: a payment that lands between (paying a reserved order needs no Redis, so the closed product
 * does not stop it) changes which order should go, so a lost close makes the choice again. Before,
 * a close fell back to refunding the newly paid order while an unpaid one kept its units.
 */
async function closeAsChosen<T extends Chosen>(
  deps: ClosingDeps,
  why: string,
  choose: (closed: T[]) => Promise<T[]>,
  more: (closed: T[]) => boolean,
): Promise<T[]> {
  const closed: T[] = [];
  for (let round = 0; round < CHOICE_ROUNDS_MAX && more(closed); round++) {
    let raced = false;
    for (const o of await choose(closed)) {
      if (!more(closed)) break;
      if (await closeAsSeen(deps.settlement, o, 'system:rebuild', why)) closed.push(o);
      else raced = true;
    }
    if (!raced) break;
  }
  return closed;
}

/**
 * PostgreSQL holds more units than stock: Redis sold units twice after a rollback. Orders holding
 * stock give them back, unpaid before paid (a refund is the last resort), newest first: unpaid
 * ones end `cancelled`, paid ones `refund_required`.
 */
export async function surfaceOversold(
  deps: ClosingDeps,
  product_id: number,
  units_over: number,
): Promise<string[]> {
  const why = `${OVERSOLD_AFTER_ROLLBACK}: units sold twice after Redis lost its last writes`;
  const left = (closed: { qty: number }[]) => units_over - closed.reduce((n, o) => n + o.qty, 0);
  const closed = await closeAsChosen<Holder>(
    deps,
    why,
    (c) => deps.source.holdersToClose(product_id, left(c)),
    (c) => left(c) > 0,
  );
  return closed.map((o) => o.order_id);
}

/**
 * A retry under an Idempotency-Key whose record Redis lost (rolled back) was a second order. One
 * order per key keeps its units (the paid one or one with a successful payment waiting for it, as
 * in surfaceOversold and a straggler's key; else the newest: the answer the client saw last); the
 * others end like units sold twice, before the snapshot counts them.
 */
export async function closeKeyedDuplicates(deps: ClosingDeps, product_id: number): Promise<string[]> {
  const why = `${DUPLICATE_AFTER_ROLLBACK}: a second order under one Idempotency-Key after Redis lost its record`;
  const closed = await closeAsChosen(
    deps,
    why,
    () => deps.source.keyedDuplicates(product_id),
    () => true,
  );
  return closed.map((o) => o.order_id);
}

/**
 * Reservations already overdue end `expired` before the count, as the run's expiry step would end
 * them right after: their units are free, so an oversell is not settled by closing a live order
 * (before: a paid one refunded) while an overdue one still held stock.
 */
export async function expireOverdueOf(deps: ClosingDeps, product_id: number): Promise<void> {
  for (let round = 0; round < EXPIRY_ROUNDS_MAX; round++) {
    // Orders with a successful payment waiting for them are left out by the store (stranded by a
    // crash; the run applies it after the rebuild). Expired here, the unit freed would absorb the
    // oversell and the payment then find none to retake: refunded, where it ends paid.
    const due = await deps.settlement.overdueReservations(EXPIRY_BATCH_MAX, [product_id]);
    if (due.length) await deps.settlement.expireReserved(due, 'system:rebuild', 'reservation expired unpaid');
    if (due.length < EXPIRY_BATCH_MAX) return;
  }
}
