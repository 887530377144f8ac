// The cold-start probe's events: for every function of serverless.yml, an event whose answer is its
// normal one (the path a real first request takes), made against the bench stack. Writes get an
// event per invocation (a product created twice under one SKU, an order cancelled or paid twice,
// is a refusal or a duplicate, not the normal path); the queue consumer gets real messages taken
// off the orders queue while the consumer is paused; the schedule and migrate get what EventBridge
// and a direct invoke send.
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { httpEvent, sqsEvent, sqsRecord } from '../../infra/local/lambda-event';
import { webhookHeaders } from '../../infra/local/sandbox/sign';
import { mintToken } from '../../lib/http/auth';
import type { ProbeEvent } from './cold-start';
import type { BenchContext } from './context';
import { orderEvent } from './events';

/** Probes per function (cold-start.ts takes the median of three fresh processes). */
const PROBES = 3;
/** Orders per persistOrders invocation: a small batch of real messages. */
const PERSIST_BATCH = 10;

interface Placed {
  order_id: string;
  amount_cents: number;
  currency: string;
  token: string;
}

export async function probeEvents(
  ctx: BenchContext,
  product_id: number,
): Promise<Record<string, ProbeEvent>> {
  const id = String(product_id);
  const admin = { authorization: `Bearer ${await mintToken({ customer_id: 'bench-admin', admin: true })}` };
  const buyer = (token: string) => ({ authorization: `Bearer ${token}` });
  const get =
    (path: string, status: number, opts: Parameters<typeof httpEvent>[2] = {}): ProbeEvent =>
    () => ({ event: httpEvent('GET', path, opts), status });
  // Buyer tokens by use, so no per-customer limit answers instead: createOrder's probes take 1-3.
  const tokens = (from: number, n: number) => ctx.tokens.slice(from, from + n);
  await ctx.resumeConsumer(); // an earlier scenario may have left it paused
  const [read] = await placeAll(ctx, product_id, tokens(10, 1));
  const cancels = await placeAll(ctx, product_id, tokens(20, 2 * PROBES));
  const paid = await placeAll(ctx, product_id, tokens(30, 2 * PROBES));
  await ctx.drained(product_id); // a payment for an order not yet in PostgreSQL answers 202 pending
  const batches = await queuedBatches(ctx, product_id, tokens(40, 2 * PROBES * PERSIST_BATCH));
  const at = <T>(xs: T[], probe: number, second: boolean) => xs[2 * probe + (second ? 1 : 0)]!;

  const cancel = (o: Placed) =>
    httpEvent('POST', `/api/orders/${o.order_id}/cancel`, {
      headers: buyer(o.token),
      pathParameters: { order_id: o.order_id },
    });
  const pay = (o: Placed) => {
    const body = {
      type: 'payment.succeeded',
      data: {
        order_id: o.order_id,
        amount_cents: o.amount_cents,
        currency: o.currency,
        payment_id: `pay_${o.order_id}`,
      },
    };
    const headers = webhookHeaders(
      ctx.stack.env['WEBHOOK_SECRET']!,
      `msg_${o.order_id}`,
      JSON.stringify(body),
    );
    return httpEvent('POST', '/api/payments/webhook', { headers, body });
  };
  const newProduct = (probe: number, second: boolean) =>
    httpEvent('POST', '/api/admin/products', {
      headers: admin,
      body: {
        sku: `COLD-${Date.now()}-${probe}-${second ? 2 : 1}`,
        name: 'cold-start probe',
        price_cents: 100,
        currency: 'EUR',
        stock_total: 1,
      },
    });

  return {
    createOrder: (i) => ({ event: orderEvent(ctx.tokens[1 + i]!, product_id), status: 202 }),
    getOrder: get(`/api/orders/${read!.order_id}`, 200, {
      headers: buyer(read!.token),
      pathParameters: { order_id: read!.order_id },
    }),
    listOrders: get('/api/orders', 200, { headers: buyer(ctx.tokens[0]!) }),
    cancelOrder: (i) => ({
      event: cancel(at(cancels, i, false)),
      second: cancel(at(cancels, i, true)),
      status: 200,
    }),
    paymentWebhook: (i) => ({ event: pay(at(paid, i, false)), second: pay(at(paid, i, true)), status: 200 }),
    getProduct: get(`/api/products/${id}`, 200, { pathParameters: { id } }),
    listProducts: get('/api/products', 200),
    adminCreateProduct: (i) => ({ event: newProduct(i, false), second: newProduct(i, true), status: 201 }),
    adminUpdateProduct: () => ({
      event: httpEvent('PATCH', `/api/admin/products/${id}`, {
        headers: admin,
        pathParameters: { id },
        body: { max_per_order: 10 },
      }),
      status: 200,
    }),
    adminAudit: get(`/api/admin/products/${id}/audit`, 200, { headers: admin, pathParameters: { id } }),
    adminStats: get('/api/admin/stats', 200, { headers: admin }),
    healthz: get('/healthz', 200),
    readyz: get('/readyz', 200),
    openapi: get('/openapi.json', 200),
    docs: get('/docs', 200),
    dashboard: get('/', 200),
    notFound: get('/no-such-route', 404),
    persistOrders: (i) => ({ event: at(batches, i, false), second: at(batches, i, true), status: null }),
    // One whole release run over the bench stack's products, as the schedule runs it every minute.
    release: () => ({ event: scheduledEvent(), status: null }),
    // Applies nothing (the stack is migrated): the path of every deploy without a new migration.
    migrate: () => ({ event: {}, status: null }),
  };
}

async function placeAll(ctx: BenchContext, product_id: number, tokens: string[]): Promise<Placed[]> {
  const placed: Placed[] = [];
  for (const token of tokens) {
    const r = await fetch(`${ctx.stack.baseUrl}/api/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ product_id, qty: 1 }),
    });
    if (r.status !== 202) throw new Error(`cold-start probe order: ${r.status} ${await r.text()}`);
    placed.push({ ...((await r.json()) as Omit<Placed, 'token'>), token });
  }
  return placed;
}

/**
 * Orders placed while the consumer is paused, their messages taken off the orders queue as SQS
 * events of PERSIST_BATCH records each (the probes persist them; their outbox entries are acked
 * then, as the consumer would). Messages of anything else go back to the queue.
 */
async function queuedBatches(ctx: BenchContext, product_id: number, tokens: string[]) {
  await ctx.pauseConsumer();
  try {
    const mine = new Set((await placeAll(ctx, product_id, tokens)).map((o) => o.order_id));
    const QueueUrl = ctx.stack.env['ORDERS_QUEUE_URL']!;
    const bodies = new Map<string, string>();
    const deadline = Date.now() + 30_000;
    while (bodies.size < mine.size) {
      if (Date.now() > deadline)
        throw new Error(`cold-start probe: ${bodies.size} of ${mine.size} messages found`);
      const r = await ctx.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          VisibilityTimeout: 300,
        }),
      );
      const got = r.Messages ?? [];
      const isMine = (m: (typeof got)[number]) =>
        mine.has((JSON.parse(m.Body!) as { order_id: string }).order_id);
      const entries = (ms: typeof got) =>
        ms.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle! }));
      const taken = got.filter(isMine);
      const others = got.filter((m) => !isMine(m));
      for (const m of taken) bodies.set(m.MessageId!, m.Body!);
      if (taken.length)
        await ctx.sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: entries(taken) }));
      if (others.length)
        await ctx.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl,
            Entries: entries(others).map((e) => ({ ...e, VisibilityTimeout: 0 })),
          }),
        );
    }
    const all = [...bodies.values()];
    return Array.from({ length: all.length / PERSIST_BATCH }, (_, b) =>
      sqsEvent(all.slice(b * PERSIST_BATCH, (b + 1) * PERSIST_BATCH).map((body) => sqsRecord(body))),
    );
  } finally {
    await ctx.resumeConsumer();
  }
}

function scheduledEvent() {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: ['arn:aws:events:us-east-1:000000000000:rule/bench-cold-start'],
    detail: {},
  };
}
