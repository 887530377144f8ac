// GET /openapi.json: the OpenAPI 3.1 document, generated from the schemas that validate requests.

import { json, publicRoute } from '../lib/http/http-route';
import { openApiDocument } from '../lib/http/openapi';
import * as routes from '../lib/http/routes/operations';

export const handler = publicRoute(routes.openapi, async () =>
  json(200, openApiDocument(), { 'Cache-Control': 'public, max-age=300' }),
);
