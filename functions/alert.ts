import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { buildAlert, type Enrichment } from './core/alert-document.js';
import { matchDetections, needsCount, scoreMatches } from './core/classify.js';
import type { Detection } from './core/detection.js';
import { type CloudTrailEvent, parseEvent } from './core/event.js';

import { severityRank } from './core/severity.js';
import { toError } from './errors.js';
import { createAccountNames } from './io/accounts.js';
import { type AlertConfig, AlertConfigSchema, loadConfig } from './io/config.js';
import { deliver } from './io/deliver.js';
import { detectionsDirFor, loadDetections } from './io/detections.js';
import { createEnricher } from './io/enrich.js';
import { createGeoLookup } from './io/geo.js';
import { logger } from './io/logger.js';
import { createSlackQueueSink, createSnsSink, type Sink } from './io/sinks.js';
import { type AlertState, createDynamoState } from './io/state.js';

interface AlertHandlerDeps {
  config: Pick<AlertConfig, 'MIN_SEVERITY' | 'RUNBOOK_BASE_URL'>;
  detections: readonly Detection[];
  state: AlertState;
  sinks: readonly Sink[];
  enrich: (event: CloudTrailEvent) => Promise<Enrichment>;
  now?: () => number;
}

/** What one invocation did; returned for tests and logs (Lambda ignores it for async invokes). */
type AlertOutcome =
  | { status: 'no-match' | 'duplicate' }
  | { status: 'below-threshold'; severity: string }
  | { status: 'delivered'; eventID: string; detections: string[]; severity: string; sinks: string[] };

/** Counts for the threshold modifiers; a failing counter degrades to "first of its kind", never blocks. */
const countsFor = async (event: CloudTrailEvent, matched: readonly Detection[], state: AlertState) => {
  const counts = new Map<string, number>();
  const timeMs = Date.parse(event.time) || 0;
  for (const detection of matched.filter(needsCount)) {
    for (const modifier of detection.modifiers) {
      if (modifier.kind !== 'threshold') continue;
      const key = `${detection.id}|${modifier.withinMs}`;
      try {
        counts.set(
          key,
          await state.countRecent(`${detection.id}#${event.account}`, event.id, timeMs, modifier.withinMs),
        );
      } catch (error) {
        logger.warn('could not count recent events; scoring as the first', {
          detection: detection.id,
          error: toError(error).message,
        });
      }
    }
  }
  return (detection: Detection, windowMs: number) => counts.get(`${detection.id}|${windowMs}`) ?? 1;
};

/**
 * The alert pipeline behind the EventBridge rules: parse → detect → claim → classify → enrich →
 * deliver. Throws (so Lambda retries, then dead-letters with the reason) when the event does not
 * parse, the state table is unreachable, or a destination failed.
 */
const createAlertHandler = (deps: AlertHandlerDeps) => {
  const now = deps.now ?? Date.now;
  const floor = severityRank(deps.config.MIN_SEVERITY);
  return async (raw: unknown, context: Pick<Context, 'awsRequestId'>): Promise<AlertOutcome> => {
    const event = parseEvent(raw);
    logger.appendKeys({ eventId: event.id, account: event.account, eventName: event.detail.eventName });
    const matched = matchDetections(event, deps.detections);
    if (matched.length === 0) {
      // A rule matched but the catalog does not: the two disagree, and retrying will not help.
      logger.warn('no detection matched', { detailType: event['detail-type'], source: event.source });
      return { status: 'no-match' };
    }
    const delivered = await deps.state.claim(event.id, context.awsRequestId, now());
    if (!delivered || deps.sinks.every((sink) => delivered.has(sink.name))) {
      logger.info('duplicate delivery: another invocation is alerting, or has alerted, on this event');
      return { status: 'duplicate' };
    }
    const matches = scoreMatches(event, matched, await countsFor(event, matched, deps.state));
    const severity = matches[0]?.severity ?? 'info';
    if (severityRank(severity) < floor) {
      logger.info('below MIN_SEVERITY', { severity });
      return { status: 'below-threshold', severity };
    }
    const alert = buildAlert(event, matches, {
      runbookBaseUrl: deps.config.RUNBOOK_BASE_URL,
      enrichment: await deps.enrich(event),
    });
    const sent = await deliver(alert, deps.sinks, {
      delivered,
      markDelivered: (sink) => deps.state.markDelivered(event.id, sink, now()),
    });
    logger.info('alert delivered', { detections: alert.detections, severity, sinks: sent });
    return { status: 'delivered', eventID: alert.eventID, detections: alert.detections, severity, sinks: sent };
  };
};

/**
 * The deployed wiring: configuration and catalog are checked once, on the first invocation. The SQS
 * client sends to its own regional endpoint rather than the queue URL's host (the same host in Lambda),
 * so the AWS_ENDPOINT_URL_SQS of a local run is honoured too.
 */
const createProductionHandler = (env: Record<string, string | undefined>) => {
  const config = loadConfig(AlertConfigSchema, env);
  const detections = loadDetections(detectionsDirFor(config.DETECTIONS_DIR, env.LAMBDA_TASK_ROOT));
  const accountLookup = config.ACCOUNT_LOOKUP === 'organizations';
  return (ownAccountId: string | undefined) =>
    createAlertHandler({
      config,
      detections,
      state: createDynamoState(new DynamoDBClient({}), config.STATE_TABLE),
      sinks: [
        createSnsSink(new SNSClient({}), config.ALERT_TOPIC_ARN, detections),
        createSlackQueueSink(new SQSClient({ useQueueUrlAsEndpoint: false }), config.SLACK_QUEUE_URL),
      ],
      enrich: createEnricher({
        geo: createGeoLookup(),
        accountNames: createAccountNames({
          ...(config.ACCOUNT_NAMES ? { names: config.ACCOUNT_NAMES } : {}),
          // Organizations answers from us-east-1 whatever the caller's region.
          ...(accountLookup ? { organizations: new OrganizationsClient({ region: 'us-east-1' }) } : {}),
          iam: new IAMClient({}),
          ...(ownAccountId ? { ownAccountId } : {}),
        }),
      }),
    });
};

let ready: ReturnType<ReturnType<typeof createProductionHandler>> | undefined;

const handler = async (event: unknown, context: Context): Promise<AlertOutcome> => {
  logger.addContext(context);
  ready ??= createProductionHandler(process.env)(context.invokedFunctionArn?.split(':')[4]);
  try {
    return await ready(event, context);
  } catch (error) {
    const err = toError(error);
    logger.error('alert failed; Lambda retries, then the event goes to the DLQ', {
      errorName: err.name,
      error: err.message,
    });
    throw err;
  } finally {
    logger.resetKeys();
  }
};

export type { AlertHandlerDeps, AlertOutcome };
export { createAlertHandler, createProductionHandler, handler };
