// Pins down the webhook's front door under abuse: a body over 64 KiB is 413 before verification,
// failed verifications from one source become 429 after WEBHOOK_FAILED_PER_MIN while a verified
// event from that source still goes through, and unverified requests are counted per minute and
// reason with a bounded sample in Redis, never a database row each.
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signWebhook } from '../../infra/local/sandbox/sign';
import { resetConfig } from '../../lib/config';
import { WEBHOOK_BODY_BYTES_MAX } from '../../lib/http/webhook';
import { unverifiedReport } from '../../lib/http/webhook-door';
import { httpEvent, lambdaContext } from '../helpers/lambda-event';

const FAILED_PER_MIN = 5;
const SAMPLE_MAX = 7;
const sql = postgres(process.env['DATABASE_URL']!, { max: 1 });
let handler: (
  e: unknown,
  c: unknown,
) => Promise<{ statusCode: number; headers: Record<string, string>; body: string }>;

beforeAll(async () => {
  // This file runs in its own worker: its own limits, and its own key prefix so the counters and
  // the limiter see only this file's traffic.
  process.env['WEBHOOK_FAILED_PER_MIN'] = String(FAILED_PER_MIN);
  process.env['WEBHOOK_UNVERIFIED_SAMPLE_MAX'] = String(SAMPLE_MAX);
  process.env['REDIS_KEY_PREFIX'] = `wh${randomUUID().slice(0, 8)}`;
  resetConfig();
  handler = (await import('../../functions/paymentWebhook')).handler as never;
});
afterAll(() => sql.end());

function webhook(body: string, o: { sourceIp: string; signed?: boolean; headers?: Record<string, string> }) {
  const id = `msg_${randomUUID()}`;
  const now = new Date();
  const signed: Record<string, string> = o.signed
    ? {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signWebhook(process.env['WEBHOOK_SECRET']!, id, body, now),
      }
    : {};
  const event = httpEvent('POST', '/api/payments/webhook', {
    headers: { ...signed, ...o.headers },
    sourceIp: o.sourceIp,
  });
  return handler({ ...event, body }, lambdaContext('paymentWebhook'));
}

const paymentBody = (order_id = randomUUID()) =>
  JSON.stringify({
    type: 'payment.succeeded',
    data: { order_id, amount_cents: 100, currency: 'EUR', payment_id: `pay_${randomUUID()}` },
  });

// Other test files write verified receipts meanwhile: count only rows carrying this test's marker,
// or unverified rows (which nothing writes any more).
const receiptRows = async (marker: string) =>
  Number(
    (await sql`SELECT count(*) AS n FROM webhook_receipts WHERE body_excerpt LIKE ${`%${marker}%`}`)[0]!['n'],
  );
const unverifiedRows = async () =>
  Number((await sql`SELECT count(*) AS n FROM webhook_receipts WHERE verified = false`)[0]!['n']);

it('a body over 64 KiB is 413 payload-too-large even when correctly signed, and costs no row', async () => {
  const marker = randomUUID();
  const big = JSON.stringify({ type: 'payment.succeeded', marker, pad: 'x'.repeat(WEBHOOK_BODY_BYTES_MAX) });
  const r = await webhook(big, { sourceIp: '10.1.0.1', signed: true });
  expect(r.statusCode).toBe(413);
  expect(r.headers['content-type']).toBe('application/problem+json');
  expect(JSON.parse(r.body).type).toMatch(/payload-too-large$/);
  expect(await receiptRows(marker)).toBe(0);
  // exactly at the limit it is judged by its signature as usual, and gets its receipt
  const order_id = randomUUID();
  const atLimit = paymentBody(order_id).padEnd(WEBHOOK_BODY_BYTES_MAX, ' ');
  expect((await webhook(atLimit, { sourceIp: '10.1.0.1', signed: true })).statusCode).toBe(202);
  expect(await receiptRows(order_id)).toBe(1);
});

it('failed verifications from one source become 429; its verified events and other sources are not limited', async () => {
  const source = '10.2.0.1';
  const statuses = [];
  for (let i = 0; i < FAILED_PER_MIN + 3; i++) {
    statuses.push(
      (await webhook(paymentBody(), { sourceIp: source, headers: { 'webhook-signature': 'v1,AAAA' } }))
        .statusCode,
    );
  }
  expect(statuses).toEqual([...Array(FAILED_PER_MIN).fill(401), 429, 429, 429]);
  const limited = await webhook(paymentBody(), { sourceIp: source });
  expect(limited.statusCode).toBe(429);
  expect(limited.headers['Retry-After']).toMatch(/^\d+$/);
  expect(JSON.parse(limited.body).type).toMatch(/rate-limited$/);
  // a correctly signed event from the same source still goes through (202: order not known yet)
  const verified = await webhook(paymentBody(), { sourceIp: source, signed: true });
  expect(verified.statusCode).toBe(202);
  expect((await webhook(paymentBody(), { sourceIp: '10.2.0.2' })).statusCode).toBe(401);
});

it('unverified requests are counted per minute and reason; the sample stays bounded; no rows', async () => {
  const rows = await unverifiedRows();
  const before = totals(await unverifiedReport(5));
  const sends = [];
  for (let i = 0; i < 30; i++) {
    const sourceIp = `10.3.${i}.1`; // distinct sources: counting, not limiting, is under test here
    sends.push(webhook(paymentBody(), { sourceIp })); // no headers at all
    sends.push(webhook(paymentBody(), { sourceIp, headers: sigHeaders(new Date()) }));
    sends.push(webhook(paymentBody(), { sourceIp, headers: sigHeaders(new Date(Date.now() - 10 * 60_000)) }));
  }
  const replies = await Promise.all(sends);
  expect(new Set(replies.map((r) => r.statusCode))).toEqual(new Set([401]));
  const report = await unverifiedReport(5);
  const after = totals(report);
  expect(after['missing-headers']! - (before['missing-headers'] ?? 0)).toBe(30);
  expect(after['bad-signature']! - (before['bad-signature'] ?? 0)).toBe(30);
  expect(after['stale-timestamp']! - (before['stale-timestamp'] ?? 0)).toBe(30);
  expect(report.sample).toHaveLength(SAMPLE_MAX);
  expect(report.sample[0]).toMatchObject({
    reason: expect.any(String),
    source: expect.stringMatching(/^10\.3\./),
  });
  expect(await unverifiedRows()).toBe(rows);
});

it('a correctly signed body that is not JSON is 400 invalid-request, not 401', async () => {
  const r = await webhook('{"type": "payment.succeeded", ', { sourceIp: '10.4.0.1', signed: true });
  expect(r.statusCode).toBe(400);
  expect(JSON.parse(r.body).type).toMatch(/invalid-request$/);
});

function sigHeaders(at: Date): Record<string, string> {
  return {
    'webhook-id': `msg_${randomUUID()}`,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': 'v1,bm90IGEgc2lnbmF0dXJl',
  };
}

function totals(report: Awaited<ReturnType<typeof unverifiedReport>>): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const m of report.minutes) for (const [r, n] of Object.entries(m.counts)) sum[r] = (sum[r] ?? 0) + n;
  return sum;
}
