// The payment provider's webhook (API.md, "Payment provider").
import { z } from 'zod';
import { PaymentWebhookBody } from '../schemas';
import { PaymentResultView } from '../view-schemas';
import type { RouteDeclaration } from './declare';

export const paymentWebhook = {
  method: 'post',
  path: '/api/payments/webhook',
  fn: 'paymentWebhook',
  tag: 'Payment provider',
  summary: 'Payment events, signed per Standard Webhooks',
  description:
    'HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{raw body}` with `WEBHOOK_SECRET`; ' +
    'timestamps more than 5 minutes off are rejected. The event identity is `webhook-id`. ' +
    'Bodies above 64 KiB are refused before verification (413); a source whose requests keep ' +
    'failing verification is rate limited (429), verified events never are.',
  auth: 'public',
  headers: [
    { name: 'webhook-id', schema: z.string().min(1).max(255), description: 'event id', required: true },
    { name: 'webhook-timestamp', schema: z.string(), description: 'unix seconds', required: true },
    {
      name: 'webhook-signature',
      schema: z.string(),
      description: 'space-separated `v1,<base64 signature>` list',
      required: true,
    },
  ],
  body: PaymentWebhookBody,
  body_parsed_by_handler: true,
  ok: {
    200: {
      description: '`applied`, `duplicate` or `ignored` (with a `reason`)',
      schema: PaymentResultView,
    },
    202: { description: '`pending`: the order is not (yet) in PostgreSQL', schema: PaymentResultView },
  },
  // 413 before verification; 429 only after repeated failed verifications from one source;
  // 503 while the order's product is rebuilt after a data loss.
  problems: ['payload-too-large', 'invalid-signature', 'rate-limited', 'unavailable'],
} satisfies RouteDeclaration;
