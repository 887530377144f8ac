// Every webhook request received, verified or not, with what became of it.
import type { Sql } from './db';

const EXCERPT_CHARS_MAX = 2000;

export async function recordReceipt(
  sql: Sql,
  r: { webhook_id: string | null; verified: boolean; outcome: string; body: string },
): Promise<void> {
  await sql`INSERT INTO webhook_receipts (webhook_id, verified, outcome, body_excerpt)
    VALUES (${r.webhook_id?.slice(0, 255) ?? null}, ${r.verified}, ${r.outcome.slice(0, 500)},
            ${r.body.slice(0, EXCERPT_CHARS_MAX)})`;
}
