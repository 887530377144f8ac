// Every HTTP handler that may need a caller's identity is built here: the shared middy chain
// (http-route.ts) with bearer auth and the buyer rate limits. Handlers pass their route
// declaration (routes/) and call the domain.
import { authenticate, type Identity, requireAdmin } from './auth';
import {
  ANONYMOUS,
  type Answer,
  type Event,
  httpRoute,
  type RouteOptions,
  type RouteRequest,
} from './http-route';
import { enforceRateLimits } from './rate-limit';
import type { Auth } from './routes/declare';

export {
  type Answer,
  type Event,
  json,
  type Result,
  type RouteOptions,
  type RouteRequest,
} from './http-route';

async function identify(event: Event, auth: Auth): Promise<Identity> {
  if (auth === 'public') return ANONYMOUS;
  const identity = await authenticate(event.headers['authorization']);
  if (auth === 'admin') requireAdmin(identity);
  // Every caller of a buyer route, admins too: an admin token places and reads orders like any other.
  if (auth === 'buyer') await enforceRateLimits(identity.customer_id, event.requestContext?.http?.sourceIp);
  return identity;
}

export function route<B = undefined, Q = undefined>(
  opts: RouteOptions<B, Q>,
  fn: (req: RouteRequest<B, Q>) => Promise<Answer>,
) {
  return httpRoute(opts, identify, fn);
}
