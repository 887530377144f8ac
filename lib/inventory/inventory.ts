// The Redis implementation of the domain's Inventory port. Script outcomes become typed values here
// and nowhere else.

import type { AcceptedOrder } from '../sale/accepted-order';
import type { InventoryReserveResult } from '../sale/outcomes';
import type { Inventory, ProductSnapshot, ReserveRequest } from '../sale/ports';
import type { Product } from '../sale/types';
import { globalKeys, productKeys } from './keys';
import { outboxReads, parsePending } from './outbox-reads';
import type { ScriptClient, ScriptReply } from './scripts';

/** Idempotency keys are kept at least this long (API.md: 24 hours). */
export const IDEMPOTENCY_TTL_S = 24 * 3600;
/** Order records outlive their idempotency keys so a replay can always return the original view. */
export const ORDER_RECORD_TTL_S = IDEMPOTENCY_TTL_S + 3600;
/** Slack for the caller's clock against Redis's (reserve.lua compares the two). */
export const CLOCK_SKEW_MAX_S = 5;

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

  /** The product index, without its sentinel. */
  async function indexedProducts(): Promise<number[]> {
    const members = await redis.smembers(globalKeys(prefix).products);
    return members.map(Number).filter((id) => id !== INDEX_SENTINEL);
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
      const list = ids ?? (await indexedProducts());
      const hashes = await Promise.all(list.map((id) => redis.hgetall(keysOf(id).sale)));
      return hashes.filter((h) => h['id'] !== undefined).map(snapshotFromHash);
    },

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
        keys: releaseKeys(k),
        args: { ...orderArgs(t), released_in_pg: released_in_pg ? '1' : '0' },
      });
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
      const cutoff_ms = Date.now() - older_than_ms;
      const found: AcceptedOrder[] = [];
      for (const id of ids) {
        if (found.length >= limit) break;
        const k = keysOf(id);
        const stale = await redis.zrangebyscore(
          k.outbox,
          '-inf',
          String(cutoff_ms),
          'LIMIT',
          0,
          limit - found.length,
        );
        if (stale.length === 0) continue;
        const records = await redis.mget(...stale.map((oid) => k.order(oid)));
        for (const r of records) if (r !== null) found.push(parsePending(r).accepted);
      }
      return found;
    },

    async adjustStock(product_id, a) {
      const k = keysOf(product_id);
      const reply = await redis.lua.adjustStock({
        keys: { sale: k.sale, adjusted: k.adjusted },
        args: { delta: a.delta, adjustment_id: a.id },
      });
      if (reply[0] === 'ok' || reply[0] === 'already') {
        return { kind: 'applied', stock_total: reply[1], available: reply[2] };
      }
      if (reply[0] === 'negative') return { kind: 'refused', available: reply[1] };
      return { kind: 'missing' };
    },

    updateProduct: writeSettings,

    async incompleteProducts(ids) {
      const marks = await Promise.all(ids.map((id) => redis.hget(keysOf(id).sale, 'complete')));
      return ids.filter((_, i) => marks[i] !== '1');
    },

    async repair(products) {
      // The index lives outside every product's slot (one script cannot touch both in a cluster),
      // so it is derived data: rewritten from PostgreSQL's list each run. The sentinel makes "the
      // index exists" mean "a run has written it", even for an empty catalog.
      const held = await Promise.all(
        products.map((p) => redis.hmget(keysOf(p.id).sale, 'complete', 'settings_version')),
      );
      const members = products.filter((_, i) => held[i]![0] === '1').map((p) => String(p.id));
      await redis.sadd(globalKeys(prefix).products, String(INDEX_SENTINEL), ...members);
      // Only where PostgreSQL holds newer settings (the script checks the version again, atomically).
      const behind = products.filter(
        (p, i) => held[i]![0] !== null && Number(held[i]![1] ?? -1) < (p.settings_version ?? 0),
      );
      await Promise.all(behind.map(writeSettings));
    },

    async beginRebuild(product, token, lock_ttl_ms) {
      const k = keysOf(product.id);
      if ((await redis.set(k.rebuildLock, token, 'PX', lock_ttl_ms, 'NX')) !== 'OK') return null;
      // Closed before anything else: without the marker every reserve answers "rebuilding" and
      // every release and retake writes nothing, until rebuild.lua writes the whole state.
      // closed_ms survives an interrupted rebuild: the time fence counts from the first close.
      const replies = await redis
        .multi()
        .hdel(k.sale, 'complete')
        .hset(k.sale, 'available', 0, ...productFields(product))
        .hsetnx(k.sale, 'closed_ms', Date.now())
        // The outbox may still hold orders (a rollback closed the product): its counter stays theirs.
        .hsetnx(k.sale, 'in_flight', 0)
        .hget(k.sale, 'closed_ms')
        .exec();
      const closed = replies?.[4]?.[1];
      if (typeof closed !== 'string') throw new Error(`closing product ${product.id} failed`);
      return { closed_ms: Number(closed) };
    },

    async closeIfBehind(e) {
      const r = await redis.lua.closeIfBehind({
        keys: { sale: keysOf(e.product_id).sale },
        args: { generation: e.generation, max_seq: e.max_seq, duplicated: e.duplicated ? '1' : '0' },
      });
      return r === 'closed';
    },

    async abandonRebuild(product_id, token) {
      await redis.lua.unlockRebuild({
        keys: { rebuild_lock: keysOf(product_id).rebuildLock },
        args: { token },
      });
    },

    async reconcile(t, generation) {
      const k = keysOf(t.product_id);
      const reply = await redis.lua.reconcile({
        keys: { sale: k.sale, customers: k.customers, reconciled: k.reconciled },
        args: { ...orderArgs(t), generation },
      });
      return reply[0] === 'taken' || reply[0] === 'already'
        ? { kind: reply[0], available: reply[1] }
        : { kind: reply[0] };
    },

    async finishRebuild(product_id, token, state) {
      const k = keysOf(product_id);
      // Replays first, while the product is still closed: a retry after the wipe finds its order.
      const now_ms = Date.now();
      await Promise.all(
        state.replays.map((o) => {
          const ttl_s = Math.max(1, IDEMPOTENCY_TTL_S - Math.floor((now_ms - o.created_ms) / 1000));
          const key = k.idempotency(o.customer_id, o.idempotency_key!);
          return redis
            .multi()
            .set(k.order(o.order_id), JSON.stringify(o), 'EX', ttl_s + 3600)
            .set(key, `${fingerprint({ ...o, idempotency_key: null })} ${k.order(o.order_id)}`, 'EX', ttl_s)
            .exec();
        }),
      );
      // Also while closed (adjust-stock.lua writes nothing then): the snapshot decided these
      // adjustments, so a PATCH's late apply of one of them must find it decided.
      const fates = state.adjustments.flatMap((a) => [String(a.id), a.outcome]);
      const write = redis.multi().del(k.adjusted);
      await (fates.length ? write.hset(k.adjusted, ...fates) : write).exec();
      const pairs = [...state.customers.entries()].flat();
      const reply = await redis.lua.rebuild({
        keys: {
          sale: k.sale,
          customers: k.customers,
          released: k.released,
          outbox: k.outbox,
          rebuild_lock: k.rebuildLock,
          reconciled: k.reconciled,
        },
        args: {
          token,
          available: state.available,
          generation: state.rebuild_id,
          stock_total: state.stock_total,
          customer_count: state.customers.size,
        },
        rest: [...pairs, ...state.released_order_ids],
      });
      if (reply[0] !== 'ok') return { status: reply[0] };
      await redis.sadd(globalKeys(prefix).products, String(product_id));
      return { status: reply[0], reopened_ms: reply[1] };
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

/** Two requests under one Idempotency-Key are "the same" when product and qty match. */
function fingerprint(req: ReserveRequest): string {
  return `${req.product_id}:${req.qty}`;
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

/** The keys release.lua and retake.lua share. */
const releaseKeys = (k: ReturnType<typeof productKeys>) => ({
  sale: k.sale,
  customers: k.customers,
  released: k.released,
});

/** The order arguments release, retake and reconcile share. */
const orderArgs = (t: { order_id: string; qty: number; customer_id: string }) => ({
  order_id: t.order_id,
  qty: t.qty,
  customer_id: t.customer_id,
});

const msOrNone = (d: Date | null) => (d === null ? -1 : d.getTime());
const dateOrNull = (ms: string | undefined) =>
  ms === undefined || Number(ms) < 0 ? null : new Date(Number(ms));

/** Product id 0 is never a product (ids start at 1): the index's "written by a run" sentinel. */
const INDEX_SENTINEL = 0;

/** The sale hash's settings, by name (never a positional list: a name or SKU may equal a field name). */
export function productSettings(p: Product): Record<string, string | number> {
  return {
    id: p.id,
    sku: p.sku,
    name: p.name,
    price_cents: p.price_cents,
    currency: p.currency,
    stock_total: p.stock_total,
    max_per_order: p.max_per_order,
    per_customer_limit: p.per_customer_limit ?? -1,
    ttl_s: p.reservation_ttl_s,
    starts_ms: msOrNone(p.sale_starts_at),
    ends_ms: msOrNone(p.sale_ends_at),
    paused: p.paused ? 1 : 0,
    settings_version: p.settings_version ?? 0,
  };
}

const flatPairs = (fields: Record<string, string | number>) => Object.entries(fields).flat();

export const productFields = (p: Product) => flatPairs(productSettings(p));

function snapshotFromHash(h: Record<string, string>): ProductSnapshot {
  const limit = Number(h['per_customer_limit']);
  const product: Product = {
    id: Number(h['id']),
    sku: h['sku'] ?? '',
    name: h['name'] ?? '',
    price_cents: Number(h['price_cents']),
    currency: h['currency'] ?? '',
    stock_total: Number(h['stock_total']),
    max_per_order: Number(h['max_per_order']),
    per_customer_limit: limit < 0 ? null : limit,
    reservation_ttl_s: Number(h['ttl_s']),
    sale_starts_at: dateOrNull(h['starts_ms']),
    sale_ends_at: dateOrNull(h['ends_ms']),
    paused: h['paused'] === '1',
  };
  return { product, available: Number(h['available']), in_flight: Number(h['in_flight'] ?? 0) };
}
