// Secrets at run time. An AWS stage gives a function only references (`AUTH_JWT_SECRET_ARN`, …,
// API.md); the values are read here with Powertools Parameters when the container starts, cached
// for SECRETS_MAX_AGE_S and read again after that, so a rotated database password reaches new
// connections without a redeploy. Locally the same names are plain variables and nothing is read.

import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
import type { MiddlewareObj } from '@middy/core';
import { applySecrets, config, SECRET_NAMES, type SecretName } from '../config';

export interface Credentials {
  username: string;
  password: string;
}

/** The value of one secret: the plain variable locally, the referenced secret in AWS (cached). */
export async function secretValue(name: SecretName): Promise<string | undefined> {
  const c = config();
  const arn = c[`${name}_ARN`];
  if (!arn) return c[name];
  const value = await readReference(arn, c.SECRETS_MAX_AGE_S);
  applySecrets({ [name]: value });
  return value;
}

/** Reads every secret this function is given a reference to; the first call starts with the container. */
export async function loadSecrets(): Promise<void> {
  await Promise.all(SECRET_NAMES.map((name) => secretValue(name)));
}

let started: Promise<void> | undefined;
/** One load per container, shared by concurrent first invocations; a failure is retried next time. */
export function secretsReady(): Promise<void> {
  started ??= loadSecrets().catch((err: unknown) => {
    started = undefined;
    throw err;
  });
  return started;
}

/** middy: AWS stages read the referenced secrets before the first event is handled (then cached). */
export function secretsFirst<E, R>(): MiddlewareObj<E, R> {
  return { before: async () => secretsReady() };
}

/** `{"username","password"}` (how Secrets Manager stores RDS and MemoryDB users), validated. */
export function parseCredentials(name: SecretName, raw: string | undefined): Credentials | undefined {
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`configuration: ${name} must be JSON {"username": …, "password": …}`);
  }
  const { username, password } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof username !== 'string' || typeof password !== 'string' || !username || !password)
    throw new Error(`configuration: ${name} must hold a non-empty "username" and "password"`);
  return { username, password };
}

async function readReference(arn: string, maxAge: number): Promise<string> {
  const value = arn.includes(':ssm:')
    ? await getParameter(arn, { decrypt: true, maxAge })
    : await getSecret<string>(arn, { maxAge });
  if (typeof value !== 'string' || value === '')
    throw new Error(`secret ${arn.split(':').slice(0, 6).join(':')}… is empty or not a string`);
  return value;
}
