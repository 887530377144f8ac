// GET /openapi.json: the OpenAPI 3.1 document, generated from the schemas that validate requests.

import { openApiDocument } from '../lib/http/openapi';
import { json, route } from '../lib/http/route';

export const handler = route({ auth: 'public' }, async () =>
  json(200, openApiDocument(), { 'Cache-Control': 'public, max-age=300' }),
);
