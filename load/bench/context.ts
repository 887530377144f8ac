// What every bench scenario shares: the local stack the driver started (own ports, own DATA_DIR,
// nothing seeded), a second serverless-offline instance with the bench-only functions, clients to
// each service, buyer tokens (also written to a file for wrk), and the helpers a write scenario
// needs (pause/resume the consumer, wait for the drain, check the invariants).
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { type Proc, startProc, waitFor } from '../../infra/local/procs';
import { localSqsClient } from '../../infra/local/services';
import { offlineInvoker, startSqsTrigger } from '../../infra/local/sqs-trigger';
import { ROOT, type Stack } from '../../infra/local/stack';
import queues from '../../infra/queues.json' with { type: 'json' };
import { mintToken } from '../../lib/http/auth';
import type { CpuGroup } from './cpu';
import { type AuditFigures, checkWrite, describe, type InvariantReport } from './invariants';
import type { MachineInfo } from './machine';
import type { BenchParams } from './params';

export type Say = (msg: string) => void;
export type Api = ReturnType<typeof apiClient>;

export interface BenchContext {
  P: BenchParams;
  stack: Stack;
  benchOffline: Proc;
  benchUrl: string;
  dataDir: string;
  machine: MachineInfo;
  api: Api;
  sql: postgres.Sql;
  redis: Redis;
  sqs: ReturnType<typeof localSqsClient>;
  /** buyer tokens, and the same one a line in a file (wrk's Lua script reads it) */
  tokens: string[];
  tokens_file: string;
  /** product 1, created first so the reference's `ab` command targets it exactly as written */
  ab_product_id: number;
  /** the queue the send-only function writes to (nothing consumes it) */
  send_only_queue_url: string;
  say: Say;
  /** CPU groups sampled around every measured run (load/bench/cpu.ts) */
  cpuGroups: Record<string, CpuGroup>;
  product(p: { stock_total: number; max_per_order?: number }): Promise<{ id: number }>;
  pauseConsumer(): Promise<void>;
  resumeConsumer(): Promise<void>;
  /** waits for every accepted order of the product to reach PostgreSQL; returns the audit then */
  drained(product_id: number, timeout_ms?: number): Promise<AuditFigures>;
  /** drains, then checks units accepted = units taken and PostgreSQL holds every order */
  checkWrite(
    label: string,
    product_id: number,
    f: { accepted_orders: number; unknown_orders?: number; qty: number },
  ): Promise<InvariantReport>;
}

export async function openContext(o: {
  P: BenchParams;
  stack: Stack;
  dataDir: string;
  machine: MachineInfo;
  benchPort: number;
  say: Say;
}): Promise<{ ctx: BenchContext; close: () => Promise<void> }> {
  const { stack, say } = o;
  const api = apiClient(stack.baseUrl, await mintToken({ customer_id: 'bench-admin', admin: true }));
  const abProduct = await api.product({ stock_total: o.P.ab.stock, max_per_order: 10 });
  const sql = postgres(stack.env['DATABASE_URL']!, { max: 4, onnotice: () => {} });
  const redis = new Redis(stack.env['REDIS_URL']!);
  const sqs = localSqsClient(stack.env['SQS_ENDPOINT']!);
  const tokens = await Promise.all(
    Array.from({ length: o.P.buyer_tokens }, (_, i) => mintToken({ customer_id: `bench-buyer-${i}` })),
  );
  const tokens_file = join(o.dataDir, 'buyer-tokens.txt');
  writeFileSync(tokens_file, `${tokens.join('\n')}\n`);
  const sendOnlyQ = await sqs.send(new CreateQueueCommand({ QueueName: `bench-send-only-${Date.now()}` }));
  const benchOffline = await startBenchOffline(stack, o.benchPort, o.P, sendOnlyQ.QueueUrl!, say);
  const drained = async (product_id: number, timeout_ms = 180_000) => {
    const deadline = Date.now() + timeout_ms;
    for (;;) {
      const a = await api.audit(product_id);
      if (a.in_flight === 0) return a;
      if (Date.now() > deadline) throw new Error(`product ${product_id} not drained: ${JSON.stringify(a)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const ctx: BenchContext = {
    P: o.P,
    stack,
    benchOffline,
    benchUrl: `http://127.0.0.1:${o.benchPort}`,
    dataDir: o.dataDir,
    machine: o.machine,
    api,
    sql,
    redis,
    sqs,
    tokens,
    tokens_file,
    ab_product_id: abProduct.id,
    send_only_queue_url: sendOnlyQ.QueueUrl!,
    say,
    cpuGroups: {
      'serverless-offline (product)': [stack.offline!.child.pid!],
      'serverless-offline (bench fns)': [benchOffline.child.pid!],
      fauxqs: [stack.queue!.proc!.child.pid!],
      redis: [stack.redis!.proc.child.pid!],
      // this stack's PostgreSQL (postmaster and backends), not every postgres on the machine
      postgres: stack.postgres ? { tree: stack.postgres.proc.child.pid! } : 'postgres',
    },
    product: api.product,
    // The consumer side (local SQS trigger -> persistOrders -> PostgreSQL) is paused while a
    // request-path figure is measured: in AWS it runs on other Lambda containers and RDS, here it
    // would take the same two cores. Each backlog is drained (and timed) right after.
    async pauseConsumer() {
      await stack.trigger?.stop();
      stack.trigger = null;
    },
    async resumeConsumer() {
      if (stack.trigger) return;
      const queueUrl = stack.env['ORDERS_QUEUE_URL']!;
      const arn = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
      );
      stack.trigger = startSqsTrigger({
        sqs,
        queueUrl,
        queueArn: arn.Attributes!['QueueArn']!,
        invoke: offlineInvoker(stack.lambdaPort, 'flash-sale-dev-persistOrders'),
        batch_size: queues.batch_size,
        maximum_batching_window_s: queues.maximum_batching_window_s,
        maximum_concurrency: queues.maximum_concurrency,
      });
    },
    drained,
    async checkWrite(label, product_id, f) {
      await ctx.resumeConsumer();
      const audit = await drained(product_id);
      const [row] = await sql<
        { n: number }[]
      >`SELECT count(*)::int AS n FROM orders WHERE product_id = ${product_id}`;
      const r = checkWrite({ ...f, audit, pg_orders: row!.n });
      say(`  invariant ${label}: ${describe(r)}`);
      return r;
    },
  };
  const close = async () => {
    await sql.end({ timeout: 2 });
    redis.disconnect();
    await benchOffline.stop('SIGINT');
  };
  return { ctx, close };
}

async function startBenchOffline(
  stack: Stack,
  port: number,
  P: BenchParams,
  send_only_queue_url: string,
  say: Say,
): Promise<Proc> {
  const sls = join(ROOT, 'node_modules/osls/bin/serverless.js');
  const args = [
    sls, 'offline', 'start',
    '--config', 'serverless.bench.yml',
    '--httpPort', String(port),
    '--lambdaPort', String(port + 2),
    '--websocketPort', String(port + 1),
    '--albPort', String(port + 3),
    '--host', '127.0.0.1',
  ]; // biome-ignore format: flag/value pairs
  const proc = startProc(`bench-offline-${port}`, process.execPath, args, {
    logDir: stack.logDir,
    cwd: join(ROOT, 'load/bench'),
    env: {
      ...process.env,
      ...stack.env,
      ROWLOCK_POOL_MAX: String(P.rowlock_pool_max),
      BENCH_SEND_ONLY_QUEUE_URL: send_only_queue_url,
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
    },
  });
  await waitFor(
    'bench serverless offline',
    async () => {
      if (proc.child.exitCode !== null) throw new Error('bench offline exited; see its log');
      return (await fetch(`http://127.0.0.1:${port}/bench/floor`, { method: 'POST', body: '{}' })).ok;
    },
    300_000, // it bundles its functions first; on a loaded machine that has taken over two minutes
  );
  say(
    `  bench fns    http://127.0.0.1:${port} (floor, send-only, row-lock; load/bench/serverless.bench.yml)`,
  );
  return proc;
}

function apiClient(baseUrl: string, adminToken: string) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text);
  };
  return {
    product: (p: { stock_total: number; max_per_order?: number }) =>
      call('POST', '/api/admin/products', {
        sku: `BENCH-${randomUUID()}`,
        name: 'bench product',
        price_cents: 100,
        currency: 'EUR',
        max_per_order: 10,
        ...p,
      }) as Promise<{ id: number }>,
    audit: (id: number) => call('GET', `/api/admin/products/${id}/audit`) as Promise<AuditFigures>,
  };
}
