// Standard Webhooks verification (the `standardwebhooks` library: HMAC-SHA256 over
// "{id}.{timestamp}.{raw body}", several signatures for key rotation, 5-minute tolerance).
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { z } from 'zod';
import { required } from '../config';
import type { PaymentEvent } from '../sale/lifecycle';
import { Problem } from './problems';

let verifier: Webhook | undefined;

export interface VerifiedWebhook {
  webhook_id: string;
  payload: unknown;
}

export function verifyWebhook(raw: string, headers: Record<string, string | undefined>): VerifiedWebhook {
  verifier ??= new Webhook(required('WEBHOOK_SECRET'));
  const h = {
    'webhook-id': headers['webhook-id'] ?? '',
    'webhook-timestamp': headers['webhook-timestamp'] ?? '',
    'webhook-signature': headers['webhook-signature'] ?? '',
  };
  try {
    return { webhook_id: h['webhook-id'], payload: verifier.verify(raw, h) };
  } catch (err) {
    const why = err instanceof WebhookVerificationError ? err.message : 'unverifiable';
    throw new Problem('invalid-signature', why);
  }
}

export const PaymentWebhookBody = z.object({
  type: z.enum(['payment.succeeded', 'payment.failed']),
  data: z.object({
    order_id: z.uuid(),
    amount_cents: z.number().int().min(0),
    currency: z.string().regex(/^[A-Za-z]{3}$/, 'ISO 4217 code'),
    payment_id: z.string().min(1).max(255),
  }),
});

export function paymentEventOf(webhook_id: string, body: z.infer<typeof PaymentWebhookBody>): PaymentEvent {
  return { webhook_id, type: body.type, ...body.data, order_id: body.data.order_id.toLowerCase() };
}
