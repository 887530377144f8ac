// Pins down the operator's figures as the functions print them: one order followed through the real
// createOrder, a queue, persistOrders and the payment webhook (invoked in-process with a Lambda
// context) prints EMF lines carrying the documented metrics with their dimensions, and log lines
// carrying the Lambda context and the same correlation id at every step; the release run prints the
// conservation figures.
import { randomUUID } from 'node:crypto';
import { DeleteQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signWebhook } from '../../infra/local/sandbox/sign';
import { createOrderQueues, localSqsClient, type QueuePair } from '../../infra/local/services';
import { resetConfig } from '../../lib/config';
import { METRICS_NAMESPACE } from '../../lib/platform/metrics';
import { buyerToken, newProduct } from '../helpers/api';
import { httpEvent, lambdaContext } from '../helpers/lambda-event';

// The logger takes its level when first imported, and Powertools puts it back at every invocation:
// INFO before the functions are loaded, so their log lines can be read. Nothing imported above may
// load lib/platform/logger (lib/orders/db does, through the secrets: hence imported below).
process.env['LOG_LEVEL'] = 'INFO';
resetConfig();
const { handler: createOrder } = await import('../../functions/createOrder');
const { handler: paymentWebhook } = await import('../../functions/paymentWebhook');
const { handler: release } = await import('../../functions/release');
const { persistInProcess, sqsEvent, sqsRecord } = await import('../helpers/in-flight');
const { waitUntil } = await import('../helpers/domain');
const { closeRedis } = await import('../../lib/inventory/client');
const { closeDb } = await import('../../lib/orders/db');

type Http = (e: APIGatewayProxyEventV2, c: unknown) => Promise<APIGatewayProxyStructuredResultV2>;

const sqs = localSqsClient(process.env['SQS_ENDPOINT']!);
let q: QueuePair;

beforeAll(async () => {
  // createOrder sends to this test's own queue, so the test, not the stack's trigger, delivers it.
  const suffix = randomUUID().slice(0, 8);
  q = await createOrderQueues(sqs, { queue: `emf-${suffix}`, dlq: `emf-${suffix}-dlq` });
  process.env['ORDERS_QUEUE_URL'] = q.queueUrl;
  resetConfig();
});
afterAll(async () => {
  await sqs.send(new DeleteQueueCommand({ QueueUrl: q.queueUrl }));
  await sqs.send(new DeleteQueueCommand({ QueueUrl: q.dlqUrl }));
  await closeRedis();
  await closeDb();
});

/** Every JSON line written to stdout while `fn` runs. */
async function printed<T>(fn: () => Promise<T>): Promise<{ value: T; lines: any[] }> {
  const lines: any[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    for (const l of String(chunk).split('\n')) {
      if (l.startsWith('{')) lines.push(JSON.parse(l));
    }
    return true;
  }) as typeof process.stdout.write;
  try {
    return { value: await fn(), lines };
  } finally {
    process.stdout.write = write;
  }
}

interface Emf {
  namespace: string;
  dimensions: string[];
  metrics: Record<string, { unit: string; value: unknown }>;
  line: Record<string, unknown>;
}

function emf(lines: any[]): Emf[] {
  return lines
    .filter((l) => l._aws)
    .flatMap((l) =>
      (l._aws.CloudWatchMetrics as any[]).map((d) => ({
        namespace: d.Namespace,
        dimensions: d.Dimensions.flat(),
        metrics: Object.fromEntries(
          (d.Metrics as any[]).map((m) => [m.Name, { unit: m.Unit, value: l[m.Name] }]),
        ),
        line: l,
      })),
    );
}

const findMetric = (all: Emf[], name: string) => all.filter((e) => name in e.metrics);

it('createOrder -> queue -> persistOrders -> webhook: metrics with their dimensions, one correlation id', async () => {
  const product = await newProduct({ stock_total: 1, price_cents: 700 });
  const token = await buyerToken();
  const order = (body: unknown, headers: Record<string, string> = {}) =>
    (createOrder as unknown as Http)(
      httpEvent('POST', '/api/orders', { body, headers: { authorization: `Bearer ${token}`, ...headers } }),
      lambdaContext('createOrder'),
    );

  const created = await printed(async () => [
    await order({ product_id: product.id, qty: 1 }),
    await order({ product_id: product.id, qty: 1 }), // stock 1: sold out
    await order({ product_id: product.id, qty: 0 }), // invalid body
  ]);
  expect(created.value.map((r) => r.statusCode)).toEqual([202, 409, 400]);
  const order_id = JSON.parse(created.value[0]!.body as string).order_id as string;

  const reservations = findMetric(emf(created.lines), 'Reservations');
  expect(reservations.map((e) => e.line['outcome'])).toEqual(['accepted', 'sold_out', 'invalid']);
  for (const e of reservations) {
    expect(e.namespace).toBe(METRICS_NAMESPACE);
    expect(e.dimensions).toEqual(['service', 'outcome']);
    expect(e.metrics['Reservations']).toEqual({ unit: 'Count', value: 1 });
    expect(e.line['service']).toBe('flash-sale');
  }
  const access = created.lines.filter((l) => l.message === 'request');
  expect(access[0]).toMatchObject({
    correlation_id: order_id,
    function_name: 'createOrder',
    cold_start: expect.any(Boolean),
    function_request_id: expect.any(String),
    status: 202,
  });

  // The message createOrder put on the queue, delivered as Lambda's event source mapping would.
  const msg = await waitUntil('the order message', async () => {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.queueUrl, WaitTimeSeconds: 1 }));
    return r.Messages?.[0];
  });
  const persisted = await printed(() =>
    persistInProcess(sqsEvent([sqsRecord(msg.Body!), sqsRecord('not json')]) as SQSEvent),
  );
  expect(persisted.value.batchItemFailures).toHaveLength(1); // the unreadable record only
  const batch = findMetric(emf(persisted.lines), 'PersistBatchSize');
  expect(batch).toHaveLength(1);
  expect(batch[0]!.dimensions).toEqual(['service']);
  expect(batch[0]!.metrics).toMatchObject({
    PersistBatchSize: { unit: 'Count', value: 2 },
    UnreadableMessages: { unit: 'Count', value: 1 },
    OrdersPersisted: { unit: 'Count', value: 1 },
    PersistDuplicates: { unit: 'Count', value: 0 },
    PersistBatchesFailed: { unit: 'Count', value: 0 },
    PersistDuration: { unit: 'Milliseconds', value: expect.any(Number) },
    PersistLatency: { unit: 'Milliseconds', value: expect.any(Number) },
  });
  expect(batch[0]!.metrics['PersistLatency']!.value as number).toBeGreaterThanOrEqual(0);
  expect(persisted.lines.find((l) => l.message === 'order persisted')).toMatchObject({
    correlation_id: order_id,
    function_name: 'persistOrders',
  });

  const paid = await printed(() => pay(order_id, 700));
  expect(paid.value.statusCode).toBe(200);
  const webhook = findMetric(emf(paid.lines), 'WebhookEvents');
  expect(webhook.map((e) => [e.dimensions, e.line['outcome']])).toEqual([
    [['service', 'outcome'], 'applied'],
  ]);
  expect(paid.lines.find((l) => l.message === 'request')).toMatchObject({
    correlation_id: order_id,
    function_name: 'paymentWebhook',
  });
});

it('the release run prints its work and the conservation figures (totals, and per product)', async () => {
  const product = await newProduct({ stock_total: 3 });
  const runRelease = () =>
    printed(() =>
      // As deployed (serverless.yml: 55 s): a run that meets another test's closed product waits
      // for its rebuild's fence, longer than the helper's default 6 s.
      (release as unknown as (e: unknown, c: unknown) => Promise<unknown>)(
        {},
        { ...lambdaContext('release'), getRemainingTimeInMillis: () => 55_000 },
      ),
    );
  // Per product, the run prints the newest PRODUCT_METRICS_MAX: other test files create products
  // meanwhile, and under load enough of them can push this one out of a run; the next run is taken.
  const ownLine = (lines: string[]) =>
    findMetric(emf(lines), 'Available').some((e) => e.line['product_id'] === String(product.id));
  let run = await runRelease();
  for (let attempt = 1; attempt < 5 && !ownLine(run.lines); attempt++) run = await runRelease();
  const all = emf(run.lines);
  const work = findMetric(all, 'ReleaseRuns');
  expect(work).toHaveLength(1);
  expect(work[0]!.dimensions).toEqual(['service']);
  for (const name of [
    'Expiries',
    'Releases',
    'Rebuilds',
    'OutboxResent',
    'StrandedCancelsApplied',
    'ReleaseRunDuration',
  ]) {
    expect(work[0]!.metrics[name]?.value, name).toEqual(expect.any(Number));
  }
  const totals = findMetric(all, 'ProductsDrifting');
  expect(totals).toHaveLength(1);
  expect(totals[0]!.dimensions).toEqual(['service']);
  // Totals cover every product of the shared stack, where other files roll Redis back or corrupt a
  // counter on purpose: their drift is theirs (this product's own Drift is checked below).
  expect(totals[0]!.metrics).toMatchObject({
    ProductsDrifting: { unit: 'Count', value: expect.any(Number) },
    DriftUnits: { unit: 'Count', value: expect.any(Number) },
    OutboxSize: { unit: 'Count', value: expect.any(Number) },
    OutboxOldestAge: { unit: 'Seconds', value: expect.any(Number) },
  });
  const drifting = Number(totals[0]!.metrics['ProductsDrifting']!.value);
  const drift_units = Number(totals[0]!.metrics['DriftUnits']!.value);
  // Drift units are the sum of every product's |drift|, and a product with drift is not ok. Not the
  // reverse: a product is also not ok with no drift at all when its outbox counters are off (other
  // files corrupt one on purpose), so "drifting but 0 drift units" is consistent (failed a rehearsal).
  expect(drift_units === 0 || drifting > 0, 'drift units without a drifting product').toBe(true);
  const mine = findMetric(all, 'Available').find((e) => e.line['product_id'] === String(product.id));
  expect(mine?.dimensions).toEqual(['service', 'product_id']);
  expect(mine?.metrics).toEqual({
    Available: { unit: 'Count', value: 3 },
    Drift: { unit: 'Count', value: 0 },
  });
}, 300_000);

async function pay(order_id: string, amount_cents: number) {
  const webhook_id = `msg_${randomUUID()}`;
  const body = JSON.stringify({
    type: 'payment.succeeded',
    data: { order_id, amount_cents, currency: 'EUR', payment_id: `pay_${randomUUID()}` },
  });
  const now = new Date();
  const event = httpEvent('POST', '/api/payments/webhook', {
    headers: {
      'webhook-id': webhook_id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signWebhook(process.env['WEBHOOK_SECRET']!, webhook_id, body, now),
    },
  });
  event.body = body; // the raw bytes the signature covers
  return (paymentWebhook as unknown as Http)(event, lambdaContext('paymentWebhook'));
}
