// Pins down `npm run smoke -- --url URL` against the running stack: it passes (twice in a row, on the
// same smoke product, which it leaves paused and stocked) and fails
// loudly when the stage does not behave (here: a webhook secret the stage does not accept).
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { SMOKE_PRODUCT } from '../../bin/smoke-steps';
import { baseUrl, buyerToken, call, reserve } from '../helpers/api';

function smoke(env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    // The npm script itself, as CI and the runbook run it.
    const p = spawn('npm', ['run', '-s', 'smoke', '--', '--url', baseUrl(), '--timeout', '60'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('exit', (code) => resolve({ code, out }));
  });
}

const smokeProduct = async () =>
  ((await call('GET', '/api/products')).body.items as any[]).filter((p) => p.sku === SMOKE_PRODUCT.sku);

it('passes against the local stack, twice, and leaves its product paused and stocked', async () => {
  for (let run = 0; run < 2; run++) {
    const r = await smoke();
    expect(r.out).toContain('smoke: ok');
    expect(r.code).toBe(0);
    expect(r.out).toContain('second order paid through a signed test webhook');
  }
  const [product, ...more] = await smokeProduct();
  expect(more).toEqual([]);
  expect(product).toMatchObject({ price_cents: 0, max_per_order: 1, available: 2, sale: { paused: true } });
  const refused = await reserve(await buyerToken(), product.id, 1);
  expect(refused.status).toBe(409);
  expect(refused.body.type).toMatch(/sale-paused$/);
}, 180_000);

it('fails (exit 1) when the stage refuses its payment webhook, and still leaves the product paused', async () => {
  const r = await smoke({
    WEBHOOK_SECRET: `whsec_${Buffer.from('not the stage secret 0123456789').toString('base64')}`,
  });
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/FAIL payment webhook: HTTP 401/);
  const [product] = await smokeProduct();
  expect(product.sale.paused).toBe(true);
}, 120_000);
