// GET /api/orders: the caller's own orders, newest first, cursor-paginated.
import { z } from 'zod';
import { orders } from '../lib/container';
import { Problem } from '../lib/http/problems';
import { json, route } from '../lib/http/route';
import * as routes from '../lib/http/routes/buyer';
import { orderView } from '../lib/http/views';

export const handler = route(routes.listOrders, async ({ identity, query }) => {
  const before = query.cursor === undefined ? null : decodeCursor(query.cursor);
  // One extra row tells whether another page exists.
  const rows = await orders().listByCustomer(identity.customer_id, query.limit + 1, before);
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  const next_cursor = rows.length > query.limit && last ? encodeCursor(last.created_at, last.order_id) : null;
  return json(200, { items: page.map((o) => orderView(o)), next_cursor });
});

function encodeCursor(created_at: Date, order_id: string): string {
  return Buffer.from(JSON.stringify([created_at.toISOString(), order_id])).toString('base64url');
}

const ISSUED_AT = /^(19[7-9]\d|[2-9]\d{3})-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function decodeCursor(cursor: string) {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const created_at = new Date(at);
    // Exactly what encodeCursor writes: a 4-digit year (JavaScript's ±YYYYYY years, and years
    // PostgreSQL has no timestamp for, reached the query as a 500).
    if (typeof at !== 'string' || !ISSUED_AT.test(at) || created_at.toISOString() !== at) throw 0;
    if (typeof id !== 'string' || !z.uuid().safeParse(id).success) throw 0;
    return { created_at, order_id: id };
  } catch {
    throw new Problem('invalid-request', 'cursor: not a cursor this API issued', {
      errors: [{ field: 'cursor', message: 'invalid' }],
    });
  }
}
