// EventBridge rate(1 minute): the release run (also `npm run cli -- release` on demand).
import { config } from '../lib/config';
import { rebuildDeps, settleDeps } from '../lib/container';
import { logger } from '../lib/platform/logger';
import { secretsReady } from '../lib/platform/secrets';
import { RELEASE_RUN_DEFAULTS, runRelease } from '../lib/sale/release-run';

export const handler = async () => {
  await secretsReady();
  const report = await runRelease(
    { ...settleDeps(), rebuild: rebuildDeps() },
    {
      ...RELEASE_RUN_DEFAULTS,
      outbox_grace_ms: config().OUTBOX_GRACE_S * 1000,
    },
  );
  logger.info('release run', { ...report });
  return report;
};
