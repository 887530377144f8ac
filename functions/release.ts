// EventBridge rate(1 minute): the release run (also `npm run cli -- release` on demand), then the
// conservation figures of the newest products as metrics (drift, availability, outbox age).
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { config } from '../lib/config';
import { rebuildDeps, settleDeps, statsDeps } from '../lib/container';
import { logger } from '../lib/platform/logger';
import { PRODUCT_METRICS_MAX, releaseRunMetrics, saleMetrics } from '../lib/platform/metrics';
import { secretsFirst } from '../lib/platform/secrets';
import { RELEASE_RUN_DEFAULTS, runRelease } from '../lib/sale/release-run';
import { saleStats } from '../lib/sale/stats';

export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(secretsFirst())
  .handler(async () => {
    const report = await runRelease(
      { ...settleDeps(), rebuild: rebuildDeps() },
      {
        ...RELEASE_RUN_DEFAULTS,
        outbox_grace_ms: config().OUTBOX_GRACE_S * 1000,
        prune_after_s: config().RELEASED_PRUNE_AFTER_S,
      },
    );
    logger.info('release run', { ...report });
    releaseRunMetrics(report);
    saleMetrics(await saleStats(statsDeps(), { now_ms: Date.now(), limit: PRODUCT_METRICS_MAX }));
    return report;
  });
