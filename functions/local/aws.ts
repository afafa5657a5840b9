// Local stand-ins for AWS (fauxqs for SNS and SQS, dynalite for DynamoDB) for `npm start` and the tests.
// Development dependencies only: the Lambda bundles never import this file.
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import dynalite from 'dynalite';
import { startFauxqs } from 'fauxqs';
import { listenOnLoopback } from './http.js';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * Real servers that speak the AWS wire protocols on loopback: fauxqs (SNS and SQS) and dynalite
 * (DynamoDB), with rootwatch's topic, queues and state table created, and SDK clients pointed at them.
 */
const startLocalAws = async (name = 'rootwatch-test') => {
  const fauxqs = await startFauxqs({ port: 0, logger: false });
  const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const { origin: dynamoEndpoint, close: closeDynamo } = await listenOnLoopback(dynamo);

  const base = { region: REGION, credentials: CREDENTIALS };
  const sns = new SNSClient({ ...base, endpoint: fauxqs.address });
  const sqs = new SQSClient({ ...base, endpoint: fauxqs.address });
  const dynamodb = new DynamoDBClient({ ...base, endpoint: dynamoEndpoint });

  const queue = async (queueName: string) => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queueName }));
    const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    return { url: QueueUrl as string, arn: attributes.Attributes?.QueueArn as string };
  };

  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: `${name}-alerts` }));
  const topicArn = TopicArn as string;
  // Stands for the topic's subscribers: what SNS publishes lands here.
  const subscriber = await queue(`${name}-alerts-subscriber`);
  await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: subscriber.arn }));
  const slackQueue = await queue(`${name}-slack`);
  const slackPriorityQueue = await queue(`${name}-slack-priority`);
  const slackDlq = await queue(`${name}-slack-dlq`);
  // The fold timer and its DLQ (resources/alerting.yml: DigestQueue, DigestDeadLetterQueue).
  const digestQueue = await queue(`${name}-digest`);
  const digestDlq = await queue(`${name}-digest-dlq`);

  const tableName = `${name}-state`;
  await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await dynamodb
    .send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      }),
    )
    .catch(() => undefined); // dynalite does not implement TTL; the attribute is still written

  /** Receives (and deletes) everything currently in a queue. */
  const drain = async (queueUrl: string): Promise<Message[]> => {
    const all: Message[] = [];
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) return all;
      for (const message of Messages) {
        all.push(message);
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
    }
  };

  return {
    sns,
    sqs,
    dynamodb,
    topicArn,
    subscriberQueueUrl: subscriber.url,
    slackQueueUrl: slackQueue.url,
    slackQueueArn: slackQueue.arn,
    slackPriorityQueueUrl: slackPriorityQueue.url,
    slackPriorityQueueArn: slackPriorityQueue.arn,
    slackDlqUrl: slackDlq.url,
    digestQueueUrl: digestQueue.url,
    digestQueueArn: digestQueue.arn,
    digestDlqUrl: digestDlq.url,
    tableName,
    endpoints: { fauxqs: fauxqs.address, dynamodb: dynamoEndpoint },
    drain,
    async stop() {
      sns.destroy();
      sqs.destroy();
      dynamodb.destroy();
      await fauxqs.stop();
      await closeDynamo();
    },
  };
};

/**
 * SQS messages as the Lambda event source mapping hands them to a function: the receive count given (the
 * notifier's backoff grows with it), and when each was sent: `sentTimestamp` (epoch ms) when given, else as SQS
 * recorded it (ReceiveMessage with the SentTimestamp system attribute, as `drain` asks), else now. `queueArn` is the
 * queue they came from (eventSourceARN: the notifier tells its lanes apart by it); default the Slack queue's.
 */
const sqsEventOf = (
  messages: Message[],
  receiveCount = 1,
  sentTimestamp?: number,
  queueArn = 'arn:aws:sqs:us-east-1:000000000000:rootwatch-local-slack',
): SQSEvent => ({
  Records: messages.map((message) => ({
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(sentTimestamp ?? (Number(message.Attributes?.SentTimestamp) || Date.now())),
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  })),
});

/** What SNS published, as a subscribed queue receives it (fauxqs passes the JSON structure through). */
const publishedOf = (message: Message) => {
  const notification = JSON.parse(message.Body ?? '{}') as {
    Subject?: string;
    Message: string;
    MessageAttributes: Record<string, { Type: string; Value: string }>;
  };
  return { ...notification, structure: JSON.parse(notification.Message) as Record<string, string> };
};

/**
 * The environment the deployed functions would have on local AWS, as Lambda gives it to them: credentials and
 * SDK endpoints (fauxqs, dynalite, `ssmEndpoint` for the webhook parameter; Organizations and IAM pointed at a closed
 * local port, so nothing leaves this machine) and the variables serverless.yml sets. `extra` adds or overrides.
 */
const deployedEnvironment = (
  aws: LocalAws,
  ssmEndpoint: string,
  extra: Record<string, string> = {},
): Record<string, string> => ({
  AWS_REGION: REGION,
  AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  AWS_ENDPOINT_URL_SNS: aws.endpoints.fauxqs,
  AWS_ENDPOINT_URL_SQS: aws.endpoints.fauxqs,
  AWS_ENDPOINT_URL_DYNAMODB: aws.endpoints.dynamodb,
  AWS_ENDPOINT_URL_SSM: ssmEndpoint,
  AWS_ENDPOINT_URL_ORGANIZATIONS: 'http://127.0.0.1:9',
  AWS_ENDPOINT_URL_IAM: 'http://127.0.0.1:9',
  ALERT_TOPIC_ARN: aws.topicArn,
  SLACK_QUEUE_URL: aws.slackQueueUrl,
  SLACK_PRIORITY_QUEUE_URL: aws.slackPriorityQueueUrl,
  SLACK_DLQ_URL: aws.slackDlqUrl,
  DIGEST_QUEUE_URL: aws.digestQueueUrl,
  DIGEST_DLQ_URL: aws.digestDlqUrl,
  STATE_TABLE: aws.tableName,
  SLACK_MIN_INTERVAL_MS: '0',
  ...extra,
});

type LocalAws = Awaited<ReturnType<typeof startLocalAws>>;

export type { LocalAws };
export { CREDENTIALS, deployedEnvironment, publishedOf, sqsEventOf, startLocalAws };
