// Pins down that `sls invoke local -f createOrder` works against the running stack's services: the
// sample event (tests/events/createOrder.json) with a real token gets a 202 from the bundled
// handler, the CLI exits on its own, and the order it made is readable over HTTP.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../../infra/local/stack';
import { audit, buyerToken, call, newProduct, reserve } from '../helpers/api';

const SAMPLE = join(ROOT, 'tests/events/createOrder.json');
const SLS = join(ROOT, 'node_modules/osls/bin/serverless.js');

function invokeLocal(
  eventFile: string,
): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SLS, 'invoke', 'local', '-f', 'createOrder', '-p', eventFile],
      {
        cwd: ROOT,
        // the stack's REDIS_URL, DATABASE_URL, SQS_ENDPOINT, ORDERS_QUEUE_URL, AUTH_JWT_SECRET, ...
        env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
        timeout: 150_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number; signal?: string }) | null;
        resolve({ code: e ? (e.code ?? -1) : 0, signal: e?.signal ?? null, out: `${stdout}\n${stderr}` });
      },
    );
  });
}

it('sls invoke local -f createOrder with the sample event: 202, and the order is real', {
  timeout: 180_000,
}, async () => {
  const sample = JSON.parse(readFileSync(SAMPLE, 'utf8'));
  expect(sample.headers.authorization).toBe('Bearer REPLACE_WITH_A_BUYER_TOKEN');

  const product = await newProduct({ stock_total: 5 });
  const customer = `invoke-${randomUUID()}`;
  const token = await buyerToken(customer);
  // the stack's createOrder answers first (it serves bundles of its own, .esbuild/offline-PORT)
  expect((await reserve(await buyerToken(), product.id, 1)).status).toBe(202);

  const dir = mkdtempSync(join(tmpdir(), 'invoke-local-'));
  try {
    const file = join(dir, 'event.json');
    const event = {
      ...sample,
      headers: {
        ...sample.headers,
        authorization: `Bearer ${token}`,
        'idempotency-key': `k-${randomUUID()}`,
      },
      body: JSON.stringify({ product_id: product.id, qty: 2 }),
    };
    writeFileSync(file, JSON.stringify(event));

    const r = await invokeLocal(file);

    expect({ code: r.code, signal: r.signal }, r.out).toEqual({ code: 0, signal: null });
    expect(r.out).toMatch(/"statusCode": 202/);
    const printed = r.out.slice(r.out.indexOf('{\n    "statusCode"'));
    const result = JSON.parse(printed.slice(0, printed.indexOf('\n}') + 2));
    expect(result.statusCode).toBe(202);
    const order = JSON.parse(result.body);
    expect(order).toMatchObject({
      status: 'reserved',
      product_id: product.id,
      customer_id: customer,
      qty: 2,
    });

    const read = await call('GET', `/api/orders/${order.order_id}`, { token });
    expect([read.status, read.body]).toEqual([200, order]);
    expect((await audit(product.id)).available).toBe(2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
