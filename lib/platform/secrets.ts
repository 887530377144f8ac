// Secrets at run time. An AWS stage gives a function only references (`AUTH_JWT_SECRET_ARN`, …,
// API.md); the values are read here with Powertools Parameters when the container starts, cached
// for SECRETS_MAX_AGE_S and read again after that, so a rotated database password reaches new
// connections without a redeploy. Locally the same names are plain variables and nothing is read.
//
// The SDK clients are imported only when a reference is read (README, "Cold starts"): Powertools'
// own SecretsProvider and SSMProvider import theirs statically, and esbuild hoists an external
// package's import to the top of the ESM bundle, so every function loaded both clients at init
// whether it had a reference or not: SSM (which no stage of ours references) ~48 ms of CPU, Secrets
// Manager ~10 ms more after the SQS client, measured on a loaded machine.

import { BaseProvider } from '@aws-lambda-powertools/parameters/base';
import type { GetSecretValueCommandOutput, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { GetParameterCommandOutput, SSMClient } from '@aws-sdk/client-ssm';
import type { MiddlewareObj } from '@middy/core';
import { applySecrets, config, SECRET_NAMES, type SecretName } from '../config';
import { logger } from './logger';

export interface Credentials {
  username: string;
  password: string;
}

/** The value of one secret: the plain variable locally, the referenced secret in AWS (cached). */
export async function secretValue(name: SecretName, fresh = false): Promise<string | undefined> {
  const c = config();
  const arn = c[`${name}_ARN`];
  if (!arn) return c[name];
  const value = await readReference(arn, c.SECRETS_MAX_AGE_S, fresh);
  applySecrets({ [name]: value });
  return value;
}

/**
 * Reads every secret this function is given a reference to; the first call starts with the container.
 * `fresh`: past Powertools' cache (secretsReady's refresh, which is itself the max age).
 */
export async function loadSecrets(fresh = false): Promise<void> {
  await Promise.all(SECRET_NAMES.map((name) => secretValue(name, fresh)));
}

let started: Promise<void> | undefined;
/** when the values in use were read (0: never yet) */
let loadedAt = 0;
/** the refresh under way, if any */
let refreshing: Promise<void> | undefined;

/**
 * One load per container, shared by concurrent first invocations; a failure is retried next time.
 * Then read again once SECRETS_MAX_AGE_S has passed, so a rotated JWT or webhook secret reaches a
 * warm container (it used to keep the values of its first event for its whole life). A refresh that
 * fails (Secrets Manager out of reach, a rotated value its rule refuses) keeps the values already
 * read and is tried again after another SECRETS_MAX_AGE_S. The refresh reads past Powertools' cache:
 * its entry, stored when the previous read finished, outlives `loadedAt` (taken when that read
 * began) by the read's duration, so a refresh due on time found it still fresh and kept the old
 * value, and a rotation reached a warm container after up to twice SECRETS_MAX_AGE_S.
 *
 * The refresh runs beside the request that found it due: that request, and any until the read
 * ends, goes on with the values in use. Until 2026-12-05 it waited for the read, so one request per
 * container every SECRETS_MAX_AGE_S took Secrets Manager's round trips (the Secrets Manager client's
 * connection included) on top of its own. In Lambda a read the container is frozen in the middle of
 * goes on when the next event thaws it.
 */
export function secretsReady(): Promise<void> {
  if (started && loadedAt > 0 && !refreshing && Date.now() - loadedAt >= config().SECRETS_MAX_AGE_S * 1000)
    refreshInBackground();
  started ??= loadSecrets().then(
    () => {
      loadedAt = Date.now();
    },
    (err: unknown) => {
      started = undefined;
      throw err;
    },
  );
  return started;
}

function refreshInBackground(): void {
  loadedAt = Date.now();
  refreshing = loadSecrets(true)
    .catch((err: unknown) => {
      logger.error('secrets not read again; the values read before stay in use', { error: err as Error });
    })
    .finally(() => {
      refreshing = undefined;
    });
}

/** Settles when the refresh under way (if any) has ended: the new values in use, or the failure logged. */
export function secretsRefreshed(): Promise<void> {
  return refreshing ?? Promise.resolve();
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

/**
 * Powertools Parameters' provider base (its cache per name and max age, its errors) over clients
 * created on the first read: a Secrets Manager secret or an SSM parameter (decrypted), by ARN.
 */
class ReferenceProvider extends BaseProvider {
  private secrets: SecretsManagerClient | undefined;
  private ssm: SSMClient | undefined;

  constructor() {
    super({});
  }

  protected override async _get(arn: string): Promise<string | Uint8Array | undefined> {
    if (arn.includes(':ssm:')) {
      const sdk = await import('@aws-sdk/client-ssm');
      this.ssm ??= new sdk.SSMClient(READ_BOUNDS);
      const out: GetParameterCommandOutput = await this.ssm.send(
        new sdk.GetParameterCommand({ Name: arn, WithDecryption: true }),
      );
      return out.Parameter?.Value;
    }
    const sdk = await import('@aws-sdk/client-secrets-manager');
    this.secrets ??= new sdk.SecretsManagerClient(READ_BOUNDS);
    const out: GetSecretValueCommandOutput = await this.secrets.send(
      new sdk.GetSecretValueCommand({ SecretId: arn }),
    );
    return out.SecretString ?? out.SecretBinary;
  }

  protected override _getMultiple(): Promise<never> {
    throw new Error('not used: each secret is read by its own reference');
  }
}

/**
 * Both clients' bound on a read: without one this SDK waits for an unanswered request as long as
 * the socket lives, and a refresh that never settles stops every later refresh of the container
 * (the first read, the function's timeout). Two attempts of 2 s at most, the SQS client's figures.
 */
const READ_BOUNDS = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 1000, requestTimeout: 2000, throwOnRequestTimeout: true },
};

let references: ReferenceProvider | undefined;

async function readReference(arn: string, maxAge: number, forceFetch: boolean): Promise<string> {
  references ??= new ReferenceProvider();
  const value = await references.get(arn, { maxAge, forceFetch });
  if (typeof value !== 'string' || value === '')
    throw new Error(`secret ${arn.split(':').slice(0, 6).join(':')}… is empty or not a string`);
  return value;
}
