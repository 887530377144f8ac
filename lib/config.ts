// The only reader of process.env: validated once per container, failing with the variable's name.
import { z } from 'zod';

const intFrom = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v));

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
  RATE_LIMIT_CUSTOMER_RPS: intFrom(20),
  RATE_LIMIT_IP_RPS: intFrom(0),
  CORS_ORIGINS: z.string().default('*'),
  OUTBOX_GRACE_S: intFrom(30),
  /** a rebuild after a data loss waits this long after closing the product (createOrder's timeout + margin) */
  REBUILD_FENCE_S: intFrom(10),
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']).default('INFO'),
});

export type Config = z.infer<typeof schema>;

let cached: Config | undefined;

export function config(): Config {
  if (cached) return cached;
  const parsed = schema.safeParse(process.env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${issues}`);
  }
  cached = parsed.data;
  return cached;
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
}
