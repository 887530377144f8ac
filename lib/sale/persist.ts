// Persisting accepted orders: one batched write, then the outbox entries are cleared. Safe to run
// twice on the same orders (duplicate delivery): the write and the clear are both idempotent.

import { settleAfterPersist } from './early-events';
import type { ReservationCut } from './ports';
import { reconcileStragglers } from './reconcile';
import { releaseNow, type SettleDeps } from './release-units';
import type { AcceptedOrder } from './types';

export type PersistDeps = SettleDeps;

export interface PersistResult {
  inserted: string[];
  duplicates: string[];
  cancel_pending: string[];
  /** refused by PostgreSQL: kept in quarantined_orders, units given back */
  quarantined: string[];
}

export async function persistAccepted(deps: PersistDeps, given: AcceptedOrder[]): Promise<PersistResult> {
  const { inserted, batch, quarantined } = await insertIsolating(deps, given);
  // Before anything can release them: an order a rebuild did not count gets its units taken first.
  // Every order of the batch, not only those inserted now: a batch delivered again after its first
  // attempt committed (the reply to its COMMIT lost, or a step below failed) inserts nothing, and
  // its stragglers were left to the next release run, their units sold again meanwhile.
  const persisted = inserted.length === batch.length ? inserted : batch.map((o) => o.order_id);
  if (persisted.length > 0) {
    await reconcileStragglers(deps, await deps.ledger.uncounted(persisted, persisted.length));
  }
  // Only after the commit: a crash before this line leaves the outbox entry, and the message
  // (or the outbox re-send) comes back and finds the row already there.
  const fresh = new Set(inserted);
  const acks = await deps.inventory.ack(batch, await sequencedRows(deps, batch, fresh));
  const cancel_pending = acks.filter((a) => a.cancel_pending).map((a) => a.order_id);
  await settleAfterPersist(
    deps,
    batch.map((o) => o.order_id),
    cancel_pending,
  );
  return {
    inserted,
    duplicates: batch.filter((o) => !fresh.has(o.order_id)).map((o) => o.order_id),
    cancel_pending,
    quarantined,
  };
}

/**
 * The orders whose row holds their sequence (the acked counters count only those): the ones just
 * inserted from a message carrying it, and duplicates whose row says so (one query, only when a
 * delivery repeats; the row may come from an older message without it).
 */
async function sequencedRows(
  deps: PersistDeps,
  batch: AcceptedOrder[],
  fresh: Set<string>,
): Promise<Set<string>> {
  const ids = batch.filter((o) => fresh.has(o.order_id) && o.seq !== undefined).map((o) => o.order_id);
  const repeated = batch.filter((o) => !fresh.has(o.order_id)).map((o) => o.order_id);
  return new Set([...ids, ...(repeated.length ? await deps.orders.sequenced(repeated) : [])]);
}

/**
 * One statement for the batch; if PostgreSQL refuses the data, one per order, so a bad order fails
 * alone: it is quarantined (operator-visible), its units are given back and its outbox entry
 * cleared. It is handled, not retried: retrying cannot change a refusal, and a retried message
 * would end in the DLQ as an accepted order that never becomes a row.
 */
async function insertIsolating(deps: PersistDeps, batch: AcceptedOrder[]) {
  const all = await deps.orders.insertAccepted(batch);
  if ('inserted' in all) return { inserted: all.inserted, batch, quarantined: [] };
  const { inserted, rejected } = await deps.orders.insertEach(batch);
  for (const { order, reason } of rejected) {
    await deps.orders.quarantine(order, reason);
    deps.log.error('order quarantined: PostgreSQL refused it', { order_id: order.order_id, reason });
  }
  const bad = rejected.map((r) => r.order);
  // After the quarantine rows commit (heldHere relies on it).
  await releaseNow(
    deps,
    (await heldHere(deps, bad)).map((o) => ({
      order_id: o.order_id,
      product_id: o.product_id,
      customer_id: o.customer_id,
      qty: o.qty,
    })),
  );
  await deps.inventory.ack(bad, new Set());
  const refused = new Set(bad.map((o) => o.order_id));
  return {
    inserted,
    batch: batch.filter((o) => !refused.has(o.order_id)),
    quarantined: [...refused],
  };
}

/**
 * The refused orders whose units the live Redis state holds: reserved under its generation, at or
 * below its sequence. One accepted before a wipe or a rollback (its message on its way while the
 * rebuild counted) never held units in the rebuilt state: the rebuild counted PostgreSQL's rows, and
 * this order never becomes one. Released, its units were handed out a second time (available 5 with
 * 1 unit held at stock 5; review 41). A state lost or being rebuilt takes no release (deferred), and
 * a rebuild counts a quarantined order as free. A rebuild that reopens between this read and the
 * release below saw the quarantine row (committed before the read) and wrote the order "released":
 * that release is then a no-op. An order from a message without its generation is released as before.
 */
async function heldHere(deps: PersistDeps, orders: AcceptedOrder[]): Promise<AcceptedOrder[]> {
  const cuts = new Map<number, ReservationCut | null>();
  const held: AcceptedOrder[] = [];
  for (const o of orders) {
    if (o.generation === undefined) {
      held.push(o);
      continue;
    }
    if (!cuts.has(o.product_id)) cuts.set(o.product_id, await deps.inventory.liveCut(o.product_id));
    const cut = cuts.get(o.product_id);
    if (cut && cut.generation === o.generation && (o.seq === undefined || o.seq <= cut.seq)) held.push(o);
  }
  return held;
}
