import type { SQSClient } from '@aws-sdk/client-sqs';
import type { FoldTimer, FoldTimerMessage } from '../app/ports.js';
import { sdk } from './aws-clients.js';
import { createDeadLetters } from './slack-queue.js';

/** @aws-sdk/client-sqs, imported on first use rather than at module load (io/aws-clients.ts, "Loading"). */

/**
 * SQS's longest per-message delay: "Valid values: 0 to 900. Maximum: 15 minutes."
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html (DelaySeconds)
 */
const MAX_DELAY_SECONDS = 900;

/**
 * The fold timer on the digest queue: `schedule(foldId, delayMs)` sends `{"foldId": …}` (FoldTimerMessage) with
 * DelaySeconds = `delayMs` rounded up to whole seconds, at most 900 (SQS's maximum; FOLD_WINDOW_MS is 300 s), so the
 * digest function receives it when the fold is due, whatever else happens. Rejects when SQS does (the alert function
 * then fails the event, and Lambda's retry sets the timer again: a fold is never left without one).
 *
 * @example
 * import { SQSClient } from '@aws-sdk/client-sqs';
 *
 * const timer = createFoldTimer(new SQSClient({}), 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-digest');
 * await timer.schedule('111122223333#key#ASIAIOSFODNN7EXAMPLE#1', 300_000); // delivered in 5 minutes
 */
const createFoldTimer = (client: SQSClient, queueUrl: string): FoldTimer => ({
  async schedule(foldId, delayMs) {
    const message: FoldTimerMessage = { foldId };
    await client.send(
      new (await sdk.sqs()).SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(message),
        DelaySeconds: Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(delayMs / 1000))),
      }),
    );
  },
});

/**
 * Moves a fold timer message to the digest DLQ (io/slack-queue.ts, createDeadLetters): the body unchanged
 * (`{"foldId": …}`: send it back to the digest queue to try again; the fold stays in the state table 15 days), the
 * reason and the receive count as message attributes. Rejects when SQS does.
 *
 * @example
 * import { SQSClient } from '@aws-sdk/client-sqs';
 * import type { SQSRecord } from 'aws-lambda';
 *
 * declare const record: SQSRecord;
 * const deadLetter = createDigestDeadLetters(new SQSClient({}), 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-digest-dlq');
 * await deadLetter(record, 'Delivery failed for sns (…)');
 */
const createDigestDeadLetters = (client: SQSClient, deadLetterQueueUrl: string) =>
  createDeadLetters(client, deadLetterQueueUrl, 'fold timer');

export { createDigestDeadLetters, createFoldTimer };
