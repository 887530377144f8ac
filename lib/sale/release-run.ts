// The release run (every minute, and on demand): expire overdue reservations, re-send outbox
// entries whose message never produced an order, apply stranded cancels and payment events (those a
// crash left unapplied after their order was persisted), finish releases
// committed in PostgreSQL but not applied in Redis, and orphan payments never matched.
// Safe when two runs overlap: every step is a conditional transition or an idempotent call.
import { applyEarlyCancels } from './cancel-order';
import { finishPendingAdjustments } from './catalog';
import { expireOverdue } from './expire-orders';
import { NEVER_RETAKEN } from './order-rules';
import type { CatalogInventory, OrderQueue, ProductStore } from './ports';
import { inScope } from './product-scope';
import { OUTBOX_RESEND_CONCURRENCY, type RebuildDeps, rebuildMissing } from './rebuild';
import { reconcileStragglers } from './reconcile';
import { releaseNow, type SettleDeps } from './release-units';
import { applyPendingPayments, settleUnconfirmedRetakes } from './settle-payment';

export interface ReleaseRunDeps extends SettleDeps {
  inventory: SettleDeps['inventory'] & Pick<CatalogInventory, 'repair' | 'adjustStock'>;
  queue: OrderQueue;
  /** the durable product list: what the run covers never depends on a Redis key */
  products: ProductStore;
  /** when given, products whose Redis state is missing are rebuilt first */
  rebuild?: RebuildDeps;
}

export interface ReleaseRunOpts {
  /** most items handled per step and run: a bound, so one run never grows without limit */
  batch_max: number;
  /** an outbox entry younger than this is probably still on its way through the queue */
  outbox_grace_ms: number;
  /**
   * No re-send starts after this long: a queue that does not answer (each send then waits out the
   * SQS client's request timeout, twice) must not hold the run past its function's timeout, with
   * the steps after the re-send never reached. What is left is re-sent by the next run.
   */
  outbox_resend_budget_ms: number;
  /** a release marker younger than this probably belongs to a live request finishing now */
  reapply_after_s: number;
  /** a pending stock adjustment younger than this probably belongs to a PATCH finishing now */
  adjust_after_s: number;
  orphan_after_h: number;
  /**
   * A final order's `released` entry is pruned this long after its release was applied in Redis.
   * Longer than any run can last, so a release attempt that read its ticket before the release
   * was stamped has finished (and found the entry) before the entry goes: release stays exactly-once.
   */
  prune_after_s: number;
  /**
   * Only these products (the tests' runs: a test file's own products, so no run of another file
   * settles what a test holds pending on purpose). Absent: every product, as production runs.
   * Payment events matched by no order belong to no product and are orphaned either way.
   */
  product_ids?: readonly number[];
}

export const RELEASE_RUN_DEFAULTS: ReleaseRunOpts = {
  batch_max: 2000,
  outbox_grace_ms: 30_000,
  outbox_resend_budget_ms: 10_000,
  reapply_after_s: 10,
  adjust_after_s: 10,
  orphan_after_h: 24,
  prune_after_s: 3600,
};

export interface ReleaseRunReport {
  rebuilt: { product_id: number; outcome: string }[];
  /** stragglers whose units were taken after a rebuild (see lib/sale/reconcile.ts) */
  reconciled: number;
  expired: number;
  outbox_resent: number;
  outbox_send_failed: number;
  /** cancels recorded before persistence, applied here because persistOrders died before it could */
  stranded_cancels_applied: number;
  stranded_payments_applied: number;
  releases_reapplied: number;
  /** late-payment retakes whose unit of work never committed, given back (see settle-payment.ts) */
  retakes_undone: number;
  /** stock adjustments a PATCH recorded but never settled, decided now */
  adjustments_settled: number;
  /** `released` hash entries of final orders removed from Redis */
  releases_pruned: number;
  orphaned: number;
  duration_ms: number;
}

export async function runRelease(deps: ReleaseRunDeps, opts: ReleaseRunOpts): Promise<ReleaseRunReport> {
  const t0 = performance.now();
  const scope = opts.product_ids ?? null;
  const rebuilt = deps.rebuild ? await rebuildMissing(deps.rebuild, undefined, scope) : [];
  // The backstop for stragglers persisted by a batch that died before reconciling them.
  const reconciled = await reconcileStragglers(
    deps,
    await deps.ledger.uncounted(null, opts.batch_max, scope),
  );
  const products = inScope(await deps.products.list(), scope, (p) => p.id);
  const product_ids = products.map((p) => p.id);
  await deps.inventory.repair(products);
  const expired = await expireOverdue(deps, opts.batch_max, scope);
  const outbox = await resendOutbox(deps, product_ids, opts);
  // Before the payments, as persistOrders orders them: the customer asked before any payment could
  // reach the row.
  const stranded_cancels = await applyEarlyCancels(
    deps,
    await deps.settlement.strandedCancelOrders(opts.batch_max, scope),
  );
  const stranded = await applyPendingPayments(
    deps,
    await deps.settlement.strandedPaymentOrders(opts.batch_max, scope),
  );
  // Before the leftovers: an undone "held" retake leaves its expiry's release to be stamped there.
  const retakes_undone = await settleUnconfirmedRetakes(
    deps,
    product_ids,
    opts.reapply_after_s * 1000,
    opts.batch_max,
  );
  const leftovers = await deps.ledger.unappliedReleases(opts.reapply_after_s, opts.batch_max, scope);
  await releaseNow(deps, leftovers);
  const adjustments_settled = await finishPendingAdjustments(
    deps,
    opts.adjust_after_s,
    opts.batch_max,
    scope,
  );
  const pruned = await pruneReleased(deps, product_ids, opts);
  const orphaned = await deps.settlement.orphanStalePayments(opts.orphan_after_h);
  return {
    rebuilt,
    reconciled,
    expired,
    outbox_resent: outbox.sent,
    outbox_send_failed: outbox.failed,
    stranded_cancels_applied: stranded_cancels,
    stranded_payments_applied: stranded.length,
    releases_reapplied: leftovers.length,
    retakes_undone,
    adjustments_settled,
    releases_pruned: pruned,
    orphaned,
    duration_ms: Math.round(performance.now() - t0),
  };
}

/**
 * Re-sends are harmless: the consumer is idempotent on the order id. A few at a time, and none
 * started past the budget: one after the other, 2,000 entries took over a minute with the queue
 * refusing connections (~33 ms a failed send) and 15 took a minute with it not answering (~4 s),
 * past the function's 55 s, so the run never reached its later steps while the queue was down.
 */
async function resendOutbox(
  deps: ReleaseRunDeps,
  product_ids: number[],
  opts: ReleaseRunOpts,
): Promise<{ sent: number; failed: number }> {
  const stale = await deps.inventory.staleOutbox(product_ids, opts.outbox_grace_ms, opts.batch_max);
  const deadline = performance.now() + opts.outbox_resend_budget_ms;
  let next = 0;
  let sent = 0;
  let failed = 0;
  const sender = async () => {
    while (next < stale.length && performance.now() < deadline) {
      const order = stale[next++]!;
      try {
        await deps.queue.send(order);
        sent++;
      } catch (err) {
        failed++;
        deps.log.warn('outbox re-send failed', { order_id: order.order_id, error: String(err) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(OUTBOX_RESEND_CONCURRENCY, stale.length) }, sender));
  if (next < stale.length) {
    deps.log.warn('outbox re-send stopped at its time budget; the next run sends the rest', {
      left: stale.length - next,
      sent,
      failed,
    });
  }
  return { sent, failed };
}

/**
 * Bounds Redis memory per completed order: forgets the `released` entries of orders no payment can
 * retake (never `expired`) once PostgreSQL records the release as applied. A late payment is judged
 * by that record (retake.lua), and no release re-runs for a stamped order (unappliedReleases).
 */
async function pruneReleased(
  deps: ReleaseRunDeps,
  product_ids: number[],
  opts: ReleaseRunOpts,
): Promise<number> {
  if (product_ids.length === 0) return 0;
  const found = await deps.ledger.prunableReleases(
    product_ids,
    NEVER_RETAKEN,
    opts.prune_after_s,
    opts.batch_max,
  );
  const byProduct = new Map<number, string[]>();
  for (const r of found) byProduct.set(r.product_id, [...(byProduct.get(r.product_id) ?? []), r.order_id]);
  for (const [product_id, order_ids] of byProduct) {
    await deps.inventory.forgetReleases(product_id, order_ids);
    await deps.ledger.markPruned(order_ids);
  }
  return found.length;
}
