// Pins down that Redis runs as a data store, not a cache (DESIGN.md): AOF on with fsync on every
// write, and `noeviction`, so stock, outbox and orders are never dropped to make room.
import { expect, it } from 'vitest';
import { redisClient } from '../../lib/inventory/client';

it('the stack runs Redis with appendonly yes, appendfsync always and maxmemory-policy noeviction', async () => {
  const redis = redisClient();
  const get = async (name: string) => ((await redis.call('CONFIG', 'GET', name)) as string[])[1];
  expect(await get('appendonly')).toBe('yes');
  expect(await get('appendfsync')).toBe('always');
  expect(await get('maxmemory-policy')).toBe('noeviction');
});
