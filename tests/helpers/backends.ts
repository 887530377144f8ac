// A test file's own way into the stack's backing services: a PostgreSQL connection of its own and
// the Redis key prefix, closed after the file together with the app's shared clients (which the
// adapters and release runs the file calls in-process open).
import postgres from 'postgres';
import { afterAll } from 'vitest';
import { closeRedis } from '../../lib/inventory/client';
import { closeDb } from '../../lib/orders/db';

export function fileBackends(): { sql: postgres.Sql; prefix: string } {
  const sql = postgres(process.env['DATABASE_URL']!, { max: 2 });
  afterAll(async () => {
    await sql.end();
    await closeRedis();
    await closeDb();
  });
  return { sql, prefix: process.env['REDIS_KEY_PREFIX']! };
}
