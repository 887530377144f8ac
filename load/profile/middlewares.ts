// CPU per invocation of route()'s middy middlewares, each alone around a handler that does nothing,
// in-process (source via tsx): what Powertools' injectLambdaContext, secretsFirst, CORS and the
// access line cost per request.   npx tsx load/profile/middlewares.ts [invocations per round]
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import cors from '@middy/http-cors';
import { httpEvent, lambdaContext } from '../../infra/local/lambda-event';
import { logger } from '../../lib/platform/logger';
import { secretsFirst } from '../../lib/platform/secrets';

type Mw = MiddlewareObj<any, any>;
const answer = async () => ({ statusCode: 202, headers: { 'content-type': 'application/json' }, body: '{}' });
const accessLine: Mw = {
  after: async (r) => logger.info('request', { path: r.event.rawPath, status: r.response?.statusCode }),
};
const variants: Record<string, Mw[]> = {
  'middy, no middleware': [],
  'injectLambdaContext(resetKeys)': [injectLambdaContext(logger, { resetKeys: true }) as Mw],
  secretsFirst: [secretsFirst()],
  'http-cors': [cors({ origins: ['*'] }) as Mw],
  'access line (logger.info)': [accessLine],
};
const handlers = Object.fromEntries(
  Object.entries(variants).map(([k, mws]) => [k, mws.reduce((h, m) => h.use(m), middy()).handler(answer)]),
);
const ctx = lambdaContext('mw');
const ev = httpEvent('POST', '/api/orders', { body: { product_id: 1, qty: 1 } });
const n = Number(process.argv[2] ?? 20000);
const cpu: Record<string, number> = {};
for (let r = 0; r < 4; r++) {
  for (const [k, h] of Object.entries(handlers)) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) await h(ev, ctx);
    const d = process.cpuUsage(c0);
    if (r > 0) cpu[k] = (cpu[k] ?? 0) + (d.user + d.system) / 1000;
  }
}
const base = cpu['middy, no middleware']! / (3 * n);
for (const [k, v] of Object.entries(cpu))
  console.error(
    `${k.padEnd(32)} ${((1000 * v) / (3 * n)).toFixed(1)} µs/inv  (+${(1000 * (v / (3 * n) - base)).toFixed(1)} µs)`,
  );
