import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { replaceNonXmlChars } from '../core/render/text.js';
import { sdk } from './aws-clients.js';
import { logger } from './logger.js';

/** @aws-sdk/client-sqs, imported on first use rather than at module load (io/aws-clients.ts, "Loading"). */

/**
 * SQS's longest visibility timeout: 12 hours, in seconds.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
 */
const MAX_VISIBILITY_SECONDS = 43_200;

/** The longest a message attribute of ours gets: a reason is for people, and SQS counts attributes in the size. */
const MAX_REASON_CHARS = 1000;

/**
 * Moves a message to a dead-letter queue we write ourselves (the Slack DLQ, the digest DLQ): the body unchanged, the
 * reason (≤ 1,000 characters, with any character SQS refuses replaced: a JSON parser's message may quote the bad
 * body), the receive count and, for Slack, Slack's HTTP status as message attributes. `what` names the message in
 * the error log ("Slack message", "digest timer"). Rejects when SQS does.
 *
 * @example
 * import { SQSClient } from '@aws-sdk/client-sqs';
 * import type { SQSRecord } from 'aws-lambda';
 *
 * declare const record: SQSRecord;
 * const deadLetter = createDeadLetters(new SQSClient({}), 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-slack-dlq', 'Slack message');
 * await deadLetter(record, 'Slack answered 410 channel_is_archived', 410);
 */
const createDeadLetters =
  (client: SQSClient, deadLetterQueueUrl: string, what: string) =>
  async (record: SQSRecord, reason: string, statusCode?: number): Promise<void> => {
    const shown = replaceNonXmlChars(reason.slice(0, MAX_REASON_CHARS)) || 'unknown';
    await client.send(
      new (await sdk.sqs()).SendMessageCommand({
        QueueUrl: deadLetterQueueUrl,
        MessageBody: record.body,
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: shown },
          receiveCount: { DataType: 'Number', StringValue: record.attributes.ApproximateReceiveCount || '1' },
          ...(statusCode ? { statusCode: { DataType: 'Number', StringValue: String(statusCode) } } : {}),
        },
      }),
    );
    logger.error(`${what} dead-lettered`, { messageId: record.messageId, reason: shown });
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
      new (await sdk.sqs()).ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(ms / 1000))),
      }),
    );
  };

export { createDeadLetters, createPostponer };
