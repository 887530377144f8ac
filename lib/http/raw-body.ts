import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/**
 * The body exactly as sent (signatures are computed over these bytes). API Gateway always gives a
 * string; serverless-offline hands over a JSON body of `false`, `null` or a number already parsed
 * (found by Schemathesis: `-d false` was a 500), so anything else is turned back into its JSON text.
 */
export function rawBody(event: APIGatewayProxyEventV2): string {
  const raw: unknown = event.body ?? '';
  if (typeof raw !== 'string') return JSON.stringify(raw);
  return event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
}
