// POST /api/payments/webhook: verify (Standard Webhooks), keep a receipt, apply the event once.
import { receipts, settleDeps } from '../lib/container';
import { parseJsonText } from '../lib/http/body';
import { RETRY_AFTER_S } from '../lib/http/outcomes';
import { Problem } from '../lib/http/problems';
import { rawBody } from '../lib/http/raw-body';
import { json, problemResult, route } from '../lib/http/route';
import { PaymentWebhookBody, paymentEventOf, verifyWebhook } from '../lib/http/webhook';
import { handlePayment } from '../lib/sale/settle';

export const handler = route({ auth: 'public' }, async ({ event }) => {
  const raw = rawBody(event);
  const webhook_id = event.headers['webhook-id'] ?? null;
  const receipt = (verified: boolean, outcome: string) =>
    receipts().record({ webhook_id, verified, outcome, body: raw });
  try {
    const verified = verifyWebhook(raw, event.headers);
    const body = parseJsonText(raw, PaymentWebhookBody);
    const result = await handlePayment(settleDeps(), paymentEventOf(verified.webhook_id, body));
    await receipt(true, result.result);
    if (result.result === 'unavailable') return rebuilding(result.product_id);
    return json(result.result === 'pending' ? 202 : 200, result);
  } catch (err) {
    if (err instanceof Problem) await receipt(err.code !== 'invalid-signature', err.code).catch(() => {});
    throw err;
  }
});

/** API.md: the order's product is being rebuilt after a data loss; the provider's retry decides. */
const rebuilding = (product_id: number) =>
  problemResult(
    new Problem(
      'unavailable',
      `product ${product_id} is being rebuilt; retry later`,
      {},
      {
        'Retry-After': String(RETRY_AFTER_S),
      },
    ),
  );
