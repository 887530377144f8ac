// The ceiling of one Redis (one shard) running reserve.lua, with nothing else in the way: many
// concurrent clients call the product's inventory adapter (EVALSHA of lua/reserve.lua) directly,
// AOF appendfsync always as deployed. One product (every call on the same keys: what one hot
// product costs a shard) and many products (the shard's ceiling when the sale spreads). Redis's
// own CPU per call says how far one core goes. The consumer is paused; what the calls reserve is
// checked against what Redis says was taken, and the orders are not persisted (they never reach
// SQS: this measures Redis alone).
import type { Redis } from 'ioredis';
import { redisInventory } from '../../../lib/inventory/inventory';
import { registerScripts } from '../../../lib/inventory/scripts';
import { newOrderId } from '../../../lib/sale/order-id';
import type { BenchContext } from '../context';
import { cpuBetween, sampleCpu } from '../cpu';
import type { RedisCeilingRun, Scenario } from '../scenario';

export const redis: Scenario = {
  name: 'redis',
  measures:
    'reserve.lua calls/s and Redis CPU per call on one Redis, AOF always, one hot product vs many products',
  async run(ctx, out) {
    const { P, say } = ctx;
    await ctx.pauseConsumer();
    await ctx.redis.config('SET', 'appendfsync', 'always');
    const one = [(await ctx.product({ stock_total: 100_000_000 })).id];
    const many: number[] = [];
    for (let i = 0; i < P.redis_products_many; i++)
      many.push((await ctx.product({ stock_total: 100_000_000 })).id);
    say(`redis ceiling: ${P.redis_calls} reserve.lua calls per case, ${P.redis_clients} clients`);
    const runs = [
      await ceiling(ctx, 'one product', one),
      await ceiling(ctx, `${many.length} products`, many),
    ];
    for (const r of runs)
      say(
        `  ${r.case.padEnd(14)} ${Math.round(r.per_s)} calls/s, Redis CPU ${r.redis_cpu_ms_per_call.toFixed(3)} ms/call`,
      );
    out.redis = { runs };
  },
};

async function ceiling(ctx: BenchContext, label: string, products: number[]): Promise<RedisCeilingRun> {
  const { P } = ctx;
  const clients: Redis[] = Array.from({ length: P.redis_clients }, () => ctx.redis.duplicate());
  const prefix = ctx.stack.env['REDIS_KEY_PREFIX']!;
  const inventories = clients.map((c) => redisInventory(registerScripts(c), prefix));
  const taken0 = await takenUnits(ctx, products);
  let next = 0;
  let reserved = 0;
  const groups = { redis: ctx.cpuGroups['redis']! };
  const cpu0 = sampleCpu(groups);
  const t0 = performance.now();
  try {
    await Promise.all(
      inventories.map(async (inv) => {
        while (next < P.redis_calls) {
          const i = next++;
          const product_id = products[i % products.length]!;
          const r = await inv.reserve({
            order_id: newOrderId(product_id),
            product_id,
            customer_id: `ceiling-${i % 50_000}`,
            qty: 1,
            idempotency_key: null,
          });
          if (r.kind !== 'reserved') throw new Error(`redis ceiling: call ${i} answered ${r.kind}`);
          reserved++;
        }
      }),
    );
  } finally {
    for (const c of clients) c.disconnect();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuBetween(cpu0, sampleCpu(groups));
  const taken = (await takenUnits(ctx, products)) - taken0;
  // Measured, not assumed: every call that answered "reserved" took exactly one unit.
  if (taken !== reserved) throw new Error(`redis ceiling: ${reserved} reserved but ${taken} units taken`);
  return {
    case: label,
    products: products.length,
    clients: P.redis_clients,
    calls: reserved,
    seconds,
    per_s: reserved / seconds,
    redis_cpu_ms_per_call: (cpu['redis'] ?? 0) / reserved,
    appendfsync: 'always',
  };
}

async function takenUnits(ctx: BenchContext, products: number[]): Promise<number> {
  let n = 0;
  for (const id of products) {
    const a = await ctx.api.audit(id);
    n += a.stock_total - a.available;
  }
  return n;
}
