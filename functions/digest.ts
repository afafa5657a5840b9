import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createDigestQueueConsumer, createFoldFlusher } from './app/digest.js';
import { toError } from './errors.js';
import { createAlertFunctionClients } from './io/aws-clients.js';
import { DigestConfigSchema, loadConfig } from './io/config.js';
import { detectionsDirFor, loadDetections } from './io/detections.js';
import { createDynamoSessions } from './io/dynamo-sessions.js';
import { createDynamoState } from './io/dynamo-state.js';
import { createDigestDeadLetters } from './io/fold-timer.js';
import { logger } from './io/logger.js';
import { createSinks } from './io/sinks.js';

/**
 * The deployed wiring, built on the first invocation from the environment (checked once): sessions and digest claims
 * in the state table, digests to the topic and the normal Slack lane, given-up folds to the digest DLQ. The clients
 * are the alert function's (io/aws-clients.ts: state ≈ 5 s, delivery ≈ 10 s at worst), which fit this function's 30 s.
 * The catalog gives the digest's e-mail and Slack message their detection titles; it matches nothing here.
 */
const createProductionConsumer = (env: Record<string, string | undefined>) => {
  const config = loadConfig(DigestConfigSchema, env);
  const { dynamodb, sns, sqs } = createAlertFunctionClients();
  const detections = loadDetections(detectionsDirFor(config.DETECTIONS_DIR, env.LAMBDA_TASK_ROOT), {});
  const sessions = createDynamoSessions(dynamodb, config.STATE_TABLE);
  return createDigestQueueConsumer({
    flushFold: createFoldFlusher({
      sessions,
      state: createDynamoState(dynamodb, config.STATE_TABLE),
      sinks: createSinks({
        sns,
        topicArn: config.ALERT_TOPIC_ARN,
        sqs,
        slackQueueUrl: config.SLACK_QUEUE_URL,
        detections,
      }),
    }),
    deadLetter: createDigestDeadLetters(sqs, config.DIGEST_DLQ_URL),
  });
};

let consumer: ReturnType<typeof createProductionConsumer> | undefined;

/**
 * The digest function, fed by the digest queue's event source mapping (partial batch responses): each message is a
 * fold's timer, come due; its fold is flushed as one digest (app/digest.ts). A fold that failed stays on the queue
 * alone and flushable; one still failing at its 10th receive goes to the digest DLQ with its reason. Throws, failing
 * the invocation (its Errors alarm) with every message left queued, only when the configuration is invalid.
 */
const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  try {
    consumer ??= createProductionConsumer(process.env);
    return await consumer(event, context.awsRequestId);
  } catch (error) {
    const err = toError(error);
    logger.error('digest function failed; the fold timer messages stay queued', {
      errorName: err.name,
      error: err.message,
    });
    throw err;
  }
};

export { handler };
