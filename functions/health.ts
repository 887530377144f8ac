// GET /healthz (liveness) and GET /readyz (Redis, PostgreSQL and the orders queue all answer).
import { json, publicRoute } from '../lib/http/http-route';
import * as routes from '../lib/http/routes/operations';
import { cachedReadiness } from '../lib/platform/readiness';

export const healthz = publicRoute(routes.healthz, async () => json(200, { status: 'ok' }));

export const readyz = publicRoute(routes.readyz, async () => {
  const { checked_at, checks } = await cachedReadiness();
  const down = Object.entries(checks)
    .filter(([, c]) => !c.ok)
    .map(([name]) => name);
  const body = { status: down.length ? 'unavailable' : 'ready', down, checks, checked_at };
  return json(down.length ? 503 : 200, body, down.length ? { 'Retry-After': '1' } : {});
});
