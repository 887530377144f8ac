// Standard Webhooks verification (the `standardwebhooks` library: HMAC-SHA256 over
// "{id}.{timestamp}.{raw body}", several signatures for key rotation, 5-minute tolerance), behind a
// front door sized for abuse (API.md): the body size is judged before any work, and a failed
// verification says why so it can be counted without a database row.
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import type { z } from 'zod';
import { required } from '../config';
import type { PaymentEvent } from '../sale/order-rules';
import { Problem } from './problems';
import { PaymentWebhookBody } from './schemas';

// The body's schema lives with the other request schemas (no I/O there: the route declarations and
// the OpenAPI document import it); re-exported for the handler.
export { PaymentWebhookBody };

/** The event's identity is stored as it is (payment_events.webhook_id: 1–255 characters). */
export const WEBHOOK_ID_CHARS_MAX = 255;

/** Refused before verification: a provider's payment event is a few hundred bytes. */
export const WEBHOOK_BODY_BYTES_MAX = 64 * 1024;

/** Built again when WEBHOOK_SECRET changes (read again after a rotation: lib/platform/secrets.ts). */
let verifier: { secret: string; webhook: Webhook } | undefined;

export type UnverifiedReason = 'too-large' | 'missing-headers' | 'stale-timestamp' | 'bad-signature';

/** A request that failed verification, with the reason the operator's counters use. */
export class UnverifiedWebhook extends Problem {
  constructor(
    readonly reason: UnverifiedReason,
    detail: string,
  ) {
    super(reason === 'too-large' ? 'payload-too-large' : 'invalid-signature', detail);
  }
}

/** Judged on the raw bytes before any signature work. */
export function refuseOversized(raw: string): void {
  if (Buffer.byteLength(raw, 'utf8') > WEBHOOK_BODY_BYTES_MAX)
    throw new UnverifiedWebhook('too-large', `body above ${WEBHOOK_BODY_BYTES_MAX} bytes`);
}

/** Throws UnverifiedWebhook unless one signature matches; does not parse the body. */
export function verifyWebhook(
  raw: string,
  headers: Record<string, string | undefined>,
): { webhook_id: string } {
  const secret = required('WEBHOOK_SECRET');
  if (verifier?.secret !== secret) verifier = { secret, webhook: new Webhook(secret) };
  const h = {
    'webhook-id': headers['webhook-id'] ?? '',
    'webhook-timestamp': headers['webhook-timestamp'] ?? '',
    'webhook-signature': headers['webhook-signature'] ?? '',
  };
  try {
    // Parsing is ours: a correctly signed body that is not JSON is the sender's 400, not a 401.
    verifier.webhook.verify(raw, h, { jsonParse: false });
  } catch (err) {
    const why = err instanceof WebhookVerificationError ? err.message : 'unverifiable';
    throw new UnverifiedWebhook(reasonOf(why), why);
  }
  return { webhook_id: h['webhook-id'] };
}

/**
 * A verified event's id must fit payment_events.webhook_id. Signed, so the sender's mistake (a 400
 * it can see), not an attack to count; judged by the handler, which keeps the event's receipt
 * (API.md: every verified event is stored with its outcome; it used to be refused here, unrecorded).
 */
export function checkWebhookId(webhook_id: string): void {
  if (webhook_id.length > WEBHOOK_ID_CHARS_MAX) {
    const message = `at most ${WEBHOOK_ID_CHARS_MAX} characters`;
    throw new Problem('invalid-request', `webhook-id: ${message}`, {
      errors: [{ field: 'webhook-id', message }],
    });
  }
}

function reasonOf(message: string): UnverifiedReason {
  if (message === 'Missing required headers') return 'missing-headers';
  if (/timestamp/i.test(message)) return 'stale-timestamp';
  return 'bad-signature';
}

export function paymentEventOf(webhook_id: string, body: z.infer<typeof PaymentWebhookBody>): PaymentEvent {
  return { webhook_id, type: body.type, ...body.data, order_id: body.data.order_id.toLowerCase() };
}
