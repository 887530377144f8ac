// The optional Idempotency-Key request header (POST /api/orders, PATCH /api/admin/products/{id}):
// one rule, IdempotencyKey (zod/mini, so createOrder's bundle still carries no classic zod).
import { IdempotencyKey } from './order-schemas';
import { Problem } from './problems';

/** The header's value, null without one; 400 when it is not 1-255 printable ASCII characters. */
export function idempotencyKeyOf(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const parsed = IdempotencyKey.safeParse(raw);
  if (!parsed.success) {
    throw new Problem('invalid-request', 'Idempotency-Key: 1-255 printable ASCII characters', {
      errors: [{ field: 'Idempotency-Key', message: '1-255 printable ASCII characters' }],
    });
  }
  return parsed.data;
}
