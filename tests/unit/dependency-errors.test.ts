// The errors the real clients throw when Redis or PostgreSQL is out of reach are classed as
// "unavailable" (503), and ordinary bugs are not.
import { Redis, ReplyError } from 'ioredis';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../infra/local/procs';
import { isDependencyUnavailable } from '../../lib/platform/dependency-errors';

async function thrown(p: () => Promise<unknown>): Promise<unknown> {
  try {
    await p();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe('isDependencyUnavailable', () => {
  it('a Redis that does not answer: refused connection and per-request retries exhausted', async () => {
    const port = await freePort();
    const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => {});
    const err = await thrown(() => redis.get('k'));
    redis.disconnect();
    expect(isDependencyUnavailable(err)).toBe(true);
  });

  it('a Redis command that times out', async () => {
    const redis = new Redis({ lazyConnect: true, commandTimeout: 1 });
    const err = await thrown(async () => {
      // a command queued behind a connection that never comes: the timeout fires first
      redis.connect().catch(() => {});
      await redis.get('k');
    });
    redis.disconnect();
    expect(String(err)).toMatch(/timed out|closed|max retries/i);
    expect(isDependencyUnavailable(err)).toBe(true);
  });

  it('a Redis node still loading its data after a restart (LOADING reply: no ready check holds commands back)', () => {
    // lib/inventory/client.ts turns ioredis' ready check off: a command now meets the reply itself,
    // as ioredis raises every error reply (a ReplyError with the server's text).
    const err = new ReplyError('LOADING Redis is loading the dataset in memory');
    expect(isDependencyUnavailable(err)).toBe(true);
    expect(isDependencyUnavailable(new ReplyError('ERR unknown command'))).toBe(false);
  });

  it('a PostgreSQL that refuses connections', async () => {
    const port = await freePort();
    const sql = postgres({ host: '127.0.0.1', port, connect_timeout: 1, max: 1 });
    const err = await thrown(() => sql`SELECT 1`);
    await sql.end({ timeout: 0 });
    expect(isDependencyUnavailable(err)).toBe(true);
  });

  it('PostgreSQL server-side codes: connection exception, shutdown, too many connections, timeout', () => {
    for (const code of ['08006', '57P01', '53300', '57014']) {
      expect(isDependencyUnavailable(Object.assign(new Error('x'), { code }))).toBe(true);
    }
  });

  it("middy's early timeout (the function's time ran out waiting on a service)", async () => {
    const middy = (await import('@middy/core')).default;
    const handler = middy(() => new Promise(() => {}), { timeoutEarlyInMillis: 5 });
    const err = await thrown(() => handler({}, { getRemainingTimeInMillis: () => 30 } as never));
    expect(isDependencyUnavailable(err)).toBe(true);
  });

  it('bugs and refusals stay what they are', () => {
    expect(isDependencyUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(
      false,
    );
    expect(isDependencyUnavailable(Object.assign(new Error('dup'), { code: '23505' }))).toBe(false);
    expect(isDependencyUnavailable(new Error('ERR wrong number of arguments'))).toBe(false);
    expect(isDependencyUnavailable('Command timed out')).toBe(false);
  });
});
