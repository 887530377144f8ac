// POST /api/payments/webhook: verify (Standard Webhooks), keep a receipt, apply the event once.
import { receipts, settleDeps } from '../lib/container';
import { parseJsonText } from '../lib/http/body';
import { Problem } from '../lib/http/problems';
import { rawBody } from '../lib/http/raw-body';
import { json, route } from '../lib/http/route';
import { PaymentWebhookBody, paymentEventOf, verifyWebhook } from '../lib/http/webhook';
import { countWebhook } from '../lib/platform/metrics';
import { handlePayment } from '../lib/sale/settle';

export const handler = route({ auth: 'public', onProblem: countWebhook }, async ({ event, correlate }) => {
  const raw = rawBody(event);
  const webhook_id = event.headers['webhook-id'] ?? null;
  const receipt = (verified: boolean, outcome: string) =>
    receipts().record({ webhook_id, verified, outcome, body: raw });
  try {
    const verified = verifyWebhook(raw, event.headers);
    const body = parseJsonText(raw, PaymentWebhookBody);
    const payment = paymentEventOf(verified.webhook_id, body);
    correlate(payment.order_id);
    const result = await handlePayment(settleDeps(), payment);
    await receipt(true, result.result);
    countWebhook(result.result);
    return json(result.result === 'pending' ? 202 : 200, result);
  } catch (err) {
    if (err instanceof Problem) await receipt(err.code !== 'invalid-signature', err.code).catch(() => {});
    throw err;
  }
});
