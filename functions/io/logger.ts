import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one logger: structured JSON on stdout (CloudWatch in Lambda). Never log a webhook URL, a whole
 * SDK/HTTP error object (they carry request URLs) or an alert's raw record at info level.
 */
const logger = new Logger({
  serviceName: 'rootwatch',
  logLevel: (process.env.POWERTOOLS_LOG_LEVEL as 'INFO' | undefined) ?? (process.env.VITEST ? 'SILENT' : 'INFO'),
});

export { logger };
