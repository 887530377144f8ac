// Stragglers after a rebuild: orders accepted before Redis lost a product's data that reached
// PostgreSQL only after the rebuild counted (a send held past the time fence, a message the queue's
// counters missed). PostgreSQL says exactly which (lib/orders/release-ledger.ts uncounted); their units
// are taken in Redis once. If they had been sold again meanwhile, the straggler is the order that
// cannot be honoured: unpaid it ends `cancelled`, paid it ends `refund_required`, both with the
// reason below, and its release gives the units back — so nothing stays oversold.

import { transitionOrder } from './order-transition';
import type { ReleaseTicket, Straggler } from './ports';
import { releaseNow, type SettleDeps } from './release-units';

const OVERSOLD_REASON = 'oversold_after_rebuild';

export async function reconcileStragglers(deps: SettleDeps, stragglers: Straggler[]): Promise<number> {
  let done = 0;
  for (const s of stragglers) {
    const r = await deps.inventory.reconcile(s, s.rebuild_id);
    // Being rebuilt (the new rebuild counts it) or another generation: judged again next run.
    if (!('available' in r)) continue;
    const oversold = r.available < 0;
    if (oversold) await closeOversold(deps, s);
    await deps.ledger.markReconciled(s.rebuild_id, s.order_id, oversold ? 'oversold' : 'taken');
    deps.log.warn('straggler reconciled after a rebuild', { order_id: s.order_id, oversold });
    done++;
  }
  return done;
}

async function closeOversold(deps: SettleDeps, s: Straggler): Promise<void> {
  const why = `${OVERSOLD_REASON}: accepted before the data loss, reached PostgreSQL after the rebuild, units sold again`;
  const t =
    (await transitionOrder(
      deps.settlement,
      s.order_id,
      ['reserved'],
      'cancelled',
      'system:reconcile',
      why,
    )) ??
    (await transitionOrder(
      deps.settlement,
      s.order_id,
      ['paid'],
      'refund_required',
      'system:reconcile',
      why,
    ));
  // Already released (cancelled, expired, failed): its own release gives the units back.
  const releases: ReleaseTicket[] = t?.release ? [t.release] : [];
  await releaseNow(deps, releases);
}
