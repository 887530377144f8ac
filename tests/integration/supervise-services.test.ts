// `npm start`'s supervisor against real Redis and PostgreSQL of its own (not the suite's stack):
// each is killed with kill -9 by its PID, as someone at a terminal would, and comes back on the same
// port with what it had acknowledged (Redis from its AOF, PostgreSQL through crash recovery).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../infra/local/procs';
import { removeDataDir, startPostgres } from '../../infra/local/services/postgres';
import { startRedis } from '../../infra/local/services/redis';
import type { Stack } from '../../infra/local/stack';
import { type Supervisor, stackServices, supervise } from '../../infra/local/supervise';
import { findTools, type Tools } from '../../infra/local/tools';
import { waitUntil } from '../helpers/domain';

const dataDir = mkdtempSync(join(tmpdir(), 'flash-sale-supervise-'));
const logDir = join(dataDir, 'logs');
const said: string[] = [];
let stack: Stack;
let supervisor: Supervisor;

beforeAll(async () => {
  const tools = findTools() as Tools;
  const [redis, pg] = await Promise.all([
    freePort().then((port) => startRedis(tools.redisServer, { dataDir, logDir, port })),
    freePort().then((port) => startPostgres(tools.pgBin, { dataDir, logDir, port })),
  ]);
  // Only what stackServices' Redis and PostgreSQL restarts read.
  stack = { redis, postgres: pg, tools, dataDir, logDir, opts: {} } as unknown as Stack;
  const services = stackServices(stack).filter((s) => s.name === 'redis' || s.name === 'postgresql');
  supervisor = supervise(services, (m) => said.push(m));
}, 120_000);

afterAll(async () => {
  supervisor.close();
  await stack.redis?.proc.stop();
  await stack.postgres?.proc.stop('SIGINT');
  removeDataDir(dataDir); // with the cluster's fallback folder (a mkdtemp folder is private)
});

describe('npm start keeps its services up', () => {
  it('Redis killed with kill -9 is back on its port with every acknowledged write', async () => {
    const before = stack.redis!.proc;
    const r = new Redis(stack.redis!.url, { maxRetriesPerRequest: null });
    r.on('error', () => {});
    try {
      await r.set('supervise:acknowledged', 'yes');
      process.kill(before.child.pid!, 'SIGKILL');
      await waitUntil('a new redis', async () => stack.redis!.proc !== before, 30_000);
      expect(await r.get('supervise:acknowledged')).toBe('yes');
      expect(said).toContain('redis exited unasked (SIGKILL): starting it again');
    } finally {
      r.disconnect();
    }
  });

  it('a second Redis on the same data folder is refused while the first runs', async () => {
    const tools = findTools() as Tools;
    await expect(startRedis(tools.redisServer, { dataDir, logDir, port: await freePort() })).rejects.toThrow(
      /a Redis \(pid \d+\) already runs with the data in/,
    );
  });

  it('PostgreSQL killed with kill -9 is back on its port with every committed row', async () => {
    const before = stack.postgres!.proc;
    const url = stack.postgres!.url;
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await sql`CREATE TABLE supervised (v text)`;
      await sql`INSERT INTO supervised VALUES ('committed')`;
    } finally {
      await sql.end({ timeout: 1 });
    }
    process.kill(before.child.pid!, 'SIGKILL');
    await waitUntil('a new postgresql', async () => stack.postgres!.proc !== before, 60_000);
    const again = postgres(url, { max: 1, onnotice: () => {} });
    try {
      expect(await again`SELECT v FROM supervised`).toEqual([{ v: 'committed' }]);
    } finally {
      await again.end({ timeout: 1 });
    }
    expect(said).toContain('postgresql exited unasked (SIGKILL): starting it again');
  });
});
