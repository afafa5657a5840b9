import { setTimeout as delay } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Alert } from './core/alert-document.js';
import type { Detection } from './core/detection.js';
import { renderSlackMessage } from './core/render.js';
import { ConfigError, SlackDeliveryError, toError } from './errors.js';
import { loadConfig, type NotifierConfig, NotifierConfigSchema } from './io/config.js';
import { detectionsDirFor, loadDetections } from './io/detections.js';
import { logger } from './io/logger.js';
import { postSlackMessage } from './io/slack.js';
import { type AlertState, createDynamoState } from './io/state.js';

interface NotifierDeps {
  config: Pick<NotifierConfig, 'SLACK_MIN_INTERVAL_MS' | 'SLACK_MAX_RECEIVES' | 'SLACK_DLQ_URL'>;
  detections: readonly Detection[];
  state: AlertState;
  sqs: SQSClient;
  /** The webhook URL, from SSM in production. Never logged. */
  webhookUrl: () => Promise<string>;
  post?: typeof postSlackMessage;
  postOptions?: Parameters<typeof postSlackMessage>[2];
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const SINK = 'slack';

const parseAlert = (body: string): Alert | undefined => {
  try {
    const value = JSON.parse(body) as Partial<Alert>;
    return value?.schema === 'rootwatch.alert/v1' && typeof value.eventID === 'string' ? (value as Alert) : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Posts queued alerts to Slack one at a time, each SLACK_MIN_INTERVAL_MS after the last
 * (serverless.yml runs at most two notifiers at 2.2 s: within Slack's one message a second per
 * webhook). A message Slack refuses for good (4xx), or that keeps failing for SLACK_MAX_RECEIVES receives, goes to the Slack DLQ with its reason; a passing
 * failure (network, 5xx, 429) leaves it and the rest of the batch on the queue for a later try.
 */
const createNotifierHandler = (deps: NotifierDeps) => {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => delay(ms));
  const post = deps.post ?? postSlackMessage;
  let lastPostAt = Number.NEGATIVE_INFINITY;

  const deadLetter = async (record: SQSRecord, reason: string, statusCode?: number) => {
    await deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: deps.config.SLACK_DLQ_URL,
        MessageBody: record.body,
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: reason.slice(0, 1000) },
          receiveCount: { DataType: 'Number', StringValue: record.attributes.ApproximateReceiveCount || '1' },
          ...(statusCode ? { statusCode: { DataType: 'Number', StringValue: String(statusCode) } } : {}),
        },
      }),
    );
    logger.error('Slack message dead-lettered', { messageId: record.messageId, reason });
  };

  /** Returns true when the record is done with (posted, skipped or dead-lettered). */
  const handleRecord = async (record: SQSRecord): Promise<'done' | 'retry'> => {
    const alert = parseAlert(record.body);
    if (!alert) {
      await deadLetter(record, 'not a rootwatch alert document');
      return 'done';
    }
    if ((await deps.state.delivered(alert.eventID)).has(SINK)) {
      logger.info('already posted to Slack', { eventId: alert.eventID });
      return 'done';
    }
    const message = renderSlackMessage(alert, deps.detections);
    const wait = lastPostAt + deps.config.SLACK_MIN_INTERVAL_MS - now();
    if (wait > 0) await sleep(wait);
    try {
      await post(await deps.webhookUrl(), message, deps.postOptions);
      lastPostAt = now();
    } catch (error) {
      lastPostAt = now();
      const err = toError(error);
      const retryable = !(err instanceof SlackDeliveryError) || err.retryable;
      const status = err instanceof SlackDeliveryError ? err.statusCode : undefined;
      const receives = Number(record.attributes.ApproximateReceiveCount || '1');
      if (!retryable || receives >= deps.config.SLACK_MAX_RECEIVES) {
        await deadLetter(record, `${retryable ? `still failing after ${receives} tries: ` : ''}${err.message}`, status);
        return 'done';
      }
      logger.warn('Slack post failed; the message stays queued', { eventId: alert.eventID, error: err.message });
      return 'retry';
    }
    try {
      await deps.state.markDelivered(alert.eventID, SINK, now());
    } catch (error) {
      logger.error('posted to Slack but could not record it', {
        eventId: alert.eventID,
        error: toError(error).message,
      });
    }
    logger.info('posted to Slack', { eventId: alert.eventID, severity: alert.severity });
    return 'done';
  };

  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const failures: string[] = [];
    for (const record of event.Records) {
      // Once Slack fails, leave the rest for later rather than hammer it.
      if (failures.length > 0) {
        failures.push(record.messageId);
        continue;
      }
      try {
        if ((await handleRecord(record)) === 'retry') failures.push(record.messageId);
      } catch (error) {
        logger.error('could not handle a Slack message', {
          messageId: record.messageId,
          error: toError(error).message,
        });
        failures.push(record.messageId);
      }
    }
    return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
  };
};

/** The webhook URL from SSM (SecureString), cached for five minutes so a rotation takes effect soon. */
const createWebhookUrlReader = (client: SSMClient, name: string, ttlMs = 300_000) => {
  let cached: { url: string; at: number } | undefined;
  return async (): Promise<string> => {
    if (cached && Date.now() - cached.at < ttlMs) return cached.url;
    let url: string | undefined;
    try {
      const result = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      url = result.Parameter?.Value;
    } catch (error) {
      const err = toError(error);
      // SSM's ParameterNotFound has an empty message: name the parameter, and how to create it.
      throw new ConfigError(
        `cannot read the Slack webhook URL from SSM parameter ${name}: ${err.name}${err.message && err.message !== 'UnknownError' ? ` ${err.message}` : ''}` +
          (err.name === 'ParameterNotFound'
            ? ` (create it: aws ssm put-parameter --type SecureString --name ${name} --value …)`
            : ''),
      );
    }
    if (!url) throw new Error(`SSM parameter ${name} has no value`);
    cached = { url, at: Date.now() };
    return url;
  };
};

let ready: ReturnType<typeof createNotifierHandler> | undefined;

const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  if (!ready) {
    const config = loadConfig(NotifierConfigSchema, process.env);
    ready = createNotifierHandler({
      config,
      detections: loadDetections(detectionsDirFor(config.DETECTIONS_DIR, process.env.LAMBDA_TASK_ROOT)),
      state: createDynamoState(new DynamoDBClient({}), config.STATE_TABLE),
      sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
      webhookUrl: createWebhookUrlReader(new SSMClient({}), config.SLACK_WEBHOOK_PARAMETER),
    });
  }
  return ready(event);
};

export type { NotifierDeps };
export { createNotifierHandler, createWebhookUrlReader, handler };
