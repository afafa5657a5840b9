import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { HeartbeatRelayPorts } from '../app/heartbeat.js';
import { HEARTBEAT_ATTRIBUTE } from '../core/heartbeat.js';
import { sdk } from './aws-clients.js';

/** @aws-sdk/client-sns, imported on first use rather than at module load (io/aws-clients.ts, "Loading"). */

/** @aws-sdk/client-sqs, imported on first use rather than at module load (io/aws-clients.ts, "Loading"). */

interface HeartbeatSinkClients {
  sns: SNSClient;
  topicArn: string;
  sqs: SQSClient;
  slackQueueUrl: string;
}

/** `kind: heartbeat`, as SNS and SQS message attributes: what filter policies and readers key on. */
const KIND = { [HEARTBEAT_ATTRIBUTE.name]: { DataType: 'String', StringValue: HEARTBEAT_ATTRIBUTE.value } };

/**
 * Where the alert function sends a heartbeat: the alert topic and the Slack queue, the very destinations of an
 * alert, so that a heartbeat proves the function may publish to the KMS-encrypted topic and send to the queue.
 * Both messages are the heartbeat as JSON with the attribute `kind: heartbeat`: the e-mail subscriptions'
 * filter policies drop it (resources/parameters.cjs), a JSON subscriber can drop it with
 * `{"kind": [{"exists": false}]}`, and the notifier reads it and posts nothing.
 *
 * @example
 * import { SNSClient } from '@aws-sdk/client-sns';
 * import { SQSClient } from '@aws-sdk/client-sqs';
 *
 * const sinks = createHeartbeatSinks({
 *   sns: new SNSClient({}),
 *   topicArn: 'arn:aws:sns:us-east-1:111122223333:rootwatch-prod-alerts',
 *   sqs: new SQSClient({}),
 *   slackQueueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-slack',
 * });
 */
const createHeartbeatSinks = (clients: HeartbeatSinkClients): Pick<HeartbeatRelayPorts, 'publish' | 'queue'> => ({
  async publish(heartbeat) {
    await clients.sns.send(
      new (await sdk.sns()).PublishCommand({
        TopicArn: clients.topicArn,
        Subject: 'rootwatch heartbeat',
        Message: JSON.stringify(heartbeat),
        MessageAttributes: KIND,
      }),
    );
  },
  async queue(heartbeat) {
    await clients.sqs.send(
      new (await sdk.sqs()).SendMessageCommand({
        QueueUrl: clients.slackQueueUrl,
        MessageBody: JSON.stringify(heartbeat),
        MessageAttributes: KIND,
      }),
    );
  },
});

export { createHeartbeatSinks };
