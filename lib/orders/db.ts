// One small PostgreSQL pool per container (RDS Proxy multiplexes them in AWS). Never used on the
// request path of POST /api/orders.
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { config, required } from '../config';
import { parseCredentials, secretValue } from '../platform/secrets';
import type { ProductScope } from '../sale/ports';

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;

/**
 * SQL: the advisory-lock key of an order id, a value or a column (`q('order_id')`). Everything
 * that concerns one order serialises on it (persistOrders' insert, a webhook, a cancel, the release
 * run's steps), so it is written once: two callers hashing different text would not exclude each
 * other. `::text` of a uuid column is its lower-case form, as the ids handed in are.
 */
export const orderLockKey = (q: Sql | Tx, order_id: string | postgres.Helper<string>) =>
  q`hashtextextended(${order_id}::text, 0)`;
let sql: Sql | undefined;

export function db(): Sql {
  sql ??= connect(required('DATABASE_URL'), config().PG_POOL_MAX);
  return sql;
}

/**
 * `prepare: false`: no named prepared statements, so RDS Proxy can hand the server connection to
 * another client after each transaction instead of pinning it to this one.
 * With DATABASE_SECRET(_ARN) the password is asked for on every new connection, so a rotated
 * password is picked up once the cached secret expires (SECRETS_MAX_AGE_S).
 */
export function connect(url: string, max: number): Sql {
  const c = config();
  const fromSecret = c.DATABASE_SECRET !== undefined || c.DATABASE_SECRET_ARN !== undefined;
  return postgres(url, {
    max,
    idle_timeout: 20,
    connect_timeout: 5,
    prepare: false,
    onnotice: () => {},
    ...(c.TLS_CA_PATH && /sslmode=(require|verify)/.test(url)
      ? { ssl: { ca: readFileSync(c.TLS_CA_PATH, 'utf8'), rejectUnauthorized: true } }
      : {}),
    // The URL names the user; the secret holds its password.
    ...(fromSecret ? { pass: async () => (await credentials()).password } : {}),
  });
}

async function credentials() {
  const cr = parseCredentials('DATABASE_SECRET', await secretValue('DATABASE_SECRET'));
  if (!cr) throw new Error('configuration: DATABASE_SECRET or DATABASE_SECRET_ARN is not set');
  return cr;
}

export async function closeDb(): Promise<void> {
  const s = sql;
  sql = undefined;
  if (s) await s.end({ timeout: 2 });
}

/** `AND <column> = ANY(scope)` for a release run over some products; nothing for every product. */
export function scopeFilter(sql: Sql, column: string, scope: ProductScope) {
  return scope === null ? sql`` : sql`AND ${sql(column)} = ANY(${scope as number[]}::bigint[])`;
}
