/**
 * The Slack notifier's fault matrix: each way Slack, the webhook parameter, a message or the queue can fail, and
 * what becomes of the message. Real servers on loopback through the real SDK clients: fauxqs (SQS, SNS), dynalite
 * (DynamoDB), a Slack webhook server and an SSM server; the messages are received from the Slack queue as the
 * event source mapping receives them, so postponing (ChangeMessageVisibility) acts on the real queue.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HealthMetrics, StateOperation } from '../../functions/app/ports.js';
import type { SlackNotifierPorts } from '../../functions/app/slack-notifier.js';
import { isXmlChar } from '../../functions/core/render/text.js';
import { ConfigError } from '../../functions/errors.js';
import { createDeadLetters, createPostponer } from '../../functions/io/slack-queue.js';
import type { PostOptions } from '../../functions/io/slack-webhook.js';
import { createLocalNotifier } from '../../functions/local/alerter.js';
import { type LocalAws, startLocalAws } from '../../functions/local/aws.js';
import { type SlackReply, type SlackServer, startSlackServer } from '../../functions/local/slack-server.js';
import { alertHandlerFor, detections, envelopeOf, publishedOf, sqsEventOf } from '../helpers/pipeline.js';
import { readSample } from '../helpers/samples.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** What the notifier keeps back from the Lambda's remaining time for its SQS calls (app/slack-notifier.ts). */
const RESERVE_MS = 10_000;

let aws: LocalAws;
let slack: SlackServer;
let ssm: Server;
let closedPortUrl: string;
let run = 0;
let ssmAnswer: () => { status: number; body: unknown } = () => ({ status: 200, body: {} });

/** A local server speaking SSM's JSON protocol, for GetParameter. */
const startSsm = async () => {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const { status, body } = ssmAnswer();
      const type = (body as { __type?: string }).__type;
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        ...(type ? { 'x-amzn-errortype': type } : {}),
      });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return server;
};

/** A webhook URL on a port nobody listens on: the connection is refused. */
const closedWebhookUrl = async (): Promise<string> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/services/T000/B000/closedsecret`;
};

/** The alerts each test queued, by eventID: a message an earlier test postponed may come back during a later one. */
const mine = new Set<string>();
const eventIdOf = (message: Message): string => {
  try {
    return String((JSON.parse(message.Body ?? '{}') as { eventID?: unknown }).eventID);
  } catch {
    return '';
  }
};

/**
 * This test's messages now visible on the Slack queue, received for 1 s as the event source mapping receives them
 * (so one left alone comes back soon); any other test's message that came back is deleted.
 */
const receiveMine = async (): Promise<Message[]> => {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: aws.slackQueueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 1,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return all;
    for (const message of Messages) {
      if (mine.has(eventIdOf(message))) all.push(message);
      else
        await aws.sqs.send(
          new DeleteMessageCommand({ QueueUrl: aws.slackQueueUrl, ReceiptHandle: message.ReceiptHandle }),
        );
    }
  }
};

/** Queues alerts through the alert pipeline, then receives them as the event source mapping does (in flight). */
const receiveAlerts = async (count: number): Promise<Message[]> => {
  const handler = alertHandlerFor(aws);
  for (let i = 0; i < count; i += 1) {
    run += 1;
    const record = readSample('root-console-sign-in-no-mfa.json');
    const eventID = `${String(record.eventID)}-fault-${run}`;
    mine.add(eventID);
    await handler(envelopeOf({ ...record, eventID }), { awsRequestId: `req-${run}` });
  }
  await aws.drain(aws.subscriberQueueUrl);
  return receiveMine();
};

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A message that is not an alert: its body replaced, its receipt kept. */
const withBody = (message: Message | undefined, Body: string): Message => ({ ...message, Body });

/** What the notifier did, as the queues and the webhook saw it. */
interface Observed {
  failures: number;
  postponedMs: number[];
  deadLetters: Array<{ reason: string; statusCode?: string }>;
  slackRequests: number;
  slept: number[];
  elapsedMs: number;
  stateUnavailable: StateOperation[];
}

interface MatrixCase {
  case: string;
  outcome: string;
  /** Slack's answers, in order (then 200). */
  slack?: SlackReply[];
  /** Post to a port that refuses connections instead of the Slack server. */
  refused?: boolean;
  /** The messages of the batch: alerts by default. */
  messages?: () => Promise<Message[]>;
  receiveCount?: number;
  /** How long ago the messages were sent. */
  sentAgoMs?: number;
  /** The Lambda's remaining time. */
  remainingMs?: number;
  postOptions?: Partial<PostOptions>;
  overrides?: (ports: { deadLetter: SlackNotifierPorts['deadLetter'] }) => Partial<SlackNotifierPorts>;
  expected: Partial<Omit<Observed, 'deadLetters' | 'elapsedMs'>> & {
    deadLetters?: Array<{ reason: RegExp; statusCode?: string }>;
    maxElapsedMs?: number;
  };
}

const MATRIX: MatrixCase[] = [
  {
    case: 'Slack answers 5xx',
    outcome: 'retried once in process, then left queued, hidden for the first backoff (1 min)',
    slack: [503, 503],
    expected: { failures: 1, postponedMs: [MINUTE], deadLetters: [], slackRequests: 2 },
  },
  {
    case: 'Slack times out',
    outcome: 'left queued, hidden for 1 min',
    slack: ['hang', 'hang'],
    expected: { failures: 1, postponedMs: [MINUTE], deadLetters: [], slackRequests: 2 },
  },
  {
    case: 'the connection is refused',
    outcome: 'left queued, hidden for 1 min',
    refused: true,
    expected: { failures: 1, postponedMs: [MINUTE], deadLetters: [], slackRequests: 0 },
  },
  {
    case: '429 with a short Retry-After (1 s)',
    outcome: 'waited out in process, then posted',
    slack: [{ status: 429, headers: { 'retry-after': '1' }, body: 'rate_limited' }, 200],
    expected: { failures: 0, postponedMs: [], deadLetters: [], slackRequests: 2, slept: [1000] },
  },
  {
    case: '429 with a long Retry-After (120 s)',
    outcome: 'not waited: left queued, hidden for the 120 s Slack asked',
    slack: [{ status: 429, headers: { 'retry-after': '120' }, body: 'rate_limited' }],
    expected: { failures: 1, postponedMs: [120_000], deadLetters: [], slackRequests: 1, slept: [] },
  },
  {
    case: '429 with a Retry-After (4 s) past the time the invocation has left (3 s)',
    outcome: 'not waited, so no sleep outlives the function: left queued, hidden for 4 s',
    slack: [{ status: 429, headers: { 'retry-after': '4' }, body: 'rate_limited' }],
    remainingMs: RESERVE_MS + 3_000,
    expected: { failures: 1, postponedMs: [4_000], slackRequests: 1, slept: [], maxElapsedMs: 3_000 },
  },
  ...(
    [
      [400, 'invalid_payload'],
      [404, 'no_service'],
      [410, 'channel_is_archived'],
    ] as const
  ).map(
    ([status, body]): MatrixCase => ({
      case: `Slack answers ${status} ${body}`,
      outcome: 'dead-lettered at once with its reason and status; the rest of the batch is posted',
      slack: [{ status, body }, 200],
      messages: () => receiveAlerts(2),
      expected: {
        failures: 0,
        postponedMs: [],
        deadLetters: [{ reason: new RegExp(`^Slack answered ${status} ${body}$`), statusCode: String(status) }],
        slackRequests: 2,
      },
    }),
  ),
  {
    case: 'a message that is not JSON',
    outcome: 'dead-lettered with the parser’s reason; the next message is posted',
    messages: async () => {
      const [bad, good] = await receiveAlerts(2);
      return [withBody(bad, '{"eventID": "x", oops'), ...(good ? [good] : [])];
    },
    expected: { failures: 0, deadLetters: [{ reason: /^not JSON: / }], slackRequests: 1 },
  },
  {
    case: 'a message that is not an alert document',
    outcome: 'dead-lettered with the schema’s reason; the next message is posted',
    messages: async () => {
      const [bad, good] = await receiveAlerts(2);
      return [withBody(bad, '{"hello":1}'), ...(good ? [good] : [])];
    },
    expected: { failures: 0, deadLetters: [{ reason: /^not a rootwatch alert document: schema: / }], slackRequests: 1 },
  },
  {
    case: 'a dead-letter send that fails',
    outcome: 'that message alone stays queued (a batch item failure); the next message is posted',
    messages: async () => {
      const [bad, good] = await receiveAlerts(2);
      return [withBody(bad, 'not json'), ...(good ? [good] : [])];
    },
    overrides: () => ({
      deadLetter: async () => {
        throw Object.assign(new Error('Access to the resource is denied'), { name: 'AccessDenied' });
      },
    }),
    expected: { failures: 1, deadLetters: [], slackRequests: 1 },
  },
  {
    case: 'Slack fails on the first message of three',
    outcome: 'the other two are not tried against a failing Slack: all three left queued, hidden 1 min',
    slack: [503, 503],
    messages: () => receiveAlerts(3),
    expected: { failures: 3, postponedMs: [MINUTE, MINUTE, MINUTE], deadLetters: [], slackRequests: 2 },
  },
  {
    case: 'an outage longer than the old receive budget (50th receive, queued 1 h ago)',
    outcome: 'still queued, not dead-lettered, hidden for the longest backoff (15 min)',
    slack: [503, 503],
    receiveCount: 50,
    sentAgoMs: HOUR,
    expected: { failures: 1, postponedMs: [15 * MINUTE], deadLetters: [] },
  },
  {
    case: 'an outage past the age limit (queued 25 h ago)',
    outcome: 'dead-lettered with how long it failed and why',
    slack: [503, 503],
    receiveCount: 50,
    sentAgoMs: 25 * HOUR,
    expected: {
      failures: 0,
      postponedMs: [],
      deadLetters: [{ reason: /^still failing after 25 h \(50 receives\): Slack answered 503/, statusCode: '503' }],
    },
  },
  {
    case: 'no time left in the invocation',
    outcome: 'nothing posted; every message visible again at once for the next invocation',
    messages: () => receiveAlerts(2),
    remainingMs: RESERVE_MS + 1_000,
    expected: { failures: 2, postponedMs: [0, 0], deadLetters: [], slackRequests: 0 },
  },
  {
    case: 'the state table unavailable',
    outcome: 'posted anyway (duplicates are better than silence), counted as StateUnavailable',
    overrides: () => ({
      state: {
        delivered: async () => {
          throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error', code: 'ECONNREFUSED' });
        },
        markDelivered: async () => {},
      },
    }),
    expected: { failures: 0, deadLetters: [], slackRequests: 1, stateUnavailable: ['delivered'] },
  },
];

beforeAll(async () => {
  aws = await startLocalAws('rootwatch-notifier-faults');
  slack = await startSlackServer();
  ssm = await startSsm();
  closedPortUrl = await closedWebhookUrl();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await new Promise<void>((resolve) => ssm?.close(() => resolve()));
  await slack?.close();
  await aws?.stop();
});
beforeEach(async () => {
  mine.clear();
  await aws.drain(aws.subscriberQueueUrl);
  await aws.drain(aws.slackQueueUrl);
  await aws.drain(aws.slackDlqUrl);
  slack.requests.length = 0;
  slack.setScript([]);
});

describe('the Slack notifier fault matrix', () => {
  it.each(MATRIX)('$case: $outcome', async (row) => {
    // Prepare
    slack.setScript(row.slack ?? []);
    const messages = await (row.messages ?? (() => receiveAlerts(1)))();
    const postponedMs: number[] = [];
    const slept: number[] = [];
    const stateUnavailable: StateOperation[] = [];
    const metrics: HealthMetrics = { stateUnavailable: (operation) => void stateUnavailable.push(operation) };
    const realPostpone = createPostponer(aws.sqs, aws.slackQueueUrl);
    const deadLetter = createDeadLetters(aws.sqs, aws.slackDlqUrl, 'Slack message');
    const notifier = createLocalNotifier(aws, {
      detections,
      webhookUrl: row.refused ? closedPortUrl : slack.url,
      postOptions: {
        allowInsecureLocalhost: true,
        timeoutMs: 300,
        baseDelayMs: 1,
        maxAttempts: 2,
        maxRetryAfterMs: 5_000,
        sleep: async (ms) => void slept.push(ms),
        ...row.postOptions,
      },
      overrides: {
        postpone: async (record: SQSRecord, ms: number) => {
          postponedMs.push(ms);
          await realPostpone(record, ms);
        },
        deadLetter,
        metrics,
        ...row.overrides?.({ deadLetter }),
      },
    });
    const sentAt = row.sentAgoMs === undefined ? undefined : Date.now() - row.sentAgoMs;
    const event = sqsEventOf(messages, row.receiveCount ?? 1, sentAt);
    const clock = row.remainingMs === undefined ? undefined : { getRemainingTimeInMillis: () => row.remainingMs ?? 0 };

    // Act
    const started = Date.now();
    const result = await notifier(event, clock);
    const elapsedMs = Date.now() - started;

    // Assess
    const dead = await aws.drain(aws.slackDlqUrl);
    const observed: Observed = {
      failures: result.batchItemFailures.length,
      postponedMs,
      deadLetters: dead.map((message) => ({
        reason: message.MessageAttributes?.reason?.StringValue ?? '',
        ...(message.MessageAttributes?.statusCode?.StringValue
          ? { statusCode: message.MessageAttributes.statusCode.StringValue }
          : {}),
      })),
      slackRequests: slack.requests.length,
      slept,
      elapsedMs,
      stateUnavailable,
    };
    const { deadLetters, maxElapsedMs, ...rest } = row.expected;
    expect(observed).toMatchObject(rest);
    if (deadLetters) {
      expect(observed.deadLetters).toHaveLength(deadLetters.length);
      for (const [i, want] of deadLetters.entries()) {
        expect(observed.deadLetters[i]?.reason).toMatch(want.reason);
        expect(observed.deadLetters[i]?.statusCode).toBe(want.statusCode);
      }
    }
    if (maxElapsedMs !== undefined) expect(elapsedMs).toBeLessThan(maxElapsedMs);
    expect(JSON.stringify(dead)).not.toContain(slack.url.split('/').at(-1));
  });

  it('leaves a postponed message hidden on the queue, and one there was no time for visible at once', async () => {
    // Prepare: two messages received for 1 s; Slack fails on the first.
    slack.setScript([503, 503]);
    const hidden = await receiveAlerts(1);
    const notifier = createLocalNotifier(aws, {
      detections,
      webhookUrl: slack.url,
      postOptions: { allowInsecureLocalhost: true, maxAttempts: 2, baseDelayMs: 1, sleep: async () => {} },
    });

    // Act
    await notifier(sqsEventOf(hidden));
    const soon = await receiveAlerts(1);
    await notifier(sqsEventOf(soon), { getRemainingTimeInMillis: () => RESERVE_MS + 500 });

    // Assess: after the receive's own 1 s, the postponed one is still hidden (1 min), the other is back.
    await pause(1_500);
    const visible = await receiveMine();
    expect(visible.map((message) => message.MessageId)).toEqual(soon.map((message) => message.MessageId));
  });
});

describe('the Slack notifier with U+FFFF and a lone surrogate in a user agent', () => {
  it('delivers to SNS and the Slack queue (which refuse such text), and posts to Slack', async () => {
    // Prepare: a user agent SQS and SNS would refuse, as the attacker controls it.
    const userAgent = 'curl/8.0 \uffff\ufffe\ud800 end';
    run += 1;
    const record = { ...readSample('root-console-sign-in-no-mfa.json'), eventID: `uffff-${run}`, userAgent };

    // Act
    const outcome = await alertHandlerFor(aws)(envelopeOf(record), { awsRequestId: 'req-uffff' });
    const [published] = (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf);
    const queued = await aws.drain(aws.slackQueueUrl);
    const result = await createLocalNotifier(aws, {
      detections,
      webhookUrl: slack.url,
      postOptions: { allowInsecureLocalhost: true },
    })(sqsEventOf(queued));

    // Assess
    expect(outcome).toMatchObject({ status: 'delivered', sinks: ['sns', 'slack-queue'] });
    const notAllowed = (text: string) => [...text].filter((char) => !isXmlChar(char.codePointAt(0) ?? 0));
    // The Slack queue's body, and each protocol's value once SNS has unescaped it, hold only characters SQS and SNS
    // accept (fauxqs, like SQS, refuses the rest); the document parses back with the user agent unchanged.
    expect(notAllowed(queued[0]?.Body ?? '')).toEqual([]);
    expect(JSON.parse(queued[0]?.Body ?? '{}').source.userAgent).toBe(userAgent);
    const structure = published?.structure ?? {};
    for (const value of Object.values(structure)) expect(notAllowed(value)).toEqual([]);
    expect(JSON.parse(structure.sqs ?? '{}').source.userAgent).toBe(userAgent);
    expect(structure.email).toContain('curl/8.0 \ufffd\ufffd\ufffd end');
    // Slack gets the message, the characters replaced where it shows them.
    expect(result.batchItemFailures).toEqual([]);
    expect(slack.requests).toHaveLength(1);
    expect(JSON.stringify(slack.requests[0]?.body)).toContain('curl/8.0 \ufffd\ufffd\ufffd end');
  });
});

describe('the deployed Slack notifier with its webhook parameter', () => {
  const context = {
    awsRequestId: 'req-notifier',
    functionName: 'rootwatch-test-notify-slack',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:rootwatch-test-notify-slack',
    getRemainingTimeInMillis: () => 60_000,
  } as unknown as Context;

  beforeAll(() => {
    const env: Record<string, string> = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_SQS: aws.endpoints.fauxqs,
      AWS_ENDPOINT_URL_DYNAMODB: aws.endpoints.dynamodb,
      AWS_ENDPOINT_URL_SSM: `http://127.0.0.1:${(ssm.address() as AddressInfo).port}`,
      SLACK_WEBHOOK_PARAMETER: '/rootwatch/test/slack-webhook-url',
      SLACK_QUEUE_URL: aws.slackQueueUrl,
      SLACK_DLQ_URL: aws.slackDlqUrl,
      STATE_TABLE: aws.tableName,
      SLACK_MIN_INTERVAL_MS: '0',
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  });

  it.each([
    {
      case: 'missing',
      answer: { status: 400, body: { __type: 'ParameterNotFound', message: '' } },
      error: /ParameterNotFound \(create it: aws ssm put-parameter/,
    },
    {
      case: 'access denied',
      answer: {
        status: 400,
        body: { __type: 'AccessDeniedException', message: 'User is not authorized to perform: ssm:GetParameter' },
      },
      error: /AccessDeniedException User is not authorized/,
    },
    {
      case: 'empty',
      answer: { status: 200, body: { Parameter: { Name: '/rootwatch/test/slack-webhook-url', Value: '' } } },
      error: /has no value/,
    },
  ])(
    'fails the invocation when the parameter is $case (the Errors alarm), posting and dead-lettering nothing',
    async ({ answer, error }) => {
      // Prepare
      ssmAnswer = () => answer;
      const messages = await receiveAlerts(1);
      const { handler } = await import('../../functions/notify-slack.js');

      // Act
      const failure = await handler(sqsEventOf(messages), context).catch((e: unknown) => e);

      // Assess: the invocation fails with the parameter named; the message is neither posted nor dead-lettered,
      // and comes back on the queue once its visibility (1 s here, 6 minutes deployed) runs out.
      expect(failure).toBeInstanceOf(ConfigError);
      expect((failure as Error).message).toMatch(/\/rootwatch\/test\/slack-webhook-url/);
      expect((failure as Error).message).toMatch(error);
      expect(slack.requests).toHaveLength(0);
      expect(await aws.drain(aws.slackDlqUrl)).toHaveLength(0);
      await pause(1_200);
      expect((await receiveMine()).map((message) => message.MessageId)).toEqual(messages.map((m) => m.MessageId));
    },
  );
});
