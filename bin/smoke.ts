// `npm run smoke -- --url URL`: proves a deployed stage (or the local stack) sells, reads, cancels,
// takes a payment webhook and keeps its books, on one dedicated smoke product and nothing else.
// The smoke product (SKU SMOKE-TEST, price 0, stock 2, one unit per order) is paused to buyers at
// rest; the run opens it for at most OPEN_WINDOW_S, reserves two orders, pauses it again, cancels one,
// pays the other through a signed test webhook (no payment provider is involved: no money moves),
// checks the audit, then tops the stock back up so the next run finds it as before.
// Secrets: AUTH_JWT_SECRET and WEBHOOK_SECRET from the environment (against the local stack, from
// DATA_DIR/stack-env.json); with an identity provider pass --admin-token and --buyer-token instead.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { SMOKE_PRODUCT, smokeRun } from './smoke-steps';

const program = new Command('smoke')
  .description('smoke-test a deployed stage on its dedicated, paused-to-buyers smoke product')
  .requiredOption('--url <base>', 'the API base URL, e.g. https://abc.execute-api.eu-west-1.amazonaws.com')
  .option('--admin-token <jwt>', 'an admin token (default: minted with AUTH_JWT_SECRET)')
  .option('--buyer-token <jwt>', 'a buyer token (default: minted with AUTH_JWT_SECRET)')
  .option('--timeout <seconds>', 'how long to wait for the queue to persist the orders', '60');

program.action(async (o: { url: string; adminToken?: string; buyerToken?: string; timeout: string }) => {
  loadLocalStackEnv();
  const { mintToken } = await import('../lib/http/auth');
  const { required } = await import('../lib/config');
  const { signWebhook } = await import('../infra/local/sandbox/sign');
  const admin = o.adminToken ?? (await mintToken({ customer_id: 'smoke-admin', admin: true, ttl_s: 600 }));
  const buyer = o.buyerToken ?? (await mintToken({ customer_id: `smoke-buyer-${randomUUID()}`, ttl_s: 600 }));
  const webhookSecret = required('WEBHOOK_SECRET');
  const ok = await smokeRun({
    base_url: o.url.replace(/\/+$/, ''),
    admin_token: admin,
    buyer_token: buyer,
    sign: (id, body, at) => signWebhook(webhookSecret, id, body, at),
    persist_timeout_ms: Number(o.timeout) * 1000,
    say: (line) => console.log(line),
  });
  console.log(ok ? `smoke: ok (${SMOKE_PRODUCT.sku})` : 'smoke: FAILED');
  process.exitCode = ok ? 0 : 1;
});

/** Against the local stack the secrets are in DATA_DIR/stack-env.json (written by `npm start`). */
function loadLocalStackEnv(): void {
  const file = join(process.env['DATA_DIR'] ?? '.data', 'stack-env.json');
  if (!existsSync(file)) return;
  const env = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  for (const key of ['AUTH_JWT_SECRET', 'WEBHOOK_SECRET', 'AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE']) {
    if (env[key] !== undefined) process.env[key] ??= env[key];
  }
}

try {
  await program.parseAsync();
} catch (err) {
  console.error(`smoke: ${(err as Error).message}`);
  process.exitCode = 1;
}
