// Pins down secrets at run time as an AWS stage reads them: given only `*_ARN` references, a
// function reads the values with Powertools Parameters (Secrets Manager and SSM, here moto's
// server on loopback) before its first event, keeps them cached, picks up a rotated value once
// the cache expires (the JWT and webhook secrets too, in a container already warm), refuses a value
// its variable's rule would refuse, and fails loudly, naming nothing secret, when a reference is wrong.
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { config, resetConfig } from '../../lib/config';
import { authenticate, mintToken } from '../../lib/http/auth';
import { secretsReady, secretValue } from '../../lib/platform/secrets';
import { type AwsEmulator, startAwsEmulator } from '../helpers/aws-emulator';
import { waitUntil } from '../helpers/domain';
import { signedHeaders } from '../helpers/signed-webhook';

const saved = { ...process.env };
let aws: AwsEmulator;
let sm: SecretsManagerClient;
let ssm: SSMClient;
let jwtArn = '';
let webhookArn = '';
const run = `t${Date.now().toString(36)}`;

function useEnv(vars: Record<string, string>): void {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved, aws.env, { AUTH_JWT_SECRET: '', WEBHOOK_SECRET: '' }, vars);
  resetConfig();
}

beforeAll(async () => {
  aws = await startAwsEmulator(mkdtempSync(join(tmpdir(), 'fs-moto-')));
  const client = {
    region: 'us-east-1',
    endpoint: aws.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  sm = new SecretsManagerClient(client);
  const jwt = await sm.send(
    new CreateSecretCommand({ Name: `flash-sale/${run}/jwt`, SecretString: 'k'.repeat(48) }),
  );
  jwtArn = jwt.ARN!;
  ssm = new SSMClient(client);
  const name = `/flash-sale/${run}/webhook-secret`;
  await ssm.send(
    new PutParameterCommand({ Name: name, Type: 'SecureString', Value: 'whsec_c2VjcmV0LWZyb20tc3Nt' }),
  );
  webhookArn = `arn:aws:ssm:us-east-1:123456789012:parameter${name}`;
}, 120_000);

afterAll(async () => {
  Object.assign(process.env, saved);
  resetConfig();
  await aws?.proc.stop();
});

it('reads the referenced secrets before the first event; the code using them sees ordinary settings', async () => {
  useEnv({ AUTH_JWT_SECRET_ARN: jwtArn, WEBHOOK_SECRET_ARN: webhookArn });
  expect(config().AUTH_JWT_SECRET).toBeUndefined();
  await secretsReady();
  expect(config().AUTH_JWT_SECRET).toBe('k'.repeat(48));
  expect(config().WEBHOOK_SECRET).toBe('whsec_c2VjcmV0LWZyb20tc3Nt');
  // The verifier signs and checks with the key read from Secrets Manager.
  const token = await mintToken({ customer_id: 'from-arn' });
  expect(await authenticate(`Bearer ${token}`)).toEqual({ customer_id: 'from-arn', admin: false });
});

it('keeps a read secret for SECRETS_MAX_AGE_S, then reads the rotated value', async () => {
  // Powertools keeps each value until the max age it was read with: one secret per max age here.
  useEnv({ AUTH_JWT_SECRET_ARN: jwtArn, SECRETS_MAX_AGE_S: '300' });
  const before = await secretValue('AUTH_JWT_SECRET');
  await sm.send(new PutSecretValueCommand({ SecretId: jwtArn, SecretString: 'r'.repeat(48) }));
  expect(await secretValue('AUTH_JWT_SECRET')).toBe(before); // cached: no call per invocation

  const db = await sm.send(
    new CreateSecretCommand({
      Name: `flash-sale/${run}/db`,
      SecretString: '{"username":"u","password":"p1"}',
    }),
  );
  useEnv({ DATABASE_SECRET_ARN: db.ARN!, SECRETS_MAX_AGE_S: '1' });
  expect(await secretValue('DATABASE_SECRET')).toBe('{"username":"u","password":"p1"}');
  await sm.send(
    new PutSecretValueCommand({ SecretId: db.ARN!, SecretString: '{"username":"u","password":"p2"}' }),
  );
  await waitUntil('the rotated secret', async () => (await secretValue('DATABASE_SECRET'))?.includes('p2'));
  expect(config().DATABASE_SECRET).toBe('{"username":"u","password":"p2"}');
});

it('fails with a clear error for a missing secret, an ARN that is not one, or both forms at once', async () => {
  useEnv({
    REDIS_SECRET_ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:flash-sale/${run}/absent-AbCdEf`,
  });
  await expect(secretValue('REDIS_SECRET')).rejects.toThrow(/ResourceNotFound|can't find|not find/i);
  useEnv({ DATABASE_SECRET_ARN: 'flash-sale/db' });
  expect(() => config()).toThrow(/DATABASE_SECRET_ARN: a Secrets Manager secret ARN or an SSM parameter ARN/);
  useEnv({ AUTH_JWT_SECRET: 'x'.repeat(40), AUTH_JWT_SECRET_ARN: jwtArn });
  expect(() => config()).toThrow(/set AUTH_JWT_SECRET or AUTH_JWT_SECRET_ARN, not both/);
});

/** A container started afresh: this file's earlier tests left the modules' state (loaded secrets, verifiers). */
async function freshContainer() {
  vi.resetModules();
  return {
    ...(await import('../../lib/platform/secrets')),
    ...(await import('../../lib/config')),
    ...(await import('../../lib/http/auth')),
    ...(await import('../../lib/http/webhook')),
  };
}

function signedWebhook(secret: string) {
  const body = '{"type":"payment.succeeded"}';
  return { body, headers: signedHeaders(secret, `msg_${run}_${Math.random().toString(36).slice(2)}`, body) };
}

it('each refresh reads the secret again, past the cache of the read before (a rotation took up to twice SECRETS_MAX_AGE_S)', async () => {
  const jwt = await sm.send(
    new CreateSecretCommand({ Name: `flash-sale/${run}/jwt-refresh`, SecretString: 'c'.repeat(48) }),
  );
  useEnv({ AUTH_JWT_SECRET_ARN: jwt.ARN!, SECRETS_MAX_AGE_S: '60' });
  const c = await freshContainer();
  // A clock that moves only when told: each refresh falls due exactly SECRETS_MAX_AGE_S after the
  // one before, as the first request past the max age in a busy container does (within the read's
  // few milliseconds, the window in which the old code found Powertools' entry still fresh).
  vi.useFakeTimers({ toFake: ['Date'] });
  try {
    const t0 = Date.now();
    await c.secretsReady();
    for (const [i, [before, next]] of [
      ['c', 'd'],
      ['d', 'e'],
    ].entries()) {
      await sm.send(new PutSecretValueCommand({ SecretId: jwt.ARN!, SecretString: next!.repeat(48) }));
      vi.setSystemTime(t0 + (i + 1) * 60_000);
      await c.secretsReady();
      // The request that found the refresh due goes on at once, with the values in use (until
      // 2026-12-05 it waited for Secrets Manager's round trip).
      expect(c.config().AUTH_JWT_SECRET, 'read beside the request, not before it').toBe(before!.repeat(48));
      await c.secretsRefreshed();
      expect({ refresh: i + 1, value: c.config().AUTH_JWT_SECRET }).toEqual({
        refresh: i + 1,
        value: next!.repeat(48),
      });
    }
  } finally {
    vi.useRealTimers();
  }
});

it('a short HS256 secret read by reference stops the container as the variable does (it was used quietly)', async () => {
  const short = await sm.send(
    new CreateSecretCommand({ Name: `flash-sale/${run}/jwt-short`, SecretString: 'x'.repeat(31) }),
  );
  useEnv({ AUTH_JWT_SECRET_ARN: short.ARN! });
  const c = await freshContainer();
  await expect(c.secretsReady()).rejects.toThrow(
    /invalid configuration: AUTH_JWT_SECRET: HS256 secret must be at least 32 bytes/,
  );
  expect(c.config().AUTH_JWT_SECRET).toBeUndefined();
});

it('a rotated JWT and webhook secret reach a warm container once SECRETS_MAX_AGE_S has passed', async () => {
  const [whA, whB] = [
    `whsec_${Buffer.alloc(24, 1).toString('base64')}`,
    `whsec_${Buffer.alloc(24, 2).toString('base64')}`,
  ];
  const jwt = await sm.send(
    new CreateSecretCommand({ Name: `flash-sale/${run}/jwt-rotating`, SecretString: 'a'.repeat(48) }),
  );
  const name = `/flash-sale/${run}/webhook-rotating`;
  await ssm.send(new PutParameterCommand({ Name: name, Type: 'SecureString', Value: whA }));
  useEnv({
    AUTH_JWT_SECRET_ARN: jwt.ARN!,
    WEBHOOK_SECRET_ARN: `arn:aws:ssm:us-east-1:123456789012:parameter${name}`,
    SECRETS_MAX_AGE_S: '1',
  });
  const c = await freshContainer();
  await c.secretsReady(); // the first event
  const tokenA = await c.mintToken({ customer_id: 'rotating' });
  expect(await c.authenticate(`Bearer ${tokenA}`)).toEqual({ customer_id: 'rotating', admin: false });
  const eventA = signedWebhook(whA);
  expect(c.verifyWebhook(eventA.body, eventA.headers).webhook_id).toBe(eventA.headers['webhook-id']);

  await sm.send(new PutSecretValueCommand({ SecretId: jwt.ARN!, SecretString: 'b'.repeat(48) }));
  await ssm.send(new PutParameterCommand({ Name: name, Type: 'SecureString', Value: whB, Overwrite: true }));
  await new Promise((r) => setTimeout(r, 1_200));
  await c.secretsReady(); // a later event of the same container, past the max age
  await c.secretsRefreshed(); // the read it started beside itself
  expect(c.config().AUTH_JWT_SECRET).toBe('b'.repeat(48));
  expect(c.config().WEBHOOK_SECRET).toBe(whB);
  const tokenB = await c.mintToken({ customer_id: 'rotating' });
  expect(await c.authenticate(`Bearer ${tokenB}`)).toEqual({ customer_id: 'rotating', admin: false });
  await expect(c.authenticate(`Bearer ${tokenA}`)).rejects.toMatchObject({ status: 401 });
  const eventB = signedWebhook(whB);
  expect(c.verifyWebhook(eventB.body, eventB.headers).webhook_id).toBe(eventB.headers['webhook-id']);

  // A rotated value its rule refuses is not taken: the values read before stay in use.
  await ssm.send(
    new PutParameterCommand({ Name: name, Type: 'SecureString', Value: 'not-a-whsec', Overwrite: true }),
  );
  await new Promise((r) => setTimeout(r, 1_200));
  await c.secretsReady();
  await c.secretsRefreshed();
  expect(c.config().WEBHOOK_SECRET).toBe(whB);
  const stillB = signedWebhook(whB);
  expect(c.verifyWebhook(stillB.body, stillB.headers).webhook_id).toBe(stillB.headers['webhook-id']);
});

it('a Secrets Manager that accepts the connection and never answers fails the read in seconds (it hung, and a refresh stuck so stopped every later one)', async () => {
  const silent = createServer(() => {}); // accepts, never answers
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const { port } = silent.address() as AddressInfo;
  try {
    useEnv({ AUTH_JWT_SECRET_ARN: jwtArn, AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${port}` });
    const c = await freshContainer();
    const t0 = Date.now();
    await expect(c.secretsReady()).rejects.toThrow();
    expect(Date.now() - t0, 'two attempts of 2 s, and a back-off').toBeLessThan(8_000);
  } finally {
    silent.closeAllConnections();
    silent.close();
  }
}, 20_000);
