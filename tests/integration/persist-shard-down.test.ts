// persistOrders on a Redis Cluster with one shard down after the commit: only the records of the
// products on that shard are reported in batchItemFailures; the others are acked and deleted (before,
// one shard's failed ack failed the whole batch, so the healthy products' orders came back again
// and, with the shard down for maxReceiveCount receives, reached the DLQ, which keeps rebuilds
// closed). The redelivery after the shard is back acks the rest.
//
// Its own three-master cluster (one node is killed: the suite's Redis, standalone or cluster, is
// shared by every file) and its own database on the stack's PostgreSQL (the stack's release run must
// not meet products whose Redis state lives elsewhere).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSRecord } from 'aws-lambda';
import type { Cluster } from 'ioredis';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Proc } from '../../infra/local/procs';
import {
  createDatabase,
  type RedisClusterService,
  startClusterNode,
  startRedisCluster,
} from '../../infra/local/services';
import { clusterPorts } from '../../infra/local/stack';
import { findTools, type Tools } from '../../infra/local/tools';
import { resetConfig } from '../../lib/config';
import { inventory, products } from '../../lib/container';
import { closeRedis, redisClient } from '../../lib/inventory/client';
import { productKeys } from '../../lib/inventory/keys';
import { closeDb } from '../../lib/orders/db';
import { migrate } from '../../lib/orders/migrate';
import { domainLog } from '../../lib/platform/logger';
import { createProduct } from '../../lib/sale/catalog';
import type { AcceptedOrder } from '../../lib/sale/types';
import { waitUntil } from '../helpers/domain';
import { persistInProcess, reservedUnsent, sqsEvent, sqsRecord } from '../helpers/in-flight';

const stackEnv = { ...process.env };
const dataDir = mkdtempSync(join(tmpdir(), 'flash-sale-shard-down-'));
const logDir = join(dataDir, 'logs');
const tools = findTools() as Tools;
const dbName = `shard_down_${randomBytes(6).toString('hex')}`;
const adminUrl = new URL(stackEnv['DATABASE_URL']!);
let cluster: RedisClusterService;
let sql: postgres.Sql;
const prefix = () => process.env['REDIS_KEY_PREFIX']!;

beforeAll(async () => {
  const ports = await clusterPorts(20_000 + Math.floor(Math.random() * 10_000));
  cluster = await startRedisCluster(tools.redisServer, { dataDir, logDir, ports });
  // The masters have no replicas: without this, the survivors refuse every slot once they mark the
  // stopped node failed (cluster-node-timeout), and the test would see the whole cluster down.
  for (const port of ports) await onNode(port, (r) => r.config('SET', 'cluster-require-full-coverage', 'no'));
  await createDatabase(adminUrl.toString(), dbName);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  Object.assign(process.env, { DATABASE_URL: url.toString(), REDIS_CLUSTER_NODES: cluster.nodes });
  resetConfig();
  sql = postgres(url.toString(), { max: 2, onnotice: () => {} });
  await migrate(sql);
}, 120_000);

afterAll(async () => {
  await sql?.end();
  await closeRedis();
  await closeDb();
  for (const p of cluster?.procs ?? []) await p.stop('SIGKILL');
  Object.assign(process.env, stackEnv);
  resetConfig();
  const admin = postgres(adminUrl.toString(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).finally(() => admin.end());
  rmSync(dataDir, { recursive: true, force: true });
});

async function onNode<T>(port: number, work: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    return await work(r);
  } finally {
    r.disconnect();
  }
}

/** The port of the master serving the product's slot. */
async function portOf(product_id: number): Promise<number> {
  const c = redisClient() as unknown as Cluster;
  const slot = Number(await c.cluster('KEYSLOT', productKeys(prefix(), product_id).sale));
  const shards = await c.cluster('SLOTS');
  const owner = shards.find(([from, to]) => slot >= from && slot <= to);
  if (!owner) throw new Error(`slot ${slot} is served by no node`);
  return owner[2]![1];
}

/** Products of the test's database until two are on different shards. */
async function productsOnTwoShards(): Promise<{ healthy: number; down: number; downPort: number }> {
  const seen = new Map<number, number>();
  for (let i = 0; i < 20; i++) {
    const { product: p } = await createProduct(
      { inventory: inventory(), products: products() },
      {
        sku: `SHARD-${randomBytes(4).toString('hex')}`,
        name: 'shard test product',
        price_cents: 1000,
        currency: 'EUR',
        stock_total: 10,
        max_per_order: 5,
        per_customer_limit: null,
        reservation_ttl_s: 600,
        sale_starts_at: null,
        sale_ends_at: null,
        paused: false,
      },
    );
    const port = await portOf(p.id);
    const other = [...seen].find(([, at]) => at !== port);
    if (other) return { healthy: other[0], down: p.id, downPort: port };
    seen.set(p.id, port);
  }
  throw new Error('no two products on different shards');
}

const outboxed = async (o: AcceptedOrder) =>
  (await redisClient().zscore(productKeys(prefix(), o.product_id).outbox, o.order_id)) !== null;
const inFlight = async (product_id: number) =>
  Number(await redisClient().hget(productKeys(prefix(), product_id).sale, 'in_flight'));
const rows = async (ids: string[]) =>
  (await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM orders WHERE order_id IN ${sql(ids)}`)[0]!.n;

it('one shard down after the commit: only its products’ records fail; the others are acked and deleted', async () => {
  const { healthy, down, downPort } = await productsOnTwoShards();
  const good = [await reservedUnsent(healthy), await reservedUnsent(healthy, 2)];
  const stranded = [await reservedUnsent(down), await reservedUnsent(down)];
  const record = new Map<string, SQSRecord>();
  for (const o of [...good, ...stranded]) record.set(o.order_id, sqsRecord(JSON.stringify(o)));
  const idsOf = (orders: AcceptedOrder[]) =>
    orders.map((o) => ({ itemIdentifier: record.get(o.order_id)!.messageId }));

  const node = cluster.procs.find((p) => p.name === `redis-cluster-${downPort}`)!;
  await node.stop('SIGKILL'); // the shard of `down` is gone; PostgreSQL and the other shards are up
  const logged = vi.spyOn(domainLog, 'error');
  const first = await persistInProcess(
    sqsEvent([
      record.get(good[0]!.order_id)!,
      ...stranded.map((o) => record.get(o.order_id)!),
      record.get(good[1]!.order_id)!,
    ]),
  );
  console.log('batch with one shard down answered', JSON.stringify(first));

  // before: every record of the batch, the healthy product's two included
  expect(first.batchItemFailures).toEqual(idsOf(stranded));
  expect(await rows([...good, ...stranded].map((o) => o.order_id)), 'all committed').toBe(4);
  for (const o of good) expect(await outboxed(o), 'the healthy product’s orders are acked').toBe(false);
  expect(await inFlight(healthy)).toBe(0);
  const line = logged.mock.calls.find(([msg]) =>
    msg.startsWith('persist: a Redis step after the commit failed'),
  );
  expect(line?.[1]).toMatchObject({
    products: [{ product_id: down, shard: expect.stringMatching(`:${downPort}$`), step: 'ack', orders: 2 }],
  });
  logged.mockRestore();

  // The shard back (its AOF and nodes.conf kept): the failed records come again and are acked.
  const index = cluster.procs.indexOf(node);
  cluster.procs[index] = startClusterNode(tools.redisServer, downPort, { dataDir, logDir }) as Proc;
  await waitUntil('the shard serving again', async () => {
    try {
      return (
        (await inFlight(down)) === 2 &&
        (await onNode(downPort, (r) => r.cluster('INFO'))).includes('cluster_state:ok')
      );
    } catch {
      return false;
    }
  });
  expect(await Promise.all(stranded.map(outboxed)), 'still in the outbox while the shard was down').toEqual([
    true,
    true,
  ]);
  const again = await persistInProcess(sqsEvent(stranded.map((o) => sqsRecord(JSON.stringify(o), 2))));
  expect(again.batchItemFailures).toEqual([]);
  expect(await Promise.all(stranded.map(outboxed))).toEqual([false, false]);
  expect(await inFlight(down)).toBe(0);
});
