import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createSlackNotifier } from './app/slack-notifier.js';
import { loadConfig, NotifierConfigSchema } from './io/config.js';
import { detectionsDirFor, loadDetections } from './io/detections.js';
import { createDynamoState } from './io/dynamo-state.js';
import { logger } from './io/logger.js';
import { createPostponer, createSlackDeadLetters } from './io/slack-queue.js';
import { postSlackMessage } from './io/slack-webhook.js';
import { createWebhookUrlReader } from './io/slack-webhook-url.js';

/**
 * The longest Slack Retry-After the notifier waits out in process; a longer one postpones the message
 * on the queue instead, so a wait never runs past the function's timeout.
 */
const MAX_RETRY_AFTER_MS = 5_000;

/** The deployed wiring, built on the first invocation from the environment (checked once). */
const createProductionNotifier = (env: Record<string, string | undefined>) => {
  const config = loadConfig(NotifierConfigSchema, env);
  const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
  const webhookUrl = createWebhookUrlReader(new SSMClient({}), config.SLACK_WEBHOOK_PARAMETER);
  return createSlackNotifier({
    // Titles and runbooks only: the notifier matches no event, so its placeholders need no values.
    detections: loadDetections(detectionsDirFor(config.DETECTIONS_DIR, env.LAMBDA_TASK_ROOT), {}),
    state: createDynamoState(new DynamoDBClient({}), config.STATE_TABLE),
    post: async (message) => {
      await postSlackMessage(await webhookUrl(), message, { maxRetryAfterMs: MAX_RETRY_AFTER_MS });
    },
    deadLetter: createSlackDeadLetters(sqs, config.SLACK_DLQ_URL),
    postpone: createPostponer(sqs, config.SLACK_QUEUE_URL),
    minIntervalMs: config.SLACK_MIN_INTERVAL_MS,
    maxReceives: config.SLACK_MAX_RECEIVES,
  });
};

let notifier: ReturnType<typeof createProductionNotifier> | undefined;

/** The Slack notifier, fed by the Slack queue's event source mapping (partial batch responses). */
const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  notifier ??= createProductionNotifier(process.env);
  return notifier(event);
};

export { handler };
