import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { replaceNonXmlChars } from '../core/render/text.js';
import { logger } from './logger.js';

/**
 * SQS's longest visibility timeout: 12 hours, in seconds.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
 */
const MAX_VISIBILITY_SECONDS = 43_200;

/** The longest a message attribute of ours gets: a reason is for people, and SQS counts attributes in the size. */
const MAX_REASON_CHARS = 1000;

/**
 * Moves a Slack queue message to the Slack DLQ: the body unchanged, the reason (≤ 1,000 characters, with any
 * character SQS refuses replaced: a JSON parser's message may quote the bad body), the receive count and
 * Slack's status as message attributes. Rejects when SQS does.
 *
 * @example
 * import { SQSClient } from '@aws-sdk/client-sqs';
 * import type { SQSRecord } from 'aws-lambda';
 *
 * declare const record: SQSRecord;
 * const deadLetter = createSlackDeadLetters(new SQSClient({}), 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-slack-dlq');
 * await deadLetter(record, 'Slack answered 410 channel_is_archived', 410);
 */
const createSlackDeadLetters =
  (client: SQSClient, deadLetterQueueUrl: string) =>
  async (record: SQSRecord, reason: string, statusCode?: number): Promise<void> => {
    const shown = replaceNonXmlChars(reason.slice(0, MAX_REASON_CHARS)) || 'unknown';
    await client.send(
      new SendMessageCommand({
        QueueUrl: deadLetterQueueUrl,
        MessageBody: record.body,
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: shown },
          receiveCount: { DataType: 'Number', StringValue: record.attributes.ApproximateReceiveCount || '1' },
          ...(statusCode ? { statusCode: { DataType: 'Number', StringValue: String(statusCode) } } : {}),
        },
      }),
    );
    logger.error('Slack message dead-lettered', { messageId: record.messageId, reason: shown });
  };

/**
 * Sets how long a message received from `queueUrl` stays hidden, counted from now: `ms` rounded up to whole
 * seconds, at most 12 hours; 0 makes it visible at once. So a message comes back when Slack's Retry-After
 * says, after a backoff, or right away when the notifier ran out of time before trying it. Rejects when SQS does.
 *
 * @example
 * import { SQSClient } from '@aws-sdk/client-sqs';
 * import type { SQSRecord } from 'aws-lambda';
 *
 * declare const record: SQSRecord;
 * const postpone = createPostponer(new SQSClient({}), 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-slack');
 * await postpone(record, 120_000); // back on the queue in two minutes
 */
const createPostponer =
  (client: SQSClient, queueUrl: string) =>
  async (record: SQSRecord, ms: number): Promise<void> => {
    await client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(ms / 1000))),
      }),
    );
  };

export { createPostponer, createSlackDeadLetters };
