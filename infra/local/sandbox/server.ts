// The local sandbox (never deployed): the buyer storefront at /shop/{product_id}, the endpoint that
// hands the storefront a buyer token, and the test payment provider. The storefront talks to its own
// origin only: /api/* and /healthz are passed through to the HTTP API unchanged.
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { z } from 'zod';
import type { Provider } from './provider';

export interface SandboxDeps {
  apiBase: string;
  provider: Provider;
  mintBuyerToken(customer_id: string, ttl_s: number): Promise<string>;
  /** where web/shop.html is */
  root: string;
}

export const TOKEN_PATH = '/local/token';
const TOKEN_TTL_S = 4 * 3600;
const BODY_BYTES_MAX = 64 * 1024;
const PASSED_REQUEST_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'accept'];
const PASSED_RESPONSE_HEADERS = ['content-type', 'retry-after', 'location', 'idempotent-replayed'];

const TokenRequest = z
  .object({
    customer_id: z
      .string()
      .regex(/^[\x21-\x7e]{1,128}$/)
      .optional(),
  })
  .strict();

export function sandboxServer(deps: SandboxDeps): Server {
  const page = shopPage(deps.root);
  return createServer((req, res) => {
    handle(deps, page, req, res).catch((err) => send(res, 500, { error: (err as Error).message }));
  });
}

async function handle(deps: SandboxDeps, page: ShopPage, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://sandbox');
  const path = url.pathname;
  if (req.method === 'GET' && /^\/shop\/[^/]+$/.test(path)) return sendPage(res, page);
  if (path.startsWith('/api/') || path === '/healthz') return proxy(deps.apiBase, req, res, url);
  if (req.method === 'POST' && path === TOKEN_PATH) {
    const input = TokenRequest.safeParse(await jsonBody(req));
    if (!input.success) return send(res, 400, { error: input.error.message });
    const customer_id = input.data.customer_id ?? `shopper-${randomUUID()}`;
    const token = await deps.mintBuyerToken(customer_id, TOKEN_TTL_S);
    return send(res, 200, { token, customer_id, expires_in_s: TOKEN_TTL_S });
  }
  if (req.method === 'POST' && path === '/provider/payments') {
    try {
      return send(res, 202, deps.provider.pay(await jsonBody(req)));
    } catch (err) {
      return send(res, 400, { error: (err as Error).message });
    }
  }
  const payment = /^\/provider\/payments\/([^/]+)$/.exec(path);
  if (req.method === 'GET' && payment) {
    const p = deps.provider.get(payment[1]!);
    return p ? send(res, 200, p) : send(res, 404, { error: 'no such payment' });
  }
  if (req.method === 'GET' && path === '/provider/stats') return send(res, 200, deps.provider.stats());
  return send(res, 404, { error: 'not found' });
}

interface ShopPage {
  html: string;
  csp: string;
}

function shopPage(root: string): ShopPage {
  const html = readFileSync(join(root, 'web/shop.html'), 'utf8');
  // The page's one inline script is allowed by its hash, nothing else runs (as the dashboard).
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1];
  if (script === undefined) throw new Error('web/shop.html has no inline script');
  const sha = createHash('sha256').update(script, 'utf8').digest('base64');
  const csp =
    `default-src 'none'; script-src 'sha256-${sha}'; style-src 'unsafe-inline'; img-src data:; ` +
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
  return { html, csp };
}

function sendPage(res: ServerResponse, page: ShopPage) {
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': page.csp,
    'cache-control': 'no-cache',
    'referrer-policy': 'no-referrer',
  });
  res.end(page.html);
}

async function proxy(apiBase: string, req: IncomingMessage, res: ServerResponse, url: URL) {
  const headers: Record<string, string> = {};
  for (const h of PASSED_REQUEST_HEADERS) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const upstream = await fetch(`${apiBase}${url.pathname}${url.search}`, {
    method: req.method ?? 'GET',
    headers,
    body: hasBody ? await rawBody(req) : undefined,
  });
  const out: Record<string, string> = {};
  for (const h of PASSED_RESPONSE_HEADERS) {
    const v = upstream.headers.get(h);
    if (v !== null) out[h] = v;
  }
  res.writeHead(upstream.status, out);
  res.end(Buffer.from(await upstream.arrayBuffer()));
}

async function rawBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const c of req) {
    bytes += (c as Buffer).length;
    if (bytes > BODY_BYTES_MAX) throw new Error('body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const raw = (await rawBody(req)).toString('utf8');
  return raw ? JSON.parse(raw) : {};
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
