// The local stand-in for ElastiCache/MemoryDB: Debian's redis-server under DATA_DIR, one node or a
// three-master cluster.
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { assertRunning, GaveUp, type Proc, processId, run, startProc, waitFor } from '../procs';
import type { ServiceOpts } from './options';

export interface RedisService {
  url: string;
  port: number;
  proc: Proc;
  dir: string;
}

const PID_FILE = 'redis.pid';

/**
 * Two servers appending to one AOF folder corrupt it: a Redis still running there (a start whose
 * owner was killed before it recorded its children, another tool's) is refused by its pid file.
 */
function refuseSecondServer(dir: string): void {
  const file = join(dir, PID_FILE);
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8').trim());
  const id = Number.isInteger(pid) && pid > 0 ? processId(pid) : null;
  let cwd = '';
  try {
    cwd = id ? realpathSync(`/proc/${pid}/cwd`) : '';
  } catch {
    // not ours to read, or gone
  }
  if (id && cwd === realpathSync(dir))
    throw new Error(
      `a Redis (pid ${pid}) already runs with the data in ${dir}: stop it first (kill ${pid}), or use another DATA_DIR`,
    );
}

/** AOF with fsync on every write and no eviction: stock, outbox and orders are data, not cache. */
export async function startRedis(
  redisServer: string,
  opts: ServiceOpts & { port: number; appendfsync?: 'always' | 'everysec' },
): Promise<RedisService> {
  const dir = resolve(opts.dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  refuseSecondServer(dir);
  const args = [
    '--port', String(opts.port),
    '--pidfile', join(dir, PID_FILE),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--appendonly', 'yes',
    '--appendfsync', opts.appendfsync ?? 'always',
    '--maxmemory-policy', 'noeviction',
    '--save', '',
    '--daemonize', 'no',
    '--logfile', '',
  ]; // biome-ignore format: flag/value pairs
  const proc = startProc(`redis-${opts.port}`, redisServer, args, { logDir: opts.logDir });
  const url = `redis://127.0.0.1:${opts.port}`;
  await waitFor('redis', async () => {
    assertRunning(proc, opts.logDir); // e.g. the port taken, or an AOF it cannot load
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => {}); // refused until the server listens: expected while waiting
    try {
      await r.connect();
      return (await r.ping()) === 'PONG';
    } finally {
      r.disconnect();
    }
  });
  return { url, port: opts.port, proc, dir };
}

export interface RedisClusterService {
  nodes: string; // REDIS_CLUSTER_NODES
  procs: Proc[];
}

/**
 * One node of the local cluster, in its own folder under DATA_DIR: started again on the same port
 * after a stop, it rejoins with its slots (nodes.conf) and its data (AOF).
 */
export function startClusterNode(redisServer: string, port: number, opts: ServiceOpts): Proc {
  const dir = resolve(opts.dataDir, 'redis-cluster', String(port));
  mkdirSync(dir, { recursive: true });
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
    '--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction',
    '--save', '', '--daemonize', 'no', '--logfile', '',
  ]; // biome-ignore format: flag/value pairs
  return startProc(`redis-cluster-${port}`, redisServer, args, { logDir: opts.logDir });
}

/** Three masters, no replicas: enough to prove every script keeps its keys in one slot. */
export async function startRedisCluster(
  redisServer: string,
  opts: ServiceOpts & { ports: number[] },
): Promise<RedisClusterService> {
  const procs = opts.ports.map((port) => startClusterNode(redisServer, port, opts));
  const first = opts.ports[0]!;
  const info = async () => {
    const r = new Redis(first, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    r.on('error', () => {});
    try {
      await r.connect();
      return String(await r.call('CLUSTER', 'INFO'));
    } finally {
      r.disconnect();
    }
  };
  await waitFor('redis cluster nodes', async () => {
    const dead = procs.find((p) => p.child.exitCode !== null);
    if (dead) throw new GaveUp(`${dead.name} exited; see ${join(opts.logDir, `${dead.name}.log`)}`);
    return (await info()).includes('cluster_');
  });
  if (!(await info()).includes('cluster_state:ok')) {
    const cli = join(dirname(redisServer), 'redis-cli');
    run(cli, [
      '--cluster',
      'create',
      ...opts.ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
  }
  await waitFor('redis cluster state ok', async () => (await info()).includes('cluster_state:ok'));
  return { nodes: opts.ports.map((p) => `127.0.0.1:${p}`).join(','), procs };
}
