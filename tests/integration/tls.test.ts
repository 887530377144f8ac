// Pins down that the app's own clients work the way a deployed stage connects: to a TLS-only
// Redis cluster node as the ACL user infra/redis-acl.json defines (MemoryDB's user), and to a
// PostgreSQL that requires TLS as the least-privilege role migrations/ create, with the password
// the migrate function set, verified TLS and no named prepared statements (RDS Proxy pinning).
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as migrateHandler } from '../../functions/migrate';
import { freePort, type Proc, startProc, waitFor } from '../../infra/local/procs';
import { ownForPostgres, type PostgresService, startPostgres } from '../../infra/local/services';
import { ensureTools } from '../../infra/local/tools';
import redisAcl from '../../infra/redis-acl.json' with { type: 'json' };
import { resetConfig } from '../../lib/config';
import { closeRedis } from '../../lib/inventory/client';
import { closeDb, db } from '../../lib/orders/db';
import { pgProducts } from '../../lib/orders/products';
import { inventory } from '../../lib/request-path';
import { newOrderId } from '../../lib/sale/order-id';
import { STOCK_TOTAL_MAX } from '../../lib/sale/types';

const dir = mkdtempSync(join(tmpdir(), 'fs-tls-'));
chmodSync(dir, 0o755); // PostgreSQL (its own system user when root) reads its key and cert here
const ca = join(dir, 'ca.pem');
const savedEnv = { ...process.env };
const tools = ensureTools(() => {});
let redisProc: Proc | undefined;
let pg: PostgresService | undefined;

/** A CA and one server certificate for localhost / 127.0.0.1, made with openssl. */
function makeCertificates(): void {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=flash-sale test CA',
    '-keyout', 'ca.key', '-out', 'ca.pem'); // biome-ignore format: flag/value pairs
  run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key',
    '-out', 'server.csr'); // biome-ignore format: flag/value pairs
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '2', '-extfile', 'san.ext', '-out', 'server.pem'); // biome-ignore format: flag/value pairs
  chmodSync(join(dir, 'ca.pem'), 0o644);
  chmodSync(join(dir, 'server.pem'), 0o644);
}

const redisUser = { username: redisAcl.user_name, password: randomBytes(24).toString('hex') };
const appRole = { username: 'flashsale_app', password: randomBytes(24).toString('hex') };
let redisPort = 0;

/** One TLS-only cluster node holding every slot: the shape of a one-shard MemoryDB cluster. */
async function startTlsRedis(): Promise<void> {
  redisPort = await freePort();
  const args = [
    '--port', '0', '--tls-port', String(redisPort), '--bind', '127.0.0.1',
    '--tls-cert-file', join(dir, 'server.pem'), '--tls-key-file', join(dir, 'server.key'),
    '--tls-ca-cert-file', ca, '--tls-auth-clients', 'no', '--tls-cluster', 'yes',
    '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'),
    '--cluster-announce-ip', '127.0.0.1', // a lone node does not know its address otherwise
    '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction',
    '--save', '', '--daemonize', 'no', '--logfile', '',
  ]; // biome-ignore format: flag/value pairs
  redisProc = startProc(`redis-tls-${redisPort}`, tools.redisServer, args, { logDir: dir });
  const admin = () => {
    const r = new Redis({
      host: '127.0.0.1',
      port: redisPort,
      tls: { ca: readFileSync(ca) },
      lazyConnect: true,
    });
    r.on('error', () => {}); // refused until the server listens: expected while waiting
    return r;
  };
  await waitFor('tls redis', async () => {
    const r = admin();
    try {
      await r.connect();
      return (await r.ping()) === 'PONG';
    } finally {
      r.disconnect();
    }
  });
  const r = admin();
  await r.connect();
  await r.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
  await waitFor('cluster ok', async () =>
    String(await r.call('CLUSTER', 'INFO')).includes('cluster_state:ok'),
  );
  await r.call(
    'ACL',
    'SETUSER',
    redisUser.username,
    'reset',
    `>${redisUser.password}`,
    ...redisAcl.access_string.split(' '),
  );
  await r.call('ACL', 'SETUSER', 'default', 'off'); // from now on only the app's user gets in
  r.disconnect();
}

/** PostgreSQL with ssl=on; the app role may connect over TLS only (RDS Proxy's RequireTLS). */
async function startTlsPostgres(): Promise<void> {
  for (const f of ['server.key', 'server.pem'])
    ownForPostgres(join(dir, f), f.endsWith('.key') ? 0o600 : 0o644);
  const hba = join(dir, 'pg_hba.conf');
  writeFileSync(
    hba,
    [
      'local all all trust',
      'host all postgres 127.0.0.1/32 trust', // the harness and the migrate step (master user)
      'hostssl all flashsale_app 127.0.0.1/32 scram-sha-256',
      'host all flashsale_app 127.0.0.1/32 reject',
      '',
    ].join('\n'),
  );
  ownForPostgres(hba, 0o644);
  pg = await startPostgres(tools.pgBin, {
    dataDir: join(dir, 'pgdata'),
    logDir: dir,
    port: await freePort(),
    settings: ['ssl=on', `ssl_cert_file=${join(dir, 'server.pem')}`, `ssl_key_file=${join(dir, 'server.key')}`,
      `hba_file=${hba}`, 'password_encryption=scram-sha-256'], // biome-ignore format: a list
  });
}

function useEnv(vars: Record<string, string>): void {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv, vars);
  resetConfig();
}

beforeAll(async () => {
  makeCertificates();
  await Promise.all([startTlsRedis(), startTlsPostgres()]);
}, 180_000);

afterAll(async () => {
  await closeRedis();
  await closeDb();
  useEnv({});
  await redisProc?.stop();
  await pg?.proc.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Redis over TLS as the ACL user (MemoryDB)', () => {
  const appEnv = () => ({
    REDIS_URL: '',
    REDIS_CLUSTER_NODES: `127.0.0.1:${redisPort}`,
    REDIS_TLS: '1',
    REDIS_SECRET: JSON.stringify(redisUser),
    REDIS_KEY_PREFIX: 'fs',
    TLS_CA_PATH: ca,
  });

  it("runs the app's reservation through its own client: load a product, reserve, replay", async () => {
    await closeRedis();
    useEnv(appEnv());
    const product_id = 1_000_000 + Math.floor(Math.random() * 1_000_000);
    await inventory().loadProduct({
      id: product_id,
      sku: `tls-${product_id}`,
      name: 'TLS test',
      price_cents: 500,
      currency: 'EUR',
      stock_total: 5,
      max_per_order: 2,
      per_customer_limit: null,
      reservation_ttl_s: 600,
      sale_starts_at: null,
      sale_ends_at: null,
      paused: false,
    });
    const req = {
      order_id: newOrderId(product_id),
      product_id,
      customer_id: `c-${randomUUID()}`,
      qty: 2,
      idempotency_key: null,
    };
    const first = await inventory().reserve(req);
    expect(first).toMatchObject({ kind: 'reserved', replayed: false });
    expect(await inventory().reserve(req)).toMatchObject({ kind: 'reserved', replayed: true });
    const [snapshot] = await inventory().snapshots([product_id]);
    expect(snapshot).toMatchObject({ available: 3 });
    await closeRedis();
  });

  it('confines the ACL user to its keys and commands', async () => {
    const r = new Redis({ host: '127.0.0.1', port: redisPort, tls: { ca: readFileSync(ca) }, ...redisUser });
    try {
      expect(await r.set('fs:{p:1}:probe', '1')).toBe('OK');
      await expect(r.set('other:key', '1')).rejects.toThrow(/NOPERM/);
      await expect(r.flushall()).rejects.toThrow(/NOPERM/);
      await expect(r.call('CONFIG', 'GET', 'maxmemory-policy')).rejects.toThrow(/NOPERM/);
      await expect(r.call('KEYS', '*')).rejects.toThrow(/NOPERM/);
    } finally {
      r.disconnect();
    }
  });

  it('refuses a plaintext connection, a wrong password and the default user', async () => {
    // Plaintext to the TLS-only port: the server drops the connection, never answers PONG.
    const answer = await new Promise<string>((resolve, reject) => {
      let got = '';
      const sock = connect(redisPort, '127.0.0.1', () => sock.write('PING\r\n'));
      sock.on('data', (d) => {
        got += d.toString('latin1');
      });
      sock.on('close', () => resolve(got));
      sock.on('error', (err: NodeJS.ErrnoException) =>
        err.code === 'ECONNRESET' ? resolve(got) : reject(err),
      );
    });
    expect(answer).not.toContain('PONG');
    const r = new Redis({ host: '127.0.0.1', port: redisPort, tls: { ca: readFileSync(ca) }, ...redisUser });
    try {
      await expect(r.call('AUTH', redisUser.username, 'wrong')).rejects.toThrow(/WRONGPASS/);
      await expect(r.call('AUTH', 'default', 'anything')).rejects.toThrow(/WRONGPASS/); // disabled
      expect(await r.call('AUTH', redisUser.username, redisUser.password)).toBe('OK');
    } finally {
      r.disconnect();
    }
  });
});

describe('PostgreSQL over TLS as the least-privilege app role (RDS Proxy)', () => {
  const adminUrl = () => `postgres://postgres@127.0.0.1:${pg!.port}/flashsale`;
  const appEnv = () => ({
    DATABASE_URL: `postgres://flashsale_app@localhost:${pg!.port}/flashsale?sslmode=verify-full`,
    DATABASE_SECRET: JSON.stringify(appRole),
    TLS_CA_PATH: ca,
  });

  it('the migrate function creates the role and sets its password from the app secret', async () => {
    useEnv({ DATABASE_URL: adminUrl(), DATABASE_APP_SECRET: JSON.stringify(appRole) });
    const report = await migrateHandler(undefined);
    expect(report?.applied).toContain('0008_app_role.sql');
    expect(report?.app_role_password_set).toBe(true);
  });

  it("serves the app's own store through verified TLS, as flashsale_app, without prepared statements", async () => {
    useEnv(appEnv());
    const products = pgProducts(db());
    const created = await products.create({
      sku: `tls-${randomUUID()}`,
      name: 'TLS',
      price_cents: 100,
      currency: 'EUR',
      stock_total: 3,
      max_per_order: 1,
      per_customer_limit: null,
      reservation_ttl_s: 60,
      sale_starts_at: null,
      sale_ends_at: null,
      paused: false,
    });
    await products.update(created.id, { name: 'TLS 2' }, { delta: 1, total_max: STOCK_TOTAL_MAX });
    expect(await products.get(created.id)).toMatchObject({ name: 'TLS 2', stock_total: 4 });
    const [session] = await db()<{ who: string; ssl: boolean; prepared: number }[]>`
      SELECT current_user AS who,
        (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl,
        (SELECT count(*)::int FROM pg_prepared_statements) AS prepared`;
    expect(session).toEqual({ who: 'flashsale_app', ssl: true, prepared: 0 });
  });

  it('refuses the app role DDL, DELETE, history rewrites and migrations bookkeeping', async () => {
    useEnv(appEnv());
    const sql = db();
    await expect(sql`CREATE TABLE intruder (x int)`).rejects.toThrow(/permission denied/);
    await expect(sql`DELETE FROM orders`).rejects.toThrow(/permission denied/);
    await expect(sql`UPDATE order_events SET reason = 'x'`).rejects.toThrow(/permission denied/);
    await expect(sql`INSERT INTO schema_migrations (version) VALUES ('9999_x.sql')`).rejects.toThrow(
      /permission denied/,
    );
    await expect(sql`DROP TABLE orders`).rejects.toThrow(/must be owner|permission denied/);
  });

  it('refuses the app role without TLS or with a wrong password', async () => {
    const tryConnect = async (url: string, pass: string) => {
      const sql = postgres(url, { pass, max: 1, connect_timeout: 5, onnotice: () => {} });
      try {
        await sql`SELECT 1`;
      } finally {
        await sql.end({ timeout: 1 });
      }
    };
    const base = `postgres://flashsale_app@localhost:${pg!.port}/flashsale`;
    await expect(tryConnect(`${base}?sslmode=disable`, appRole.password)).rejects.toThrow(/pg_hba|reject/);
    await expect(tryConnect(`${base}?sslmode=require`, 'wrong')).rejects.toThrow(
      /password authentication failed/,
    );
  });
});
