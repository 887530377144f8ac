// Pins down the operator's tools and the schedule: the CLI audit reports ok and exits non-zero on a
// deliberately corrupted Redis counter; the CLI release run works; its `pay` signs a webhook the API
// applies; the EventBridge schedule (run by
// serverless-offline) expires an overdue order on its own.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { createOrderQueues, localSqsClient } from '../../infra/local/services';
import { redisClient } from '../../lib/inventory/client';
import { productKeys } from '../../lib/inventory/keys';
import { queueDepth } from '../../lib/queue/dlq';
import { adminToken, baseUrl, buyerToken, call, drained, newProduct, reserve } from '../helpers/api';
import { waitUntil } from '../helpers/domain';
import { clearOfScheduledRun } from '../helpers/schedule';
import { sendWebhook } from '../helpers/webhook';

const run = promisify(execFile);
const sql = postgres(process.env['DATABASE_URL']!, { max: 2 });
afterAll(() => sql.end());

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...args: string[]): Promise<CliResult> {
  return cliWith({}, ...args);
}

async function cliWith(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'bin/cli.ts', ...args], {
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as CliResult;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

it('audit command: ok, then drift after corrupting the Redis counter (exit 1)', async () => {
  const product = await newProduct({ stock_total: 10 });
  await reserve(await buyerToken(), product.id, 2);
  await drained(product.id);
  const ok = await cli('audit', '--json', '--product', String(product.id));
  expect(ok.code).toBe(0);
  const report = JSON.parse(ok.stdout);
  expect(report.products[0]).toMatchObject({
    product_id: product.id,
    available: 8,
    reserved: 2,
    drift: 0,
    ok: true,
  });
  expect(Array.isArray(report.refund_required)).toBe(true);
  expect(Array.isArray(report.orphaned)).toBe(true);

  await redisClient().hincrby(productKeys(process.env['REDIS_KEY_PREFIX']!, product.id).sale, 'available', 1);
  const bad = await cli('audit', '--json', '--product', String(product.id));
  expect(bad.code).toBe(1);
  expect(JSON.parse(bad.stdout).products[0]).toMatchObject({ drift: -1, ok: false });
  // Put it back: the suite's teardown audits every product and fails on any drift.
  await redisClient().hincrby(
    productKeys(process.env['REDIS_KEY_PREFIX']!, product.id).sale,
    'available',
    -1,
  );
});

it('audit command names a product whose Redis state is lost (it used to audit only what Redis held)', async () => {
  await clearOfScheduledRun(25); // no release run may rebuild it while it is away
  const product = await newProduct({ stock_total: 4 });
  const sale = productKeys(process.env['REDIS_KEY_PREFIX']!, product.id).sale;
  await redisClient().rename(sale, `${sale}:away`);
  try {
    const all = await cli('audit', '--json');
    expect(all.code).toBe(1);
    expect(JSON.parse(all.stdout).products_missing).toContain(product.id);
    expect((await cli('audit')).stdout).toMatch(new RegExp(`no sale state in Redis.*\\b${product.id}\\b`));
  } finally {
    await redisClient().rename(`${sale}:away`, sale); // the suite's teardown audits every product
  }
});

it('audit command lists a second charge of a paid order, not the paying payment sent again', async () => {
  const product = await newProduct({ stock_total: 3 });
  const order = (await reserve(await buyerToken(), product.id, 1)).body;
  await drained(product.id);
  const pay = (payment_id: string) =>
    sendWebhook(order.order_id, { amount_cents: order.amount_cents, payment_id });
  const paying = `pay_${randomUUID()}`;
  const second = `pay_${randomUUID()}`;
  expect((await pay(paying)).body).toMatchObject({ result: 'applied', status: 'paid' });
  // The provider delivers the same payment again under a new webhook-id: not money taken twice.
  expect((await pay(paying)).body).toMatchObject({ result: 'ignored' });
  // Another payment for the paid order: the customer was charged twice.
  expect((await pay(second)).body).toMatchObject({ result: 'ignored' });
  const r = await cli('audit', '--json', '--product', String(product.id));
  const listed = JSON.parse(r.stdout).unapplied_payments.filter((p: any) => p.order_id === order.order_id);
  expect(listed.map((p: any) => p.payment_id)).toEqual([second]);
  expect((await cli('audit', '--product', String(product.id))).stdout).toMatch(
    /successful payments not applied: [1-9]/,
  );
});

it('audit command: a product that does not exist is an error, not an empty table', async () => {
  const r = await cli('audit', '--product', '999999');
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('product 999999 does not exist');
  expect(r.stdout).not.toContain('audit: ok');
});

it('release command runs the release work on demand and prints its report', async () => {
  const r = await cli('release');
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toHaveProperty('expired');
});

it('token command mints a token the API accepts', async () => {
  const r = await cli('token', '--customer', 'cli-buyer');
  expect(r.code).toBe(0);
  const mine = await call('GET', '/api/orders', { token: r.stdout.trim() });
  expect(mine.status).toBe(200);
  const admin = await cli('token', '--admin');
  const denied = await call('GET', '/api/admin/products/1/audit', { token: r.stdout.trim() });
  expect(denied.status).toBe(403);
  const allowed = await call('GET', '/api/products', { token: admin.stdout.trim() });
  expect(allowed.status).toBe(200);
});

it('pay command sends a signed webhook the API applies', async () => {
  const product = await newProduct({ stock_total: 3 });
  const order = await reserve(await buyerToken(), product.id, 1);
  await drained(product.id);
  const r = await cli('pay', order.body.order_id, '--url', baseUrl());
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^200 .*"applied"/);
  const read = await call('GET', `/api/orders/${order.body.order_id}`, { token: await adminToken() });
  expect(read.body.status).toBe('paid');
});

it('pay command: an order the API does not know is not paid, and a refused webhook exits 1', async () => {
  const unknown = await cli('pay', randomUUID(), '--url', baseUrl());
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toMatch(/order .* not found/);
  expect(unknown.stdout).toBe(''); // no webhook sent
  const refused = await cli('pay', randomUUID(), '--amount', '100', '--currency', 'EURO', '--url', baseUrl());
  expect(refused.code).toBe(1);
  expect(refused.stdout).toMatch(/^400 /);
});

it('the every-minute schedule expires an overdue order without anyone asking', {
  timeout: 150_000,
}, async () => {
  const product = await newProduct({ stock_total: 3, reservation_ttl_s: 1 });
  const r = await reserve(await buyerToken(), product.id, 3);
  expect(r.status).toBe(202);
  await waitUntil(
    'the scheduled release run',
    async () => {
      const [row] = await sql`SELECT status FROM orders WHERE order_id = ${r.body.order_id}`;
      return row?.['status'] === 'expired';
    },
    140_000,
  );
  expect(await drained(product.id)).toMatchObject({ available: 3, reserved: 0, ok: true });
});

it('poison messages in the DLQ are counted by the audit and re-driven by a command', async () => {
  const sqs = localSqsClient(process.env['SQS_ENDPOINT']!);
  const tag = randomUUID().slice(0, 8);
  const pair = await createOrderQueues(sqs, { queue: `redrive-${tag}`, dlq: `redrive-${tag}-dlq` });
  const env = { ORDERS_QUEUE_URL: pair.queueUrl, ORDERS_DLQ_URL: pair.dlqUrl };
  for (let i = 0; i < 3; i++) {
    await sqs.send(new SendMessageCommand({ QueueUrl: pair.dlqUrl, MessageBody: `{"poison":${i}}` }));
  }
  const product = await newProduct({ stock_total: 1 });
  const before = JSON.parse((await cliWith(env, 'audit', '--json', '--product', String(product.id))).stdout);
  expect(before.dlq.visible + before.dlq.in_flight).toBe(3);
  // --max moves that many and receives no more: the third stays visible in the DLQ, not in flight
  const two = await cliWith(env, 'dlq-redrive', '--max', '2');
  expect(JSON.parse(two.stdout)).toEqual({ moved: 2 });
  expect(await queueDepth(sqs, pair.dlqUrl)).toEqual({ visible: 1, in_flight: 0 });
  const moved = await cliWith(env, 'dlq-redrive');
  expect(JSON.parse(moved.stdout)).toEqual({ moved: 1 });
  expect(await queueDepth(sqs, pair.dlqUrl)).toEqual({ visible: 0, in_flight: 0 });
  const back = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: pair.queueUrl, MaxNumberOfMessages: 10 }),
  );
  expect((back.Messages ?? []).map((m) => m.Body).sort()).toEqual([
    '{"poison":0}',
    '{"poison":1}',
    '{"poison":2}',
  ]);
});
