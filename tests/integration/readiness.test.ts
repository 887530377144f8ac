// Pins down that /readyz is a cheap probe: answered from a cache of a few seconds (a burst of
// probes costs one round of checks) and, when a dependency is down, naming it by role only —
// never the host, address or port the error message carries.

import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resetConfig } from '../../lib/config';
import { READY_CACHE_MS } from '../../lib/platform/readiness';
import { httpEvent, lambdaContext } from '../helpers/lambda-event';

let readyz: (e: unknown, c: unknown) => Promise<{ statusCode: number; body: string }>;
// A port that accepts connections and never answers: Redis "down" without a refused connection.
const sockets = new Set<import('node:net').Socket>();
const silent = createServer((socket) => {
  sockets.add(socket);
});
let port = 0;

beforeAll(async () => {
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  // This file runs in its own worker: its Redis is the silent port.
  port = (silent.address() as AddressInfo).port;
  process.env['REDIS_URL'] = `redis://127.0.0.1:${port}`;
  process.env['REDIS_CLUSTER_NODES'] = ''; // the cluster run too: a single silent node
  resetConfig();
  readyz = (await import('../../functions/health')).readyz as never;
});
afterAll(() => {
  for (const s of sockets) s.destroy();
  silent.close();
});

const probe = async () => {
  const r = await readyz(httpEvent('GET', '/readyz'), lambdaContext('readyz'));
  return { status: r.statusCode, raw: r.body, body: JSON.parse(r.body) };
};

it('a dependency down is named by role only, and probes within the cache window share one check', async () => {
  const first = await probe();
  expect(first.status).toBe(503);
  expect(first.body.down).toEqual(['redis']);
  expect(first.raw).not.toMatch(/127\.0\.0\.1|localhost|arn:/);
  expect(first.raw).not.toContain(String(port));
  const burst = await Promise.all(Array.from({ length: 20 }, probe));
  expect(new Set(burst.map((b) => b.body.checked_at))).toEqual(new Set([first.body.checked_at]));
  await new Promise((r) => setTimeout(r, READY_CACHE_MS + 100));
  expect((await probe()).body.checked_at).not.toBe(first.body.checked_at);
});
