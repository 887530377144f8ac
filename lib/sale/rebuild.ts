// Rebuilding a product's inventory state after Redis lost it (a wipe, or a failover without the
// last writes). The reference project "rebuilt lazily from the database" and oversold; this one:
//  - is exclusive: one rebuilder per product (a lock), and the product answers 503 meanwhile;
//  - waits out a time fence (a createOrder that reserved before the loss has sent its message or
//    died by then), then until the queue is empty, and refuses while the DLQ holds messages (their
//    units would be unaccounted): orders accepted but still on their way are counted;
//  - records the PostgreSQL snapshot it counted from: any order it still missed (a send held past
//    the fence, a message the approximate queue counters hid) is found exactly and reconciled
//    (lib/sale/reconcile.ts), so no order is counted twice or never;
//  - sets `available` to stock_total - reserved - paid as PostgreSQL proves it, never above.
import { randomUUID } from 'node:crypto';
import type {
  BulkExpiry,
  Logger,
  OrderLocks,
  OrderQueue,
  OutboxInventory,
  ProductScope,
  QueueBacklog,
  RebuildingInventory,
  RebuildSource,
  SettlementQueries,
} from './ports';
import { inScope } from './product-scope';
import { closeKeyedDuplicates, expireOverdueOf, surfaceOversold } from './rebuild-closes';
import { chunks } from './release-units';
import type { Product } from './types';

export interface RebuildDeps {
  inventory: RebuildingInventory & Pick<OutboxInventory, 'staleOutbox'>;
  source: RebuildSource;
  /**
   * Expires overdue reservations and closes orders sold beyond stock after a rollback (their
   * releases are counted by the rebuild)
   */
  settlement: OrderLocks & Pick<SettlementQueries, 'overdueReservations'> & BulkExpiry;
  /** re-sends what a closed product's outbox holds, so the drain below waits for it */
  queue: OrderQueue;
  backlog: QueueBacklog;
  log: Logger;
  /** REBUILD_DEFAULTS when omitted */
  opts?: RebuildOpts;
}

export interface RebuildOpts {
  lock_ttl_ms: number;
  /**
   * No rebuild counts before this long after the product was closed: the longest a createOrder can
   * hold a reservation unsent (its function timeout, send retries included).
   */
  fence_ms: number;
  /** how long to wait for the queue to drain before giving up until the next run */
  drain_wait_ms: number;
  poll_ms: number;
}

export const REBUILD_DEFAULTS: RebuildOpts = {
  lock_ttl_ms: 120_000,
  fence_ms: 10_000,
  drain_wait_ms: 20_000,
  poll_ms: 250,
};

export type RebuildOutcome =
  | 'rebuilt'
  | 'busy'
  | 'fenced'
  | 'queue_not_drained'
  | 'outbox_not_drained'
  | 'dlq_not_empty'
  | 'raced'
  | 'failed';

/**
 * Rebuilds every product PostgreSQL knows whose Redis state is not complete (no marker: lost, never
 * loaded, or a rebuild that stopped part-way — those are retried here, run after run). All of them
 * are closed first, then the queue drains once, then each is recomputed: no product is ever open
 * with half its state.
 */
export async function rebuildMissing(
  deps: RebuildDeps,
  opts: RebuildOpts = deps.opts ?? REBUILD_DEFAULTS,
  scope: ProductScope = null,
): Promise<{ product_id: number; outcome: RebuildOutcome }[]> {
  const products = inScope(await deps.source.products(), scope, (p) => p.id);
  await recordLateReopens(deps, products);
  await closeRolledBack(deps, scope);
  const missing = new Set(await deps.inventory.incompleteProducts(products.map((p) => p.id)));
  const closed: { product: Product; token: string; closed_ms: number }[] = [];
  const results: { product_id: number; outcome: RebuildOutcome }[] = [];
  const toRebuild = products.filter((x) => missing.has(x.id));
  // A fence counts from the first close, unless Redis sold after it (a restored snapshot taken
  // mid-rebuild holds that close): then from this one (review 41).
  const reopened = await deps.source.lastReopened(toRebuild.map((p) => p.id));
  for (const product of toRebuild) {
    const token = randomUUID();
    const began = await deps.inventory.beginRebuild(
      product,
      token,
      opts.lock_ttl_ms,
      reopened.get(product.id),
    );
    if (began) closed.push({ product, token, closed_ms: began.closed_ms });
    else results.push({ product_id: product.id, outcome: 'busy' });
  }
  if (closed.length === 0) return results;
  deps.log.warn('rebuilding product state from PostgreSQL', { product_ids: closed.map((c) => c.product.id) });
  // From here the products stay closed (503) until finished; giving up leaves them closed (no
  // marker) and frees the locks, so the next release run tries again.
  const backlog = await fenceAndDrain(deps, closed, opts);
  for (const c of closed) {
    results.push({
      product_id: c.product.id,
      outcome: await attempt(deps, c.product, c.token, backlog, opts),
    });
  }
  return results;
}

/**
 * Waits out the time fence, re-sends the closed products' outboxes, then waits for the queue to
 * drain; the backlog it read, or null when the fence is beyond this run's drain budget. The drain
 * and every product's outbox wait share one budget (`drain_wait_ms` from the end of the fence), so
 * a run stays within its function's timeout however many products it rebuilds.
 */
async function fenceAndDrain(
  deps: RebuildDeps,
  closed: { product: Product; closed_ms: number }[],
  opts: RebuildOpts,
): Promise<Backlog | null> {
  if (!(await waitForFence(Math.max(...closed.map((c) => c.closed_ms)), opts))) return null;
  const deadline_ms = Date.now() + opts.drain_wait_ms;
  await resendOutboxes(
    deps,
    closed.map((c) => c.product.id),
    deadline_ms,
  );
  return { ...(await waitForDrain(deps.backlog, deadline_ms, opts.poll_ms)), deadline_ms };
}

type Backlog = { queue: number; dlq: number; deadline_ms: number };

/** Finishes a rebuild if the fence passed (backlog read) and nothing is on its way; else gives up. */
async function attempt(
  deps: RebuildDeps,
  product: Product,
  token: string,
  backlog: Backlog | null,
  opts: RebuildOpts,
): Promise<RebuildOutcome> {
  let outcome: RebuildOutcome = 'failed';
  try {
    outcome = (await notYet(deps, product.id, backlog, opts)) ?? (await finish(deps, product, token));
  } catch (err) {
    // One product's failure (PostgreSQL gone mid-count, a bug) must not leave the other closed
    // products locked and unrebuilt, nor stop the rest of the release run: this one stays closed,
    // its lock freed, and the next run tries again.
    deps.log.error('rebuild failed', { product_id: product.id, error: String(err) });
  } finally {
    if (outcome !== 'rebuilt') await deps.inventory.abandonRebuild(product.id, token);
  }
  return outcome;
}

/** Why this product cannot be counted yet, or null when everything it sold is in PostgreSQL. */
async function notYet(
  deps: RebuildDeps,
  product_id: number,
  backlog: Backlog | null,
  opts: RebuildOpts,
): Promise<RebuildOutcome | null> {
  if (backlog === null) return 'fenced';
  if (backlog.dlq > 0) return 'dlq_not_empty';
  if (backlog.queue > 0) return 'queue_not_drained';
  if (!(await outboxDrained(deps, product_id, backlog.deadline_ms, opts.poll_ms)))
    return 'outbox_not_drained';
  return null;
}

/**
 * A rolled-back Redis holds outbox entries of orders PostgreSQL acknowledged after the point it
 * went back to, and rebuild.lua refuses to reopen over a non-empty outbox. The products are closed
 * and past the fence, so every entry is an order already sent, persisted or lost: sent once more
 * (the consumer is idempotent on the order id, and its ack empties the entry), they are drained
 * with the rest and the rebuild finishes in this run. Before, the release run's own re-send came
 * after the rebuild, skipped entries younger than its grace, and the product stayed closed for
 * two or three runs.
 */
async function resendOutboxes(deps: RebuildDeps, product_ids: number[], deadline_ms: number): Promise<void> {
  const pending = await deps.inventory.staleOutbox(product_ids, 0, OUTBOX_RESEND_MAX);
  let failed = 0;
  let started = 0;
  // A few at a time: all 5,000 at once would queue behind the client's 64 sockets, and the SDK's
  // 2 s request timer runs while a request waits for one (the tail fails, its entry left for the
  // next run), with a createOrder sharing the client (the local stack runs functions in one
  // process) waiting behind them (review, not measured).
  // None started past the drain budget: with the queue not answering, each send waits out the
  // client's request timeout twice (~4 s), and 5,000 entries, 16 at a time, held the run (the rebuild
  // is its first step) for some twenty minutes instead of giving up within the budget.
  for (const batch of chunks(pending, OUTBOX_RESEND_CONCURRENCY)) {
    if (Date.now() > deadline_ms) break;
    started += batch.length;
    const sent = await Promise.allSettled(batch.map((order) => deps.queue.send(order)));
    failed += sent.filter((r) => r.status === 'rejected').length;
  }
  if (pending.length) {
    deps.log.warn('outbox re-sent for the rebuild', {
      orders: pending.length,
      failed,
      ...(started < pending.length ? { left_for_next_run: pending.length - started } : {}),
    });
  }
}

/**
 * Waits, within the drain budget, until the product's outbox is empty: an entry leaves it only once
 * its order is committed in PostgreSQL, so the snapshot then counts every order it held. The queue's
 * counters are approximate and can read empty while a re-sent order is still on its way; persisted
 * after the snapshot, it would be a straggler, reconciled against units sold since the reopening
 * (review 40). rebuild.lua still refuses a non-empty outbox: this only avoids needing it.
 */
async function outboxDrained(
  deps: RebuildDeps,
  product_id: number,
  deadline_ms: number,
  poll_ms: number,
): Promise<boolean> {
  for (;;) {
    if ((await deps.inventory.staleOutbox([product_id], 0, 1)).length === 0) return true;
    if (Date.now() > deadline_ms) return false;
    await new Promise((r) => setTimeout(r, poll_ms));
  }
}

/** Bounds one rebuild's re-send; what is left is re-sent by the next run's attempt. */
const OUTBOX_RESEND_MAX = 5000;
/**
 * Sends in flight at once, well under the SQS client's 64 sockets (lib/queue/sqs.ts): the rebuild's
 * re-send and the release run's.
 */
export const OUTBOX_RESEND_CONCURRENCY = 16;

/** Waits until the fence has passed, if that is within this run's drain budget; false if not. */
async function waitForFence(closed_ms: number, opts: RebuildOpts): Promise<boolean> {
  const wait_ms = closed_ms + opts.fence_ms - Date.now();
  if (wait_ms > opts.drain_wait_ms) return false;
  if (wait_ms > 0) await new Promise((r) => setTimeout(r, wait_ms));
  return true;
}

/**
 * A partial rollback closes the product for the rebuild: proven by PostgreSQL's reservation
 * sequences, or by releases and stock changes PostgreSQL recorded as applied in Redis that Redis
 * no longer holds.
 */
async function closeRolledBack(deps: RebuildDeps, scope: ProductScope): Promise<void> {
  for (const e of inScope(await deps.source.rollbackEvidence(), scope, (e) => e.product_id)) {
    if (await deps.inventory.closeIfBehind(e)) {
      deps.log.error('Redis lost acknowledged writes (partial rollback): product closed for a rebuild', {
        ...e,
      });
    }
  }
  // One call per product with recent writes, all at once: a busy sale's run stays short.
  const evidence = inScope(await deps.source.writeEvidence(), scope, (e) => e.product_id);
  const closed = await Promise.all(evidence.map((e) => deps.inventory.closeIfForgotten(e)));
  evidence.forEach((e, i) => {
    if (!closed[i]) return;
    deps.log.error(
      'Redis lost applied releases, retakes, straggler reconciles or stock changes (partial rollback): product closed for a rebuild',
      {
        product_id: e.product_id,
        releases_checked: e.released_order_ids.length,
        retakes_checked: e.retaken_order_ids.length,
        reconciles_checked: e.reconciled_order_ids.length,
        adjustments_checked: e.applied_adjustment_ids.length,
      },
    );
  });
}

/**
 * A rebuilder that died after Redis reopened the product but before PostgreSQL recorded it leaves
 * the generation live but unknown: its stragglers would never be reconciled (they are looked for
 * under reopened rebuilds only) and the write evidence would be read for an older generation. The
 * reopening time is in Redis (rebuild.lua): recorded here, first, so this run's checks use it.
 */
async function recordLateReopens(deps: RebuildDeps, products: Product[]): Promise<void> {
  const live = await deps.inventory.liveGenerations(products.map((p) => p.id));
  const recorded = await deps.source.recordReopens(live);
  if (recorded.length) deps.log.warn("a rebuild's reopening recorded late", { rebuild_ids: recorded });
}

async function finish(deps: RebuildDeps, product: Product, token: string): Promise<RebuildOutcome> {
  const duplicates = await closeKeyedDuplicates(deps, product.id);
  if (duplicates.length)
    deps.log.error('second orders under one Idempotency-Key closed', {
      product_id: product.id,
      order_ids: duplicates,
    });
  await expireOverdueOf(deps, product.id);
  let state = await deps.source.state(product);
  if (state.available < 0) {
    const units_over = -state.available;
    await surfaceOversold(deps, product.id, units_over);
    deps.log.error('orders sold beyond stock closed', { product_id: product.id, units_over });
    state = await deps.source.state(product);
  }
  if (state.available < 0) {
    deps.log.error('PostgreSQL holds more units than stock_total: product stays closed', {
      product_id: product.id,
      held_units: state.held_units,
    });
    return 'raced';
  }
  const r = await deps.inventory.finishRebuild(product.id, token, state);
  if (r.status !== 'ok') return 'raced';
  await deps.source.reopened(state.rebuild_id, r.reopened_ms);
  // Only the releases this snapshot counted: one committed after it is still owed to Redis.
  await deps.source.markReleased(state.released_order_ids);
  deps.log.warn('product state rebuilt', { product_id: product.id, available: state.available });
  return 'rebuilt';
}

async function waitForDrain(
  backlog: QueueBacklog,
  deadline_ms: number,
  poll_ms: number,
): Promise<{ queue: number; dlq: number }> {
  let quiet = 0;
  for (;;) {
    const d = await backlog.depth();
    if (d.dlq > 0) return d;
    // Two empty readings in a row: the queue's counters are approximate.
    quiet = d.queue === 0 ? quiet + 1 : 0;
    if (quiet >= 2 || Date.now() > deadline_ms) return d;
    await new Promise((r) => setTimeout(r, poll_ms));
  }
}
