// Sends payment webhooks signed the way the provider signs them (Standard Webhooks).
import { randomUUID } from 'node:crypto';
import { call } from './api';
import { signedHeaders } from './signed-webhook';

export interface PayOpts {
  type?: 'payment.succeeded' | 'payment.failed';
  amount_cents: number;
  currency?: string;
  webhook_id?: string;
  payment_id?: string;
  timestamp?: Date;
  secret?: string;
  signature?: string;
}

export function webhookBody(order_id: string, o: PayOpts): string {
  return JSON.stringify({
    type: o.type ?? 'payment.succeeded',
    data: {
      order_id,
      amount_cents: o.amount_cents,
      currency: o.currency ?? 'EUR',
      payment_id: o.payment_id ?? `pay_${randomUUID()}`,
    },
  });
}

export async function sendWebhook(order_id: string, o: PayOpts) {
  const webhook_id = o.webhook_id ?? `msg_${randomUUID()}`;
  const body = webhookBody(order_id, o);
  const timestamp = o.timestamp ?? new Date();
  const headers = signedHeaders(o.secret ?? process.env['WEBHOOK_SECRET']!, webhook_id, body, timestamp);
  if (o.signature) headers['webhook-signature'] = o.signature;
  return call('POST', '/api/payments/webhook', { rawBody: body, headers });
}
