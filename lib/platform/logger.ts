// One structured logger per container (Powertools: JSON lines with the Lambda context attached).
import { Logger } from '@aws-lambda-powertools/logger';
import { config } from '../config';
import type { Logger as DomainLogger } from '../sale/ports';

export const logger = new Logger({
  serviceName: 'flash-sale',
  logLevel: config().LOG_LEVEL,
});

export const domainLog: DomainLogger = {
  info: (msg, extra) => logger.info(msg, extra ?? {}),
  warn: (msg, extra) => logger.warn(msg, extra ?? {}),
  error: (msg, extra) => logger.error(msg, extra ?? {}),
};
