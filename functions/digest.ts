import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { toError } from './errors.js';
import { createAlertFunctionClients } from './io/aws-clients.js';
import { logger } from './io/logger.js';

/**
 * The modules of the wiring, imported on the first invocation rather than at module load (a cold start evaluates this
 * file, the logger and the clients' factory only; see functions/alert.ts, "Loading").
 */
const digestModules = async () => {
  const { createDigestQueueConsumer, createFoldFlusher } = await import('./app/digest.js');
  const { DigestConfigSchema, loadConfig } = await import('./io/config.js');
  const { detectionsDirFor, loadDetections } = await import('./io/detections.js');
  const { createDynamoSessions } = await import('./io/dynamo-sessions.js');
  const { createDynamoState } = await import('./io/dynamo-state.js');
  const { createDigestDeadLetters } = await import('./io/fold-timer.js');
  const { createSinks } = await import('./io/sinks.js');
  return {
    createDigestQueueConsumer,
    createFoldFlusher,
    DigestConfigSchema,
    loadConfig,
    detectionsDirFor,
    loadDetections,
    createDynamoSessions,
    createDynamoState,
    createDigestDeadLetters,
    createSinks,
  };
};

/**
 * The deployed wiring, built on the first invocation from the environment (checked once): sessions and digest claims
 * in the state table, digests to the topic and the normal Slack lane, given-up folds to the digest DLQ. The clients
 * are the alert function's (io/aws-clients.ts: state ≈ 5 s, delivery ≈ 10 s at worst), which fit this function's 30 s.
 * The catalog gives the digest's e-mail and Slack message their detection titles; it matches nothing here.
 */
const createProductionConsumer = async (env: Record<string, string | undefined>) => {
  const {
    createDigestDeadLetters,
    createDigestQueueConsumer,
    createDynamoSessions,
    createDynamoState,
    createFoldFlusher,
    createSinks,
    DigestConfigSchema,
    detectionsDirFor,
    loadConfig,
    loadDetections,
  } = await digestModules();
  const config = loadConfig(DigestConfigSchema, env);
  const clients = createAlertFunctionClients();
  const [dynamodb, sns, sqs] = await Promise.all([clients.dynamodb(), clients.sns(), clients.sqs()]);
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

let consumer: Awaited<ReturnType<typeof createProductionConsumer>> | undefined;

/**
 * The digest function, fed by the digest queue's event source mapping (partial batch responses): each message is a
 * fold's timer, come due; its fold is flushed as one digest (app/digest.ts). A fold that failed stays on the queue
 * alone and flushable; one still failing at its 10th receive goes to the digest DLQ with its reason. Throws, failing
 * the invocation (its Errors alarm) with every message left queued, only when the configuration is invalid.
 */
const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  try {
    consumer ??= await createProductionConsumer(process.env);
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
