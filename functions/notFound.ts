// Any route the API does not have: a problem+json 404 like every other error. In AWS this is the
// $default route, which also catches OPTIONS (API Gateway, "Configure CORS for HTTP APIs"): a CORS
// preflight for any path can land here, and a 404 would fail it in the browser (a preflight needs an
// ok status), so a preflight is answered 204 without a body; API Gateway's CORS configuration
// supplies the Access-Control-* headers (it ignores an integration's own).

import { publicRoute } from '../lib/http/http-route';
import { Problem } from '../lib/http/problems';

export const handler = publicRoute({ auth: 'public' }, async ({ event }) => {
  const method = event.requestContext.http.method;
  if (method === 'OPTIONS' && event.headers?.['origin'] && event.headers['access-control-request-method'])
    return { statusCode: 204 };
  throw new Problem('not-found', `no route for ${method} ${event.rawPath}`);
});
