// Under LocalStack the running functions read their secrets as in AWS: serverless-offline gets only
// `AUTH_JWT_SECRET_ARN`/`WEBHOOK_SECRET_ARN`, and lib/platform/secrets.ts reads them from LocalStack's
// Secrets Manager with Powertools Parameters. The test process keeps the plain values (stack.env) and
// signs tokens and webhooks with them: the functions accept those only if the read worked.
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SignJWT } from 'jose';
import { expect, it } from 'vitest';
import {
  localSecretName,
  localSecretsClient,
  REFERENCED_SECRETS,
} from '../../infra/local/localstack-secrets';
import { adminToken, call } from '../helpers/api';
import { sendWebhook } from '../helpers/webhook';

const endpoint = process.env['SQS_ENDPOINT']!;

/** The environment of this stack's serverless-offline process (the one serving PORT). */
function offlineEnviron(): Record<string, string> {
  const mine = (pid: string) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return (
        argv.some((a) => a.endsWith('osls/bin/serverless.js')) &&
        argv.includes('offline') &&
        argv[argv.indexOf('--httpPort') + 1] === process.env['PORT']
      );
    } catch {
      return false; // a process that ended while we looked
    }
  };
  const pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && mine(p));
  expect(pids, 'one serverless-offline process for this stack').toHaveLength(1);
  const raw = readFileSync(`/proc/${pids[0]}/environ`, 'utf8').split('\0').filter(Boolean);
  return Object.fromEntries(raw.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

it("LocalStack's Secrets Manager holds the stack's secrets", async () => {
  const sm = localSecretsClient(endpoint);
  for (const name of REFERENCED_SECRETS) {
    const s = await sm.send(new GetSecretValueCommand({ SecretId: localSecretName(name) }));
    expect(s.SecretString, name).toBe(process.env[name]);
  }
});

it('serverless-offline gets the references and an SDK pointed at LocalStack, not the values', async () => {
  const env = offlineEnviron();
  const sm = localSecretsClient(endpoint);
  for (const name of REFERENCED_SECRETS) {
    expect(env[name], name).toBeUndefined();
    const s = await sm.send(new GetSecretValueCommand({ SecretId: localSecretName(name) }));
    // the partial ARN (no random suffix), which survives a LocalStack restart (infra/local/faults.ts)
    expect(s.ARN, `${name}_ARN`).toMatch(new RegExp(`^${env[`${name}_ARN`]}-[A-Za-z0-9]{6}$`));
  }
  expect(env['AWS_ENDPOINT_URL_SECRETS_MANAGER']).toBe(endpoint);
  expect(env['AWS_ACCESS_KEY_ID']).toBeTruthy();
  expect(Object.values(env)).not.toContain(process.env['AUTH_JWT_SECRET']);
  expect(Object.values(env)).not.toContain(process.env['WEBHOOK_SECRET']);
});

it("a token signed with the stack's secret is accepted, one signed with another is not", async () => {
  const forged = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('test-admin')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(randomBytes(32));
  expect((await call('GET', '/api/admin/stats', { token: forged })).status).toBe(401);
  expect((await call('GET', '/api/admin/stats', { token: await adminToken() })).status).toBe(200);
});

it("a webhook signed with the stack's secret passes verification, one signed with another does not", async () => {
  const order = `ord-${randomUUID()}`;
  const wrong = `whsec_${randomBytes(24).toString('base64')}`;
  expect((await sendWebhook(order, { amount_cents: 1000, secret: wrong })).status).toBe(401);
  expect((await sendWebhook(order, { amount_cents: 1000 })).status).not.toBe(401);
});
