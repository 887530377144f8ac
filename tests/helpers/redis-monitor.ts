// What the Redis server itself saw: a MONITOR connection to the node holding a key's slot.
import { Redis } from 'ioredis';
import { redisClient } from '../../lib/inventory/client';

export interface RedisNode {
  host: string;
  port: number;
}

/** A plain connection's address for the node holding `key`'s slot (the only node it lives on). */
export async function nodeOf(key: string): Promise<RedisNode> {
  const url = process.env['REDIS_URL'];
  if (url) return { host: new URL(url).hostname, port: Number(new URL(url).port) };
  const slot = Number(await redisClient().call('CLUSTER', 'KEYSLOT', key));
  const ranges = (await redisClient().call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const [, , [host, port]] = ranges.find(([lo, hi]) => slot >= lo && slot <= hi)!;
  return { host, port };
}

/**
 * A MONITOR connection. ioredis enters monitoring mode a microtask after MONITOR's OK, so on a
 * busy server (the other test files) lines arriving in the same read as the OK are taken for
 * replies and raise "Command queue state error" (ioredis#1981), uncaught unless listened for. Those
 * lines come before the caller starts counting, so that error alone is ignored.
 * (Redis#monitor() creates its connection inside, with no listener in time, and leaves the
 * connection it was called on open.) Not `events.once(monitor, 'monitoring')`: it rejects on an
 * 'error' emitted before the event, which is exactly that error (a CI run failed on it).
 */
export async function monitorOf(node: RedisNode): Promise<Redis> {
  const monitor = new Redis({ ...node, monitor: true, lazyConnect: true });
  monitor.on('error', (err: Error) => {
    if (!err.message.startsWith('Command queue state error')) throw err;
  });
  const monitoring = new Promise<void>((resolve) => monitor.once('monitoring', () => resolve()));
  await monitor.connect();
  await monitoring;
  return monitor;
}
