// The Standard Webhooks headers a provider sends with a body, signed with `secret`. Imports nothing
// of the product, so a test may load it before it sets the environment the product reads.
import { signWebhook } from '../../infra/local/sandbox/sign';

export function signedHeaders(secret: string, webhook_id: string, body: string, timestamp = new Date()) {
  return {
    'webhook-id': webhook_id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': signWebhook(secret, webhook_id, body, timestamp),
  };
}
