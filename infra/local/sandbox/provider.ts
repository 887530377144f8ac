// The test payment provider (local mode only): takes a payment for an order and later sends signed
// Standard Webhooks to the API — succeed, fail or never — with a delay, duplicate deliveries (same
// webhook-id), a stale declined attempt delivered after the final event (reordering), and delay 0
// for a send that races the order's persistence. Like a real provider it retries 5xx, 429 and
// network errors with backoff; every attempt is recorded so a test or `simulate` can read it back.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { webhookHeaders } from './sign';

export const PaymentRequest = z
  .object({
    order_id: z.uuid(),
    amount_cents: z.number().int().min(0),
    currency: z.string().regex(/^[A-Z]{3}$/),
    outcome: z.enum(['succeed', 'fail', 'never']),
    /** before the first send; 0 sends at once (often before the order is persisted) */
    delay_ms: z.number().int().min(0).max(600_000).default(300),
    /** extra deliveries of the final event with the same webhook-id */
    duplicates: z.number().int().min(0).max(5).default(0),
    /** also send a declined first attempt, delivered after the final event */
    reorder: z.boolean().default(false),
  })
  .strict();
export type PaymentRequest = z.input<typeof PaymentRequest>;

export interface Attempt {
  webhook_id: string;
  type: 'payment.succeeded' | 'payment.failed';
  status: number | null;
  result: string | null;
  at: string;
}

export interface Payment {
  payment_id: string;
  order_id: string;
  outcome: 'succeed' | 'fail' | 'never';
  /** deliveries still to make (scheduled or retrying) */
  pending: number;
  attempts: Attempt[];
}

interface Delivery {
  webhook_id: string;
  type: Attempt['type'];
  body: string;
}

const RETRY_MAX = 6;
const RETRY_BASE_MS = 250;
/** pause after an answered delivery before its duplicate or the stale attempt */
const FOLLOW_UP_GAP_MS = 40;
/** like a real provider, a bounded number of deliveries in flight to one endpoint */
const IN_FLIGHT_MAX = 8;
/** payments kept for reading back; the oldest are forgotten beyond this */
const PAYMENTS_MAX = 20_000;

export interface Provider {
  pay(input: unknown): Payment;
  get(payment_id: string): Payment | undefined;
  stats(): { payments: number; pending: number; attempts: number; undelivered: number };
  /** cancels every scheduled delivery */
  stop(): void;
}

export function testProvider(opts: { apiBase: string; webhookSecret: string }): Provider {
  const payments = new Map<string, Payment>();
  const timers = new Set<NodeJS.Timeout>();
  let undelivered = 0;
  let in_flight = 0;
  const waiting: (() => void)[] = [];

  /** a timer stop() can cancel (the awaiting chain then simply never resumes) */
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  /** One event until it is answered (2xx/4xx) or the retries run out. */
  async function deliver(p: Payment, d: Delivery): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (in_flight >= IN_FLIGHT_MAX) await new Promise<void>((r) => waiting.push(r));
      in_flight++;
      const rec = await attemptOnce(d).finally(() => {
        in_flight--;
        waiting.shift()?.();
      });
      p.attempts.push(rec);
      const retry = rec.status === null || rec.status === 429 || rec.status >= 500;
      if (!retry) break;
      if (attempt >= RETRY_MAX) {
        undelivered++;
        break;
      }
      await wait(RETRY_BASE_MS * 2 ** attempt);
    }
    p.pending--;
  }

  async function attemptOnce(d: Delivery): Promise<Attempt> {
    const rec: Attempt = { webhook_id: d.webhook_id, type: d.type, status: null, result: null, at: '' };
    try {
      rec.at = new Date().toISOString();
      const res = await fetch(`${opts.apiBase}/api/payments/webhook`, {
        method: 'POST',
        headers: webhookHeaders(opts.webhookSecret, d.webhook_id, d.body),
        body: d.body,
      });
      rec.status = res.status;
      const text = await res.text();
      const body = parseJson(text) as { result?: string; type?: string } | null;
      // `result` of an answered event, else the problem's code, else what came back
      rec.result = body?.result ?? body?.type?.split('/').pop() ?? (text.slice(0, 200) || null);
    } catch (err) {
      rec.result = `network: ${(err as Error).message}`;
    }
    return rec;
  }

  /** The final event first; each duplicate, then the stale attempt, only after the one before
   * was answered, so "out of order" means received after the final event, every time. */
  async function send(p: Payment, deliveries: Delivery[], delay_ms: number): Promise<void> {
    await wait(delay_ms);
    for (const [i, d] of deliveries.entries()) {
      if (i > 0) await wait(FOLLOW_UP_GAP_MS);
      await deliver(p, d);
    }
  }

  function pay(input: unknown): Payment {
    const req = PaymentRequest.parse(input);
    const payment_id = `pay_${randomUUID()}`;
    const p: Payment = { payment_id, order_id: req.order_id, outcome: req.outcome, pending: 0, attempts: [] };
    remember(payments, p);
    const deliveries = plan(req, payment_id);
    p.pending = deliveries.length;
    void send(p, deliveries, req.delay_ms);
    return p;
  }

  return {
    pay,
    get: (id) => payments.get(id),
    stats() {
      let pending = 0;
      let attempts = 0;
      for (const p of payments.values()) {
        pending += p.pending;
        attempts += p.attempts.length;
      }
      return { payments: payments.size, pending, attempts, undelivered };
    },
    stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}

/** The deliveries one payment makes, in the order they are scheduled. */
/** The deliveries of one payment, in sending order: the final event, its duplicates, then the
 * declined first attempt (reorder). */
function plan(req: z.output<typeof PaymentRequest>, payment_id: string): Delivery[] {
  if (req.outcome === 'never') return [];
  const event = (type: Attempt['type'], webhook_id: string): Delivery => ({
    webhook_id,
    type,
    body: JSON.stringify({
      type,
      data: { order_id: req.order_id, amount_cents: req.amount_cents, currency: req.currency, payment_id },
    }),
  });
  const final = event(
    req.outcome === 'succeed' ? 'payment.succeeded' : 'payment.failed',
    `msg_${payment_id}`,
  );
  const out = Array.from({ length: req.duplicates + 1 }, () => final);
  if (req.reorder) out.push(event('payment.failed', `msg_${payment_id}_attempt1`));
  return out;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function remember(payments: Map<string, Payment>, p: Payment): void {
  payments.set(p.payment_id, p);
  if (payments.size > PAYMENTS_MAX) payments.delete(payments.keys().next().value!);
}
