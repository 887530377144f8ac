// The local stand-in for RDS: Debian's PostgreSQL under DATA_DIR (as the `postgres` user when run
// as root).
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import postgres from 'postgres';
import { assertRunning, type Proc, run, startProc, waitFor } from '../procs';
import type { ServiceOpts } from './options';

export interface PostgresService {
  url: string;
  port: number;
  proc: Proc;
  dataDir: string;
}

const PG_USER = 'postgres';

/**
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` system user in a folder
 * that user owns. When DATA_DIR sits somewhere that user cannot reach (a private home folder), the
 * cluster goes to a folder of its own under the system temp dir, named after DATA_DIR.
 */
export async function startPostgres(
  pgBin: string,
  opts: ServiceOpts & {
    port: number;
    /** extra `-c name=value` server settings (the TLS test) */
    settings?: string[];
  },
): Promise<PostgresService> {
  const asRoot = process.getuid?.() === 0;
  const dataDir = asRoot ? pgDirForPostgresUser(opts.dataDir) : resolve(opts.dataDir, 'postgres');
  const sockDir = join(dataDir, '..', `pgsock-${opts.port}`);
  mkdirSync(sockDir, { recursive: true });
  if (asRoot) chownSync(sockDir, pgUid(), pgGid());
  const as = (cmd: string, args: string[]) =>
    asRoot
      ? (['setpriv', ['--reuid', PG_USER, '--regid', PG_USER, '--init-groups', '--', cmd, ...args]] as const)
      : ([cmd, args] as const);

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    const [c, a] = as(join(pgBin, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--no-instructions',
    ]);
    run(c, [...a], { cwd: tmpdir() });
  }
  const [c, a] = as(join(pgBin, 'postgres'), [
    '-D', dataDir,
    '-p', String(opts.port),
    '-k', sockDir,
    '-c', 'listen_addresses=127.0.0.1',
    '-c', 'max_connections=200',
    '-c', 'shared_buffers=256MB',
    ...(opts.settings ?? []).flatMap((kv) => ['-c', kv]),
  ]); // biome-ignore format: flag/value pairs
  const proc = startProc(`postgres-${opts.port}`, c, [...a], { logDir: opts.logDir, cwd: tmpdir() });
  const admin = `postgres://postgres@127.0.0.1:${opts.port}/postgres`;
  await waitFor('postgresql', async () => {
    assertRunning(proc, opts.logDir); // e.g. another postmaster still holds this data folder
    const sql = postgres(admin, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await sql`SELECT 1`;
      return true;
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
  await createDatabase(admin, 'flashsale');
  return { url: `postgres://postgres@127.0.0.1:${opts.port}/flashsale`, port: opts.port, proc, dataDir };
}

export async function createDatabase(adminUrl: string, name: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`SELECT 1 AS x FROM pg_database WHERE datname = ${name}`;
    if (!row) await sql.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

function pgDirForPostgresUser(dataDir: string): string {
  const wanted = resolve(dataDir, 'postgres');
  mkdirSync(wanted, { recursive: true });
  chownSync(wanted, pgUid(), pgGid());
  chmodSync(wanted, 0o700);
  if (reachableByPostgres(wanted)) return join(wanted, 'data');
  const fallback = pgFallbackDir(dataDir);
  mkdirSync(fallback, { recursive: true });
  chownSync(fallback, pgUid(), pgGid());
  writeFileSync(
    join(wanted, 'WHERE.txt'),
    `the postgres user cannot reach this folder; the cluster lives in ${fallback}\n`,
  );
  return join(fallback, 'data');
}

/** Where the cluster of a DATA_DIR the postgres user cannot reach lives (startPostgres as root). */
export function pgFallbackDir(dataDir: string): string {
  const hash = createHash('sha256').update(resolve(dataDir, 'postgres')).digest('hex').slice(0, 12);
  return join(tmpdir(), `flash-sale-pg-${hash}`);
}

/**
 * Removes a throwaway DATA_DIR once its services are stopped, with the fallback cluster folder it
 * may have (tens of MB left in the temp dir on every run otherwise: a mkdtemp folder is private).
 */
export function removeDataDir(dataDir: string): void {
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(pgFallbackDir(dataDir), { recursive: true, force: true });
}

function reachableByPostgres(dir: string): boolean {
  try {
    run('setpriv', ['--reuid', PG_USER, '--regid', PG_USER, '--init-groups', '--', 'test', '-w', dir]);
    return true;
  } catch {
    return false;
  }
}

let ids: { uid: number; gid: number } | undefined;
function pgIds() {
  ids ??= {
    uid: Number(run('id', ['-u', PG_USER]).trim()),
    gid: Number(run('id', ['-g', PG_USER]).trim()),
  };
  return ids;
}
const pgUid = () => pgIds().uid;
const pgGid = () => pgIds().gid;

/** Files the server reads itself (TLS key and certificate): owned by the user it runs as. */
export function ownForPostgres(path: string, mode = 0o600): void {
  if (process.getuid?.() === 0) chownSync(path, pgUid(), pgGid());
  chmodSync(path, mode);
}
