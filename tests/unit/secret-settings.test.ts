// Pins down the two secrets the HTTP handlers verify with, whichever way they arrive: a value read
// from AWS by reference (`*_ARN`, applied by lib/platform/secrets.ts through applySecrets) obeys the
// rule its variable does, a webhook secret not in Standard Webhooks' form stops the container
// instead of answering 500 to every event, and a value read again after a rotation is the one the
// container's verifiers use (they kept the first value for the container's life). The `*_ARN` path
// against a Secrets Manager server: tests/integration/secrets.test.ts.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { applySecrets, config, resetConfig } from '../../lib/config';
import { authenticate, mintToken } from '../../lib/http/auth';
import { verifyWebhook } from '../../lib/http/webhook';
import { signedHeaders } from '../helpers/signed-webhook';

const saved = { ...process.env };
const JWT_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:flash-sale/t/jwt-AbCdEf';
const WEBHOOK_ARN = 'arn:aws:ssm:us-east-1:123456789012:parameter/flash-sale/t/webhook-secret';
const whsec = (bytes: number) => `whsec_${Buffer.alloc(bytes, 7).toString('base64')}`;

/** The environment of an AWS stage: references only. */
beforeEach(() => {
  process.env = { ...saved, AUTH_JWT_SECRET_ARN: JWT_ARN, WEBHOOK_SECRET_ARN: WEBHOOK_ARN };
  delete process.env['AUTH_JWT_SECRET'];
  delete process.env['WEBHOOK_SECRET'];
  delete process.env['AUTH_JWKS_URL'];
  resetConfig();
});
afterEach(() => {
  process.env = saved;
  resetConfig();
});

function signed(secret: string) {
  const body = '{"type":"payment.succeeded"}';
  return { body, headers: signedHeaders(secret, `msg_${randomUUID()}`, body) };
}

it('a short HS256 secret read by reference is refused like the variable (it was accepted quietly)', () => {
  expect(() => applySecrets({ AUTH_JWT_SECRET: 'x'.repeat(31) })).toThrow(
    /invalid configuration: AUTH_JWT_SECRET: HS256 secret must be at least 32 bytes/,
  );
  expect(config().AUTH_JWT_SECRET).toBeUndefined();
  applySecrets({ AUTH_JWT_SECRET: 'x'.repeat(32) });
  expect(config().AUTH_JWT_SECRET).toBe('x'.repeat(32));
});

it('a webhook secret not in whsec_<base64> form is refused, as a variable or read by reference', () => {
  for (const bad of [
    'a-plain-text-secret-of-some-length',
    'whsec_',
    'whsec_!!!!',
    'whsec_c2VjcmV0LWZyb20tc3N',
  ]) {
    expect(() => applySecrets({ WEBHOOK_SECRET: bad }), bad).toThrow(/invalid configuration: WEBHOOK_SECRET/);
    process.env = { ...saved, WEBHOOK_SECRET: bad };
    resetConfig();
    expect(() => config(), bad).toThrow(/invalid configuration: WEBHOOK_SECRET: must be whsec_<base64>/);
  }
  for (const good of [
    whsec(24),
    whsec(32),
    'whsec_c2VjcmV0LWZyb20tc3Nt',
    'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  ]) {
    process.env = { ...saved, WEBHOOK_SECRET: good };
    resetConfig();
    expect(config().WEBHOOK_SECRET).toBe(good);
  }
});

it('a secret read again after a rotation is the one tokens and webhooks are verified with', async () => {
  applySecrets({ AUTH_JWT_SECRET: 'a'.repeat(40), WEBHOOK_SECRET: whsec(24) });
  const before = await mintToken({ customer_id: 'rotating' });
  expect(await authenticate(`Bearer ${before}`)).toEqual({ customer_id: 'rotating', admin: false });
  const old = signed(whsec(24));
  expect(verifyWebhook(old.body, old.headers).webhook_id).toBe(old.headers['webhook-id']);

  // lib/platform/secrets.ts read both references again: the rotated values
  applySecrets({ AUTH_JWT_SECRET: 'b'.repeat(40), WEBHOOK_SECRET: whsec(32) });
  const after = await mintToken({ customer_id: 'rotating' });
  expect(await authenticate(`Bearer ${after}`)).toEqual({ customer_id: 'rotating', admin: false });
  await expect(authenticate(`Bearer ${before}`)).rejects.toMatchObject({ status: 401 });
  const rotated = signed(whsec(32));
  expect(verifyWebhook(rotated.body, rotated.headers).webhook_id).toBe(rotated.headers['webhook-id']);
  expect(() => verifyWebhook(old.body, old.headers)).toThrow(/No matching signature/);
});
