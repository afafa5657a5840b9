import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { type AlertOutcome, type AlertPipeline, createAlertPipeline } from './app/alert-pipeline.js';
import { createEnricher } from './app/enrich.js';
import { parseEvent } from './core/event.js';
import { toError } from './errors.js';
import { createAccountNames } from './io/accounts.js';
import { AlertConfigSchema, detectionParametersOfConfig, loadConfig } from './io/config.js';
import { detectionsDirFor, loadDetections } from './io/detections.js';
import { createDynamoState } from './io/dynamo-state.js';
import { createGeoLookup } from './io/ip/geo-lookup.js';
import { logger } from './io/logger.js';
import { createSinks } from './io/sinks.js';

/**
 * The deployed wiring, built on the first invocation: configuration and catalog are checked once (a
 * bad deploy fails every invocation with every problem listed), the catalog's placeholders resolved from the
 * environment (TRAIL_BUCKETS, ALERTER_KEY_ARN, …). `ownAccountId` comes from the function
 * ARN: the IAM alias is looked up for that account only. The SQS client sends to its regional endpoint
 * rather than the queue URL's host (the same host in Lambda), so a local run's AWS_ENDPOINT_URL_SQS holds.
 */
const createProductionPipeline = (env: Record<string, string | undefined>, ownAccountId?: string): AlertPipeline => {
  const config = loadConfig(AlertConfigSchema, env);
  // The placeholders take the values the rules were packaged with (trail buckets, keys and log groups, rootwatch's
  // own key), so the function recognises every event its rules deliver.
  const detections = loadDetections(
    detectionsDirFor(config.DETECTIONS_DIR, env.LAMBDA_TASK_ROOT),
    detectionParametersOfConfig(config),
  );
  return createAlertPipeline({
    detections,
    minSeverity: config.MIN_SEVERITY,
    runbookBaseUrl: config.RUNBOOK_BASE_URL,
    state: createDynamoState(new DynamoDBClient({}), config.STATE_TABLE),
    sinks: createSinks({
      sns: new SNSClient({}),
      topicArn: config.ALERT_TOPIC_ARN,
      sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
      slackQueueUrl: config.SLACK_QUEUE_URL,
      detections,
    }),
    enrich: createEnricher({
      geo: createGeoLookup(),
      accountNames: createAccountNames({
        ...(config.ACCOUNT_NAMES ? { names: config.ACCOUNT_NAMES } : {}),
        // Organizations answers from us-east-1 whatever the caller's region.
        ...(config.ACCOUNT_LOOKUP === 'organizations'
          ? { organizations: new OrganizationsClient({ region: 'us-east-1' }) }
          : {}),
        iam: new IAMClient({}),
        ...(ownAccountId ? { ownAccountId } : {}),
      }),
    }),
  });
};

let pipeline: AlertPipeline | undefined;

/**
 * The alert function, invoked by the EventBridge rules. Throws (so Lambda retries, then the event goes
 * to the alert DLQ with the error) when the event does not parse, the state is unreachable, or a
 * destination failed.
 */
const handler = async (event: unknown, context: Context): Promise<AlertOutcome> => {
  logger.addContext(context);
  try {
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
