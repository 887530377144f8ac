// The send-only handler (a copy of load/bench/send-only.ts, bundled beside createOrder by
// load/profile/handlers.ts): parse the body, SendMessage with the product's SQS client, answer 202.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { sqsClient, sqsOrderQueue } from '../../lib/queue/sqs';
import { newOrderId } from '../../lib/sale/order-id';
import type { OrderQueue } from '../../lib/sale/ports';

let queue: OrderQueue | undefined;

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const body = JSON.parse(event.body ?? '{}') as { product_id: number; qty: number };
  const now_ms = Date.now();
  const order = {
    order_id: newOrderId(body.product_id, now_ms),
    product_id: body.product_id,
    customer_id: 'send-only',
    qty: body.qty,
    unit_price_cents: 100,
    currency: 'EUR',
    created_ms: now_ms,
    expires_ms: now_ms + 600_000,
  };
  queue ??= sqsOrderQueue(sqsClient(), process.env['PROFILE_SEND_ONLY_QUEUE_URL']);
  await queue.send(order);
  return { statusCode: 202, headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) };
};
