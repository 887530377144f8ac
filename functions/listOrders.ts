// GET /api/orders: the caller's own orders, newest first, cursor-paginated.
import { z } from 'zod';
import { orders } from '../lib/container';
import { Problem } from '../lib/http/problems';
import { json, route } from '../lib/http/route';
import { orderView } from '../lib/http/views';

const Query = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});

export const handler = route({ auth: 'buyer' }, async ({ event, identity }) => {
  const q = Query.safeParse(event.queryStringParameters ?? {});
  if (!q.success) {
    const errors = q.error.issues.map((i) => ({ field: i.path.join('.') || '(query)', message: i.message }));
    throw new Problem('invalid-request', errors.map((e) => `${e.field}: ${e.message}`).join('; '), {
      errors,
    });
  }
  const before = q.data.cursor === undefined ? null : decodeCursor(q.data.cursor);
  // One extra row tells whether another page exists.
  const rows = await orders().listByCustomer(identity.customer_id, q.data.limit + 1, before);
  const page = rows.slice(0, q.data.limit);
  const last = page.at(-1);
  const next_cursor =
    rows.length > q.data.limit && last ? encodeCursor(last.created_at, last.order_id) : null;
  return json(200, { items: page.map((o) => orderView(o)), next_cursor });
});

function encodeCursor(created_at: Date, order_id: string): string {
  return Buffer.from(JSON.stringify([created_at.toISOString(), order_id])).toString('base64url');
}

function decodeCursor(cursor: string) {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const created_at = new Date(at);
    if (Number.isNaN(created_at.getTime()) || typeof id !== 'string' || !z.uuid().safeParse(id).success)
      throw 0;
    return { created_at, order_id: id };
  } catch {
    throw new Problem('invalid-request', 'cursor: not a cursor this API issued', {
      errors: [{ field: 'cursor', message: 'invalid' }],
    });
  }
}
