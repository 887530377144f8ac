// Pins down the outbox counters the dashboard reads instead of the outbox (lua/ack.lua): in_flight
// equals the units of the outbox's records, and the acked counters equal what PostgreSQL holds of
// the generation that left the outbox, after reserve, persistence, a cancel before persistence, an
// expiry, a quarantined order and a rebuild after a Redis wipe (a straggler included); the
// dashboard's figures equal the audit's; and a stats poll issues the same few Redis commands with
// 500 orders in the outbox as with 5.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOrderQueues, localSqsClient } from '../../infra/local/services';
import { inventory, orders, settleDeps, statsDeps } from '../../lib/container';
import { redisClient } from '../../lib/inventory/client';
import { redisInventory } from '../../lib/inventory/inventory';
import { productKeys } from '../../lib/inventory/keys';
import { registerScripts } from '../../lib/inventory/scripts';
import { sqsBacklog } from '../../lib/queue/dlq';
import { auditProduct } from '../../lib/sale/audit';
import { cancelOrder } from '../../lib/sale/cancel-order';
import { newOrderId } from '../../lib/sale/order-id';
import { persistAccepted } from '../../lib/sale/persist';
import { saleStats } from '../../lib/sale/stats';
import { newProduct } from '../helpers/api';
import { fileBackends } from '../helpers/backends';
import { releaseRun, runWithRebuild, waitUntil } from '../helpers/domain';
import { persistedOrder, reservedQuarantinable, reservedUnsent } from '../helpers/in-flight';
import { monitorOf, nodeOf } from '../helpers/redis-monitor';

const { sql, prefix } = fileBackends();

/** The outbox as its records say, and the counters, read directly (not through the code under test). */
async function outboxTruth(product_id: number) {
  const k = productKeys(prefix, product_id);
  const [[, ids], [, counters]] = (await redisClient()
    .multi()
    .zrange(k.outbox, '0', '-1')
    .hmget(k.sale, 'in_flight', 'acked_units', 'acked_orders', 'generation', 'seq')
    .exec()) as [[null, string[]], [null, (string | null)[]]];
  const records = ids.length ? await redisClient().mget(...ids.map((id) => k.order(id))) : [];
  const outbox = records.map((r) => JSON.parse(r!) as { order_id: string; qty: number });
  const [in_flight, acked_units, acked_orders, generation, seq] = counters.map(Number);
  return { outbox, in_flight, acked_units, acked_orders, generation: generation!, seq: seq! };
}

/** Every counter against the records: in_flight = outbox units; acked = PostgreSQL's orders of the generation not in the outbox. */
async function expectCountersExact(product_id: number) {
  const t = await outboxTruth(product_id);
  const ids = t.outbox.map((o) => o.order_id);
  const [held] = await sql<{ units: number; orders: number }[]>`
    SELECT coalesce(sum(qty), 0)::int AS units, count(*)::int AS orders FROM orders
    WHERE product_id = ${product_id} AND inventory_generation = ${t.generation}
      AND inventory_seq <= ${t.seq} AND NOT (order_id = ANY(${ids}::uuid[]))`;
  expect(t.in_flight, 'in_flight = units of the outbox records').toBe(
    t.outbox.reduce((n, o) => n + o.qty, 0),
  );
  expect({ units: t.acked_units, orders: t.acked_orders }, 'acked = persisted and out of the outbox').toEqual(
    held,
  );
  const report = await auditProduct({ inventory: inventory(), orders: orders() }, product_id);
  expect(report?.counter_drift).toEqual({ in_flight: 0, acked_units: 0, acked_orders: 0 });
  return t;
}

/** The dashboard's figures for one product equal the audit's (nothing moving meanwhile). */
async function expectStatsAsAudit(product_id: number) {
  const report = await auditProduct({ inventory: inventory(), orders: orders() }, product_id);
  const stats = await saleStats(statsDeps(), { now_ms: Date.now(), limit: 1, product_id });
  const { counter_drift: _, ...figures } = report!;
  expect(stats.products[0]).toMatchObject(figures);
  return stats.products[0]!;
}

describe('the outbox counters follow every path in and out of the outbox', () => {
  it('reserve, persist, and a persisted order still in the outbox (ack pending) counted once', async () => {
    const product = await newProduct({ stock_total: 20 });
    const a = await reservedUnsent(product.id, 2);
    const b = await reservedUnsent(product.id, 3);
    const t = await expectCountersExact(product.id);
    expect(t.in_flight).toBe(5);
    expect(await expectStatsAsAudit(product.id)).toMatchObject({ in_flight: 5, reserved: 5, ok: true });
    await persistAccepted(settleDeps(), [a]);
    expect((await expectCountersExact(product.id)).acked_units).toBeGreaterThanOrEqual(2);

    // Persisted but not acked yet (a crash between the commit and the ack): in PostgreSQL and in
    // the outbox at once. The dashboard must count it once, as the audit does.
    const c = await reservedUnsent(product.id, 4);
    await orders().insertAccepted([c]);
    await expectCountersExact(product.id);
    const s = await expectStatsAsAudit(product.id);
    expect(s).toMatchObject({ available: 11, reserved: 9, drift: 0, ok: true });
    await persistAccepted(settleDeps(), [b, c]);
    expect(await expectCountersExact(product.id)).toMatchObject({
      in_flight: 0,
      acked_units: 9,
      acked_orders: 3,
    });
    await expectStatsAsAudit(product.id);
  });

  it('a cancel before persistence, a duplicate delivery, an expiry, and a quarantined order', async () => {
    const product = await newProduct({ stock_total: 10 });
    const cancelled = await reservedUnsent(product.id, 2);
    const flag = await cancelOrder(settleDeps(), cancelled.order_id, {
      customer_id: cancelled.customer_id,
      admin: false,
    });
    expect(flag.kind).toBe('pending');
    await expectCountersExact(product.id);
    await persistAccepted(settleDeps(), [cancelled]);
    await persistAccepted(settleDeps(), [cancelled]); // a duplicate delivery acks nothing twice
    expect((await orders().get(cancelled.order_id))?.status).toBe('cancelled');
    expect(await expectCountersExact(product.id)).toMatchObject({ in_flight: 0, acked_units: 2 });

    const overdue = await persistedOrder(product.id, 1, { overdue: true });
    await releaseRun();
    expect((await orders().get(overdue.order_id))?.status).toBe('expired');
    await expectCountersExact(product.id);

    // PostgreSQL refuses this one (a NUL in its customer id): quarantined, units back, out of the
    // outbox, and never counted as acked (it is not in the orders table).
    const bad = await reservedQuarantinable(product.id);
    await expectCountersExact(product.id);
    const r = await persistAccepted(settleDeps(), [bad]);
    expect(r.quarantined).toEqual([bad.order_id]);
    expect(await expectCountersExact(product.id)).toMatchObject({
      in_flight: 0,
      acked_units: 3,
      acked_orders: 2,
    });
    expect(await expectStatsAsAudit(product.id)).toMatchObject({
      available: 10,
      reserved: 0,
      drift: 0,
      ok: true,
    });
  });
});

describe('after a Redis wipe', () => {
  let backlog: ReturnType<typeof sqsBacklog>;
  beforeAll(async () => {
    const sqs = localSqsClient(process.env['SQS_ENDPOINT']!);
    const tag = randomUUID().slice(0, 8);
    const pair = await createOrderQueues(sqs, { queue: `counters-${tag}`, dlq: `counters-${tag}-dlq` });
    backlog = sqsBacklog(sqs, pair.queueUrl, pair.dlqUrl);
  });

  it('the rebuild starts the counters of its generation at 0; a straggler is not counted as acked', async () => {
    const product = await newProduct({ stock_total: 10 });
    const kept = await persistedOrder(product.id, 2);
    const straggler = await reservedUnsent(product.id, 1); // accepted, lost with Redis's data
    const k = productKeys(prefix, product.id);
    await redisClient().del(k.sale, k.customers, k.outbox, k.released, k.rebuildLock, k.adjusted);
    await redisClient().del(k.order(kept.order_id), k.order(straggler.order_id));

    await waitUntil(
      'the product rebuilt',
      async () => {
        await runWithRebuild(backlog);
        return (await redisClient().hget(k.sale, 'complete')) === '1';
      },
      40_000,
    );
    const fresh = await expectCountersExact(product.id);
    expect(fresh).toMatchObject({ in_flight: 0, acked_units: 0, acked_orders: 0, seq: 0 });
    expect(fresh.generation).toBeGreaterThan(0);

    await persistAccepted(settleDeps(), [straggler]); // reaches PostgreSQL after the rebuild: reconciled
    const after = await reservedUnsent(product.id, 3);
    await persistAccepted(settleDeps(), [after]);
    expect(await expectCountersExact(product.id)).toMatchObject({ acked_units: 3, acked_orders: 1 });
    expect(await expectStatsAsAudit(product.id)).toMatchObject({
      available: 4,
      reserved: 6,
      drift: 0,
      ok: true,
    });
  });
});

describe('a stats poll costs the same whatever the outbox holds', () => {
  /** The commands one stats poll of this product sends, as the Redis server saw them (MONITOR). */
  async function commandsOfOnePoll(product_id: number): Promise<string[][]> {
    const node = await nodeOf(productKeys(prefix, product_id).sale);
    const raw = new Redis(node);
    const client = registerScripts(raw);
    const monitor = await monitorOf(node);
    try {
      await client.ping();
      const port = `:${raw.stream.localPort}`;
      const [start, end] = [`start-${randomUUID()}`, `end-${randomUUID()}`];
      const seen: string[][] = [];
      let state: 'before' | 'during' | 'after' = 'before';
      monitor.on('monitor', (_time: string, args: string[], from: string) => {
        if (!from.endsWith(port)) return;
        const marker = args[0]?.toLowerCase() === 'echo' ? args[1] : undefined;
        if (marker === start) state = 'during';
        else if (marker === end) state = 'after';
        else if (state === 'during') seen.push(args);
      });
      await client.echo(start);
      const deps = { ...statsDeps(), inventory: redisInventory(client, prefix) };
      const s = await saleStats(deps, { now_ms: Date.now(), limit: 1, product_id });
      expect(s.products).toHaveLength(1);
      await client.echo(end);
      await waitUntil('MONITOR to show the end of the poll', async () => state === 'after');
      return seen;
    } finally {
      monitor.disconnect();
      client.disconnect();
    }
  }

  it('5 or 500 orders in the outbox: the same commands, none that reads the outbox entries', async () => {
    const small = await newProduct({ stock_total: 10 });
    const large = await newProduct({ stock_total: 1000 });
    for (let i = 0; i < 5; i++) await reservedUnsent(small.id, 1);
    await Promise.all(Array.from({ length: 500 }, () => reservedUnsent(large.id, 1)));
    expect(await redisClient().zcard(productKeys(prefix, large.id).outbox)).toBeGreaterThanOrEqual(450);

    const few = await commandsOfOnePoll(small.id);
    const many = await commandsOfOnePoll(large.id);
    const names = (cmds: string[][]) => cmds.map((c) => c[0]!.toLowerCase());
    expect(names(many)).toEqual(names(few));
    expect(names(many), 'the poll was seen').toEqual(expect.arrayContaining(['hmget', 'zcard', 'zcount']));
    expect(many.length, names(many).join(' ')).toBeLessThanOrEqual(8);
    for (const c of many) {
      expect(c[0]!.toLowerCase()).not.toBe('mget');
      if (c[0]!.toLowerCase() === 'zrange') expect(c.slice(2, 4)).toEqual(['0', '0']);
    }
  });
});

describe('the audit reads an outbox of any size', () => {
  // A consumer far behind leaves the outbox huge exactly when an operator audits the sale. One MGET
  // of 100,000 records overflowed the call stack in serverless-offline (the bench's Redis scenario)
  // and took the process down; the records are now read in bounded MGETs.
  const copies = 200_000;

  it(`${copies.toLocaleString('en')} entries: every record read, in bounded MGETs`, {
    timeout: 60_000,
  }, async () => {
    const product = await newProduct({ stock_total: 10 });
    const real = await reservedUnsent(product.id, 1);
    const k = productKeys(prefix, product.id);
    const record = (await redisClient().get(k.order(real.order_id)))!;
    const ids = Array.from({ length: copies }, () => newOrderId(product.id));
    // Scored an hour ahead: no release run over every product (the stack's schedule, 30 s grace) may
    // take the copies for unsent orders while they exist. One did before `simulate` was scoped to
    // its own product (5 s grace): 595 copies reached PostgreSQL and in_flight ended at -595.
    const score_ms = Date.now() + 3_600_000;
    for (let i = 0; i < ids.length; i += 10_000) {
      const pipe = redisClient().pipeline();
      for (const id of ids.slice(i, i + 10_000)) {
        pipe.zadd(k.outbox, score_ms, id).set(k.order(id), record.replace(real.order_id, id));
      }
      await pipe.exec();
    }
    try {
      const state = await inventory().auditState(product.id);
      expect(state?.outbox).toHaveLength(copies + 1);
      expect(new Set(state!.outbox.map((o) => o.order_id)).size).toBe(copies + 1);
    } finally {
      // The copies go; the real order stays and is persisted, so the sale ends without drift.
      for (let i = 0; i < ids.length; i += 10_000) {
        const some = ids.slice(i, i + 10_000);
        await redisClient().zrem(k.outbox, ...some);
        await redisClient().unlink(...some.map((id) => k.order(id)));
      }
      await persistAccepted(settleDeps(), [real]);
    }
    await expectCountersExact(product.id);
  });
});
