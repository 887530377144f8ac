// The reads of a product's counters with its outbox: the audit's (every entry and its record, to
// check the counters against them) and the dashboard's (counters and sizes only, bounded).
import { pendingRecordFromJson, splitPendingRecord } from '../sale/accepted-order';
import type { InventoryAuditState, InventoryStatsState, OutboxCounters, PendingOrder } from '../sale/ports';
import type { ProductKeys } from './keys';
import type { ScriptClient } from './scripts';

/** The sale hash fields read together with the outbox (countersOf parses them). */
const COUNTER_FIELDS = [
  'stock_total',
  'available',
  'in_flight',
  'acked_units',
  'acked_orders',
  'generation',
  'seq',
] as const;

export function outboxReads(redis: ScriptClient, keysOf: (product_id: number) => ProductKeys) {
  return {
    async auditState(product_id: number): Promise<InventoryAuditState | null> {
      const k = keysOf(product_id);
      // One MULTI on one slot: the counters and the outbox are read at the same instant.
      const [counters, ids] = (await execAll(
        redis
          .multi()
          .hmget(k.sale, ...COUNTER_FIELDS)
          .zrange(k.outbox, '0', '-1'),
      )) as [(string | null)[], string[]];
      if (counters[0] === null) return null;
      const records = await recordsOf(
        redis,
        ids.map((id) => k.order(id)),
      );
      const outbox = records.flatMap((r) => (r === null ? [] : [parsePending(r).accepted]));
      return { ...countersOf(counters), outbox };
    },

    async statsState(product_id: number, since_ms: number): Promise<InventoryStatsState | null> {
      const k = keysOf(product_id);
      // Sizes of the outbox, never its entries: a poll costs the same with 5 or 5,000 of them.
      const [counters, size, first, since] = (await execAll(
        redis
          .multi()
          .hmget(k.sale, ...COUNTER_FIELDS)
          .zcard(k.outbox)
          .zrange(k.outbox, '0', '0', 'WITHSCORES')
          .zcount(k.outbox, String(since_ms), '+inf'),
      )) as [(string | null)[], number, string[], number];
      if (counters[0] === null) return null;
      const oldest_ms = first.length === 2 ? Number(first[1]) : null;
      return { ...countersOf(counters), outbox: { orders: size, oldest_ms, since } };
    },
  };
}

function countersOf(h: (string | null)[]) {
  const [stock_total, available, in_flight, acked_units, acked_orders, generation, seq] = h;
  const counters: OutboxCounters = {
    in_flight: Number(in_flight ?? 0),
    acked: acked_orders == null ? null : { units: Number(acked_units ?? 0), orders: Number(acked_orders) },
    cut: { generation: Number(generation ?? 0), seq: Number(seq ?? 0) },
  };
  return { stock_total: Number(stock_total), available: Number(available), counters };
}

/**
 * An MGET's keys per command. The outbox of a sale whose consumer is behind holds 100,000 entries
 * and more, exactly when an operator audits it: one MGET of them all overflowed the call stack
 * (ioredis spreads a command's arguments; the bench's Redis scenario crashed serverless-offline at
 * 100,000), and would hold the shard's one thread for the whole reply while reserves wait.
 */
export const MGET_KEYS_MAX = 1000;

/** The values of these keys, read MGET_KEYS_MAX at a time, one command after the other. */
async function recordsOf(redis: ScriptClient, keys: string[]): Promise<(string | null)[]> {
  const values: (string | null)[] = [];
  for (let i = 0; i < keys.length; i += MGET_KEYS_MAX) {
    values.push(...(await redis.mget(keys.slice(i, i + MGET_KEYS_MAX))));
  }
  return values;
}

/** Runs a MULTI: its replies in order, or the first command error thrown. */
async function execAll(multi: ReturnType<ScriptClient['multi']>): Promise<unknown[]> {
  const replies = await multi.exec();
  if (!replies) throw new Error('read aborted');
  for (const [err] of replies) if (err) throw err;
  return replies.map(([, reply]) => reply);
}

/** A Redis order record (see PendingRecord). */
export function parsePending(record: string): PendingOrder {
  return splitPendingRecord(pendingRecordFromJson(record));
}
