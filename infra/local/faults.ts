// Breaking the local stack on purpose: each fault kills or stops one real process and brings it
// back the way an operator (or AWS) would. Used by the fault-injection tests and `npm run chaos`.
import { Redis } from 'ioredis';
import { productKeys } from '../../lib/inventory/keys';
import { storeSecrets } from './localstack-secrets';
import { startPostgres } from './services/postgres';
import { startRedis } from './services/redis';
import { provisionQueues, type Stack, startQueue } from './stack';

const need = <T>(v: T | null, what: string): T => {
  if (v === null) throw new Error(`${what} is not run by this stack (it was given by URL)`);
  return v;
};

/** kill -9 Redis; it restarts from its AOF (appendfsync always: nothing acknowledged is lost). */
export async function killRedis(stack: Stack): Promise<void> {
  await need(stack.redis, 'redis').proc.stop('SIGKILL');
}

export async function restartRedis(stack: Stack): Promise<void> {
  const r = need(stack.redis, 'redis');
  stack.redis = await startRedis(need(stack.tools, 'tools').redisServer, {
    dataDir: stack.dataDir,
    logDir: stack.logDir,
    port: r.port,
    appendfsync: stack.opts.redisAppendfsync ?? 'always',
  });
}

/** Redis lost its data (a wipe, or a failover to a replica without the last writes). */
export async function wipeRedis(stack: Stack): Promise<void> {
  const r = new Redis(stack.env['REDIS_URL']!);
  try {
    await r.flushall();
  } finally {
    r.disconnect();
  }
}

/** Drops every client connection: ioredis reconnects and resends what was unanswered. */
export async function dropRedisConnections(stack: Stack): Promise<number> {
  const r = new Redis(stack.env['REDIS_URL']!);
  try {
    return Number(await r.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
  } finally {
    r.disconnect();
  }
}

/**
 * The SQS endpoint goes away (kill -9). fauxqs and LocalStack both keep queues and messages in
 * memory only, so everything the queue held is lost; the Redis outbox re-send recovers it.
 */
export async function stopQueue(stack: Stack): Promise<void> {
  await need(stack.queue, 'the queue emulator').proc?.stop('SIGKILL');
}

/**
 * Restarts the same kind on the same port and provisions the queues again (for LocalStack: the
 * CloudFormation stack again, or the test's own short-timeout queues): same names on the same
 * endpoint, so the queue URLs every function holds stay valid.
 */
export async function restartQueue(stack: Stack): Promise<void> {
  const q = need(stack.queue, 'the queue emulator');
  const port = Number(new URL(q.endpoint).port);
  stack.queue = await startQueue(q.kind, {
    dataDir: stack.dataDir,
    logDir: stack.logDir,
    port,
    say: () => {},
  });
  await provisionQueues(stack.queue, q.endpoint, stack.opts, () => {});
  // The functions re-read their secrets (cache expiry, first use) by the same partial ARNs.
  if (q.kind === 'localstack') await storeSecrets(q.endpoint, stack.env);
}

export async function stopPostgres(stack: Stack): Promise<void> {
  await need(stack.postgres, 'postgresql').proc.stop('SIGINT');
}

export async function restartPostgres(stack: Stack): Promise<void> {
  const p = need(stack.postgres, 'postgresql');
  stack.postgres = await startPostgres(need(stack.tools, 'tools').pgBin, {
    dataDir: stack.dataDir,
    logDir: stack.logDir,
    port: p.port,
  });
}

/** kill -9 every function (serverless-offline runs them in-process): mid-request, mid-batch. */
export async function killFunctions(stack: Stack): Promise<void> {
  await stack.trigger?.stop();
  stack.trigger = null;
  await need(stack.offline, 'serverless-offline').stop('SIGKILL');
  stack.offline = null;
}

export async function restartFunctions(stack: Stack): Promise<void> {
  await stack.startOffline();
}

/** The queue stops answering (SIGSTOP) without losing anything: sends already written hang. */
export function pauseQueue(stack: Stack): void {
  need(stack.queue?.proc ?? null, 'the queue emulator').child.kill('SIGSTOP');
}

export function resumeQueue(stack: Stack): void {
  need(stack.queue?.proc ?? null, 'the queue emulator').child.kill('SIGCONT');
}

/**
 * A partial rollback of one product: its sale state, customers and outbox go back to what they were
 * `window_ms` earlier (what a failover to a lagging replica, or an AOF `everysec` tail lost, does).
 */
export async function rollbackProduct(stack: Stack, product_id: number, window_ms: number): Promise<void> {
  const r = new Redis(stack.env['REDIS_URL']!);
  try {
    const k = productKeys(stack.env['REDIS_KEY_PREFIX'] ?? 'fs', product_id);
    const keys = [k.sale, k.customers, k.outbox];
    const older = await Promise.all(keys.map((key) => r.dumpBuffer(key)));
    await new Promise((done) => setTimeout(done, window_ms));
    await Promise.all(
      keys.map((key, i) => (older[i] ? r.restore(key, 0, older[i]!, 'REPLACE') : r.del(key))),
    );
  } finally {
    r.disconnect();
  }
}
