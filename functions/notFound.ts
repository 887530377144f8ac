// Any route the API does not have: a problem+json 404 like every other error.
import { Problem } from '../lib/http/problems';
import { route } from '../lib/http/route';

export const handler = route({ auth: 'public' }, async ({ event }) => {
  throw new Problem('not-found', `no route for ${event.requestContext.http.method} ${event.rawPath}`);
});
