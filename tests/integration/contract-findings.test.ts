// Pins down what contract fuzzing (Schemathesis, `npm run test:contract`) found, one test per
// finding, at the handler with the event serverless-offline actually produced.
import { expect, it } from 'vitest';
import { mintToken } from '../../lib/http/auth';
import { httpEvent, lambdaContext } from '../helpers/lambda-event';

type Handler = (e: unknown, c: unknown) => Promise<{ statusCode: number; body: string }>;
const load = async (name: string) => (await import(`../../functions/${name}`)).handler as Handler;

it('a JSON body of false, null or a number handed over already parsed is a 4xx, never a 500', async () => {
  // serverless-offline parses `-d false` with Content-Type application/json and passes the value,
  // not the text, as event.body (API Gateway always passes a string).
  const createOrder = await load('createOrder');
  const webhook = await load('paymentWebhook');
  const token = await mintToken({ customer_id: 'contract-finding' });
  for (const body of [false, null, 0, true]) {
    const order = httpEvent('POST', '/api/orders', { headers: { authorization: `Bearer ${token}` } });
    const o = await createOrder({ ...order, body }, lambdaContext('createOrder'));
    expect({ body, status: o.statusCode }).toEqual({ body, status: 400 });
    const hook = httpEvent('POST', '/api/payments/webhook', { headers: { 'webhook-id': '0' } });
    const w = await webhook({ ...hook, body }, lambdaContext('paymentWebhook'));
    expect({ body, status: w.statusCode }).toEqual({ body, status: 401 });
  }
});
