// The inventory's side of a rebuild after a data loss (lib/sale/rebuild.ts drives it): close a
// product, give up, reconcile a straggler, and write the whole state back: the bulk in bounded
// chunks, then one short script that reopens the product.
import type { Inventory, RebuildingInventory } from '../sale/ports';
import { acceptedFromOrder, type Order } from '../sale/types';
import { globalKeys, type ProductKeys, productKeys } from './keys';
import { fingerprint, IDEMPOTENCY_TTL_S, orderArgs, productFields } from './records';
import type { ScriptClient } from './scripts';

/**
 * What a retry under an order's Idempotency-Key must find (reserve.lua's record and key), for the
 * rest of the key's lifetime; the order's record outlives the key by an hour (a replay found by the
 * key must find the record it names).
 */
function replayRecord(k: ProductKeys, order: Order, idempotency_key: string, now_ms: number) {
  const o = acceptedFromOrder(order, idempotency_key);
  const idempotency_ttl_s = Math.max(1, IDEMPOTENCY_TTL_S - Math.floor((now_ms - o.created_ms) / 1000));
  return {
    keys: {
      sale: k.sale,
      idempotency: k.idempotency(o.customer_id, idempotency_key),
      order: k.order(o.order_id),
    },
    args: {
      replay: `${fingerprint({ ...o, idempotency_key: null })} ${k.order(o.order_id)}`,
      idempotency_ttl_s,
      order_json: JSON.stringify(o),
      order_ttl_s: idempotency_ttl_s + 3600,
    },
  };
}

/** Hash entries per rebuild-stage.lua call: each call stays short whatever the product's history. */
export const STAGE_ENTRIES_MAX = 1000;

/**
 * Writes field/value pairs into a hash of the product, STAGE_ENTRIES_MAX entries per call, one call
 * after another (other commands of the shard run in between). `reset` empties the hash first, so a
 * staged hash an abandoned rebuild left is never merged into this one. False when the lock is lost.
 */
async function stageInChunks(
  redis: ScriptClient,
  k: ProductKeys,
  token: string,
  target: string,
  pairs: (string | number)[],
  reset: boolean,
): Promise<boolean> {
  const step = STAGE_ENTRIES_MAX * 2;
  // At least one call, with nothing to write: it still resets the target and checks the lock.
  for (let at = 0; at === 0 || at < pairs.length; at += step) {
    const written = await redis.lua.rebuildStage({
      keys: { rebuild_lock: k.rebuildLock, target },
      args: { token, reset: reset && at === 0 ? '1' : '0' },
      rest: pairs.slice(at, at + step),
    });
    if (written !== 1) return false;
  }
  return true;
}

export function rebuildOps(
  redis: ScriptClient,
  prefix: string,
): RebuildingInventory & Pick<Inventory, 'reconcile' | 'claimReplay'> {
  const keysOf = (product_id: number) => productKeys(prefix, product_id);
  return {
    async incompleteProducts(ids) {
      const marks = await Promise.all(ids.map((id) => redis.hget(keysOf(id).sale, 'complete')));
      return ids.filter((_, i) => marks[i] !== '1');
    },

    async liveGenerations(ids) {
      const marks = await Promise.all(
        ids.map((id) => redis.hmget(keysOf(id).sale, 'complete', 'generation', 'reopened_ms')),
      );
      return ids.flatMap((product_id, i) => {
        const [complete, generation, reopened_ms] = marks[i]!;
        if (complete !== '1' || !Number(generation) || !reopened_ms) return [];
        return [{ product_id, generation: Number(generation), reopened_ms: Number(reopened_ms) }];
      });
    },

    async beginRebuild(product, token, lock_ttl_ms, reopened_after_ms = 0) {
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
      if (Number(closed) >= reopened_after_ms) return { closed_ms: Number(closed) };
      // A closed state restored from before a reopening (a replica or snapshot taken mid-rebuild):
      // Redis sold after that close, so the fence counts from this one. Only the lock's holder
      // writes closed_ms, and the lock is ours.
      const now_ms = Date.now();
      await redis.hset(k.sale, 'closed_ms', now_ms);
      return { closed_ms: now_ms };
    },

    async closeIfBehind(e) {
      const r = await redis.lua.closeIfBehind({
        keys: { sale: keysOf(e.product_id).sale },
        args: { generation: e.generation, max_seq: e.max_seq, duplicated: e.duplicated ? '1' : '0' },
      });
      return r === 'closed';
    },

    async closeIfForgotten(e) {
      const k = keysOf(e.product_id);
      const r = await redis.lua.closeIfForgotten({
        keys: { sale: k.sale, released: k.released, adjusted: k.adjusted, reconciled: k.reconciled },
        args: {
          generation: e.generation,
          released_count: e.released_order_ids.length,
          retaken_count: e.retaken_order_ids.length,
          reconciled_count: e.reconciled_order_ids.length,
        },
        rest: [
          ...e.released_order_ids,
          ...e.retaken_order_ids,
          ...e.reconciled_order_ids,
          ...e.applied_adjustment_ids,
        ],
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
        ? { kind: reply[0], available: reply[1], over_limit: reply[2] === 1 }
        : { kind: reply[0] };
    },

    async claimReplay(order, idempotency_key, take_over) {
      const r = replayRecord(keysOf(order.product_id), order, idempotency_key, Date.now());
      const reply = await redis.lua.claimReplay({
        keys: r.keys,
        args: { ...r.args, take_over: take_over ? '1' : '0' },
      });
      // The other order's record key ends with its id (keys.ts: …:order:ID).
      return reply[0] === 'other'
        ? { kind: 'other', order_id: reply[1].slice(reply[1].lastIndexOf(':') + 1) }
        : { kind: reply[0] };
    },

    async finishRebuild(product_id, token, state) {
      const k = keysOf(product_id);
      // Every write below checks the lock's token in the same script as it writes: a rebuilder
      // whose lock expired, replaced by another that may have reopened the product since, writes
      // nothing of its older snapshot.
      // Replays first, while the product is still closed: a retry after the wipe finds its order.
      const now_ms = Date.now();
      const replays = await Promise.all(
        state.replays.map(({ order, idempotency_key }) => {
          const r = replayRecord(k, order, idempotency_key, now_ms);
          return redis.lua.stageReplay({
            keys: { rebuild_lock: k.rebuildLock, idempotency: r.keys.idempotency, order: r.keys.order },
            args: { token, ...r.args },
          });
        }),
      );
      if (replays.some((written) => written !== 1)) return { status: 'not_owner' };
      // Also while closed (adjust-stock.lua writes nothing then): the snapshot decided these
      // adjustments, so a PATCH's late apply of one of them must find it decided. The hash is
      // replaced whole (reset), as the bulk below is written: in bounded chunks (rebuild-stage.lua),
      // since one script writing a big sale's whole history would stall every product on the shard.
      const fates = state.adjustments.flatMap((a) => [String(a.id), a.outcome]);
      const customers = [...state.customers.entries()].flat();
      const released = state.released_order_ids.flatMap((id) => [id, 'released']);
      const staged =
        (await stageInChunks(redis, k, token, k.adjusted, fates, true)) &&
        (await stageInChunks(redis, k, token, k.customersStaged, customers, true)) &&
        (await stageInChunks(redis, k, token, k.released, released, false));
      if (!staged) return { status: 'not_owner' };
      const reply = await redis.lua.rebuild({
        keys: {
          sale: k.sale,
          customers: k.customers,
          customers_staged: k.customersStaged,
          outbox: k.outbox,
          rebuild_lock: k.rebuildLock,
          reconciled: k.reconciled,
        },
        args: {
          token,
          available: state.available,
          generation: state.rebuild_id,
          stock_total: state.stock_total,
        },
      });
      if (reply[0] !== 'ok') return { status: reply[0] };
      await redis.sadd(globalKeys(prefix).products, String(product_id));
      return { status: reply[0], reopened_ms: reply[1] };
    },
  };
}
