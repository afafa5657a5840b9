import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Sink } from '../app/ports.js';
import type { Detection } from '../core/detection.js';
import { renderSnsMessage } from '../core/render/sns.js';
import { replaceNonXmlChars, toXmlSafeJson } from '../core/render/text.js';

/**
 * The SNS topic: e-mail subscribers get the text, JSON subscribers the document, filtered by attributes
 * (render/sns.ts writes both as text SNS and its SQS subscribers accept).
 */
const createSnsSink = (client: SNSClient, topicArn: string, detections: readonly Detection[]): Sink => ({
  name: 'sns',
  async send(alert) {
    await client.send(new PublishCommand({ TopicArn: topicArn, ...renderSnsMessage(alert, detections) }));
  },
});

/**
 * The Slack queue: the notifier posts from it at Slack's pace, so a burst or a Slack outage never
 * holds up SNS. The message is the alert document, as JSON SQS accepts: a character SQS refuses (U+FFFF
 * in a user agent) is written as a JSON escape, so the document parses back unchanged (render/text.ts).
 */
const createSlackQueueSink = (client: SQSClient, queueUrl: string): Sink => ({
  name: 'slack-queue',
  async send(alert) {
    await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: toXmlSafeJson(alert),
        MessageAttributes: {
          eventID: { DataType: 'String', StringValue: replaceNonXmlChars(alert.eventID) || 'unknown' },
          severity: { DataType: 'String', StringValue: alert.severity },
        },
      }),
    );
  },
});

interface SinkClients {
  sns: SNSClient;
  topicArn: string;
  sqs: SQSClient;
  slackQueueUrl: string;
  detections: readonly Detection[];
}

/** The alert function's destinations, in the order they are tried: the SNS topic, then the Slack queue. */
const createSinks = (clients: SinkClients): Sink[] => [
  createSnsSink(clients.sns, clients.topicArn, clients.detections),
  createSlackQueueSink(clients.sqs, clients.slackQueueUrl),
];

export { createSinks, createSlackQueueSink, createSnsSink };
