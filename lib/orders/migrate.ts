// Applies migrations/NNNN_*.sql in order, each once, under an advisory lock so concurrent starters
// wait instead of racing. Forward-only: there is no down.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sql } from './db';

const LOCK_ID = 7_316_001;

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

export async function migrate(sql: Sql, dir = migrationsDir()): Promise<string[]> {
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}_.+\.sql$/.test(f))
    .sort();
  const applied: string[] = [];
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${LOCK_ID})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`;
    const done = new Set(
      (await tx<{ version: string }[]>`SELECT version FROM schema_migrations`).map((r) => r.version),
    );
    for (const file of files) {
      if (done.has(file)) continue;
      await tx.unsafe(readFileSync(join(dir, file), 'utf8'));
      await tx`INSERT INTO schema_migrations (version) VALUES (${file})`;
      applied.push(file);
    }
  });
  return applied;
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
