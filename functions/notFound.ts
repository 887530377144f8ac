// Any route the API does not have: a problem+json 404 like every other error.

import { publicRoute } from '../lib/http/http-route';
import { Problem } from '../lib/http/problems';

export const handler = publicRoute({ auth: 'public' }, async ({ event }) => {
  throw new Problem('not-found', `no route for ${event.requestContext.http.method} ${event.rawPath}`);
});
