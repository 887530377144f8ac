// Stragglers after a rebuild: orders accepted before Redis lost a product's data that reached
// PostgreSQL only after the rebuild counted (a send held past the time fence, a message the queue's
// counters missed). PostgreSQL says exactly which (lib/orders/release-ledger.ts uncounted); their units
// are taken in Redis once, and one created under an Idempotency-Key gets the key's record back.
// An order that cannot be honoured ends `cancelled` unpaid or `refund_required` paid, with the reason
// below, and its release gives the units back: nothing stays oversold and one key holds one order.
//  - units sold again meanwhile: the straggler goes;
//  - a retry under its key made a second order meanwhile (Redis had lost the key's record): the
//    order the client saw last (the retry's) keeps the key, unless only the straggler is paid.

import { closeHolding } from './order-transition';
import type { ReleaseTicket, Straggler } from './ports';
import { releaseNow, type SettleDeps } from './release-units';

const OVERSOLD_REASON =
  'oversold_after_rebuild: accepted before the data loss, reached PostgreSQL after the rebuild, units sold again';
const DUPLICATE_REASON =
  'duplicate_after_rebuild: accepted before the data loss, reached PostgreSQL after a retry under its Idempotency-Key made a second order';
const RETRY_DUPLICATE_REASON =
  'duplicate_after_rebuild: a retry under an Idempotency-Key whose first order (paid) reached PostgreSQL after the rebuild';

type Loser = { order_id: string; why: string };

export async function reconcileStragglers(deps: SettleDeps, stragglers: Straggler[]): Promise<number> {
  let done = 0;
  for (const s of stragglers) {
    const r = await deps.inventory.reconcile(s, s.rebuild_id);
    // Being rebuilt (the new rebuild counts it) or another generation: judged again next run.
    if (!('available' in r)) continue;
    const oversold = r.available < 0;
    const loser = oversold ? { order_id: s.order_id, why: OVERSOLD_REASON } : await keyLoser(deps, s);
    if (loser === 'unavailable') continue;
    if (loser) await close(deps, loser);
    await deps.ledger.markReconciled(s.rebuild_id, s.order_id, oversold ? 'oversold' : 'taken');
    deps.log.warn('straggler reconciled after a rebuild', {
      order_id: s.order_id,
      oversold,
      ...(loser && !oversold ? { duplicate_closed: loser.order_id } : {}),
    });
    done++;
  }
  return done;
}

/** The straggler's key back; if it answers another order already, which of the two goes (null: none). */
async function keyLoser(deps: SettleDeps, s: Straggler): Promise<Loser | null | 'unavailable'> {
  if (!s.keyed) return null;
  const { order, idempotency_key } = s.keyed;
  const claim = await deps.inventory.claimReplay(order, idempotency_key, false);
  if (claim.kind !== 'other') return claim.kind === 'unavailable' ? 'unavailable' : null;
  if (!(await paying(deps, s.order_id)) || (await paying(deps, claim.order_id))) {
    return { order_id: s.order_id, why: DUPLICATE_REASON };
  }
  const taken = await deps.inventory.claimReplay(order, idempotency_key, true);
  return taken.kind === 'unavailable'
    ? 'unavailable'
    : { order_id: claim.order_id, why: RETRY_DUPLICATE_REASON };
}

/** Paid, or a successful payment stored for it that waits for the order (an early webhook). */
async function paying(deps: SettleDeps, order_id: string): Promise<boolean> {
  if ((await deps.orders.get(order_id))?.status === 'paid') return true;
  const pending = await deps.settlement.pendingPayments([order_id]);
  return pending.some((e) => e.type === 'payment.succeeded');
}

async function close(deps: SettleDeps, loser: Loser): Promise<void> {
  const t = await closeHolding(deps.settlement, loser.order_id, 'system:reconcile', loser.why);
  // Already released (cancelled, expired, failed): its own release gives the units back.
  const releases: ReleaseTicket[] = t?.release ? [t.release] : [];
  await releaseNow(deps, releases);
}
