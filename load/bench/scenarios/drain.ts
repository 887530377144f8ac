// Drain: a backlog of orders persisted through the local SQS trigger (the product's batch size,
// window and concurrency) against the emulator's own receive+delete rate on the same backlog.
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { createOrderQueues } from '../../../infra/local/services';
import { offlineInvoker } from '../../../infra/local/sqs-trigger';
import queues from '../../../infra/queues.json' with { type: 'json' };
import { redisInventory } from '../../../lib/inventory/inventory';
import { registerScripts } from '../../../lib/inventory/scripts';
import { type CpuGroup, cpuBetween, sampleCpu } from '../cpu';
import { drainThroughTrigger, rawReceiveDelete, reserveBacklog, sendAll } from '../drain';
import type { Scenario } from '../scenario';

export const drain: Scenario = {
  name: 'drain',
  measures: 'orders/s persisted through the SQS trigger vs fauxqs receive+delete alone (same backlog)',
  async run(ctx, out) {
    const { stack, sqs, sql, say } = ctx;
    const n = ctx.P.drain_orders;
    const product = await ctx.product({ stock_total: n });
    say(`drain: reserving ${n} orders through the domain, then queueing their messages`);
    const client = registerScripts(ctx.redis.duplicate());
    const t0 = performance.now();
    const orders = await reserveBacklog(
      redisInventory(client, stack.env['REDIS_KEY_PREFIX']!),
      product.id,
      n,
    ).finally(() => client.disconnect());
    const reserve_s = (performance.now() - t0) / 1000;
    const bodies = orders.map((o) => JSON.stringify(o));
    const stamp = Date.now();
    const drainQ = await createOrderQueues(sqs, {
      queue: `bench-drain-${stamp}`,
      dlq: `bench-drain-dlq-${stamp}`,
    });
    const t1 = performance.now();
    await sendAll(sqs, drainQ.queueUrl, bodies);
    const send_s = (performance.now() - t1) / 1000;
    say(
      `  backlog: ${n} reserved in ${reserve_s.toFixed(1)} s, queued in ${send_s.toFixed(1)} s (SendMessageBatch)`,
    );
    const arn = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: drainQ.queueUrl, AttributeNames: ['QueueArn'] }),
    );
    await ctx.pauseConsumer(); // only this trigger persists while the drain is timed
    const cpu = cpuMeter(ctx.cpuGroups);
    const persist = await drainThroughTrigger({
      sqs,
      queueUrl: drainQ.queueUrl,
      queueArn: arn.Attributes!['QueueArn']!,
      invoke: offlineInvoker(stack.lambdaPort, 'flash-sale-dev-persistOrders'),
      batch_size: queues.batch_size,
      maximum_batching_window_s: queues.maximum_batching_window_s,
      maximum_concurrency: queues.maximum_concurrency,
      orders: n,
      timeout_ms: 300_000,
      done: async () => {
        const [r] = await sql<
          { n: number }[]
        >`SELECT count(*)::int AS n FROM orders WHERE product_id = ${product.id}`;
        return r!.n >= n;
      },
    });
    persist.cpu_ms_per_1k = cpu.per1k(n);
    say(
      `  persistOrders: ${n} orders in ${persist.seconds.toFixed(1)} s = ${Math.round(persist.per_s)}/s (${persist.invocations} batches, ${persist.invoke_ms_mean.toFixed(0)} ms each, ${persist.in_flight_mean.toFixed(2)} in flight on average)`,
    );
    say(`  CPU ms per 1,000 orders: ${cpuLine(persist.cpu_ms_per_1k)}`);
    const invariant = await ctx.checkWrite('drain', product.id, { accepted_orders: orders.length, qty: 1 });
    // The emulator alone, same backlog size, same number of consumers.
    await ctx.pauseConsumer();
    const rawQ = await createOrderQueues(sqs, { queue: `bench-raw-${stamp}`, dlq: `bench-raw-dlq-${stamp}` });
    await sendAll(sqs, rawQ.queueUrl, bodies);
    const rawCpu = cpuMeter(ctx.cpuGroups);
    const raw = {
      ...(await rawReceiveDelete(sqs, rawQ.queueUrl, n, queues.maximum_concurrency)),
      cpu_ms_per_1k: rawCpu.per1k(n),
    };
    say(
      `  fauxqs receive+delete alone: ${raw.messages} in ${raw.seconds.toFixed(1)} s = ${Math.round(raw.per_s)}/s`,
    );
    say(`  CPU ms per 1,000 messages: ${cpuLine(raw.cpu_ms_per_1k)}`);
    say(`  persist / raw = ${Math.round((persist.per_s / raw.per_s) * 100)}% (target >= 50%)`);
    out.drain = { orders: n, backlog_reserve_s: reserve_s, backlog_send_s: send_s, persist, raw, invariant };
  },
};

/** CPU of each process group from now on, per 1,000 orders; `harness+trigger` is this process. */
function cpuMeter(groups: Record<string, CpuGroup>) {
  const a = sampleCpu(groups);
  const self0 = process.cpuUsage();
  return {
    per1k(orders: number): Record<string, number> {
      const self = process.cpuUsage(self0);
      const ms = { ...cpuBetween(a, sampleCpu(groups)), 'harness+trigger': (self.user + self.system) / 1000 };
      return Object.fromEntries(
        Object.entries(ms).map(([k, v]) => [k, Math.round((v / orders) * 1000 * 10) / 10]),
      );
    },
  };
}

const cpuLine = (c: Record<string, number>) =>
  Object.entries(c)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
