// Bearer JWT (HS256) identity. Verified tokens are cached until they expire so a burst of requests
// with the same token costs one HMAC, not one per request.
import { jwtVerify, SignJWT } from 'jose';
import { config, required } from '../config';
import { Problem } from './problems';

export interface Identity {
  customer_id: string;
  admin: boolean;
}

const CACHE_ENTRIES_MAX = 50_000;
const cache = new Map<string, { identity: Identity; exp_ms: number }>();
let key: Uint8Array | undefined;
const secretKey = () => {
  key ??= new TextEncoder().encode(required('AUTH_JWT_SECRET'));
  return key;
};

export async function authenticate(authorization: string | undefined): Promise<Identity> {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (!token) throw new Problem('unauthorized', 'missing bearer token', {}, { 'WWW-Authenticate': 'Bearer' });
  const hit = cache.get(token);
  if (hit && hit.exp_ms > Date.now()) return hit.identity;
  const identity = await verify(token);
  if (cache.size >= CACHE_ENTRIES_MAX) cache.clear(); // a bound, not an LRU: refills in one burst
  return identity;

  async function verify(t: string): Promise<Identity> {
    const c = config();
    try {
      const { payload } = await jwtVerify(t, secretKey(), {
        algorithms: ['HS256'],
        ...(c.AUTH_JWT_ISSUER ? { issuer: c.AUTH_JWT_ISSUER } : {}),
        ...(c.AUTH_JWT_AUDIENCE ? { audience: c.AUTH_JWT_AUDIENCE } : {}),
      });
      const sub = payload.sub;
      if (typeof sub !== 'string' || sub.length < 1 || sub.length > 128)
        throw new Error('sub must be 1-128 chars');
      const id: Identity = { customer_id: sub, admin: payload['role'] === 'admin' };
      const exp_ms = typeof payload.exp === 'number' ? payload.exp * 1000 : Date.now() + 60_000;
      cache.set(t, { identity: id, exp_ms });
      return id;
    } catch (err) {
      throw new Problem(
        'unauthorized',
        `invalid token: ${(err as Error).message}`,
        {},
        { 'WWW-Authenticate': 'Bearer' },
      );
    }
  }
}

export function requireAdmin(id: Identity): void {
  if (!id.admin) throw new Problem('forbidden', 'this route needs an admin token');
}

/** Development and load-test tokens (the CLI's `token` command). */
export async function mintToken(opts: {
  customer_id: string;
  admin?: boolean;
  ttl_s?: number;
}): Promise<string> {
  const c = config();
  let jwt = new SignJWT(opts.admin ? { role: 'admin' } : {})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(opts.customer_id)
    .setIssuedAt()
    .setExpirationTime(`${opts.ttl_s ?? 24 * 3600}s`);
  if (c.AUTH_JWT_ISSUER) jwt = jwt.setIssuer(c.AUTH_JWT_ISSUER);
  if (c.AUTH_JWT_AUDIENCE) jwt = jwt.setAudience(c.AUTH_JWT_AUDIENCE);
  return jwt.sign(secretKey());
}
