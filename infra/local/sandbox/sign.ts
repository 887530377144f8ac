// Signs a payment webhook as the provider does (Standard Webhooks, the `standardwebhooks` library).
// Local-only: the test payment provider, the CLI's `pay` and the tests sign; deployed functions only
// verify (lib/http/webhook.ts), and tests/template/packaging.test.ts asserts no package carries this.
import { Webhook } from 'standardwebhooks';

export function signWebhook(
  secret: string,
  webhook_id: string,
  body: string,
  timestamp: Date = new Date(),
): string {
  return new Webhook(secret).sign(webhook_id, timestamp, body);
}

/** The three Standard Webhooks headers for one delivery attempt, signed now. */
export function webhookHeaders(secret: string, webhook_id: string, body: string, now: Date = new Date()) {
  return {
    'content-type': 'application/json',
    'webhook-id': webhook_id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signWebhook(secret, webhook_id, body, now),
  };
}
