// Pins down that Redis runs as a data store, not a cache (DESIGN.md): AOF on with fsync on every
// write, and `noeviction`, so stock, outbox and orders are never dropped to make room; that the
// request path's scripts skip ioredis' auto-pipelining, and that a new connection sends its first
// command without ioredis' two handshake round trips (lib/inventory/client.ts says why).

import RateLimiterRedis from 'rate-limiter-flexible/lib/RateLimiterRedis.js';
import { expect, it } from 'vitest';
import { closeRedis, NOT_AUTO_PIPELINED, redisClient } from '../../lib/inventory/client';
import { waitUntil } from '../helpers/domain';
import { monitorOf, nodeOf } from '../helpers/redis-monitor';

it('the stack runs Redis with appendonly yes, appendfsync always and maxmemory-policy noeviction', async () => {
  const redis = redisClient();
  const get = async (name: string) => ((await redis.call('CONFIG', 'GET', name)) as string[])[1];
  expect(await get('appendonly')).toBe('yes');
  expect(await get('appendfsync')).toBe('always');
  expect(await get('maxmemory-policy')).toBe('noeviction');
});

it('the request path is written at once, not queued for an auto-pipeline; other commands still are', async () => {
  const redis = redisClient();
  await redis.ping(); // connected: a command issued now is written or queued, not held offline
  // One hash tag: the script's keys share a slot on a cluster too.
  const key = `{${process.env['REDIS_KEY_PREFIX']}:settings-test:${Date.now()}}`;
  // reserve.lua on a product that does not exist: the call is what matters, not its outcome.
  const reserve = redis.lua.reserve({
    keys: {
      sale: `${key}:sale`,
      customers: `${key}:c`,
      order: `${key}:o`,
      outbox: `${key}:x`,
      idempotency: `${key}:i`,
    },
    args: {
      order_id: 'o',
      customer_id: 'c',
      qty: 1,
      fingerprint: '1:1',
      idempotency_ttl_s: 60,
      has_idempotency_key: '0',
      product_id: 1,
      idempotency_key: '',
      sent_ms: Date.now(),
      resend_window_ms: 1000,
    },
  });
  expect(redis.autoPipelineQueueSize).toBe(0);
  const get = redis.get(key);
  expect(redis.autoPipelineQueueSize).toBe(1);
  expect(await reserve).toEqual(['product_not_found']);
  expect(await get).toBeNull();
});

it("rate-limiter-flexible's script is the one NOT_AUTO_PIPELINED names, and it too is written at once", async () => {
  // NOT_AUTO_PIPELINED names the library's internal script (`rlflxIncr`): if an upgrade renamed it,
  // the setting would silently stop applying; this fails instead.
  const redis = redisClient();
  await redis.ping();
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    points: 1000,
    duration: 1,
    keyPrefix: `${process.env['REDIS_KEY_PREFIX']}:rl:settings-test`,
  });
  // the library defined a command by each name the setting gives (besides our own reserve)
  for (const name of NOT_AUTO_PIPELINED.filter((n) => n !== 'reserve')) {
    expect(typeof (redis as unknown as Record<string, unknown>)[name], name).toBe('function');
  }
  const consumed = limiter.consume(`c-${Date.now()}`);
  expect(redis.autoPipelineQueueSize).toBe(0);
  expect((await consumed).consumedPoints).toBe(1);
});

// One node's MONITOR tells which connection sent what; a cluster client connects to every node (the
// same options apply to each: lib/inventory/client.ts, redisOptions), so this runs on a single Redis.
it.skipIf(!process.env['REDIS_URL'])(
  "a new connection's first command goes out without ioredis' ready check (INFO) or CLIENT SETINFO",
  async () => {
    const monitor = await monitorOf(await nodeOf('any'));
    const seen: { source: string; command: string }[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      seen.push({ source, command: args.join(' ').toLowerCase() });
    });
    try {
      await closeRedis();
      const info = String(await redisClient().call('CLIENT', 'INFO'));
      const addr = /addr=(\S+)/.exec(info)?.[1];
      expect(addr).toBeTruthy();
      // MONITOR's lines trail the replies: wait for the line of the command just answered.
      await waitUntil(
        'the monitor saw the CLIENT INFO',
        async () => seen.some((s) => s.source === addr && s.command === 'client info'),
        5_000,
      );
      // HELLO 3 is ioredis 6 negotiating RESP3 (kept: the protocol the client was written for);
      // before, INFO (the ready check) took a round trip of its own after it.
      expect(seen.filter((s) => s.source === addr).map((s) => s.command)).toEqual(['hello 3', 'client info']);
    } finally {
      monitor.disconnect();
    }
  },
);
