// POST /api/payments/webhook: admit (size, signature, abuse counters), keep a receipt of every
// verified event, apply it once.
import { receipts, settleDeps } from '../lib/container';
import { parseJsonText } from '../lib/http/body';
import { unavailable } from '../lib/http/outcomes';
import { Problem } from '../lib/http/problems';
import { json, route } from '../lib/http/route';
import * as routes from '../lib/http/routes/payment';
import {
  checkWebhookId,
  PaymentWebhookBody,
  paymentEventOf,
  WEBHOOK_BODY_BYTES_MAX,
} from '../lib/http/webhook';
import { admitWebhook } from '../lib/http/webhook-door';
import { countWebhook } from '../lib/platform/metrics';
import { handlePayment } from '../lib/sale/settle-payment';

export const handler = route(
  { ...routes.paymentWebhook, onProblem: countWebhook },
  async ({ event, correlate }) => {
    const { webhook_id, raw } = await admitWebhook(event);
    const receipt = (outcome: string) =>
      receipts().record({ webhook_id, verified: true, outcome, body: raw });
    try {
      checkWebhookId(webhook_id);
      const body = parseJsonText(raw, PaymentWebhookBody, WEBHOOK_BODY_BYTES_MAX);
      const payment = paymentEventOf(webhook_id, body);
      correlate(payment.order_id);
      const result = await handlePayment(settleDeps(), payment);
      await receipt(result.result);
      countWebhook(result.result);
      if (result.result === 'unavailable') return rebuilding(result.product_id);
      return json(result.result === 'pending' ? 202 : 200, result);
    } catch (err) {
      if (err instanceof Problem) await receipt(err.code).catch(() => {});
      throw err;
    }
  },
);

/** API.md: the order's product is being rebuilt after a data loss; the provider's retry decides. */
const rebuilding = (product_id: number) => unavailable(`product ${product_id} is being rebuilt; retry later`);
