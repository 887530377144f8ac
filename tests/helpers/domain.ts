// In-process access to the same Redis/PostgreSQL/queue the stack uses, for tests that must
// control timing (reserve without sending, run the release work now).
import { inventory, orderQueue, settleDeps } from '../../lib/container';
import { db } from '../../lib/orders/db';
import { pgRebuildSource } from '../../lib/orders/rebuild-source';
import { pgSettlementStore } from '../../lib/orders/settlement-store';
import { domainLog } from '../../lib/platform/logger';
import type { OrderQueue, QueueBacklog, RebuildSource } from '../../lib/sale/ports';
import { REBUILD_DEFAULTS, type RebuildOpts } from '../../lib/sale/rebuild';
import { RELEASE_RUN_DEFAULTS, type ReleaseRunOpts, runRelease } from '../../lib/sale/release-run';
import { ownProducts } from './api';

export { reserveUnsent } from '../../infra/local/overdue-orders';

/**
 * The release run now, over this test file's own products only (`newProduct`): what another file
 * holds on purpose (a pending adjustment, an unsent order, an overdue reservation) is never touched
 * by it, so it takes everything of its own at once (no grace, no age threshold).
 */
export async function releaseRun(opts: Partial<ReleaseRunOpts> = {}) {
  return runRelease(settleDeps(), {
    ...RELEASE_RUN_DEFAULTS,
    outbox_grace_ms: 0,
    reapply_after_s: 0,
    adjust_after_s: 0,
    product_ids: [...ownProducts],
    ...opts,
  });
}

/**
 * One release run as the schedule runs it: rebuild first, then the rest, over this file's products
 * (no time fence unless asked). The rebuild waits for `backlog`'s queue and DLQ to be empty: give it
 * a pair of the test's own, so another test's poison message in the shared DLQ cannot hold it back.
 */
export async function runWithRebuild(
  backlog: QueueBacklog,
  rebuild: Partial<RebuildOpts> = {},
  source: RebuildSource = pgRebuildSource(db()),
  /** where the rebuild re-sends a closed product's outbox (the stack's queue unless given) */
  queue: OrderQueue = orderQueue(),
) {
  return runRelease(
    {
      ...settleDeps(),
      rebuild: {
        inventory: inventory(),
        source,
        settlement: pgSettlementStore(db()),
        queue,
        backlog,
        log: domainLog,
        opts: { ...REBUILD_DEFAULTS, fence_ms: 0, ...rebuild },
      },
    },
    { ...RELEASE_RUN_DEFAULTS, reapply_after_s: 0, product_ids: [...ownProducts] },
  );
}

export async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeout_ms = 30_000,
) {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}
