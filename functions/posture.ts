import type { Context } from 'aws-lambda';
import type { PostureCheck, PostureOutcome } from './app/posture.js';
import { configComplianceChangeOf } from './core/posture-events.js';
import { ConfigError, toError } from './errors.js';
import { logger } from './io/logger.js';

/**
 * The modules of the posture function's wiring, imported on the first invocation rather than at module load (see
 * functions/alert.ts, "Loading").
 */
const postureModules = async () => {
  const { createPostureCheck } = await import('./app/posture.js');
  const { buildPostureFindingAlert, buildPostureSummaryAlert, POSTURE_DETECTION } = await import(
    './core/posture-alert.js'
  );
  const { clientOptionsFor, DELIVERY_BUDGET, STATE_BUDGET, sdk } = await import('./io/aws-clients.js');
  const { loadConfig } = await import('./io/config.js');
  const { PostureConfigSchema } = await import('./io/posture-config.js');
  const { detectionsDirFor, loadDetections } = await import('./io/detections.js');
  const { createDynamoState } = await import('./io/dynamo-state.js');
  const { createDynamoPostureState } = await import('./io/posture-state.js');
  const { createPostureClients, readOrganizationPosture } = await import('./io/posture-reader.js');
  const { createSinks } = await import('./io/sinks.js');
  return {
    createPostureCheck,
    buildPostureFindingAlert,
    buildPostureSummaryAlert,
    POSTURE_DETECTION,
    clientOptionsFor,
    DELIVERY_BUDGET,
    STATE_BUDGET,
    sdk,
    loadConfig,
    PostureConfigSchema,
    detectionsDirFor,
    loadDetections,
    createDynamoState,
    createDynamoPostureState,
    createPostureClients,
    readOrganizationPosture,
    createSinks,
  };
};

/**
 * The deployed wiring, built on the first invocation: the configuration (PostureConfigSchema), the catalog (for
 * root-posture-drift's tags and runbook, and the renderers), the reader's clients with the function's credentials
 * (Organizations, IAM, STS in the function's region, Account), and the guard's destinations: the SNS topic and the
 * Slack queues, written to directly. A bad deploy fails every invocation, so the error alarm fires.
 */
const createProductionPostureCheck = async (
  env: Record<string, string | undefined>,
  functionArn: string,
): Promise<PostureCheck> => {
  const modules = await postureModules();
  const config = modules.loadConfig(modules.PostureConfigSchema, env);
  const [, partition = 'aws', , region = env.AWS_REGION ?? 'us-east-1', accountId = ''] = functionArn.split(':');
  const detections = modules.loadDetections(modules.detectionsDirFor(config.DETECTIONS_DIR, env.LAMBDA_TASK_ROOT), {});
  const detection = detections.find((candidate) => candidate.id === modules.POSTURE_DETECTION);
  if (!detection) {
    throw new ConfigError(
      `the catalog has no ${modules.POSTURE_DETECTION} detection, which posture alerts are raised as`,
    );
  }
  // The SDK's packages, imported now (the first invocation), not at module load (io/aws-clients.ts, "Loading").
  const [{ SNSClient }, { SQSClient }, { DynamoDBClient }] = await Promise.all([
    modules.sdk.sns(),
    modules.sdk.sqs(),
    modules.sdk.dynamodb(),
  ]);
  const dynamodb = new DynamoDBClient(modules.clientOptionsFor(modules.STATE_BUDGET));
  const clients = modules.createPostureClients({ region });
  const common = {
    stage: env.ROOTWATCH_STAGE ?? 'default',
    accountId,
    region,
    partition,
    detection,
    runbookBaseUrl: config.RUNBOOK_BASE_URL,
  };
  return modules.createPostureCheck({
    readPosture: (accountIds) =>
      modules.readOrganizationPosture(clients, {
        ...(config.POSTURE_AUDIT_ROLE ? { auditRoleName: config.POSTURE_AUDIT_ROLE } : {}),
        ...(accountIds ? { accountIds } : {}),
      }),
    rootEmailDomains: config.ROOT_EMAIL_DOMAINS,
    store: modules.createDynamoPostureState(dynamodb, config.STATE_TABLE),
    // accountNames (the parameter) wins over the Organizations names.
    alertOfFinding: (finding, run) =>
      modules.buildPostureFindingAlert(finding, {
        ...common,
        accountNames: { ...run.accountNames, ...config.ACCOUNT_NAMES },
        runKey: run.runKey,
        nowMs: run.nowMs,
      }),
    summaryOf: (findings, accountsChecked, run) =>
      modules.buildPostureSummaryAlert(findings, accountsChecked, {
        ...common,
        accountNames: { ...run.accountNames, ...config.ACCOUNT_NAMES },
        runKey: run.runKey,
        nowMs: run.nowMs,
      }),
    state: modules.createDynamoState(dynamodb, config.STATE_TABLE),
    sinks: modules.createSinks({
      sns: new SNSClient(modules.clientOptionsFor(modules.DELIVERY_BUDGET)),
      topicArn: config.ALERT_TOPIC_ARN,
      sqs: new SQSClient({ ...modules.clientOptionsFor(modules.DELIVERY_BUDGET), useQueueUrlAsEndpoint: false }),
      slackQueueUrl: config.SLACK_QUEUE_URL,
      // A critical finding takes the priority lane.
      ...(config.SLACK_PRIORITY_QUEUE_URL ? { slackPriorityQueueUrl: config.SLACK_PRIORITY_QUEUE_URL } : {}),
      detections,
    }),
  });
};

let check: PostureCheck | undefined;

/**
 * The posture function, run on its schedule (postureSchedule) or by hand: reads every account's root posture,
 * alerts each finding that got worse since the last run (the first run: one summary of what is already wrong) to the
 * SNS topic and the Slack queue, and saves the findings in the state table (item `posture`). The run is named by the
 * event's `id` (a scheduled event's, the same on Lambda's retries), else by the request id. Throws (so the error
 * alarm fires and Lambda retries) when it cannot start, when the posture or the last findings cannot be read, or
 * when a destination did not take an alert.
 *
 * Invoked with an AWS Config compliance change (core/posture-events.ts, CONFIG_COMPLIANCE_PATTERN: root MFA or a root
 * key rule turned NON_COMPLIANT), it checks that account (`detail.awsAccountId`) alone, at once, against the same
 * record (PostureCheck.runAccount), named by the event's id. Throws EventParseError for such an event without a
 * 12-digit account id.
 */
const handler = async (event: unknown, context: Context): Promise<PostureOutcome> => {
  logger.addContext(context);
  const id = (event as { id?: unknown } | null)?.id;
  try {
    const change = configComplianceChangeOf(event);
    check ??= await createProductionPostureCheck(process.env, context.invokedFunctionArn);
    if (change) {
      logger.info('posture config compliance change', {
        accountId: change.accountId,
        configRuleName: change.configRuleName,
      });
      return await check.runAccount(change.accountId, change.id);
    }
    return await check.run(typeof id === 'string' && id !== '' ? id : context.awsRequestId);
  } catch (error) {
    const err = toError(error);
    logger.error('posture check failed', { errorName: err.name, error: err.message });
    throw err;
  }
};

export { handler };
