import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import type { ForwarderWatch } from './app/forwarder-watch.js';
import type { Guard, GuardOutcome } from './app/guard.js';
import type { Detection } from './core/detection.js';
import type * as z from './core/zod.js';
import { ConfigError, toError } from './errors.js';
import { type ClientBudget, clientOptionsFor, DELIVERY_BUDGET, STATE_BUDGET, sdk } from './io/aws-clients.js';
import type { GuardConfigSchema } from './io/config.js';
import { logger } from './io/logger.js';

/**
 * The modules of the guard's wiring, imported on the first invocation rather than at module load (see
 * functions/alert.ts, "Loading").
 */
const guardModules = async () => {
  const { createGuard } = await import('./app/guard.js');
  const { buildDriftAlert, DRIFT_DETECTION } = await import('./core/guard/alert.js');
  const { deployedValuesOf, expectationOf } = await import('./core/guard/expected-state.js');
  const { GuardConfigSchema, loadConfig } = await import('./io/config.js');
  const { createDeploymentReader } = await import('./io/deployment.js');
  const { detectionsDirFor, loadDetections } = await import('./io/detections.js');
  const { createDynamoState } = await import('./io/dynamo-state.js');
  const { readExpectedState } = await import('./io/expected-state-file.js');
  const { createSinks } = await import('./io/sinks.js');
  return {
    createGuard,
    buildDriftAlert,
    DRIFT_DETECTION,
    deployedValuesOf,
    expectationOf,
    GuardConfigSchema,
    loadConfig,
    createDeploymentReader,
    detectionsDirFor,
    loadDetections,
    createDynamoState,
    readExpectedState,
    createSinks,
  };
};

/**
 * The reads of the deployment (EventBridge, Lambda, SNS, SQS, KMS): about 70 calls every few minutes, to
 * control-plane APIs with low request quotas, so more attempts than the alert's clients; the guard has 60 s.
 */
const READ_BUDGET: ClientBudget = { connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, maxAttempts: 4 };

/**
 * The guard's watch over the forwarders as deployed: the forwarders' item of the state table, this account's
 * FORWARDER_REGIONS expected (the hub's own region has no forwarder), the SilentForwarders metric of `stage`, and the
 * alert naming each silent forwarder (its account's name from ACCOUNT_NAMES), raised under `detection`.
 */
const createProductionForwarderWatch = (options: {
  dynamodb: DynamoDBClient;
  config: z.infer<typeof GuardConfigSchema>;
  stage: string;
  accountId: string;
  region: string;
  partition: string;
  detection: Detection;
}): ForwarderWatch => {
  const { config, stage, accountId, region, partition, detection } = options;
  const expected = config.FORWARDER_REGIONS.filter((name) => name !== region).map((name) => ({
    account: accountId,
    region: name,
  }));
  // Its modules are imported on the first check, not with this file (see functions/alert.ts, "Loading").
  const build = async (): Promise<ForwarderWatch> => {
    const { createForwarderWatch } = await import('./app/forwarder-watch.js');
    const { buildSilentForwardersAlert } = await import('./core/forwarder-silence.js');
    const { createDynamoForwarderLog } = await import('./io/forwarder-log.js');
    const { createSilentForwarderMetrics } = await import('./io/heartbeat-metrics.js');
    return createForwarderWatch({
      log: createDynamoForwarderLog(options.dynamodb, config.STATE_TABLE),
      expected,
      heartbeatMinutes: config.HEARTBEAT_MINUTES,
      countSilent: createSilentForwarderMetrics(stage),
      alertOf: (silent, nowMs) =>
        buildSilentForwardersAlert(silent, {
          stage,
          accountId,
          region,
          partition,
          ...(config.ACCOUNT_NAMES ? { accountNames: config.ACCOUNT_NAMES } : {}),
          detection,
          runbookBaseUrl: config.RUNBOOK_BASE_URL,
          heartbeatMinutes: config.HEARTBEAT_MINUTES,
          nowMs,
        }),
    });
  };
  let watch: Promise<ForwarderWatch> | undefined;
  return {
    async check(nowMs) {
      watch ??= build();
      return (await watch).check(nowMs);
    },
  };
};

/**
 * The deployed wiring, built on the first invocation: the configuration, the expected-state document packaged
 * beside the function (resolved for the account, region and partition of the function's own ARN), and the catalog
 * for alerter-tampering's runbook and the renderers. A bad deploy fails every invocation, so the error alarm fires.
 * The forwarders' watch expects this account's FORWARDER_REGIONS and every forwarder ever heard from; their alert
 * is raised under alerter-tampering too, names from ACCOUNT_NAMES.
 */
const createProductionGuard = async (env: Record<string, string | undefined>, functionArn: string): Promise<Guard> => {
  const {
    buildDriftAlert,
    createDeploymentReader,
    createDynamoState,
    createGuard,
    createSinks,
    DRIFT_DETECTION,
    deployedValuesOf,
    detectionsDirFor,
    expectationOf,
    GuardConfigSchema,
    loadConfig,
    loadDetections,
    readExpectedState,
  } = await guardModules();
  const config = loadConfig(GuardConfigSchema, env);
  const document = readExpectedState(config.EXPECTED_STATE_FILE, env.LAMBDA_TASK_ROOT);
  const [, partition = 'aws', , region = '', accountId = ''] = functionArn.split(':');
  const expectation = expectationOf(document, {
    partition,
    region,
    accountId,
    urlSuffix: partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com',
    values: deployedValuesOf(document, env),
  });
  // Titles and runbooks only: the guard matches no event, so the placeholders need no values.
  const detections = loadDetections(detectionsDirFor(config.DETECTIONS_DIR, env.LAMBDA_TASK_ROOT), {});
  const detection = detections.find((candidate) => candidate.id === DRIFT_DETECTION);
  if (!detection) throw new ConfigError(`the catalog has no ${DRIFT_DETECTION} detection, which the guard alerts as`);
  // The SDK's packages, imported now (the first invocation), not at module load (io/aws-clients.ts, "Loading").
  const [{ SNSClient }, { SQSClient }, { DynamoDBClient }, { EventBridgeClient }, { LambdaClient }, { KMSClient }] =
    await Promise.all([sdk.sns(), sdk.sqs(), sdk.dynamodb(), sdk.eventbridge(), sdk.lambda(), sdk.kms()]);
  const sns = new SNSClient(clientOptionsFor(DELIVERY_BUDGET));
  const sqs = new SQSClient({ ...clientOptionsFor(DELIVERY_BUDGET), useQueueUrlAsEndpoint: false });
  const dynamodb = new DynamoDBClient(clientOptionsFor(STATE_BUDGET));
  return createGuard({
    expectation,
    readDeployment: createDeploymentReader({
      events: new EventBridgeClient(clientOptionsFor(READ_BUDGET)),
      lambda: new LambdaClient(clientOptionsFor(READ_BUDGET)),
      sns: new SNSClient(clientOptionsFor(READ_BUDGET)),
      sqs: new SQSClient({ ...clientOptionsFor(READ_BUDGET), useQueueUrlAsEndpoint: false }),
      kms: new KMSClient(clientOptionsFor(READ_BUDGET)),
    }),
    alertOf: (drifts, nowMs) =>
      buildDriftAlert(drifts, {
        stage: document.stage,
        accountId,
        ...(config.ACCOUNT_NAMES?.[accountId] ? { accountName: config.ACCOUNT_NAMES[accountId] } : {}),
        region,
        partition,
        detection,
        runbookBaseUrl: config.RUNBOOK_BASE_URL,
        nowMs,
      }),
    state: createDynamoState(dynamodb, config.STATE_TABLE),
    forwarders: createProductionForwarderWatch({
      dynamodb,
      config,
      stage: document.stage,
      accountId,
      region,
      partition,
      detection,
    }),
    sinks: createSinks({
      sns,
      topicArn: config.ALERT_TOPIC_ARN,
      sqs,
      slackQueueUrl: config.SLACK_QUEUE_URL,
      // A critical finding takes the priority lane, never waiting behind digests.
      ...(config.SLACK_PRIORITY_QUEUE_URL ? { slackPriorityQueueUrl: config.SLACK_PRIORITY_QUEUE_URL } : {}),
      detections,
    }),
  });
};

let guard: Guard | undefined;

/**
 * The guard, run on a schedule: compares the deployment with what rootwatch deployed and alerts on any drift to
 * the SNS topic and the Slack queue; reports the forwarders not heard from for two heartbeat periods the same way,
 * and emits their count (SilentForwarders). Throws (so the guard's error alarm fires) when it cannot start, when a
 * destination did not take an alert, or when the forwarders' item could not be read.
 */
const handler = async (_event: unknown, context: Context): Promise<GuardOutcome> => {
  logger.addContext(context);
  try {
    guard ??= await createProductionGuard(process.env, context.invokedFunctionArn);
    return await guard.check(context.awsRequestId);
  } catch (error) {
    const err = toError(error);
    logger.error('guard failed', { errorName: err.name, error: err.message });
    throw err;
  }
};

export { createProductionForwarderWatch, handler };
