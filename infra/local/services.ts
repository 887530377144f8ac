// The local stand-ins for ElastiCache/MemoryDB, RDS and SQS: Debian's redis-server and PostgreSQL
// under DATA_DIR, and the fauxqs SQS emulator (or an SQS endpoint the caller points at).

import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import queues from '../queues.json' with { type: 'json' };
import { GaveUp, type Proc, run, startProc, waitFor } from './procs';

export interface ServiceOpts {
  dataDir: string;
  logDir: string;
}

// ---- Redis --------------------------------------------------------------------------------------

export interface RedisService {
  url: string;
  port: number;
  proc: Proc;
  dir: string;
}

/** AOF with fsync on every write and no eviction: stock, outbox and orders are data, not cache. */
export async function startRedis(
  redisServer: string,
  opts: ServiceOpts & { port: number; appendfsync?: 'always' | 'everysec' },
): Promise<RedisService> {
  const dir = resolve(opts.dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const args = [
    '--port', String(opts.port),
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

/** Three masters, no replicas: enough to prove every script keeps its keys in one slot. */
export async function startRedisCluster(
  redisServer: string,
  opts: ServiceOpts & { ports: number[] },
): Promise<RedisClusterService> {
  const procs: Proc[] = [];
  for (const port of opts.ports) {
    const dir = resolve(opts.dataDir, 'redis-cluster', String(port));
    mkdirSync(dir, { recursive: true });
    const args = [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
      '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
      '--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction',
      '--save', '', '--daemonize', 'no', '--logfile', '',
    ]; // biome-ignore format: flag/value pairs
    procs.push(startProc(`redis-cluster-${port}`, redisServer, args, { logDir: opts.logDir }));
  }
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

// ---- PostgreSQL ---------------------------------------------------------------------------------

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
  const hash = createHash('sha256').update(wanted).digest('hex').slice(0, 12);
  const fallback = join(tmpdir(), `flash-sale-pg-${hash}`);
  mkdirSync(fallback, { recursive: true });
  chownSync(fallback, pgUid(), pgGid());
  writeFileSync(
    join(wanted, 'WHERE.txt'),
    `the postgres user cannot reach this folder; the cluster lives in ${fallback}\n`,
  );
  return join(fallback, 'data');
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

// ---- SQS ----------------------------------------------------------------------------------------

export interface QueueService {
  kind: 'fauxqs' | 'localstack';
  endpoint: string;
  proc: Proc | null;
}

/** fauxqs keeps everything in memory: a restart loses messages (the outbox re-send recovers them). */
export async function startFauxqs(
  node: string,
  opts: ServiceOpts & { port: number; args: string[] },
): Promise<QueueService> {
  const proc = startProc(`fauxqs-${opts.port}`, node, opts.args, {
    logDir: opts.logDir,
    env: { ...process.env, FAUXQS_PORT: String(opts.port), FAUXQS_LOGGER: 'false', FAUXQS_HOST: 'localhost' },
  });
  const endpoint = `http://127.0.0.1:${opts.port}`;
  await waitFor('fauxqs', async () => (await fetch(`${endpoint}/health`)).ok);
  return { kind: 'fauxqs', endpoint, proc };
}

export function localSqsClient(endpoint: string): SQSClient {
  return new SQSClient({
    region: 'us-east-1',
    endpoint,
    useQueueUrlAsEndpoint: false,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

export interface QueuePair {
  queueUrl: string;
  dlqUrl: string;
}

/** The orders queue and its DLQ with the redrive policy serverless.yml declares (infra/queues.json). */
export async function createOrderQueues(
  sqs: SQSClient,
  names = { queue: queues.orders_queue_name, dlq: queues.orders_dlq_name },
  overrides: { visibility_timeout_s?: number; max_receive_count?: number } = {},
): Promise<QueuePair> {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: names.dlq }));
  const dlqUrl = dlq.QueueUrl!;
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  const q = await sqs.send(
    new CreateQueueCommand({
      QueueName: names.queue,
      Attributes: {
        VisibilityTimeout: String(overrides.visibility_timeout_s ?? queues.visibility_timeout_s),
        MessageRetentionPeriod: String(queues.message_retention_s),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: attrs.Attributes?.['QueueArn'],
          maxReceiveCount: overrides.max_receive_count ?? queues.max_receive_count,
        }),
      },
    }),
  );
  return { queueUrl: q.QueueUrl!, dlqUrl };
}
