// Benchmark only: the "unavoidable call" of POST /api/orders. It parses the body and sends the
// order message to SQS with the product's own client, nothing else: no middy, no auth, no
// validation, no Redis, no log line. createOrder's throughput is reported against this handler.
// Its messages go to a queue of their own (BENCH_SEND_ONLY_QUEUE_URL) that nothing consumes. The
// message has every field of a real accepted order (generation and sequence included) and a buyer
// id as long as the bench's, so the body sent is the same size as createOrder's.
// Served over HTTP by load/bench/serverless.bench.yml and invoked directly by handler-level.ts.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { sqsClient, sqsOrderQueue } from '../../lib/queue/sqs';
import { newOrderId } from '../../lib/sale/order-id';
import type { OrderQueue } from '../../lib/sale/ports';

let queue: OrderQueue | undefined;
let seq = 0;

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const body = JSON.parse(event.body ?? '{}') as { product_id: number; qty: number };
  const now_ms = Date.now();
  const order = {
    order_id: newOrderId(body.product_id, now_ms),
    product_id: body.product_id,
    customer_id: 'bench-buyer-000',
    qty: body.qty,
    unit_price_cents: 100,
    currency: 'EUR',
    created_ms: now_ms,
    expires_ms: now_ms + 600_000,
    generation: 0,
    seq: ++seq,
  };
  queue ??= sqsOrderQueue(sqsClient(), process.env['BENCH_SEND_ONLY_QUEUE_URL']);
  await queue.send(order);
  return { statusCode: 202, headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) };
};
