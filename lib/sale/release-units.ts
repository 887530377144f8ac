// Giving units back after a transition that freed them committed in PostgreSQL (its release marker
// committed with it). Only the winner of the transition calls this; the Redis release is idempotent
// per order id, and the marker lets the release run finish a release that a crash interrupted.
import type {
  Logger,
  OrderStore,
  OutboxInventory,
  ReleaseLedger,
  ReleaseTicket,
  SettlementStore,
  SettlingInventory,
  Straggler,
} from './ports';

/** Most orders given back in one inventory call (one Lua call per product and chunk). */
export const RELEASE_BATCH_MAX = 500;

export interface ReleaseDeps {
  inventory: Pick<SettlingInventory, 'releaseBatch' | 'reconcile' | 'claimReplay'>;
  ledger: Pick<ReleaseLedger, 'markReleased' | 'uncounted' | 'markReconciled'>;
  log: Logger;
}

/** Everything the settle use cases need (payments, cancels, persistence, expiry, the release run). */
export interface SettleDeps {
  inventory: SettlingInventory & OutboxInventory;
  settlement: SettlementStore;
  ledger: ReleaseLedger;
  orders: OrderStore;
  log: Logger;
}

/**
 * Give units back now: one inventory call per product (and chunk), products in parallel. If a call
 * fails, or the product's state is lost or being rebuilt ("deferred": nothing written), those
 * markers stay unstamped: the rebuild counts the orders as free, or the release run applies them.
 */
export async function releaseNow(deps: ReleaseDeps, tickets: ReleaseTicket[]): Promise<void> {
  if (tickets.length === 0) return;
  await countStragglersFirst(deps, tickets);
  const byProduct = new Map<number, ReleaseTicket[]>();
  for (const t of tickets) {
    const group = byProduct.get(t.product_id);
    if (group) group.push(t);
    else byProduct.set(t.product_id, [t]);
  }
  const done = await Promise.all(
    [...byProduct].flatMap(([product_id, group]) =>
      chunks(group, RELEASE_BATCH_MAX).map((chunk) => releaseChunk(deps, product_id, chunk)),
    ),
  );
  await deps.ledger.markReleased(done.flat());
}

/**
 * A straggler (accepted before a loss, persisted after the live rebuild counted) released before it
 * was reconciled — cancelled, failed or expired while the batch that persisted it died — never held
 * units in this Redis state: its units are taken first (reconcile.lua, once per order), so the
 * release gives back what it took. Released without, it would hand out units that exist nowhere,
 * sold twice for good. One PostgreSQL read per call; nothing when no rebuild is live.
 */
async function countStragglersFirst(deps: ReleaseDeps, tickets: ReleaseTicket[]): Promise<void> {
  const stragglers = await deps.ledger.uncounted(
    tickets.map((t) => t.order_id),
    tickets.length,
  );
  for (const s of stragglers) {
    // Its key's record back as well (before the reconcile, as the reconcile path does): a late
    // payment may still make it paid, and a retry must then find it, not make a second order.
    if (s.keyed && (await claimKey(deps, s.keyed)).kind === 'unavailable') continue;
    const r = await deps.inventory.reconcile(s, s.rebuild_id);
    // Not complete or another generation: the release below is deferred too, or judged there.
    if (!('available' in r)) continue;
    const outcome = r.available < 0 ? 'oversold' : r.over_limit ? 'over_limit' : 'taken';
    await deps.ledger.markReconciled(s.rebuild_id, s.order_id, outcome);
  }
}

export type Claim = Awaited<ReturnType<SettlingInventory['claimReplay']>>;

/** A straggler's Idempotency-Key record back, unless the key answers another order already. */
export function claimKey(
  deps: { inventory: Pick<SettlingInventory, 'claimReplay'> },
  keyed: NonNullable<Straggler['keyed']>,
): Promise<Claim> {
  return deps.inventory.claimReplay(keyed.order, keyed.idempotency_key, false);
}

/** The order ids whose release is settled in Redis (given back now or before). */
async function releaseChunk(
  deps: ReleaseDeps,
  product_id: number,
  chunk: ReleaseTicket[],
): Promise<string[]> {
  try {
    const outcomes = await deps.inventory.releaseBatch(product_id, chunk);
    return chunk.filter((_, i) => outcomes[i] !== 'deferred').map((t) => t.order_id);
  } catch (err) {
    const order_ids = chunk.map((t) => t.order_id);
    deps.log.warn('release deferred to the release run', { product_id, order_ids, error: String(err) });
    return [];
  }
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
