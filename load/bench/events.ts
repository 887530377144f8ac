// API Gateway HTTP API (payload v2) events for POST /api/orders, as the handler-level runs and the
// cold-start probe invoke createOrder directly.
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

export function orderEvent(token: string, product_id: number, qty = 1): APIGatewayProxyEventV2 {
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: 'POST /api/orders',
    rawPath: '/api/orders',
    rawQueryString: '',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', host: 'bench.local' },
    requestContext: {
      accountId: 'bench',
      apiId: 'bench',
      domainName: 'bench.local',
      domainPrefix: 'bench',
      http: {
        method: 'POST',
        path: '/api/orders',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'flash-sale-bench',
      },
      requestId: randomUUID(),
      routeKey: 'POST /api/orders',
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    body: JSON.stringify({ product_id, qty }),
    isBase64Encoded: false,
  };
}
