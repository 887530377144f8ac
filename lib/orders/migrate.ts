// Applies migrations/NNNN_*.sql in order, each once, under an advisory lock so concurrent starters
// wait instead of racing. Forward-only: there is no down. Each file runs in a transaction of its own
// with its schema_migrations row (a failure keeps the files before it, and no file's locks are held
// while the next runs); a file whose first line is NO_TRANSACTION runs outside one, for statements
// PostgreSQL refuses inside a transaction (CREATE INDEX CONCURRENTLY).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReservedSql } from 'postgres';
import type { Sql } from './db';

const LOCK_ID = 7_316_001;
/** The first line of a migration that must run outside a transaction (one statement per file). */
export const NO_TRANSACTION = '-- migrate: no-transaction';

/** The source tree (tsx, vitest) or the bundled Lambda (functions/migrate.mjs, migrations/ beside). */
function migrationsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, '../../migrations'),
    join(here, '../migrations'),
    join(process.cwd(), 'migrations'),
  ];
  const found = candidates.find((d) => existsSync(join(d, '0001_init.sql')));
  if (!found) throw new Error(`migrations/ not found (looked in ${candidates.join(', ')})`);
  return found;
}

/**
 * The hash of the migrations this code carries, computed as infra/aws/migrations-hash.cjs computes
 * the custom resource's `Migrations` property at packaging (a unit test holds the two equal): a
 * deploy's request carries the same hash; a rollback's carries the previous release's.
 */
export function migrationsHash(dir = migrationsDir()): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(dir, file)))
      .update('\0');
  }
  return hash.digest('hex');
}

export async function migrate(sql: Sql, dir = migrationsDir()): Promise<string[]> {
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}_.+\.sql$/.test(f))
    .sort();
  const applied: string[] = [];
  // One connection holds the session lock across the files' own transactions.
  const conn = await sql.reserve();
  try {
    await conn`SELECT pg_advisory_lock(${LOCK_ID})`;
    await conn`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`;
    const done = new Set(
      (await conn<{ version: string }[]>`SELECT version FROM schema_migrations`).map((r) => r.version),
    );
    for (const file of files.filter((f) => !done.has(f))) {
      await applyFile(conn, file, readFileSync(join(dir, file), 'utf8'));
      applied.push(file);
    }
  } finally {
    await conn`SELECT pg_advisory_unlock(${LOCK_ID})`.catch(() => {}); // a dead connection held none
    conn.release();
  }
  return applied;
}

async function applyFile(conn: ReservedSql, file: string, text: string): Promise<void> {
  if (text.startsWith(NO_TRANSACTION)) {
    // Outside a transaction: a crash between the statement and the row runs the file again, so
    // such a file is written to be repeatable (IF NOT EXISTS).
    await conn.unsafe(text);
    await conn`INSERT INTO schema_migrations (version) VALUES (${file})`;
    return;
  }
  // By hand: a reserved connection (the one holding the lock) has no begin().
  await conn`BEGIN`;
  try {
    await conn.unsafe(text);
    await conn`INSERT INTO schema_migrations (version) VALUES (${file})`;
    await conn`COMMIT`;
  } catch (err) {
    await conn`ROLLBACK`.catch(() => {}); // a dead connection rolled back by itself
    throw err;
  }
}

/**
 * Gives the app's role (created by migrations/0008_app_role.sql) the password its secret holds, so
 * RDS Proxy, which authenticates clients with that secret, and PostgreSQL agree. Only this role.
 */
export async function setAppRolePassword(sql: Sql, username: string, password: string): Promise<void> {
  if (username !== APP_ROLE) throw new Error(`the app secret names ${username}, expected ${APP_ROLE}`);
  // ALTER ROLE takes no bind parameters: format() quotes the literal server-side.
  const [row] = await sql<{ stmt: string }[]>`
    SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', ${username}::text, ${password}::text) AS stmt`;
  await sql.unsafe(row!.stmt);
}

const APP_ROLE = 'flashsale_app';
