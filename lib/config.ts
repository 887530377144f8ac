// The only reader of process.env: validated once per container, failing with the variable's name.
import { z } from 'zod';

const intFrom = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v));

/** An AWS stage's reference to a secret: a Secrets Manager secret or an SSM parameter, by ARN. */
const secretArn = optionalString.pipe(
  z
    .string()
    .regex(
      /^arn:aws[a-z-]*:(secretsmanager|ssm):[a-z0-9-]+:\d{12}:(secret:|parameter\/)\S+$/,
      'a Secrets Manager secret ARN or an SSM parameter ARN',
    )
    .optional(),
);
/** `{"username": …, "password": …}` as Secrets Manager stores database and Redis users. */
const credentialsJson = optionalString;

const schema = z.object({
  PORT: intFrom(3000),
  DATABASE_URL: optionalString,
  PG_POOL_MAX: intFrom(4),
  REDIS_URL: optionalString,
  REDIS_CLUSTER_NODES: optionalString,
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[a-z0-9_-]{1,32}$/i, 'letters, digits, _ or -, at most 32')
    .default('fs'),
  REDIS_COMMAND_TIMEOUT_MS: intFrom(1000),
  /** MemoryDB and ElastiCache with in-transit encryption: TLS to every cluster node */
  REDIS_TLS: z
    .enum(['0', '1', 'true', 'false', ''])
    .default('0')
    .transform((v) => v === '1' || v === 'true'),
  SQS_ENDPOINT: optionalString,
  ORDERS_QUEUE_URL: optionalString,
  ORDERS_DLQ_URL: optionalString,
  AWS_REGION: z.string().default('us-east-1'),
  AUTH_JWT_SECRET: optionalString,
  AUTH_JWT_ISSUER: optionalString,
  AUTH_JWT_AUDIENCE: optionalString,
  WEBHOOK_SECRET: optionalString,
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
  CORS_ORIGINS: z.string().default('*'),
  OUTBOX_GRACE_S: intFrom(30),
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']).default('INFO'),
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
  for (const name of SECRET_NAMES) {
    if (parsed.data[name] && parsed.data[`${name}_ARN`])
      throw new Error(`invalid configuration: set ${name} or ${name}_ARN, not both`);
  }
  cached = { ...parsed.data, ...resolvedSecrets };
  return cached;
}

/**
 * Secret values read from Secrets Manager/SSM (lib/platform/secrets) become ordinary settings, so
 * every reader keeps asking config() whether the value came from a variable or from AWS.
 */
export function applySecrets(values: Partial<Record<SecretName, string>>): void {
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
