// Pins down token strictness and identity-provider mode: RS256/ES256 tokens verified against a JWKS
// served on loopback (including a key rotated in while running), issuer and audience enforced, the
// admin claim mapped by configuration, `exp` and a sane `sub` required, a short HS256 secret and an
// identity-provider mode without issuer/audience refused at start, and errors as problem+json.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, resetConfig } from '../../lib/config';
import { type AuthSettings, tokenVerifier } from '../../lib/http/auth';
import { Problem } from '../../lib/http/problems';
import { httpEvent, lambdaContext } from '../helpers/lambda-event';

const ISSUER = 'https://idp.example.test/pool-1';
const AUDIENCE = 'flash-sale-app';

type Pair = Awaited<ReturnType<typeof generateKeyPair>>;
interface Signer {
  kid: string;
  alg: 'RS256' | 'ES256';
  pair: Pair;
}

let server: Server;
let jwksUrl: string;
/** what the loopback JWKS endpoint serves right now (tests rotate it) */
let published: JWK[] = [];
let fetches = 0;
let rsaA: Signer;
let rsaB: Signer;
let ec: Signer;

const signer = async (kid: string, alg: Signer['alg']): Promise<Signer> => ({
  kid,
  alg,
  pair: await generateKeyPair(alg, { extractable: true }),
});
const publicJwk = async (s: Signer): Promise<JWK> => ({
  ...(await exportJWK(s.pair.publicKey)),
  kid: s.kid,
  alg: s.alg,
  use: 'sig',
});

function token(
  s: Signer,
  claims: Record<string, unknown> = {},
  o: { iss?: string; aud?: string; exp?: number | null } = {},
) {
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: s.alg, kid: s.kid })
    .setSubject((claims['sub'] as string | undefined) ?? 'idp-user-1')
    .setIssuer(o.iss ?? ISSUER)
    .setAudience(o.aud ?? AUDIENCE)
    .setIssuedAt();
  if (o.exp !== null) jwt = jwt.setExpirationTime(o.exp ?? '1h');
  return jwt.sign(s.pair.privateKey);
}

const idpSettings = (over: Partial<AuthSettings> = {}): AuthSettings => ({
  AUTH_JWT_SECRET: undefined,
  AUTH_JWKS_URL: jwksUrl,
  AUTH_JWT_ISSUER: ISSUER,
  AUTH_JWT_AUDIENCE: AUDIENCE,
  AUTH_ADMIN_CLAIM: 'cognito:groups',
  AUTH_ADMIN_VALUE: 'admin',
  jwks_cooldown_ms: 0,
  ...over,
});

async function rejection(p: Promise<unknown>): Promise<{ code: string; status: number; detail: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Problem) return { code: err.code, status: err.status, detail: err.detail };
    throw err;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  [rsaA, rsaB, ec] = await Promise.all([
    signer('rsa-a', 'RS256'),
    signer('rsa-b', 'RS256'),
    signer('ec-1', 'ES256'),
  ]);
  published = [await publicJwk(rsaA), await publicJwk(ec)];
  server = createServer((_req, res) => {
    fetches++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('identity-provider mode (JWKS)', () => {
  it('RS256 and ES256 tokens verify; the admin claim is mapped from a groups array', async () => {
    const verify = tokenVerifier(idpSettings());
    expect(await verify(`Bearer ${await token(rsaA)}`)).toEqual({ customer_id: 'idp-user-1', admin: false });
    const admin = await token(ec, { sub: 'ops-1', 'cognito:groups': ['buyers', 'admin'] });
    expect(await verify(`Bearer ${admin}`)).toEqual({ customer_id: 'ops-1', admin: true });
    // our own tokens' `role` claim means nothing once another claim is configured
    expect((await verify(`Bearer ${await token(rsaA, { role: 'admin' })}`)).admin).toBe(false);
  });

  it('a key rotated in is fetched when a token names it; a retired key is refused', async () => {
    const verify = tokenVerifier(idpSettings());
    await verify(`Bearer ${await token(rsaA)}`);
    const before = fetches;
    published = [await publicJwk(rsaB), await publicJwk(ec)]; // the provider rotates A out, B in
    expect((await verify(`Bearer ${await token(rsaB, { sub: 'after-rotation' })}`)).customer_id).toBe(
      'after-rotation',
    );
    expect(fetches).toBeGreaterThan(before);
    const retired = await rejection(verify(`Bearer ${await token(rsaA, { sub: 'old-key' })}`));
    expect(retired).toMatchObject({ code: 'unauthorized', status: 401 });
    published = [await publicJwk(rsaA), await publicJwk(ec)];
  });

  it('a token verified before its key was retired stops passing once the cache and the JWKS age out, not at its exp', async () => {
    const verify = tokenVerifier(idpSettings({ jwks_max_age_ms: 0, verified_cache_ms: 300 }));
    const early = `Bearer ${await token(rsaA, { sub: 'cached' }, {})}`;
    expect((await verify(early)).customer_id).toBe('cached');
    published = [await publicJwk(rsaB), await publicJwk(ec)]; // the provider retires A
    try {
      expect((await verify(early)).customer_id).toBe('cached'); // within the cache: one check saved
      await new Promise((r) => setTimeout(r, 400));
      expect(await rejection(verify(early))).toMatchObject({ code: 'unauthorized', status: 401 });
    } finally {
      published = [await publicJwk(rsaA), await publicJwk(ec)];
    }
  });

  it('wrong issuer, wrong audience, no exp, expired, HS256 and unknown keys are 401', async () => {
    const verify = tokenVerifier(idpSettings());
    const hs = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('k'.repeat(32)));
    const stranger = await signer('rsa-a', 'RS256'); // same kid, another key: signature fails
    const cases = {
      'wrong issuer': await token(rsaA, {}, { iss: 'https://evil.example.test' }),
      'wrong audience': await token(rsaA, {}, { aud: 'another-app' }),
      'no exp': await token(rsaA, {}, { exp: null }),
      expired: await token(rsaA, {}, { exp: Math.floor(Date.now() / 1000) - 60 }),
      'HS256 in identity-provider mode': hs,
      'forged with a known kid': await token(stranger),
    };
    for (const [name, t] of Object.entries(cases)) {
      expect({ name, ...(await rejection(verify(`Bearer ${t}`))) }).toMatchObject({ name, status: 401 });
    }
  });

  it('a JWKS endpoint that cannot be reached is 503 (our outage), not 401', async () => {
    const verify = tokenVerifier(idpSettings({ AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks.json' }));
    expect(await rejection(verify(`Bearer ${await token(rsaA)}`))).toMatchObject({
      code: 'unavailable',
      status: 503,
    });
  });

  it('a JWKS endpoint answering something that is not a key set is 503 too, not 401 to every caller', async () => {
    const kept = published;
    try {
      for (const broken of [{}, 'rotating', null] as unknown as JWK[][]) {
        published = broken; // served as {"keys": …}: JSON, but no list of keys
        const verify = tokenVerifier(idpSettings());
        expect(await rejection(verify(`Bearer ${await token(rsaA)}`))).toMatchObject({
          code: 'unavailable',
          status: 503,
        });
      }
    } finally {
      published = kept;
    }
    // an empty set is a set: a token naming a key it lacks is the caller's (401)
    published = [];
    try {
      const verify = tokenVerifier(idpSettings());
      expect(await rejection(verify(`Bearer ${await token(rsaA)}`))).toMatchObject({ status: 401 });
    } finally {
      published = kept;
    }
  });

  it('a handler in identity-provider mode answers problem+json 401/403 and 200 for a mapped admin', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AUTH_JWKS_URL: jwksUrl,
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: AUDIENCE,
      AUTH_ADMIN_CLAIM: 'cognito:groups',
    });
    resetConfig();
    try {
      const { handler } = await import('../../functions/admin/stats');
      const call = async (authorization?: string) =>
        (await (handler as (e: unknown, c: unknown) => Promise<any>)(
          httpEvent('GET', '/api/admin/stats', { headers: authorization ? { authorization } : {} }),
          lambdaContext('adminStats'),
        )) as { statusCode: number; headers: Record<string, string>; body: string };
      const bad = await call('Bearer not.a.jwt');
      expect(bad.statusCode).toBe(401);
      expect(bad.headers['content-type']).toBe('application/problem+json');
      expect(JSON.parse(bad.body).type).toMatch(/unauthorized$/);
      expect((await call(`Bearer ${await token(rsaA)}`)).statusCode).toBe(403);
      const admin = await token(ec, { 'cognito:groups': ['admin'] });
      expect((await call(`Bearer ${admin}`)).statusCode).toBe(200);
    } finally {
      process.env = saved;
      resetConfig();
    }
  });
});

describe('token strictness (HS256)', () => {
  const secret = 's'.repeat(32);
  const hs = (sub: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
  const settings: AuthSettings = {
    AUTH_JWT_SECRET: secret,
    AUTH_JWKS_URL: undefined,
    AUTH_JWT_ISSUER: undefined,
    AUTH_JWT_AUDIENCE: undefined,
    AUTH_ADMIN_CLAIM: 'role',
    AUTH_ADMIN_VALUE: 'admin',
  };

  it('sub of 1-128 printable characters passes; 129, empty or with control, format or line/paragraph separator characters does not', async () => {
    const verify = tokenVerifier(settings);
    expect((await verify(`Bearer ${await hs('é'.repeat(128))}`)).customer_id).toHaveLength(128);
    for (const sub of [
      'x'.repeat(129),
      '',
      'tab\there',
      'nul\u0000',
      'bidi\u202e',
      'line\u2028sep',
      'para\u2029sep',
    ]) {
      expect({ sub, ...(await rejection(verify(`Bearer ${await hs(sub)}`))) }).toMatchObject({
        sub,
        status: 401,
      });
    }
  });

  it('configuration refuses a short HS256 secret and identity-provider mode without issuer and audience', () => {
    const saved = { ...process.env };
    const attempt = (env: Record<string, string | undefined>) => {
      process.env = { ...saved, ...env };
      resetConfig();
      return () => config();
    };
    try {
      expect(attempt({ AUTH_JWT_SECRET: 'x'.repeat(31) })).toThrow(/AUTH_JWT_SECRET.*at least 32 bytes/);
      expect(attempt({ AUTH_JWT_SECRET: 'x'.repeat(32) })).not.toThrow();
      expect(attempt({ AUTH_JWKS_URL: jwksUrl, AUTH_JWT_ISSUER: ISSUER, AUTH_JWT_AUDIENCE: '' })).toThrow(
        /AUTH_JWKS_URL needs AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE/,
      );
      expect(attempt({ AUTH_JWKS_URL: 'not a url' })).toThrow(/AUTH_JWKS_URL: must be a URL/);
    } finally {
      process.env = saved;
      resetConfig();
    }
  });
});
