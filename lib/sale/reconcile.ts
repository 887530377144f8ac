// Stragglers after a rebuild: orders accepted before Redis lost a product's data that reached
// PostgreSQL only after the rebuild counted (a send held past the time fence, a message the queue's
// counters missed). PostgreSQL says exactly which (lib/orders/release-ledger.ts uncounted); their units
// are taken in Redis once, and one created under an Idempotency-Key gets the key's record back.
// A straggler that cannot be honoured — its units sold again meanwhile, or its key already answering
// a retry's second order (the order the client saw last) — ends `cancelled` unpaid or
// `refund_required` paid, with the reason below, and its release gives the units back: nothing stays
// oversold and one key holds one order.

import { closeHolding } from './order-transition';
import type { ReleaseTicket, Straggler } from './ports';
import { releaseNow, type SettleDeps } from './release-units';

const OVERSOLD_REASON =
  'oversold_after_rebuild: accepted before the data loss, reached PostgreSQL after the rebuild, units sold again';
const DUPLICATE_REASON =
  'duplicate_after_rebuild: accepted before the data loss, reached PostgreSQL after a retry under its Idempotency-Key made a second order';

export async function reconcileStragglers(deps: SettleDeps, stragglers: Straggler[]): Promise<number> {
  let done = 0;
  for (const s of stragglers) {
    const r = await deps.inventory.reconcile(s, s.rebuild_id);
    // Being rebuilt (the new rebuild counts it) or another generation: judged again next run.
    if (!('available' in r)) continue;
    const claim = s.keyed ? await deps.inventory.claimReplay(s.keyed.order, s.keyed.idempotency_key) : null;
    if (claim === 'unavailable') continue;
    const oversold = r.available < 0;
    const duplicate = claim === 'other';
    if (oversold || duplicate) await close(deps, s, duplicate ? DUPLICATE_REASON : OVERSOLD_REASON);
    await deps.ledger.markReconciled(s.rebuild_id, s.order_id, oversold ? 'oversold' : 'taken');
    deps.log.warn('straggler reconciled after a rebuild', { order_id: s.order_id, oversold, duplicate });
    done++;
  }
  return done;
}

async function close(deps: SettleDeps, s: Straggler, why: string): Promise<void> {
  const t = await closeHolding(deps.settlement, s.order_id, 'system:reconcile', why);
  // Already released (cancelled, expired, failed): its own release gives the units back.
  const releases: ReleaseTicket[] = t?.release ? [t.release] : [];
  await releaseNow(deps, releases);
}
