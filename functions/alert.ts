import type { Context } from 'aws-lambda';
import { type AlertOutcome, type AlertPipeline, createAlertPipeline } from './app/alert-pipeline.js';
import { createFoldFlusher } from './app/digest.js';
import { createEnricher } from './app/enrich.js';
import {
  countForwarderHeartbeat,
  type ForwarderHeartbeatOutcome,
  type HeartbeatOutcome,
  relayHeartbeat,
} from './app/heartbeat.js';
import { parseEvent } from './core/event.js';
import { isForwarderHeartbeat, isHeartbeatEvent, parseHeartbeatEvent } from './core/heartbeat.js';
import { toError } from './errors.js';
import { createAccountNames } from './io/accounts.js';
import { createAlertFunctionClients } from './io/aws-clients.js';
import { AlertConfigSchema, detectionParametersOfConfig, loadConfig } from './io/config.js';
import { detectionsDirFor, loadDetections } from './io/detections.js';
import { createDynamoSessions } from './io/dynamo-sessions.js';
import { createDynamoState } from './io/dynamo-state.js';
import { createFoldTimer } from './io/fold-timer.js';
import { createDynamoForwarderLog } from './io/forwarder-log.js';
import { createDynamoHeartbeatLog } from './io/heartbeat-log.js';
import { forwarderMetricsOf, hopMetricsOf } from './io/heartbeat-metrics.js';
import { createHeartbeatSinks } from './io/heartbeat-sinks.js';
import { createGeoLookup } from './io/ip/geo-lookup.js';
import { logger } from './io/logger.js';
import { createHealthMetrics } from './io/metrics.js';
import { createSinks } from './io/sinks.js';

let clients: ReturnType<typeof createAlertFunctionClients> | undefined;
/**
 * The AWS clients, made once, with connect and request timeouts that fit the function's 30 s (io/aws-clients.ts).
 * The SQS client sends to its regional endpoint rather than the queue URL's host (the same host in Lambda), so
 * a local run's AWS_ENDPOINT_URL_SQS holds.
 */
const awsClients = () => {
  clients ??= createAlertFunctionClients();
  return clients;
};

/**
 * The deployed wiring, built on the first invocation: configuration and catalog are checked once (a
 * bad deploy fails every invocation with every problem listed), the catalog's placeholders resolved from the
 * environment (TRAIL_BUCKETS, ALERTER_KEY_ARN, …). `ownAccountId` comes from the function
 * ARN: the IAM alias is looked up for that account only. When the state table fails or hangs, alerts go out
 * without deduplication (or folding), counted as the `StateUnavailable` metric (io/metrics.ts). With DIGEST_QUEUE_URL,
 * root sessions are folded: sessions in the state table, the fold timer on the digest queue, and a full fold flushed
 * here to the same SNS topic and Slack queue (its digests' claims in the same table).
 */
const createProductionPipeline = (env: Record<string, string | undefined>, ownAccountId?: string): AlertPipeline => {
  const config = loadConfig(AlertConfigSchema, env);
  // The placeholders take the values the rules were packaged with (trail buckets, keys and log groups, rootwatch's
  // own key), so the function recognises every event its rules deliver.
  const detections = loadDetections(
    detectionsDirFor(config.DETECTIONS_DIR, env.LAMBDA_TASK_ROOT),
    detectionParametersOfConfig(config),
  );
  const { dynamodb, sns, sqs, organizations, iam } = awsClients();
  const state = createDynamoState(dynamodb, config.STATE_TABLE);
  const sinks = createSinks({
    sns,
    topicArn: config.ALERT_TOPIC_ARN,
    sqs,
    slackQueueUrl: config.SLACK_QUEUE_URL,
    ...(config.SLACK_PRIORITY_QUEUE_URL ? { slackPriorityQueueUrl: config.SLACK_PRIORITY_QUEUE_URL } : {}),
    detections,
  });
  const sessions = createDynamoSessions(dynamodb, config.STATE_TABLE);
  return createAlertPipeline({
    detections,
    minSeverity: config.MIN_SEVERITY,
    runbookBaseUrl: config.RUNBOOK_BASE_URL,
    state,
    metrics: createHealthMetrics(env.ROOTWATCH_STAGE),
    sinks,
    ...(config.DIGEST_QUEUE_URL
      ? {
          sessions: {
            state: sessions,
            timer: createFoldTimer(sqs, config.DIGEST_QUEUE_URL),
            flush: createFoldFlusher({ sessions, state, sinks }),
          },
        }
      : {}),
    enrich: createEnricher({
      geo: createGeoLookup(),
      accountNames: createAccountNames({
        ...(config.ACCOUNT_NAMES ? { names: config.ACCOUNT_NAMES } : {}),
        ...(config.ACCOUNT_LOOKUP === 'organizations' ? { organizations } : {}),
        iam,
        ...(ownAccountId ? { ownAccountId } : {}),
      }),
    }),
  });
};

/**
 * The heartbeat's path through this function (app/heartbeat.ts): to the same topic and queue as an alert, with its
 * hops in the state table and as metrics. Built on the first heartbeat.
 */
const createProductionHeartbeat = (env: Record<string, string | undefined>) => {
  const config = loadConfig(AlertConfigSchema, env);
  const { dynamodb, sns, sqs } = awsClients();
  return relayHeartbeat({
    log: createDynamoHeartbeatLog(dynamodb, config.STATE_TABLE),
    metrics: hopMetricsOf(env),
    ...createHeartbeatSinks({ sns, topicArn: config.ALERT_TOPIC_ARN, sqs, slackQueueUrl: config.SLACK_QUEUE_URL }),
  });
};

/**
 * A forwarder's heartbeat (app/heartbeat.ts, countForwarderHeartbeat): counted for its account and region, its time
 * written to the state table's item `forwarders`. Built on the first one.
 */
const createProductionForwarderHeartbeat = (env: Record<string, string | undefined>) => {
  const config = loadConfig(AlertConfigSchema, env);
  return countForwarderHeartbeat({
    log: createDynamoForwarderLog(awsClients().dynamodb, config.STATE_TABLE),
    metrics: forwarderMetricsOf(env),
  });
};

let pipeline: AlertPipeline | undefined;
let heartbeat: ReturnType<typeof createProductionHeartbeat> | undefined;
let forwarderHeartbeat: ReturnType<typeof createProductionForwarderHeartbeat> | undefined;

/**
 * The alert function, invoked by the EventBridge rules. Throws (so Lambda retries, then the event goes
 * to the alert DLQ with the error) when the event does not parse or a destination failed (an unreachable
 * state table is not a failure: the alert goes out without deduplication). A heartbeat (source rootwatch.heartbeat, its own rule) takes the heartbeat's path
 * instead of the detections': the hub's own is relayed to the topic and the Slack queue, a forwarder's
 * (`detail.origin: forwarder`, through the hub bus) is counted for its account and region and goes no further.
 */
const handler = async (
  event: unknown,
  context: Context,
): Promise<AlertOutcome | HeartbeatOutcome | ForwarderHeartbeatOutcome> => {
  logger.addContext(context);
  try {
    if (isHeartbeatEvent(event)) {
      const parsed = parseHeartbeatEvent(event);
      if (isForwarderHeartbeat(parsed)) {
        forwarderHeartbeat ??= createProductionForwarderHeartbeat(process.env);
        return await forwarderHeartbeat(parsed);
      }
      heartbeat ??= createProductionHeartbeat(process.env);
      return await heartbeat(parsed);
    }
    pipeline ??= createProductionPipeline(process.env, context.invokedFunctionArn?.split(':')[4]);
    const parsed = parseEvent(event);
    logger.appendKeys({ eventId: parsed.id, account: parsed.account, eventName: parsed.detail.eventName });
    return await pipeline.process(parsed, context.awsRequestId);
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

export { createProductionPipeline, handler };
