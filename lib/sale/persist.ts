// Persisting accepted orders: one batched write, then the outbox entries are cleared. Safe to run
// twice on the same orders (duplicate delivery): the write and the clear are both idempotent.
import { reconcileStragglers } from './reconcile';
import { type SettleDeps, settleAfterPersist } from './settle';
import type { AcceptedOrder } from './types';

export type PersistDeps = SettleDeps;

export interface PersistResult {
  inserted: string[];
  duplicates: string[];
  cancel_pending: string[];
}

export async function persistAccepted(deps: PersistDeps, batch: AcceptedOrder[]): Promise<PersistResult> {
  const inserted = await deps.orders.insertAccepted(batch);
  // Before anything can release them: an order a rebuild did not count gets its units taken first.
  if (inserted.length > 0) {
    await reconcileStragglers(deps, await deps.lifecycle.uncounted(inserted, inserted.length));
  }
  // Only after the commit: a crash before this line leaves the outbox entry, and the message
  // (or the outbox re-send) comes back and finds the row already there.
  const acks = await deps.inventory.ack(batch);
  const fresh = new Set(inserted);
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
  };
}
