// The $default route's function. In AWS the $default route catches every method and path the API
// does not declare, OPTIONS included (API Gateway, "Configure CORS for HTTP APIs", $default route),
// so a browser's CORS preflight for any path can reach notFound; a 404 there fails the preflight
// (it needs an ok status). notFound answers a preflight 204 without a body, and anything else the
// problem+json 404 as before.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler } from '../../functions/notFound';

const context = {
  functionName: 'notFound',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:notFound',
  memoryLimitInMB: '512',
  awsRequestId: 'req-1',
  getRemainingTimeInMillis: () => 6000,
} as unknown as Context;

function event(method: string, path: string, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers,
    isBase64Encoded: false,
    requestContext: {
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
    },
  } as unknown as APIGatewayProxyEventV2;
}

const call = (e: APIGatewayProxyEventV2) => handler(e, context) as Promise<APIGatewayProxyStructuredResultV2>;

describe('notFound ($default route)', () => {
  it('answers a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) 204, no body', async () => {
    for (const path of ['/api/orders', '/api/orders/abc/cancel', '/api/admin/products/p1', '/nowhere']) {
      const r = await call(
        event('OPTIONS', path, {
          origin: 'https://shop.example.com',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,idempotency-key',
        }),
      );
      expect(r.statusCode, path).toBe(204);
      expect(r.body ?? '', path).toBe('');
    }
  });

  it('answers an OPTIONS that is not a preflight, and every other method, the problem+json 404', async () => {
    for (const e of [
      event('OPTIONS', '/api/orders'),
      event('OPTIONS', '/api/orders', { origin: 'https://shop.example.com' }),
      event('OPTIONS', '/api/orders', { 'access-control-request-method': 'POST' }),
      event('GET', '/nowhere', {
        origin: 'https://shop.example.com',
        'access-control-request-method': 'GET',
      }),
      event('DELETE', '/api/orders/abc'),
    ]) {
      const r = await call(e);
      const what = `${e.requestContext.http.method} ${JSON.stringify(e.headers)}`;
      expect(r.statusCode, what).toBe(404);
      expect(r.headers?.['content-type'], what).toBe('application/problem+json');
      expect(JSON.parse(r.body ?? '{}'), what).toMatchObject({ status: 404 });
    }
  });
});
