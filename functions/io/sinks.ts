import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DigestSink, Sink } from '../app/ports.js';
import type { Alert } from '../core/alert-document.js';
import type { Detection } from '../core/detection.js';
import { renderDigestSns } from '../core/render/digest.js';
import { renderSnsMessage } from '../core/render/sns.js';
import { replaceNonXmlChars, toXmlSafeJson } from '../core/render/text.js';
import { sdk } from './aws-clients.js';

/** @aws-sdk/client-sns, imported on first use rather than at module load (io/aws-clients.ts, "Loading"). */

/** @aws-sdk/client-sqs, imported on first use rather than at module load (io/aws-clients.ts, "Loading"). */

/** The Slack queue a message goes to: the priority lane, or the normal one. */
type SlackLane = 'priority' | 'normal';

/**
 * Which Slack lane an alert takes: the priority lane for a root session's first alert, an escalation, and any
 * critical alert; the normal lane for the rest (an alert of no session: the state was unavailable, or sessions are
 * off). Digests always take the normal lane: they never jump ahead of a first alert or an escalation. So a high
 * alert with `session: { key, first: true }` takes 'priority', and the same alert without `session` 'normal'.
 * (Not exported: createSlackQueueSink is how it is used.)
 */
const slackLaneOf = (alert: Alert): SlackLane =>
  alert.severity === 'critical' || alert.session?.first === true || alert.session?.escalation !== undefined
    ? 'priority'
    : 'normal';

/**
 * The SNS topic: e-mail subscribers get the text, JSON subscribers the document, filtered by attributes
 * (render/sns.ts writes both as text SNS and its SQS subscribers accept). A digest goes the same way
 * (render/digest.ts: the digest e-mail and document, with the attribute `document: digest`).
 */
const createSnsSink = (client: SNSClient, topicArn: string, detections: readonly Detection[]): Sink & DigestSink => ({
  name: 'sns',
  async send(alert) {
    await client.send(
      new (await sdk.sns()).PublishCommand({ TopicArn: topicArn, ...renderSnsMessage(alert, detections) }),
    );
  },
  async sendDigest(digest) {
    await client.send(
      new (await sdk.sns()).PublishCommand({ TopicArn: topicArn, ...renderDigestSns(digest, detections) }),
    );
  },
});

/**
 * The Slack queues: the notifier posts from them at Slack's pace, so a burst or a Slack outage never holds up SNS.
 * The message is the alert (or digest) document, as JSON SQS accepts: a character SQS refuses (U+FFFF in a user
 * agent) is written as a JSON escape, so the document parses back unchanged (render/text.ts). With
 * `priorityQueueUrl`, an alert goes to the lane slackLaneOf picks; without it, everything to `queueUrl`. Either lane
 * counts as one destination, "slack-queue": an alert is queued once, in one lane.
 */
const createSlackQueueSink = (client: SQSClient, queueUrl: string, priorityQueueUrl?: string): Sink & DigestSink => ({
  name: 'slack-queue',
  async send(alert) {
    const lane = priorityQueueUrl === undefined ? 'normal' : slackLaneOf(alert);
    await client.send(
      new (await sdk.sqs()).SendMessageCommand({
        QueueUrl: lane === 'priority' && priorityQueueUrl !== undefined ? priorityQueueUrl : queueUrl,
        MessageBody: toXmlSafeJson(alert),
        MessageAttributes: {
          eventID: { DataType: 'String', StringValue: replaceNonXmlChars(alert.eventID) || 'unknown' },
          severity: { DataType: 'String', StringValue: alert.severity },
        },
      }),
    );
  },
  async sendDigest(digest) {
    await client.send(
      new (await sdk.sqs()).SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: toXmlSafeJson(digest),
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'digest' },
          digestID: { DataType: 'String', StringValue: digest.digestID },
          severity: { DataType: 'String', StringValue: digest.severity },
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
  /** The priority lane's queue; without it, every alert takes the normal lane (as before the lanes). */
  slackPriorityQueueUrl?: string;
  detections: readonly Detection[];
}

/**
 * The alert function's (and the digest function's) destinations, in the order they are tried: the SNS topic, then
 * the Slack queues. Each takes alerts and digests.
 *
 * @example
 * import { SNSClient } from '@aws-sdk/client-sns';
 * import { SQSClient } from '@aws-sdk/client-sqs';
 * import { loadDetections } from './detections.js';
 *
 * const sinks = createSinks({
 *   sns: new SNSClient({}),
 *   topicArn: 'arn:aws:sns:us-east-1:111122223333:rootwatch-prod-alerts',
 *   sqs: new SQSClient({}),
 *   slackQueueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-slack',
 *   slackPriorityQueueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-slack-priority',
 *   detections: loadDetections(),
 * });
 * sinks.map((sink) => sink.name); // ['sns', 'slack-queue']
 */
const createSinks = (clients: SinkClients): (Sink & DigestSink)[] => [
  createSnsSink(clients.sns, clients.topicArn, clients.detections),
  createSlackQueueSink(clients.sqs, clients.slackQueueUrl, clients.slackPriorityQueueUrl),
];

export { createSinks, createSlackQueueSink, createSnsSink };
