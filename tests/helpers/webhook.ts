// Sends payment webhooks signed the way the provider signs them (Standard Webhooks).
import { randomUUID } from 'node:crypto';
import { signWebhook } from '../../infra/local/sandbox/sign';
import { call } from './api';

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
  const signature =
    o.signature ?? signWebhook(o.secret ?? process.env['WEBHOOK_SECRET']!, webhook_id, body, timestamp);
  return call('POST', '/api/payments/webhook', {
    rawBody: body,
    headers: {
      'webhook-id': webhook_id,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': signature,
    },
  });
}
