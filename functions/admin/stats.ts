// GET /api/admin/stats: live per-product figures for the dashboard (audit, orders/s, backlog).
import { statsDeps } from '../../lib/container';
import { json, route } from '../../lib/http/route';
import * as routes from '../../lib/http/routes/admin';
import { statsView } from '../../lib/http/views';
import { saleStats } from '../../lib/sale/stats';

export const handler = route(routes.adminStats, async ({ query }) => {
  const stats = await saleStats(statsDeps(), { now_ms: Date.now(), ...query });
  return json(200, statsView(stats), { 'Cache-Control': 'no-store' });
});
