// The only reader of process.env: validated once per container, failing with the variable's name.
// zod/mini (the same zod, tree-shakable): every function loads this module, and classic zod is
// ~450 KB of a bundle and most of its init (README, "Cold starts").
import * as z from 'zod/mini';
import './zod-locale';

const intFrom = (fallback: number) => z._default(z.coerce.number().check(z.int(), z.nonnegative()), fallback);
const optionalString = z.pipe(
  z.optional(z.string()),
  z.transform((v: string | undefined) => (v === undefined || v === '' ? undefined : v)),
);

/** An AWS stage's reference to a secret: a Secrets Manager secret or an SSM parameter, by ARN. */
const secretArn = z.pipe(
  optionalString,
  z.optional(
    z
      .string()
      .check(
        z.regex(
          /^arn:aws[a-z-]*:(secretsmanager|ssm):[a-z0-9-]+:\d{12}:(secret:|parameter\/)\S+$/,
          'a Secrets Manager secret ARN or an SSM parameter ARN',
        ),
      ),
  ),
);
/** `{"username": …, "password": …}` as Secrets Manager stores database and Redis users. */
const credentialsJson = optionalString;

/** `whsec_` then non-empty, padded base64: what the `standardwebhooks` verifier can decode. */
const WEBHOOK_SECRET_FORM =
  /^whsec_(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/;

const schema = z.object({
  PORT: intFrom(3000),
  DATABASE_URL: optionalString,
  PG_POOL_MAX: intFrom(4),
  REDIS_URL: optionalString,
  REDIS_CLUSTER_NODES: optionalString,
  REDIS_KEY_PREFIX: z._default(
    z.string().check(z.regex(/^[a-z0-9_-]{1,32}$/i, 'letters, digits, _ or -, at most 32')),
    'fs',
  ),
  REDIS_COMMAND_TIMEOUT_MS: intFrom(1000),
  /**
   * How long after it was sent a reserve command still counts: ioredis resends unanswered commands
   * after a reconnect, and reserve.lua refuses one older than the command timeout plus this window.
   * Completed orders keep a tombstone only this long (plus clock-skew slack), not 24 hours.
   */
  REDIS_RESEND_WINDOW_S: intFrom(30),
  /** MemoryDB and ElastiCache with in-transit encryption: TLS to every cluster node */
  REDIS_TLS: z.pipe(
    z._default(z.enum(['0', '1', 'true', 'false', '']), '0'),
    z.transform((v: '0' | '1' | 'true' | 'false' | '') => v === '1' || v === 'true'),
  ),
  SQS_ENDPOINT: optionalString,
  ORDERS_QUEUE_URL: optionalString,
  ORDERS_DLQ_URL: optionalString,
  AWS_REGION: z._default(z.string(), 'us-east-1'),
  // HS256 with a short secret is guessable offline from one token (RFC 7518 §3.2: at least the
  // hash size, 256 bits), so a short one is refused at start rather than accepted quietly.
  AUTH_JWT_SECRET: optionalString.check(
    z.refine(
      (v) => v === undefined || Buffer.byteLength(v, 'utf8') >= 32,
      'HS256 secret must be at least 32 bytes',
    ),
  ),
  AUTH_JWT_ISSUER: optionalString,
  AUTH_JWT_AUDIENCE: optionalString,
  /** identity-provider mode: RS256/ES256 tokens verified against this JWKS (issuer and audience required) */
  AUTH_JWKS_URL: optionalString.check(z.refine((v) => v === undefined || URL.canParse(v), 'must be a URL')),
  /** the claim that makes a caller admin: a string equal to AUTH_ADMIN_VALUE or an array containing it */
  AUTH_ADMIN_CLAIM: z._default(z.string().check(z.minLength(1)), 'role'),
  AUTH_ADMIN_VALUE: z._default(z.string().check(z.minLength(1)), 'admin'),
  /** Standard Webhooks' form: an unreadable one was a 500 for every event (the provider retrying) */
  WEBHOOK_SECRET: optionalString.check(
    z.refine(
      (v) => v === undefined || WEBHOOK_SECRET_FORM.test(v),
      'must be whsec_<base64> (Standard Webhooks)',
    ),
  ),
  /** credentials for DATABASE_URL's user (RDS Proxy in AWS); the URL then carries no password */
  DATABASE_SECRET: credentialsJson,
  /** Redis ACL user (MemoryDB in AWS) */
  REDIS_SECRET: credentialsJson,
  /** the migrate function only: the app role whose password it sets (migrations create the role) */
  DATABASE_APP_SECRET: credentialsJson,
  // AWS stages: the secrets above by reference (API.md), read at container start (lib/platform/secrets)
  AUTH_JWT_SECRET_ARN: secretArn,
  WEBHOOK_SECRET_ARN: secretArn,
  DATABASE_SECRET_ARN: secretArn,
  REDIS_SECRET_ARN: secretArn,
  DATABASE_APP_SECRET_ARN: secretArn,
  /** seconds a secret read from AWS is reused before it is read again (rotation) */
  SECRETS_MAX_AGE_S: intFrom(300),
  /** extra CA certificate (PEM file) trusted for Redis and PostgreSQL TLS: self-signed test servers */
  TLS_CA_PATH: optionalString,
  RATE_LIMIT_CUSTOMER_RPS: intFrom(20),
  RATE_LIMIT_IP_RPS: intFrom(0),
  /** failed webhook verifications allowed per source IP per minute before 429; 0 turns it off */
  WEBHOOK_FAILED_PER_MIN: intFrom(60),
  /** unverified webhook requests kept as a sample for the operator (the newest, per stack) */
  WEBHOOK_UNVERIFIED_SAMPLE_MAX: intFrom(100),
  CORS_ORIGINS: z._default(z.string(), '*'),
  OUTBOX_GRACE_S: intFrom(30),
  /**
   * A final order's entry in Redis's `released` hash is pruned this long after its release was
   * applied. At least 900 s (a Lambda's longest run), so no release attempt is still on its way.
   */
  RELEASED_PRUNE_AFTER_S: z._default(z.coerce.number().check(z.int(), z.minimum(900)), 3600),
  /** a rebuild after a data loss waits this long after closing the product (createOrder's timeout + margin) */
  REBUILD_FENCE_S: intFrom(10),
  LOG_LEVEL: z._default(z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']), 'INFO'),
});

export type Config = z.infer<typeof schema>;

/** The settings an AWS stage passes by reference (`NAME_ARN`) instead of by value. */
export const SECRET_NAMES = [
  'AUTH_JWT_SECRET',
  'WEBHOOK_SECRET',
  'DATABASE_SECRET',
  'REDIS_SECRET',
  'DATABASE_APP_SECRET',
] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

let cached: Config | undefined;
let resolvedSecrets: Partial<Record<SecretName, string>> = {};

export function config(): Config {
  if (cached) return cached;
  const parsed = schema.safeParse(process.env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${issues}`);
  }
  // Any application of an identity provider can mint tokens carrying our customer ids, so without
  // both checks a token meant for another application would be accepted here (API.md, Identity).
  const c = parsed.data;
  if (c.AUTH_JWKS_URL && !(c.AUTH_JWT_ISSUER && c.AUTH_JWT_AUDIENCE))
    throw new Error('invalid configuration: AUTH_JWKS_URL needs AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE');
  for (const name of SECRET_NAMES) {
    if (c[name] && c[`${name}_ARN`])
      throw new Error(`invalid configuration: set ${name} or ${name}_ARN, not both`);
  }
  cached = { ...c, ...resolvedSecrets };
  return cached;
}

/**
 * Secret values read from Secrets Manager/SSM (lib/platform/secrets) become ordinary settings, so
 * every reader keeps asking config() whether the value came from a variable or from AWS.
 */
export function applySecrets(values: Partial<Record<SecretName, string>>): void {
  // A value read from AWS passes the rule its variable would (a short HS256 key was accepted
  // quietly this way, the stages' only way): the same `invalid configuration: NAME: …` error.
  for (const [name, value] of Object.entries(values) as [SecretName, string | undefined][]) {
    const checked = z.safeParse(schema.shape[name], value);
    if (!checked.success)
      throw new Error(
        `invalid configuration: ${name}: ${checked.error.issues.map((i) => i.message).join('; ')}`,
      );
  }
  resolvedSecrets = { ...resolvedSecrets, ...values };
  if (cached) cached = { ...cached, ...values };
}

/** A required setting: fails naming the variable instead of half-working without it. */
export function required<K extends keyof Config>(key: K): NonNullable<Config[K]> {
  const value = config()[key];
  if (value === undefined || value === null) throw new Error(`configuration: ${key} is not set`);
  return value as NonNullable<Config[K]>;
}

/** The local stack and tests set the environment after a first read. */
export function resetConfig(): void {
  cached = undefined;
  resolvedSecrets = {};
}
