// The Redis implementation of the domain's Inventory port. Script outcomes become typed values in
// this adapter and nowhere else: here (reserve, settle, catalog), outbox-reads.ts (audit, stats) and
// rebuild-ops.ts (the rebuild's side); records.ts says how the records look.

import { Cluster, Command } from 'ioredis';
import type { AcceptedOrder } from '../sale/accepted-order';
import type { InventoryReserveResult } from '../sale/outcomes';
import type { Inventory, ProductSnapshot } from '../sale/ports';
import type { Product } from '../sale/types';
import { globalKeys, productKeys } from './keys';
import { outboxReads, parsePending } from './outbox-reads';
import { rebuildOps } from './rebuild-ops';
import {
  CLOCK_SKEW_MAX_S,
  fingerprint,
  flatPairs,
  IDEMPOTENCY_TTL_S,
  INDEX_SENTINEL,
  ORDER_RECORD_TTL_S,
  orderArgs,
  productFields,
  productSettings,
  releaseKeys,
  snapshotFromHash,
} from './records';
import type { ScriptClient, ScriptReply } from './scripts';

export {
  CLOCK_SKEW_MAX_S,
  IDEMPOTENCY_TTL_S,
  ORDER_RECORD_TTL_S,
  productFields,
  productSettings,
} from './records';

export interface ResendBound {
  /** reserve.lua refuses a command sent longer ago than this */
  resend_window_ms: number;
  /** how long a completed order without an Idempotency-Key keeps its record (its tombstone) */
  tombstone_ttl_s: number;
}

/**
 * From the client's settings: a resent command arrives within the command timeout plus the resend
 * window of being sent, so a tombstone kept that long (plus clock skew) after persistence, which
 * is later than the send, is still there when it arrives.
 */
export function resendBound(command_timeout_ms: number, resend_window_s: number): ResendBound {
  const resend_window_ms = command_timeout_ms + resend_window_s * 1000;
  return { resend_window_ms, tombstone_ttl_s: Math.ceil(resend_window_ms / 1000) + CLOCK_SKEW_MAX_S };
}

export function redisInventory(
  redis: ScriptClient,
  prefix: string,
  bound: ResendBound = resendBound(1000, 30),
): Inventory {
  const keysOf = (product_id: number) => productKeys(prefix, product_id);

  /** Off the hot path (only after "product not found"): was this product's state lost? */
  async function stateLost(product_id: number): Promise<boolean> {
    const products = globalKeys(prefix).products;
    const [known, any] = await Promise.all([
      redis.sismember(products, String(product_id)),
      redis.exists(products),
    ]);
    return known === 1 || any === 0;
  }

  /** Counters are never written by a settings update; stock changes go through adjustStock. */
  async function writeSettings(product: Product): Promise<void> {
    const { stock_total: _counter, ...settings } = productSettings(product);
    await redis.lua.loadProduct({
      keys: { sale: keysOf(product.id).sale },
      args: { product_id: product.id, mode: 'update' },
      rest: flatPairs(settings),
    });
  }

  /** Every indexed product's live state, and the indexed ones without any (null: no index at all). */
  async function catalog(): Promise<{ snapshots: ProductSnapshot[]; missing: number[] } | null> {
    // An empty set is a missing key: a loaded product or a release run's repair always wrote one.
    const members = await redis.smembers(globalKeys(prefix).products);
    if (members.length === 0) return null;
    const ids = members.map(Number).filter((id) => id !== INDEX_SENTINEL);
    const hashes = await Promise.all(ids.map((id) => redis.hgetall(keysOf(id).sale)));
    const snapshots: ProductSnapshot[] = [];
    const missing: number[] = [];
    ids.forEach((id, i) => {
      if (hashes[i]!['id'] === undefined) missing.push(id);
      else snapshots.push(snapshotFromHash(hashes[i]!));
    });
    return { snapshots, missing };
  }

  /**
   * The members of each product's time-scored set (the outbox, the unconfirmed retakes) scored
   * before now − `older_than_ms`, at most `limit` in all. Each product gets an equal share first and
   * the rest of the limit goes, in order, to those that had more: taken product by product, one
   * product with thousands of stale entries (its orders' sends failing) took the whole limit run
   * after run while the other products' entries waited.
   */
  async function olderEntries(
    product_ids: number[],
    set: 'outbox' | 'retaking',
    older_than_ms: number,
    limit: number,
  ): Promise<{ product_id: number; order_ids: string[] }[]> {
    const cutoff_ms = Date.now() - older_than_ms;
    const share = Math.ceil(limit / Math.max(1, product_ids.length));
    const found: { product_id: number; order_ids: string[] }[] = [];
    let left = limit;
    /** takes up to `count` from `offset`; true when it got all it asked for (there may be more) */
    const take = async (product_id: number, offset: number, count: number): Promise<boolean> => {
      if (count <= 0) return false;
      const order_ids = await redis.zrangebyscore(
        keysOf(product_id)[set],
        '-inf',
        cutoff_ms,
        'LIMIT',
        offset,
        count,
      );
      left -= order_ids.length;
      if (order_ids.length) found.push({ product_id, order_ids });
      return order_ids.length === count;
    };
    const more: number[] = [];
    for (const product_id of product_ids)
      if (await take(product_id, 0, Math.min(share, left))) more.push(product_id);
    for (const product_id of more) await take(product_id, share, left);
    return found;
  }

  return {
    async reserve(req) {
      const k = keysOf(req.product_id);
      const idem = req.idempotency_key;
      const reply = await redis.lua.reserve({
        keys: {
          sale: k.sale,
          customers: k.customers,
          order: k.order(req.order_id),
          outbox: k.outbox,
          idempotency: idem === null ? k.unused : k.idempotency(req.customer_id, idem),
        },
        args: {
          order_id: req.order_id,
          customer_id: req.customer_id,
          qty: req.qty,
          fingerprint: fingerprint(req),
          idempotency_ttl_s: IDEMPOTENCY_TTL_S,
          has_idempotency_key: idem === null ? '0' : '1',
          product_id: req.product_id,
          idempotency_key: idem ?? '',
          sent_ms: Date.now(), // fixed now: a resend by ioredis carries the original send time
          resend_window_ms: bound.resend_window_ms,
        },
      });
      const result = parseReserveReply(reply);
      if (result.kind === 'product_not_found' && (await stateLost(req.product_id))) {
        return { kind: 'unavailable', reason: 'rebuilding' };
      }
      return result;
    },

    stateLost,

    async snapshots(ids) {
      if (!ids) return (await catalog())?.snapshots ?? [];
      const hashes = await Promise.all(ids.map((id) => redis.hgetall(keysOf(id).sale)));
      return hashes.filter((h) => h['id'] !== undefined).map(snapshotFromHash);
    },

    catalog,

    async loadProduct(product) {
      await redis.lua.loadProduct({
        keys: { sale: keysOf(product.id).sale },
        args: { product_id: product.id, mode: 'create' },
        rest: productFields(product),
      });
      await redis.sadd(globalKeys(prefix).products, String(product.id));
    },

    async pendingOrder(order_id, product_id) {
      const k = keysOf(product_id);
      const [record, score] = await Promise.all([
        redis.get(k.order(order_id)),
        redis.zscore(k.outbox, order_id),
      ]);
      if (record === null || score === null) return null;
      return parsePending(record);
    },

    async cancelFlagged(order_id, product_id) {
      const record = await redis.get(keysOf(product_id).order(order_id));
      return record !== null && parsePending(record).cancel_pending;
    },

    async beingRebuilt(product_id) {
      const complete = await redis.hget(keysOf(product_id).sale, 'complete');
      return complete !== '1' && (await stateLost(product_id));
    },

    async liveCut(product_id) {
      const [complete, generation, seq] = await redis.hmget(
        keysOf(product_id).sale,
        'complete',
        'generation',
        'seq',
      );
      return complete === '1' ? { generation: Number(generation ?? 0), seq: Number(seq ?? 0) } : null;
    },

    ...outboxReads(redis, keysOf),

    async releaseBatch(product_id, tickets) {
      if (tickets.length === 0) return [];
      const k = keysOf(product_id);
      const rest = tickets.flatMap((t) => [t.order_id, t.qty, t.customer_id]);
      const r = await redis.lua.release({ keys: releaseKeys(k), args: {}, rest });
      if (r === -1) return tickets.map(() => 'deferred' as const);
      return r.map((one) => (one === 1 ? ('released' as const) : ('already' as const)));
    },

    async retake(t, released_in_pg) {
      const k = keysOf(t.product_id);
      return redis.lua.retake({
        keys: { ...releaseKeys(k), retaking: k.retaking },
        args: { ...orderArgs(t), released_in_pg: released_in_pg ? '1' : '0' },
      });
    },

    async unconfirmedRetakes(product_ids, older_than_ms, limit) {
      const found: { order_id: string; product_id: number }[] = [];
      for (const { product_id, order_ids } of await olderEntries(
        product_ids,
        'retaking',
        older_than_ms,
        limit,
      )) {
        for (const order_id of order_ids) found.push({ order_id, product_id });
      }
      return found;
    },

    async undoRetake(t) {
      const k = keysOf(t.product_id);
      return redis.lua.undoRetake({ keys: { ...releaseKeys(k), retaking: k.retaking }, args: orderArgs(t) });
    },

    async forgetRetake(product_id, order_id) {
      // One key: ZREM is atomic on its own, no script needed.
      await redis.zrem(keysOf(product_id).retaking, order_id);
    },

    async forgetReleases(product_id, order_ids) {
      // One key: HDEL is atomic on its own, no script needed.
      if (order_ids.length) await redis.hdel(keysOf(product_id).released, ...order_ids);
    },

    async cancelPending(order_id, product_id, customer_id) {
      const k = keysOf(product_id);
      const reply = await redis.lua.cancelPending({
        keys: { outbox: k.outbox, order: k.order(order_id) },
        args: { order_id, customer_id },
      });
      return reply[0] === 'flagged'
        ? { status: reply[0], accepted: parsePending(reply[1]).accepted }
        : { status: reply[0] };
    },

    async staleOutbox(ids, older_than_ms, limit) {
      const found: AcceptedOrder[] = [];
      for (const { product_id, order_ids } of await olderEntries(ids, 'outbox', older_than_ms, limit)) {
        const k = keysOf(product_id);
        const records = await redis.mget(...order_ids.map((oid) => k.order(oid)));
        for (const r of records) if (r !== null) found.push(parsePending(r).accepted);
      }
      return found;
    },

    async adjustStock(product_id, a) {
      const k = keysOf(product_id);
      const reply = await redis.lua.adjustStock({
        keys: { sale: k.sale, adjusted: k.adjusted },
        args: { delta: a.delta, adjustment_id: a.id, mode: a.withdrawn ? 'withdraw' : 'apply' },
      });
      if (reply[0] === 'ok' || reply[0] === 'already') {
        return { kind: 'applied', stock_total: reply[1], available: reply[2] };
      }
      if (reply[0] === 'negative') return { kind: 'refused', available: reply[1] };
      return { kind: 'missing' };
    },

    updateProduct: writeSettings,

    async repair(products) {
      // The index lives outside every product's slot (one script cannot touch both in a cluster),
      // so it is derived data: rewritten from PostgreSQL's list each run. The sentinel makes "the
      // index exists" mean "a run has written it", even for an empty catalog. Every product
      // PostgreSQL lists is a member, whether or not Redis holds its state right now: membership
      // is what tells a reserve on a missing hash "lost, being rebuilt" (503) from "no such
      // product" (404). Leaving out the incomplete ones turned a wipe into 404s whenever a run
      // reached this step after the wipe but before a rebuild had closed the product.
      const held = await Promise.all(
        products.map((p) => redis.hmget(keysOf(p.id).sale, 'complete', 'settings_version')),
      );
      const members = products.map((p) => String(p.id));
      await redis.sadd(globalKeys(prefix).products, String(INDEX_SENTINEL), ...members);
      // Only where PostgreSQL holds newer settings (the script checks the version again, atomically).
      const behind = products.filter(
        (p, i) => held[i]![0] !== null && Number(held[i]![1] ?? -1) < (p.settings_version ?? 0),
      );
      await Promise.all(behind.map(writeSettings));
    },

    ...rebuildOps(redis, prefix),

    shardOf(product_id) {
      if (!(redis instanceof Cluster)) return null;
      // The slot as the client computes it for routing; its master as the client last saw the map.
      const slot = new Command('exists', [keysOf(product_id).sale]).getSlot();
      return `slot ${slot} on ${redis.slots[slot]?.[0] ?? 'no known node'}`;
    },

    async ack(orders, sequenced) {
      return Promise.all(
        orders.map(async (o) => {
          const k = keysOf(o.product_id);
          const [, cancel] = await redis.lua.ack({
            keys: { sale: k.sale, outbox: k.outbox, order: k.order(o.order_id) },
            args: {
              order_id: o.order_id,
              qty: o.qty,
              record_ttl_s: ORDER_RECORD_TTL_S,
              tombstone_ttl_s: bound.tombstone_ttl_s,
              sequenced: sequenced.has(o.order_id) ? '1' : '0',
            },
          });
          return { order_id: o.order_id, cancel_pending: cancel === 1 };
        }),
      );
    },
  };
}

function parseReserveReply(reply: ScriptReply<'reserve'>): InventoryReserveResult {
  switch (reply[0]) {
    case 'reserved':
    case 'replay':
      return { kind: 'reserved', accepted: parsePending(reply[1]).accepted, replayed: reply[0] === 'replay' };
    case 'product_not_found':
    case 'idempotency_key_reused':
    case 'sale_paused':
    case 'sale_ended':
      return { kind: reply[0] };
    case 'rebuilding':
      return { kind: 'unavailable', reason: 'rebuilding' };
    case 'stale':
      return { kind: 'unavailable', reason: 'command older than the resend window' };
    case 'qty_above_limit':
      return { kind: reply[0], max_per_order: reply[1] };
    case 'sale_not_started':
      return { kind: reply[0], starts_at: new Date(reply[1]) };
    case 'customer_limit_reached':
      return { kind: reply[0], remaining: reply[1] };
    case 'insufficient_stock':
      return { kind: reply[0], available: reply[1] };
  }
}
