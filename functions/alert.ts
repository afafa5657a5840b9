import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import type { AlertOutcome, AlertPipeline } from './app/alert-pipeline.js';
import type { ForwarderHeartbeatOutcome, HeartbeatOutcome } from './app/heartbeat.js';
import { toError } from './errors.js';
import { type AlertFunctionClients, createAlertFunctionClients } from './io/aws-clients.js';
import { logger } from './io/logger.js';

/*
 * Loading. A cold start evaluates this file, the logger and the clients' factory only: the modules of the wiring below
 * (the event and heartbeat schemas, the catalog, the pipeline, the renderers, the IP lookup) are imported by the
 * first invocation that needs them, each path its own (a heartbeat never loads the detections' pipeline), and the
 * AWS SDK's packages when a client is first made (io/aws-clients.ts). In the deployed package they are chunks beside
 * this file (build/lambda-esbuild-plugins.cjs), read and compiled on that first import. The work is the same, moved
 * to the invocation that needs it; test/bench/lambda-load.ts measures both the load and the first invocation.
 */

/** What the detections' path needs, imported on its first event. */
const pipelineModules = async () => {
  const { createAlertPipeline } = await import('./app/alert-pipeline.js');
  const { createFoldFlusher } = await import('./app/digest.js');
  const { createEnricher } = await import('./app/enrich.js');
  const { createAccountNames } = await import('./io/accounts.js');
  const { AlertConfigSchema, detectionParametersOfConfig, loadConfig } = await import('./io/config.js');
  const { detectionsDirFor, loadDetections } = await import('./io/detections.js');
  const { createDynamoSessions } = await import('./io/dynamo-sessions.js');
  const { createDynamoState } = await import('./io/dynamo-state.js');
  const { createDynamoExpectedWindows } = await import('./io/expected-windows.js');
  const { createFoldTimer } = await import('./io/fold-timer.js');
  const { createGeoLookup } = await import('./io/ip/geo-lookup.js');
  const { createHealthMetrics } = await import('./io/metrics.js');
  const { createSinks } = await import('./io/sinks.js');
  return {
    createAlertPipeline,
    createFoldFlusher,
    createEnricher,
    createAccountNames,
    AlertConfigSchema,
    detectionParametersOfConfig,
    loadConfig,
    detectionsDirFor,
    loadDetections,
    createDynamoSessions,
    createDynamoState,
    createDynamoExpectedWindows,
    createFoldTimer,
    createGeoLookup,
    createHealthMetrics,
    createSinks,
  };
};

/** What the heartbeats' path needs, imported on the first heartbeat. */
const heartbeatModules = async () => {
  const { countForwarderHeartbeat, relayHeartbeat } = await import('./app/heartbeat.js');
  const { AlertConfigSchema, loadConfig } = await import('./io/config.js');
  const { createDynamoHeartbeatLog } = await import('./io/heartbeat-log.js');
  const { createDynamoForwarderLog } = await import('./io/forwarder-log.js');
  const { forwarderMetricsOf, hopMetricsOf } = await import('./io/heartbeat-metrics.js');
  const { createHeartbeatSinks } = await import('./io/heartbeat-sinks.js');
  return {
    countForwarderHeartbeat,
    relayHeartbeat,
    AlertConfigSchema,
    loadConfig,
    createDynamoHeartbeatLog,
    createDynamoForwarderLog,
    forwarderMetricsOf,
    hopMetricsOf,
    createHeartbeatSinks,
  };
};

let clients: AlertFunctionClients | undefined;
/**
 * The AWS clients, each made on first use (its SDK package imported then, never at module load), with connect and
 * request timeouts that fit the function's 30 s (io/aws-clients.ts). The SQS client sends to its regional endpoint
 * rather than the queue URL's host (the same host in Lambda), so a local run's AWS_ENDPOINT_URL_SQS holds.
 */
const awsClients = (): AlertFunctionClients => {
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
 * here to the same SNS topic and Slack queue (its digests' claims in the same table). The break-glass windows of
 * `rootwatch expect` are read from the same table (its item `expected-windows`): an alert inside one is marked expected.
 */
const createProductionPipeline = async (
  env: Record<string, string | undefined>,
  ownAccountId?: string,
): Promise<AlertPipeline> => {
  const {
    AlertConfigSchema,
    createAccountNames,
    createAlertPipeline,
    createDynamoSessions,
    createDynamoState,
    createDynamoExpectedWindows,
    createEnricher,
    createFoldFlusher,
    createFoldTimer,
    createGeoLookup,
    createHealthMetrics,
    createSinks,
    detectionParametersOfConfig,
    detectionsDirFor,
    loadConfig,
    loadDetections,
  } = await pipelineModules();
  const config = loadConfig(AlertConfigSchema, env);
  // The placeholders take the values the rules were packaged with (trail buckets, keys and log groups, rootwatch's
  // own key), so the function recognises every event its rules deliver.
  const detections = loadDetections(
    detectionsDirFor(config.DETECTIONS_DIR, env.LAMBDA_TASK_ROOT),
    detectionParametersOfConfig(config),
  );
  const lookup = config.ACCOUNT_LOOKUP === 'organizations';
  const get = awsClients();
  const [dynamodb, sns, sqs, iam, organizations] = await Promise.all([
    get.dynamodb(),
    get.sns(),
    get.sqs(),
    get.iam(),
    lookup ? get.organizations() : undefined,
  ]);
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
    expectedWindows: createDynamoExpectedWindows(dynamodb, config.STATE_TABLE),
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
      geo: createGeoLookup(
        config.IP_DATA_DIR
          ? { dataDir: env.LAMBDA_TASK_ROOT ? join(env.LAMBDA_TASK_ROOT, config.IP_DATA_DIR) : config.IP_DATA_DIR }
          : {},
      ),
      accountNames: createAccountNames({
        ...(config.ACCOUNT_NAMES ? { names: config.ACCOUNT_NAMES } : {}),
        ...(lookup && organizations ? { organizations } : {}),
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
const createProductionHeartbeat = async (env: Record<string, string | undefined>) => {
  const {
    AlertConfigSchema,
    createDynamoHeartbeatLog,
    createHeartbeatSinks,
    hopMetricsOf,
    loadConfig,
    relayHeartbeat,
  } = await heartbeatModules();
  const config = loadConfig(AlertConfigSchema, env);
  const get = awsClients();
  const [dynamodb, sns, sqs] = await Promise.all([get.dynamodb(), get.sns(), get.sqs()]);
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
const createProductionForwarderHeartbeat = async (env: Record<string, string | undefined>) => {
  const { AlertConfigSchema, countForwarderHeartbeat, createDynamoForwarderLog, forwarderMetricsOf, loadConfig } =
    await heartbeatModules();
  const config = loadConfig(AlertConfigSchema, env);
  return countForwarderHeartbeat({
    log: createDynamoForwarderLog(await awsClients().dynamodb(), config.STATE_TABLE),
    metrics: forwarderMetricsOf(env),
  });
};

/**
 * A wiring built once, on the first call that needs it; a failed build (bad configuration) is not kept, so the next
 * invocation tries again and fails with every problem listed, as before.
 */
const once = <T>(build: () => Promise<T>): (() => Promise<T>) => {
  let built: Promise<T> | undefined;
  return () => {
    built ??= build().catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return built;
  };
};

let ownAccountId: string | undefined;
const pipeline = once(() => createProductionPipeline(process.env, ownAccountId));
const heartbeat = once(() => createProductionHeartbeat(process.env));
const forwarderHeartbeat = once(() => createProductionForwarderHeartbeat(process.env));

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
    const { isForwarderHeartbeat, isHeartbeatEvent, parseHeartbeatEvent } = await import('./core/heartbeat.js');
    if (isHeartbeatEvent(event)) {
      const parsed = parseHeartbeatEvent(event);
      if (isForwarderHeartbeat(parsed)) return await (await forwarderHeartbeat())(parsed);
      return await (await heartbeat())(parsed);
    }
    ownAccountId ??= context.invokedFunctionArn?.split(':')[4];
    const alertPipeline = await pipeline();
    const { parseEvent } = await import('./core/event.js');
    const parsed = parseEvent(event);
    logger.appendKeys({ eventId: parsed.id, account: parsed.account, eventName: parsed.detail.eventName });
    return await alertPipeline.process(parsed, context.awsRequestId);
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
