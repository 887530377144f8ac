import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** The body exactly as sent (signatures are computed over these bytes). */
export function rawBody(event: APIGatewayProxyEventV2): string {
  const raw = event.body ?? '';
  return event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
}
