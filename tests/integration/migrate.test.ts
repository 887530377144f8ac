// Pins down the migrate function as a deploy runs it: against an empty database of the local
// stack it applies every migration, a second run applies nothing; invoked by CloudFormation it
// answers the custom resource (SUCCESS, or FAILED with the reason, which rolls the deploy back);
// a stack deletion never touches the database; `cli migrate --stage local` runs the same code.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { handler } from '../../functions/migrate';
import { createDatabase } from '../../infra/local/services';
import { resetConfig } from '../../lib/config';
import { migrate, migrationsHash, NO_TRANSACTION } from '../../lib/orders/migrate';

const stackEnv = { ...process.env };
const adminUrl = new URL(process.env['DATABASE_URL']!);
const MIGRATIONS = readdirSync('migrations')
  .filter((f) => /^\d{4}_.+\.sql$/.test(f))
  .sort();

function useDatabase(name: string, extra: Record<string, string> = {}): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  Object.assign(process.env, stackEnv, { DATABASE_URL: url.toString() }, extra);
  resetConfig();
  return url.toString();
}

/** A stand-in for the pre-signed S3 URL: records each PUT CloudFormation would receive. */
let replies: { method: string; body: Record<string, unknown> }[] = [];
let server: Server;
let responseUrl = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      replies.push({ method: req.method ?? '', body: JSON.parse(body) });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  responseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/reply?X-Amz-Signature=x`;
});
afterAll(async () => {
  Object.assign(process.env, stackEnv);
  resetConfig();
  await new Promise((r) => server.close(r));
});

const cfnEvent = (RequestType: 'Create' | 'Update' | 'Delete') =>
  ({
    RequestType,
    ResponseURL: responseUrl,
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/flash-sale-dev/0f1e2d3c',
    RequestId: `req-${randomBytes(4).toString('hex')}`,
    LogicalResourceId: 'MigrateDatabase',
    ResourceType: 'Custom::Migrate',
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:flash-sale-dev-migrate',
    ResourceProperties: { ServiceToken: 'x', Migrations: migrationsHash() },
    ...(RequestType === 'Create'
      ? {}
      : { PhysicalResourceId: 'MigrateDatabase-0f1e2d3c', OldResourceProperties: {} }),
  }) as CloudFormationCustomResourceEvent;

it('applies every migration to an empty database once; the second run is a no-op', async () => {
  const name = `migrate_${randomBytes(6).toString('hex')}`;
  await createDatabase(adminUrl.toString(), name);
  const url = useDatabase(name, {
    DATABASE_APP_SECRET: JSON.stringify({
      username: 'flashsale_app',
      password: randomBytes(16).toString('hex'),
    }),
  });
  expect(await handler(undefined)).toEqual({ applied: MIGRATIONS, app_role_password_set: true });
  expect(await handler(undefined)).toEqual({ applied: [], app_role_password_set: true });
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ version: string }[]>`SELECT version FROM schema_migrations ORDER BY version`;
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS);
  } finally {
    await sql.end();
  }
});

it('answers CloudFormation: SUCCESS with what it applied, FAILED with the reason', async () => {
  const name = `migrate_${randomBytes(6).toString('hex')}`;
  await createDatabase(adminUrl.toString(), name);
  useDatabase(name);
  replies = [];
  const create = cfnEvent('Create');
  await handler(create);
  expect(replies).toEqual([
    {
      method: 'PUT',
      body: expect.objectContaining({
        Status: 'SUCCESS',
        RequestId: create.RequestId,
        StackId: create.StackId,
        LogicalResourceId: 'MigrateDatabase',
        PhysicalResourceId: 'MigrateDatabase-0f1e2d3c',
        Data: { Applied: MIGRATIONS.join(',') },
      }),
    },
  ]);

  replies = [];
  useDatabase(`absent_${randomBytes(6).toString('hex')}`);
  await handler(cfnEvent('Update'));
  expect(replies).toEqual([
    {
      method: 'PUT',
      body: expect.objectContaining({ Status: 'FAILED', Reason: expect.stringMatching(/does not exist/) }),
    },
  ]);
});

it("a failed deploy's rollback (an Update for the previous release's migrations) answers SUCCESS and runs nothing", async () => {
  // Before: it ran the new release's migrations again, failed again, and CloudFormation stopped in
  // UPDATE_ROLLBACK_FAILED. The database named here does not exist: any run would fail.
  replies = [];
  useDatabase(`absent_${randomBytes(6).toString('hex')}`);
  const rollback = cfnEvent('Update');
  rollback.ResourceProperties['Migrations'] = 'the-previous-release-hash';
  await handler(rollback);
  expect(replies.map((r) => r.body['Status'])).toEqual(['SUCCESS']);
});

it('each file commits on its own: a failing one keeps those before it; a no-transaction file runs outside one', async () => {
  const name = `migrate_${randomBytes(6).toString('hex')}`;
  await createDatabase(adminUrl.toString(), name);
  const sql = postgres(useDatabase(name), { max: 2, onnotice: () => {} });
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  try {
    writeFileSync(join(dir, '0001_t.sql'), 'CREATE TABLE t (id int PRIMARY KEY, v int);');
    writeFileSync(join(dir, '0002_bad.sql'), 'ALTER TABLE t ADD COLUMN w int; SELECT no_such_function();');
    await expect(migrate(sql, dir)).rejects.toThrow(/no_such_function/);
    const versions = async () =>
      (await sql<{ version: string }[]>`SELECT version FROM schema_migrations ORDER BY 1`).map(
        (r) => r.version,
      );
    expect(await versions()).toEqual(['0001_t.sql']);
    const columns = await sql`SELECT column_name FROM information_schema.columns WHERE table_name = 't'`;
    expect(columns.map((c) => c['column_name']).sort()).toEqual(['id', 'v']); // 0002 left nothing
    // Fixed, plus an index PostgreSQL builds only outside a transaction.
    writeFileSync(join(dir, '0002_bad.sql'), 'ALTER TABLE t ADD COLUMN w int;');
    writeFileSync(
      join(dir, '0003_index.sql'),
      `${NO_TRANSACTION}\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_v ON t (v);`,
    );
    expect(await migrate(sql, dir)).toEqual(['0002_bad.sql', '0003_index.sql']);
    expect(await versions()).toEqual(['0001_t.sql', '0002_bad.sql', '0003_index.sql']);
    const [index] = await sql`SELECT indisvalid FROM pg_index WHERE indexrelid = 't_v'::regclass`;
    expect(index!['indisvalid']).toBe(true);
    expect(await migrate(sql, dir)).toEqual([]);
  } finally {
    await sql.end();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('a stack deletion answers SUCCESS without touching the database', async () => {
  replies = [];
  Object.assign(process.env, stackEnv, { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
  resetConfig();
  await handler(cfnEvent('Delete'));
  expect(replies.map((r) => r.body['Status'])).toEqual(['SUCCESS']);
});

it('`npm run cli -- migrate --stage local` runs it against the local stack (already migrated: no-op)', async () => {
  Object.assign(process.env, stackEnv);
  const r = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'bin/cli.ts', 'migrate', '--stage', 'local'],
    {
      env: stackEnv,
    },
  );
  expect(JSON.parse(r.stdout)).toEqual({ applied: [], app_role_password_set: false });
  const dry = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'bin/cli.ts', 'migrate', '--stage', 'prod', '--dry-run'],
    { env: stackEnv },
  );
  expect(JSON.parse(dry.stdout)).toEqual({
    would_invoke: 'flash-sale-prod-migrate',
    region: expect.any(String),
  });
});
