// Persisting accepted orders: one batched write, then the outbox entries are cleared. Safe to run
// twice on the same orders (duplicate delivery): the write and the clear are both idempotent.
//
// After the commit, each product's Redis steps (reconcile its stragglers, ack its orders, settle
// what came early) can fail alone: in a Redis Cluster each product lives on one shard, and one
// shard down must not fail the orders of products on the others. A product whose step fails is left
// out of the steps after it and reported in `failed`: its orders' messages are delivered again (and
// run every step again: a delivery of committed orders inserts nothing, so it reconciles and acks
// the whole batch), the rest of the batch is done.

import { settleAfterPersist } from './early-events';
import type { ReservationCut } from './ports';
import { reconcileStragglers } from './reconcile';
import { releaseNow, type SettleDeps } from './release-units';
import type { AcceptedOrder } from './types';

export type PersistDeps = SettleDeps;

/** The Redis steps after the commit, in their order (quarantine: a refused order's release and ack). */
export type PostCommitStep = 'quarantine' | 'reconcile' | 'ack' | 'settle';

/** A product whose step after the commit failed: its orders of the batch must be delivered again. */
export interface PersistFailure {
  product_id: number;
  step: PostCommitStep;
  error: unknown;
  order_ids: string[];
}

export interface PersistResult {
  inserted: string[];
  duplicates: string[];
  cancel_pending: string[];
  /** refused by PostgreSQL: kept in quarantined_orders, units given back */
  quarantined: string[];
  /** committed (or quarantined), but a Redis step after it failed for their product: not done */
  failed: PersistFailure[];
}

type Failed = Map<number, { step: PostCommitStep; error: unknown }>;

/**
 * Throws (nothing of the batch done) when the write fails, or when every order's product failed a
 * step after it; otherwise the products that failed are in `failed`, logged with their step.
 */
export async function persistAccepted(deps: PersistDeps, given: AcceptedOrder[]): Promise<PersistResult> {
  const failed: Failed = new Map();
  const { inserted, batch, quarantined } = await insertIsolating(deps, given, failed);
  const live = () => batch.filter((o) => !failed.has(o.product_id));
  // Before anything can release them: an order a rebuild did not count gets its units taken first.
  // Every order of the batch, not only those inserted now: a batch delivered again after its first
  // attempt committed (the reply to its COMMIT lost, or a step below failed) inserts nothing, and
  // its stragglers were left to the next release run, their units sold again meanwhile.
  const persisted = inserted.length === batch.length ? inserted : batch.map((o) => o.order_id);
  if (persisted.length > 0) {
    const stragglers = await deps.ledger.uncounted(persisted, persisted.length);
    // One product after the other, as before (a judgement takes order locks and pool connections).
    for (const [product_id, share] of byProduct(stragglers)) {
      await attempt(failed, product_id, 'reconcile', () => reconcileStragglers(deps, share));
    }
  }
  // Only after the commit: a crash before this line leaves the outbox entry, and the message
  // (or the outbox re-send) comes back and finds the row already there.
  const fresh = new Set(inserted);
  const sequenced = await sequencedRows(deps, live(), fresh);
  const acks = (
    await Promise.all(
      [...byProduct(live())].map(([product_id, share]) =>
        attempt(failed, product_id, 'ack', () => deps.inventory.ack(share, sequenced)),
      ),
    )
  ).flatMap((a) => a ?? []);
  const cancel_pending = acks.filter((a) => a.cancel_pending).map((a) => a.order_id);
  await settleIsolating(deps, live(), new Set(cancel_pending), failed);
  const failures = reportFailures(deps, failed, given);
  const done = new Set(live().map((o) => o.order_id));
  if (failures.length > 0 && done.size + quarantined.length === 0) throw failures[0]!.error;
  return {
    inserted,
    duplicates: batch.filter((o) => !fresh.has(o.order_id)).map((o) => o.order_id),
    cancel_pending: cancel_pending.filter((id) => done.has(id)),
    quarantined,
    failed: failures,
  };
}

/** `work` for one product; a throw is recorded as that product's failure (undefined returned). */
async function attempt<T>(
  failed: Failed,
  product_id: number,
  step: PostCommitStep,
  work: () => Promise<T>,
): Promise<T | undefined> {
  if (failed.has(product_id)) return undefined;
  try {
    return await work();
  } catch (error) {
    failed.set(product_id, { step, error });
    return undefined;
  }
}

/**
 * Cancels and payments that came early, for the acked orders: all at once; if that throws, each
 * product again alone (every step in it is idempotent: what the first try applied is not applied
 * twice), so the failure stays with the products it belongs to.
 */
async function settleIsolating(
  deps: PersistDeps,
  orders: AcceptedOrder[],
  cancel_pending: ReadonlySet<string>,
  failed: Failed,
): Promise<void> {
  const settle = (share: AcceptedOrder[]) =>
    settleAfterPersist(
      deps,
      share.map((o) => o.order_id),
      share.filter((o) => cancel_pending.has(o.order_id)).map((o) => o.order_id),
    );
  try {
    await settle(orders);
  } catch {
    for (const [product_id, share] of byProduct(orders)) {
      await attempt(failed, product_id, 'settle', () => settle(share));
    }
  }
}

/** The failures with their orders, logged in one line (products, step, error). */
function reportFailures(deps: PersistDeps, failed: Failed, given: AcceptedOrder[]): PersistFailure[] {
  const failures = [...failed].map(([product_id, f]) => ({
    product_id,
    step: f.step,
    error: f.error,
    order_ids: given.filter((o) => o.product_id === product_id).map((o) => o.order_id),
  }));
  if (failures.length > 0) {
    deps.log.error('persist: a Redis step after the commit failed; these products are delivered again', {
      products: failures.map((f) => ({
        product_id: f.product_id,
        shard: deps.inventory.shardOf?.(f.product_id) ?? null,
        step: f.step,
        orders: f.order_ids.length,
        error: f.error instanceof Error ? f.error.message : String(f.error),
      })),
    });
  }
  return failures;
}

function byProduct<T extends { product_id: number }>(items: T[]): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const group = groups.get(item.product_id);
    if (group) group.push(item);
    else groups.set(item.product_id, [item]);
  }
  return groups;
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
 * would end in the DLQ as an accepted order that never becomes a row. A product whose release or
 * ack fails here fails as a product does after the commit (delivered again: quarantined again,
 * idempotently, and released and acked then).
 */
async function insertIsolating(deps: PersistDeps, batch: AcceptedOrder[], failed: Failed) {
  const all = await deps.orders.insertAccepted(batch);
  if ('inserted' in all) return { inserted: all.inserted, batch, quarantined: [] };
  const { inserted, rejected } = await deps.orders.insertEach(batch);
  for (const { order, reason } of rejected) {
    await deps.orders.quarantine(order, reason);
    deps.log.error('order quarantined: PostgreSQL refused it', { order_id: order.order_id, reason });
  }
  const bad = rejected.map((r) => r.order);
  // After the quarantine rows commit (heldHere relies on it).
  for (const [product_id, share] of byProduct(bad)) {
    await attempt(failed, product_id, 'quarantine', async () => {
      await releaseNow(
        deps,
        (await heldHere(deps, share)).map((o) => ({
          order_id: o.order_id,
          product_id: o.product_id,
          customer_id: o.customer_id,
          qty: o.qty,
        })),
      );
      await deps.inventory.ack(share, new Set());
    });
  }
  const refused = new Set(bad.map((o) => o.order_id));
  return {
    inserted,
    batch: batch.filter((o) => !refused.has(o.order_id)),
    quarantined: bad.filter((o) => !failed.has(o.product_id)).map((o) => o.order_id),
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
