// The one structured logger of a process (Powertools: one JSON line per call). It attaches no Lambda
// context by itself: the handlers' `injectLambdaContext` middleware does, per invocation (route(),
// persistOrders, release); migrate and the bin/ commands log the same lines without it. LOG_LEVEL
// is read once, at import.
import { Logger } from '@aws-lambda-powertools/logger';
import { config } from '../config';
import type { Logger as DomainLogger } from '../sale/ports';
import { METRICS_SERVICE } from './metrics';
import { installStackMaps } from './stack-maps';

// Before any error is formatted: logged stacks name lib/…/file.ts:line (lib/platform/stack-maps.ts).
installStackMaps();

export const logger = new Logger({
  serviceName: METRICS_SERVICE,
  logLevel: config().LOG_LEVEL,
});

export const domainLog: DomainLogger = {
  info: (msg, extra) => logger.info(msg, extra ?? {}),
  warn: (msg, extra) => logger.warn(msg, extra ?? {}),
  error: (msg, extra) => logger.error(msg, extra ?? {}),
};
