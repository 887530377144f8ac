// Pins down the bound on Redis memory per completed order: once persisted, an order placed without
// an Idempotency-Key keeps its record only as a tombstone for the resend window (a resent reserve
// still replays it), one placed under a key keeps it the 24 hours replays need, and a reserve
// command older than the resend window is refused by reserve.lua instead of selling again; a record
// flagged cancel_pending keeps the long TTL so a redelivered message still finds the flag.
import { randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { redisFromEnv } from '../../infra/local/stack';
import { config } from '../../lib/config';
import { IDEMPOTENCY_TTL_S, redisInventory, resendBound } from '../../lib/inventory/inventory';
import { productKeys } from '../../lib/inventory/keys';
import { registerScripts } from '../../lib/inventory/scripts';
import { audit, buyerToken, call, drained, newProduct, reserve } from '../helpers/api';
import { releaseRun, reserveUnsent, waitUntil } from '../helpers/domain';

const prefix = process.env['REDIS_KEY_PREFIX']!;
const redis = registerScripts(redisFromEnv(process.env as Record<string, string>));
// the stack's own settings (the shared stack runs with the defaults)
const bound = resendBound(config().REDIS_COMMAND_TIMEOUT_MS, config().REDIS_RESEND_WINDOW_S);
const inv = redisInventory(redis, prefix, bound);
afterAll(() => redis.disconnect());

it('after persistence: a tombstone for the resend window without a key, 24 h with one', async () => {
  const product = await newProduct({ stock_total: 10 });
  const token = await buyerToken();
  const plain = await reserve(token, product.id, 1);
  const keyed = await reserve(token, product.id, 1, `k-${randomUUID()}`);
  await drained(product.id);
  const k = productKeys(prefix, product.id);
  const plainTtl = await redis.ttl(k.order(plain.body.order_id));
  const keyedTtl = await redis.ttl(k.order(keyed.body.order_id));
  expect(bound.tombstone_ttl_s).toBeLessThan(120);
  expect(plainTtl).toBeGreaterThan(0);
  expect(plainTtl).toBeLessThanOrEqual(bound.tombstone_ttl_s);
  expect(keyedTtl).toBeGreaterThan(IDEMPOTENCY_TTL_S);
});

it('a reserve resent within the window after persistence finds its tombstone: replay, nothing taken', async () => {
  const product = await newProduct({ stock_total: 10 });
  const customer_id = `c-${randomUUID()}`;
  const placed = await reserve(await buyerToken(customer_id), product.id, 2);
  await drained(product.id);
  const resent = await inv.reserve({
    order_id: placed.body.order_id,
    product_id: product.id,
    customer_id,
    qty: 2,
    idempotency_key: null,
  });
  expect(resent).toMatchObject({ kind: 'reserved', replayed: true });
  expect(await audit(product.id)).toMatchObject({ available: 8, reserved: 2, in_flight: 0, ok: true });
});

it('a reserve command older than the resend window is refused (stale) and changes nothing', async () => {
  const product = await newProduct({ stock_total: 10 });
  const k = productKeys(prefix, product.id);
  const order_id = randomUUID();
  const sent_ms = Date.now() - bound.resend_window_ms - 1000; // as if resent after a long reconnect
  const reply = await redis.lua.reserve({
    keys: {
      sale: k.sale,
      customers: k.customers,
      order: k.order(order_id),
      outbox: k.outbox,
      idempotency: k.unused,
    },
    args: {
      order_id,
      customer_id: `c-${randomUUID()}`,
      qty: 1,
      fingerprint: `${product.id}:1`,
      idempotency_ttl_s: IDEMPOTENCY_TTL_S,
      has_idempotency_key: '0',
      product_id: product.id,
      idempotency_key: '',
      sent_ms,
      resend_window_ms: bound.resend_window_ms,
    },
  });
  expect(reply).toEqual(['stale']);
  expect(await redis.exists(k.order(order_id))).toBe(0);
  expect(await audit(product.id)).toMatchObject({ available: 10, in_flight: 0, ok: true });
});

it('a record flagged cancel_pending keeps the long TTL: a redelivered message must still see the flag', async () => {
  const product = await newProduct({ stock_total: 4 });
  const customer = `tomb-cancel-${product.id}`;
  const order = await reserveUnsent(customer, product.id, 3);
  const c = await call('POST', `/api/orders/${order.order_id}/cancel`, { token: await buyerToken(customer) });
  expect(c.body).toMatchObject({ cancel_pending: true });
  await releaseRun(); // re-sends the outbox entry; the trigger persists it and applies the cancel
  await waitUntil('cancel applied', async () => (await audit(product.id)).available === 4);
  const ttl = await redis.ttl(productKeys(prefix, product.id).order(order.order_id));
  expect(ttl).toBeGreaterThan(IDEMPOTENCY_TTL_S);
});
