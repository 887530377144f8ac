// Benchmark only: the trivial function behind the "floor" scenario. It reads nothing and calls
// nothing, so its throughput is what serverless-offline (and the load generator) cost per request.
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

const BODY = JSON.stringify({ ok: true });

export const handler = async (): Promise<APIGatewayProxyStructuredResultV2> => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: BODY,
});
