// Bearer JWT identity: HS256 with our own secret, or (identity-provider mode, AUTH_JWKS_URL set)
// RS256/ES256 against the provider's JWKS, which jose refetches when a token names a key it has not
// seen (rotation). A verified token is cached for at most a minute (never past its exp) so a burst
// of requests with the same token costs one signature check, not one per request.
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify, SignJWT } from 'jose';
import { type Config, config, required } from '../config';
import { Problem } from './problems';

export interface Identity {
  customer_id: string;
  admin: boolean;
}

/** The settings a verifier needs: the config's, or a test's own. */
export type AuthSettings = Pick<
  Config,
  | 'AUTH_JWT_SECRET'
  | 'AUTH_JWKS_URL'
  | 'AUTH_JWT_ISSUER'
  | 'AUTH_JWT_AUDIENCE'
  | 'AUTH_ADMIN_CLAIM'
  | 'AUTH_ADMIN_VALUE'
> & {
  /** how long jose waits after a JWKS fetch before another one (jose's default: 30 s) */
  jwks_cooldown_ms?: number;
  /** how long jose trusts a fetched JWKS before fetching it again (jose's default: 10 min) */
  jwks_max_age_ms?: number;
  /** how long a verified token is answered from the cache (VERIFIED_TOKEN_CACHE_MS) */
  verified_cache_ms?: number;
};

const CACHE_ENTRIES_MAX = 50_000;
/**
 * A verified token is checked again after this long even if its exp is hours away: a token signed
 * by a key the provider retired (a leak, a rotation) stops passing in a warm container within
 * jose's JWKS max age (10 min) plus this, not at the token's exp. One re-check a minute per buyer
 * costs nothing measurable.
 */
const VERIFIED_TOKEN_CACHE_MS = 60_000;
/**
 * customer ids are 1–128 printable characters (API.md): no control or format characters, and no
 * line or paragraph separators (U+2028/U+2029), which split a log line or a CSV cell like a newline
 */
const SUBJECT = /^[^\p{C}\p{Zl}\p{Zp}]{1,128}$/u;
/** what the verifier answers a bad subject; the CLI refuses to mint one with the same words */
export const SUBJECT_RULE = 'sub must be 1-128 printable characters';
const HS_ALGORITHMS = ['HS256'];
const IDP_ALGORITHMS = ['RS256', 'ES256'];

/**
 * A token subject the verifier accepts. jose checks that `sub` is present, not that it is a string
 * (RFC 7519 4.1.2): a number or an object would otherwise pass the pattern as its String().
 */
export function validSubject(sub: unknown): sub is string {
  return typeof sub === 'string' && SUBJECT.test(sub);
}

export type Authenticate = (authorization: string | undefined) => Promise<Identity>;

export function tokenVerifier(s: AuthSettings): Authenticate {
  const cache = new Map<string, { identity: Identity; until_ms: number }>();
  const cache_ms = s.verified_cache_ms ?? VERIFIED_TOKEN_CACHE_MS;
  const key: Uint8Array | JWTVerifyGetKey = s.AUTH_JWKS_URL
    ? createRemoteJWKSet(new URL(s.AUTH_JWKS_URL), {
        ...(s.jwks_cooldown_ms === undefined ? {} : { cooldownDuration: s.jwks_cooldown_ms }),

        ...(s.jwks_max_age_ms === undefined ? {} : { cacheMaxAge: s.jwks_max_age_ms }),
      })
    : new TextEncoder().encode(s.AUTH_JWT_SECRET ?? missingSecret());
  const options = {
    // One mode at a time: an HS256 token is never checked against a public key or the reverse.
    algorithms: s.AUTH_JWKS_URL ? IDP_ALGORITHMS : HS_ALGORITHMS,
    requiredClaims: ['exp', 'sub'],
    ...(s.AUTH_JWT_ISSUER ? { issuer: s.AUTH_JWT_ISSUER } : {}),
    ...(s.AUTH_JWT_AUDIENCE ? { audience: s.AUTH_JWT_AUDIENCE } : {}),
  };

  async function verify(token: string): Promise<{ identity: Identity; until_ms: number }> {
    const { payload } = await (typeof key === 'function'
      ? jwtVerify(token, key, options)
      : jwtVerify(token, key, options));
    const sub = payload.sub;
    if (!validSubject(sub)) throw new errors.JWTClaimValidationFailed(SUBJECT_RULE, payload, 'sub');
    return {
      identity: { customer_id: sub, admin: isAdmin(payload, s.AUTH_ADMIN_CLAIM, s.AUTH_ADMIN_VALUE) },
      until_ms: Math.min((payload.exp as number) * 1000, Date.now() + cache_ms),
    };
  }

  return async (authorization) => {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) throw unauthorized('missing bearer token');
    const hit = cache.get(token);
    if (hit && hit.until_ms > Date.now()) return hit.identity;
    try {
      const verified = await verify(token);
      if (cache.size >= CACHE_ENTRIES_MAX) cache.clear(); // a bound, not an LRU: refills in one burst
      cache.set(token, verified);
      return verified.identity;
    } catch (err) {
      if (err instanceof errors.JOSEError && !jwksOutage(err))
        throw unauthorized(`invalid token: ${err.message}`);
      throw new Problem(
        'unavailable',
        'the identity provider cannot be reached; retry shortly',
        {},
        {
          'Retry-After': '1',
        },
      );
    }
  };
}

/**
 * The provider's JWKS unreachable or broken is our outage (503), not the caller's bad token (401):
 * a timeout, a status other than 200, a body that is not JSON, or JSON that is not a key set (that
 * last one, `{}` say, was a 401 to every caller, valid tokens included).
 */
function jwksOutage(err: errors.JOSEError): boolean {
  return (
    err instanceof errors.JWKSTimeout ||
    err instanceof errors.JWKSInvalid ||
    /JSON Web Key Set HTTP response/.test(err.message)
  );
}

/** Cognito puts groups in an array claim (`cognito:groups`); our own tokens carry `role: "admin"`. */
function isAdmin(payload: JWTPayload, claim: string, value: string): boolean {
  const v = payload[claim];
  return Array.isArray(v) ? v.includes(value) : v === value;
}

function unauthorized(detail: string): Problem {
  return new Problem('unauthorized', detail, {}, { 'WWW-Authenticate': 'Bearer' });
}

function missingSecret(): never {
  throw new Error('configuration: AUTH_JWT_SECRET is not set (or set AUTH_JWKS_URL)');
}

let containerVerifier: { secret: string | undefined; verify: Authenticate } | undefined;

/**
 * The container's verifier, built from the configuration, and built again when the HS256 secret
 * changes (read again from Secrets Manager after a rotation: lib/platform/secrets.ts), so tokens
 * of the old secret stop passing, and the new one's start to, without a new container.
 */
export function authenticate(authorization: string | undefined): Promise<Identity> {
  const c = config();
  let current = containerVerifier;
  if (!current || current.secret !== c.AUTH_JWT_SECRET) {
    current = { secret: c.AUTH_JWT_SECRET, verify: tokenVerifier(c) };
    containerVerifier = current;
  }
  return current.verify(authorization);
}

export function requireAdmin(id: Identity): void {
  if (!id.admin) throw new Problem('forbidden', 'this route needs an admin token');
}

/** Development and load-test tokens (the CLI's `token` command): HS256 with our own secret. */
export async function mintToken(opts: {
  customer_id: string;
  admin?: boolean;
  ttl_s?: number;
}): Promise<string> {
  const c = config();
  let jwt = new SignJWT(opts.admin ? { [c.AUTH_ADMIN_CLAIM]: c.AUTH_ADMIN_VALUE } : {})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(opts.customer_id)
    .setIssuedAt()
    .setExpirationTime(`${opts.ttl_s ?? 24 * 3600}s`);
  if (c.AUTH_JWT_ISSUER) jwt = jwt.setIssuer(c.AUTH_JWT_ISSUER);
  if (c.AUTH_JWT_AUDIENCE) jwt = jwt.setAudience(c.AUTH_JWT_AUDIENCE);
  return jwt.sign(new TextEncoder().encode(required('AUTH_JWT_SECRET')));
}
