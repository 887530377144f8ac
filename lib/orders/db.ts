// One small PostgreSQL pool per container (RDS Proxy multiplexes them in AWS). Never used on the
// request path of POST /api/orders.
import postgres from 'postgres';
import { config, required } from '../config';

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;
let sql: Sql | undefined;

export function db(): Sql {
  if (sql) return sql;
  sql = postgres(required('DATABASE_URL'), {
    max: config().PG_POOL_MAX,
    idle_timeout: 20,
    connect_timeout: 5,
    onnotice: () => {},
  });
  return sql;
}

export async function closeDb(): Promise<void> {
  const s = sql;
  sql = undefined;
  if (s) await s.end({ timeout: 2 });
}
