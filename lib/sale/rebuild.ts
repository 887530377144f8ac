// Rebuilding a product's inventory state after Redis lost it (a wipe, or a failover without the
// last writes). The reference project "rebuilt lazily from the database" and oversold; this one:
//  - is exclusive: one rebuilder per product (a lock), and the product answers 503 meanwhile;
//  - waits until every order message has reached PostgreSQL (the queue is empty) and refuses while
//    the DLQ holds messages (their units would be unaccounted): orders accepted but still on their
//    way are counted, never forgotten;
//  - sets `available` to stock_total - reserved - paid as PostgreSQL proves it, never above.
import { randomUUID } from 'node:crypto';
import type { Inventory, Logger, QueueBacklog, RebuildSource } from './ports';
import type { Product } from './types';

export interface RebuildDeps {
  inventory: Inventory;
  source: RebuildSource;
  backlog: QueueBacklog;
  log: Logger;
}

export interface RebuildOpts {
  lock_ttl_ms: number;
  /** how long to wait for the queue to drain before giving up until the next run */
  drain_wait_ms: number;
  poll_ms: number;
}

export const REBUILD_DEFAULTS: RebuildOpts = { lock_ttl_ms: 120_000, drain_wait_ms: 20_000, poll_ms: 250 };

export type RebuildOutcome = 'rebuilt' | 'busy' | 'queue_not_drained' | 'dlq_not_empty' | 'raced';

/**
 * Rebuilds every product PostgreSQL knows whose Redis state is not complete (no marker: lost, never
 * loaded, or a rebuild that stopped part-way — those are retried here, run after run). All of them
 * are closed first, then the queue drains once, then each is recomputed: no product is ever open
 * with half its state.
 */
export async function rebuildMissing(
  deps: RebuildDeps,
  opts: RebuildOpts = REBUILD_DEFAULTS,
): Promise<{ product_id: number; outcome: RebuildOutcome }[]> {
  const products = await deps.source.products();
  const missing = new Set(await deps.inventory.incompleteProducts(products.map((p) => p.id)));
  const closed: { product: Product; token: string }[] = [];
  const results: { product_id: number; outcome: RebuildOutcome }[] = [];
  for (const product of products.filter((x) => missing.has(x.id))) {
    const token = randomUUID();
    if (await deps.inventory.beginRebuild(product, token, opts.lock_ttl_ms)) closed.push({ product, token });
    else results.push({ product_id: product.id, outcome: 'busy' });
  }
  if (closed.length === 0) return results;
  deps.log.warn('rebuilding product state from PostgreSQL', { product_ids: closed.map((c) => c.product.id) });
  // From here the products stay closed (503) until finished; giving up leaves them closed and the
  // locks expire, so the next release run tries again.
  const backlog = await waitForDrain(deps.backlog, opts);
  for (const c of closed) {
    const outcome: RebuildOutcome =
      backlog.dlq > 0
        ? 'dlq_not_empty'
        : backlog.queue > 0
          ? 'queue_not_drained'
          : await finish(deps, c.product, c.token);
    results.push({ product_id: c.product.id, outcome });
  }
  return results;
}

/** Rebuilds one product (the operator's forced rebuild goes through here too). */
export async function rebuildProduct(
  deps: RebuildDeps,
  product: Product,
  opts: RebuildOpts,
): Promise<RebuildOutcome> {
  const token = randomUUID();
  if (!(await deps.inventory.beginRebuild(product, token, opts.lock_ttl_ms))) return 'busy';
  const backlog = await waitForDrain(deps.backlog, opts);
  if (backlog.dlq > 0) return 'dlq_not_empty';
  if (backlog.queue > 0) return 'queue_not_drained';
  return finish(deps, product, token);
}

async function finish(deps: RebuildDeps, product: Product, token: string): Promise<RebuildOutcome> {
  const state = await deps.source.state(product);
  if (state.available < 0) {
    deps.log.error('PostgreSQL holds more units than stock_total: product stays closed', {
      product_id: product.id,
      held_units: state.held_units,
    });
    return 'raced';
  }
  const r = await deps.inventory.finishRebuild(product.id, token, state);
  if (r !== 'ok') return 'raced';
  // Only the releases this snapshot counted: one committed after it is still owed to Redis.
  await deps.source.markReleased(state.released_order_ids);
  deps.log.warn('product state rebuilt', { product_id: product.id, available: state.available });
  return 'rebuilt';
}

async function waitForDrain(
  backlog: QueueBacklog,
  opts: RebuildOpts,
): Promise<{ queue: number; dlq: number }> {
  const deadline = Date.now() + opts.drain_wait_ms;
  let quiet = 0;
  for (;;) {
    const d = await backlog.depth();
    if (d.dlq > 0) return d;
    // Two empty readings in a row: the queue's counters are approximate.
    quiet = d.queue === 0 ? quiet + 1 : 0;
    if (quiet >= 2 || Date.now() > deadline) return d;
    await new Promise((r) => setTimeout(r, opts.poll_ms));
  }
}
