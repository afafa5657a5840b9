import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { logger } from './logger.js';

/** SQS's longest visibility timeout: 12 hours, in seconds (ChangeMessageVisibility). */
const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * Moves a Slack queue message to the Slack DLQ: the body unchanged, the reason (≤ 1,000 characters),
 * the receive count and Slack's status as message attributes. Rejects when SQS does.
 */
const createSlackDeadLetters =
  (client: SQSClient, deadLetterQueueUrl: string) =>
  async (record: SQSRecord, reason: string, statusCode?: number): Promise<void> => {
    await client.send(
      new SendMessageCommand({
        QueueUrl: deadLetterQueueUrl,
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

/**
 * Hides a message received from `queueUrl` for `ms` (rounded up to whole seconds, at most 12 hours),
 * so that it comes back when Slack's Retry-After said. Rejects when SQS does.
 */
const createPostponer =
  (client: SQSClient, queueUrl: string) =>
  async (record: SQSRecord, ms: number): Promise<void> => {
    await client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, Math.max(1, Math.ceil(ms / 1000))),
      }),
    );
  };

export { createPostponer, createSlackDeadLetters };
