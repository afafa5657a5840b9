/**
 * The fault matrix of the whole pipeline: every way a dependency or an input can fail, and what becomes of the
 * alert. One table is the index: each row names the fault, the documented outcome, the deeper tests elsewhere
 * that cover it (checked to exist), and asserts the outcome here end to end:
 * - the deployed alert handler (functions/alert.ts) configured by its environment alone, as production.test.ts runs
 *   it, with a failing service put behind the SDK's own endpoint variable (AWS_ENDPOINT_URL_SNS, …): a local
 *   server answering as the AWS service does when it throttles, fails or denies, or a closed port;
 * - the Slack notifier as the deployed one builds it (functions/local/alerter.ts; the deployed handler posts only to
 *   https://hooks.slack.com), against the local Slack webhook scripted to fail;
 * - the alert pipeline on local AWS where only a port can carry the fault (the IP databases' paths).
 * Real servers on loopback throughout: fauxqs (SNS, SQS), dynalite (DynamoDB), the Slack webhook, the fault servers.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AlertOutcome } from '../../functions/app/alert-pipeline.js';
import { createEnricher } from '../../functions/app/enrich.js';
import { createAccountNames } from '../../functions/io/accounts.js';
import { DELIVERY_BUDGET } from '../../functions/io/aws-clients.js';
import { createGeoLookup } from '../../functions/io/ip/geo-lookup.js';
import { createPostponer } from '../../functions/io/slack-queue.js';
import { createLocalNotifier } from '../../functions/local/alerter.js';
import { deployedEnvironment, type LocalAws, startLocalAws } from '../../functions/local/aws.js';
import { type SlackReply, type SlackServer, startSlackServer } from '../../functions/local/slack-server.js';
import { REPO_ROOT } from '../helpers/corpus.js';
import { type AwsFault, closedEndpoint, startAwsFaultServer } from '../helpers/fault-servers.js';
import { alertHandlerFor, detections, envelopeOf, publishedOf, sqsEventOf } from '../helpers/pipeline.js';
import { readSample } from '../helpers/samples.js';

const MINUTE = 60_000;
/** The function ARN's account is the one whose IAM alias the deployed handler looks up (its own). */
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:111122223333:function:rootwatch-test-alert';

let aws: LocalAws;
let slack: SlackServer;
let refusedWebhookUrl: string;
let run = 0;

/** Each row's events happen this long after the last row's: more than a root session's idle hour (core/session.ts). */
const ROW_APART_MS = 2 * 3_600_000;

/**
 * A sample with an eventID of its own (the state table outlives a row) and an eventTime of its own, two hours after
 * the previous row's: each row's event opens a root session of its own, so it alerts at once instead of being folded
 * into an earlier row's session.
 */
const fresh = (fixture: string, extra: Record<string, unknown> = {}): Record<string, unknown> & { eventID: string } => {
  run += 1;
  const record = readSample(fixture);
  const eventTime = new Date(Date.UTC(2025, 0, 1) + run * ROW_APART_MS).toISOString().replace('.000Z', 'Z');
  return { ...record, eventID: `${String(record.eventID)}-matrix-${run}`, eventTime, ...extra };
};

/** An ISO 8601 event time `ms` after `time`, as CloudTrail writes it. */
const later = (time: unknown, ms: number): string =>
  new Date(Date.parse(String(time)) + ms).toISOString().replace('.000Z', 'Z');

/** The Lambda context the handler reads: its request id (a retry of an async invocation keeps it) and ARN. */
const lambdaContext = (awsRequestId = `req-${++run}`) =>
  ({
    awsRequestId,
    invokedFunctionArn: FUNCTION_ARN,
    functionName: 'rootwatch-test-alert',
    getRemainingTimeInMillis: () => 30_000,
  }) as unknown as Context;

type DeployedHandler = (event: unknown, context: Context) => Promise<unknown>;

/**
 * The deployed alert handler, loaded afresh with the environment of a deployment on local AWS plus `overrides`:
 * it builds its clients and pipeline once per module, so a fault in its environment needs a module of its own.
 * Its errors module comes from the same load, for instanceof checks against AlerterError.
 */
const deployedAlert = async (overrides: Record<string, string> = {}) => {
  vi.unstubAllEnvs();
  const env = deployedEnvironment(aws, await closedEndpoint(), {
    ACCOUNT_NAMES: '{"111122223333":"prod-payments"}',
    ACCOUNT_LOOKUP: 'none',
    ROOTWATCH_STAGE: 'test',
    ...overrides,
  });
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  vi.resetModules();
  const { handler } = await import('../../functions/alert.js');
  const errors = await import('../../functions/errors.js');
  return { handler: handler as DeployedHandler, errors };
};

/** The alert documents SNS delivered (the topic's SQS subscriber) for these events, in order. */
const publishedFor = async (...eventIds: string[]) =>
  (await aws.drain(aws.subscriberQueueUrl))
    .map(publishedOf)
    .filter((message) => eventIds.includes(JSON.parse(message.structure.sqs ?? '{}').eventID));

const eventIdOf = (message: Message): string => {
  try {
    return String((JSON.parse(message.Body ?? '{}') as { eventID?: unknown }).eventID);
  } catch {
    return '';
  }
};

/** The Slack queues, both lanes: first alerts of a session, escalations and critical alerts take the priority lane. */
const slackQueues = () => [aws.slackQueueUrl, aws.slackPriorityQueueUrl];
/** The queue each received message came from, by MessageId: postponing and deleting act on that queue. */
const queueOf = new Map<string, string>();

/**
 * The Slack queues' messages for these events, received as the event source mapping receives them (left on the
 * queue, hidden for 30 s), so that postponing acts on the real queue. Anything else still there (a message an earlier
 * row postponed, come back) is deleted.
 */
const receiveQueued = async (...eventIds: string[]): Promise<Message[]> => {
  const mine: Message[] = [];
  for (const queueUrl of slackQueues()) {
    for (;;) {
      const { Messages = [] } = await aws.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 30,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) break;
      for (const message of Messages) {
        queueOf.set(message.MessageId ?? '', queueUrl);
        if (eventIds.includes(eventIdOf(message))) mine.push(message);
        else await aws.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
    }
  }
  return mine;
};

/** Deletes received messages (a row's cleanup: a postponed message must not come back during a later row). */
const forget = async (messages: Message[]) => {
  for (const message of messages) {
    await aws.sqs
      .send(
        new DeleteMessageCommand({
          QueueUrl: queueOf.get(message.MessageId ?? '') ?? aws.slackQueueUrl,
          ReceiptHandle: message.ReceiptHandle,
        }),
      )
      .catch(() => undefined);
  }
};

/** What the Slack notifier did with a batch, as the queues and the webhook saw it. */
interface Notified {
  /** Messages left on the queue (the batch response's item failures). */
  failures: number;
  /** How long each message left on the queue was hidden for (ChangeMessageVisibility), in ms. */
  postponedMs: number[];
  /** The waits the notifier slept in process (a short Retry-After), in ms. */
  slept: number[];
  /** What went to the Slack DLQ: the reason and Slack's status. */
  deadLetters: Array<{ eventID: string; reason: string; statusCode?: string }>;
  /** The posts Slack received. */
  posts: unknown[];
}

/** How the local Slack fails besides its scripted answers: it refuses connections, or is given a short timeout. */
interface SlackConnection {
  refused?: boolean;
  /** Each request's timeout, in ms: short only where Slack is made to hang, so a busy machine's answer is never late. */
  timeoutMs?: number;
}

/**
 * The Slack notifier, as deployed, over `messages`: Slack answers from `script` (or the connection is refused),
 * with quick in-process retries (2 attempts) and a 5 s cap on a Retry-After waited out.
 */
const notify = async (
  messages: Message[],
  script: SlackReply[] = [],
  { refused = false, timeoutMs = 10_000 }: SlackConnection = {},
): Promise<Notified> => {
  slack.setScript(script);
  const before = slack.requests.length;
  const postponedMs: number[] = [];
  const slept: number[] = [];
  const notifier = createLocalNotifier(aws, {
    detections,
    webhookUrl: refused ? refusedWebhookUrl : slack.url,
    postOptions: {
      allowInsecureLocalhost: true,
      timeoutMs,
      baseDelayMs: 1,
      maxAttempts: 2,
      maxRetryAfterMs: 5_000,
      sleep: async (ms) => void slept.push(ms),
    },
    overrides: {
      postpone: async (record: SQSRecord, ms: number) => {
        postponedMs.push(ms);
        await createPostponer(aws.sqs, queueOf.get(record.messageId) ?? aws.slackQueueUrl)(record, ms);
      },
    },
  });
  const result = await notifier(sqsEventOf(messages));
  const dead = await aws.drain(aws.slackDlqUrl);
  return {
    failures: result.batchItemFailures.length,
    postponedMs,
    slept,
    deadLetters: dead.map((message) => ({
      eventID: eventIdOf(message),
      reason: message.MessageAttributes?.reason?.StringValue ?? '',
      ...(message.MessageAttributes?.statusCode?.StringValue
        ? { statusCode: message.MessageAttributes.statusCode.StringValue }
        : {}),
    })),
    posts: slack.requests.slice(before).map((request) => request.body),
  };
};

/** Captures what the functions write to stdout (EMF metrics) while `act` runs. */
const capturingStdout = async <T>(act: () => Promise<T>): Promise<{ result: T; lines: string[] }> => {
  const written: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    const result = await act();
    return { result, lines: written.join('').split('\n') };
  } finally {
    spy.mockRestore();
  }
};

/** The StateUnavailable metrics among EMF lines, by the operation that failed. */
const stateUnavailableIn = (lines: string[]): string[] =>
  lines
    .filter((line) => line.includes('"StateUnavailable"'))
    .map((line) => JSON.parse(line) as { StateUnavailable?: number; operation?: string })
    .filter((metric) => metric.StateUnavailable === 1)
    .map((metric) => String(metric.operation));

// ── the rows ───────────────────────────────────────────────────────────────────────────────────────────────────

/** A test elsewhere that covers a fault in more depth: its file (from the repository root) and its title. */
interface Elsewhere {
  file: string;
  test: string;
}

interface FaultRow {
  fault: string;
  outcome: string;
  elsewhere: Elsewhere[];
  /** Asserts the outcome end to end; absent only where the row's tests elsewhere are the whole story. */
  check?: () => Promise<void>;
}

const NOTIFIER_FAULTS = 'test/integration/notifier-faults.test.ts';
const PIPELINE = 'test/integration/pipeline.test.ts';
const STATE_FAULTS = 'test/integration/state-faults.test.ts';
const INFRASTRUCTURE = 'test/integration/infrastructure.test.ts';

/**
 * A Slack fault: the deployed alert handler delivers (SNS and the Slack queue), then the notifier meets Slack's
 * failure. `expected` is what becomes of the Slack message; the e-mail is delivered once whatever Slack does.
 */
const slackFault =
  (
    script: SlackReply[],
    expected: Partial<Omit<Notified, 'deadLetters' | 'posts'>> & {
      posts: number;
      deadLetter?: { reason: RegExp; statusCode: string };
    },
    connection: SlackConnection = {},
  ) =>
  async () => {
    // Prepare
    const { handler } = await deployedAlert();
    const record = fresh('root-console-sign-in-no-mfa.json');
    const outcome = await handler(envelopeOf(record), lambdaContext());
    const queued = await receiveQueued(record.eventID);

    // Act
    const notified = await notify(queued, script, connection);
    await forget(queued);

    // Assess: the alert function succeeded, whatever Slack does; the e-mail went out once.
    expect(outcome).toMatchObject({ status: 'delivered', sinks: ['sns', 'slack-queue'] });
    expect((await publishedFor(record.eventID)).map((m) => m.Subject)).toEqual([
      '[CRITICAL] root-console-sign-in - prod-payments (111122223333)',
    ]);
    const { deadLetter, posts, ...rest } = expected;
    expect(notified).toMatchObject(rest);
    expect(notified.posts).toHaveLength(posts);
    expect(notified.deadLetters).toEqual(
      deadLetter
        ? [
            {
              eventID: record.eventID,
              reason: expect.stringMatching(deadLetter.reason),
              statusCode: deadLetter.statusCode,
            },
          ]
        : [],
    );
  };

/**
 * An SNS fault: every Publish answered with `fault`. The invocation rejects with DeliveryError naming SNS after the
 * SDK's own attempts, the Slack queue has the alert; Lambda's retry (SNS back) publishes once and does not queue
 * Slack a second time; Slack gets one post.
 */
const snsFault = (fault: AwsFault, attempts: number) => async () => {
  const sns = await startAwsFaultServer(() => fault);
  try {
    // Prepare
    const record = fresh('root-create-access-key.json');
    const faulty = await deployedAlert({ AWS_ENDPOINT_URL_SNS: sns.endpoint });

    // Act: the first invocation, then Lambda's retry of it (same request id) once SNS is back.
    const error = await faulty.handler(envelopeOf(record), lambdaContext('req-sns')).catch((e: unknown) => e);
    const queuedFirst = await receiveQueued(record.eventID);
    const publishedFirst = await publishedFor(record.eventID);
    const retry = await (await deployedAlert()).handler(envelopeOf(record), lambdaContext('req-sns'));
    const publishedRetry = await publishedFor(record.eventID);
    const queuedRetry = (await receiveQueued(record.eventID)).filter(
      (message) => !queuedFirst.some((first) => first.MessageId === message.MessageId),
    );
    const notified = await notify(queuedFirst);

    // Assess
    expect(error).toBeInstanceOf(faulty.errors.DeliveryError);
    expect(error).toBeInstanceOf(faulty.errors.AlerterError);
    expect((error as { failures: Array<{ sink: string }> }).failures.map((f) => f.sink)).toEqual(['sns']);
    expect((error as Error).message).toContain(fault.message);
    expect(sns.count('Publish')).toBe(attempts);
    expect(queuedFirst.map(eventIdOf)).toEqual([record.eventID]);
    expect(publishedFirst).toEqual([]);
    expect(retry).toMatchObject({ status: 'delivered', sinks: ['sns'] });
    expect(publishedRetry).toHaveLength(1);
    expect(queuedRetry).toEqual([]);
    expect(notified).toMatchObject({ failures: 0, deadLetters: [] });
    expect(notified.posts).toHaveLength(1);
  } finally {
    await sns.close();
  }
};

/** The e-mail SNS delivered for an event, with its alert document. */
const deliveredAlert = async (eventId: string) => {
  const [message] = await publishedFor(eventId);
  if (!message) throw new Error(`nothing published for ${eventId}`);
  return { email: message.structure.email ?? '', document: JSON.parse(message.structure.sqs ?? '{}') };
};

/** A root sign-in with a field removed (a path into the record), through the deployed handler and the notifier. */
const withoutField =
  (path: string[], expected: { email: RegExp[]; slack?: RegExp; document?: Record<string, unknown> }, envelope = {}) =>
  async () => {
    // Prepare
    const record = fresh('root-console-sign-in-no-mfa.json') as Record<string, unknown>;
    for (const field of path) {
      const [head, tail] = field.split('.') as [string, string | undefined];
      if (tail) delete (record[head] as Record<string, unknown>)[tail];
      else delete record[head];
    }
    const { handler } = await deployedAlert();

    // Act
    const outcome = (await handler({ ...envelopeOf(record), ...envelope }, lambdaContext())) as AlertOutcome;
    const eventId = outcome.status === 'delivered' ? outcome.eventID : '';
    const { email, document } = await deliveredAlert(eventId);
    const notified = await notify(await receiveQueued(eventId));

    // Assess
    expect(outcome).toMatchObject({ status: 'delivered', sinks: ['sns', 'slack-queue'] });
    for (const line of expected.email) expect(email).toMatch(line);
    expect(email).not.toMatch(/undefined|null|""/);
    if (expected.document) expect(document).toMatchObject(expected.document);
    expect(notified).toMatchObject({ failures: 0, deadLetters: [] });
    const post = JSON.stringify(notified.posts[0]);
    expect(post).not.toMatch(/undefined|null/);
    if (expected.slack) expect(post).toMatch(expected.slack);
  };

/** A public address both IP databases know: Google's resolver (country US, AS15169). */
const PUBLIC_IP = '8.8.8.8';

/** The geo facts an alert carried for a sign-in from PUBLIC_IP, with the given geo lookup. */
const sourceWithGeo = async (geo: ReturnType<typeof createGeoLookup>) => {
  const record = fresh('root-console-sign-in-no-mfa.json', { sourceIPAddress: PUBLIC_IP });
  const handler = alertHandlerFor(aws, {
    enrich: createEnricher({
      geo,
      accountNames: createAccountNames({ names: { '111122223333': 'prod-payments' } }),
      timeoutMs: 60_000,
    }),
  });
  const outcome = await handler(envelopeOf(record), { awsRequestId: `req-geo-${run}` });
  expect(outcome).toMatchObject({ status: 'delivered', sinks: ['sns', 'slack-queue'] });
  await receiveQueued(record.eventID).then(forget);
  return (await deliveredAlert(record.eventID)).document.source as Record<string, unknown>;
};

const MATRIX: FaultRow[] = [
  // Slack: the notifier's faults. The alert function has already delivered; only the Slack message waits.
  {
    fault: 'Slack answers 5xx (503, twice)',
    outcome: 'retried once in process, then left queued and hidden for the first backoff (1 min); e-mail unaffected',
    elsewhere: [
      { file: NOTIFIER_FAULTS, test: 'Slack answers 5xx' },
      { file: PIPELINE, test: 'publishes to SNS even when Slack is down' },
    ],
    check: slackFault([503, 503], { failures: 1, postponedMs: [MINUTE], posts: 2 }),
  },
  {
    fault: 'Slack answers 429 with Retry-After: 1',
    outcome: 'waited out in process (1 s), then posted',
    elsewhere: [{ file: NOTIFIER_FAULTS, test: '429 with a short Retry-After (1 s)' }],
    check: slackFault([{ status: 429, headers: { 'retry-after': '1' }, body: 'rate_limited' }, 200], {
      failures: 0,
      postponedMs: [],
      slept: [1_000],
      posts: 2,
    }),
  },
  {
    fault: 'Slack answers 429 with Retry-After: 120',
    outcome: 'not waited: left queued, hidden for the 120 s Slack asked; e-mail unaffected',
    elsewhere: [
      { file: NOTIFIER_FAULTS, test: '429 with a long Retry-After (120 s)' },
      {
        file: PIPELINE,
        test: 'postpones a message on the queue when Slack asks to wait longer than the notifier waits',
      },
    ],
    check: slackFault([{ status: 429, headers: { 'retry-after': '120' }, body: 'rate_limited' }], {
      failures: 1,
      postponedMs: [120_000],
      slept: [],
      posts: 1,
    }),
  },
  {
    fault: 'Slack times out (accepts the request, never answers)',
    outcome: 'each attempt given up at the request timeout; left queued, hidden 1 min; e-mail unaffected',
    elsewhere: [
      { file: NOTIFIER_FAULTS, test: 'Slack times out' },
      { file: PIPELINE, test: 'posts after a timeout' },
    ],
    check: slackFault(['hang', 'hang'], { failures: 1, postponedMs: [MINUTE], posts: 2 }, { timeoutMs: 300 }),
  },
  {
    fault: 'Slack refuses the connection',
    outcome: 'left queued, hidden 1 min; dead-lettered with the reason only once older than SLACK_MAX_AGE_HOURS',
    elsewhere: [
      { file: NOTIFIER_FAULTS, test: 'the connection is refused' },
      {
        file: PIPELINE,
        test: 'leaves the message queued when the connection is refused, and dead-letters it with the reason once a day old',
      },
    ],
    check: slackFault([], { failures: 1, postponedMs: [MINUTE], posts: 0 }, { refused: true }),
  },
  {
    fault: 'Slack answers 400 invalid_payload',
    outcome: 'dead-lettered at once, not retried, with reason and status; e-mail unaffected',
    elsewhere: [
      { file: NOTIFIER_FAULTS, test: "[400, 'invalid_payload']" },
      { file: PIPELINE, test: 'dead-letters at once, without retrying, when Slack answers %i %s' },
    ],
    check: slackFault([{ status: 400, body: 'invalid_payload' }], {
      failures: 0,
      postponedMs: [],
      posts: 1,
      deadLetter: { reason: /^Slack answered 400 invalid_payload$/, statusCode: '400' },
    }),
  },
  {
    // Slack's webhook answers a deleted channel with 404 channel_not_found:
    // https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks
    fault: 'Slack answers 404 channel_not_found',
    outcome: 'dead-lettered at once, not retried, with reason and status; e-mail unaffected',
    elsewhere: [{ file: NOTIFIER_FAULTS, test: "[404, 'no_service']" }],
    check: slackFault([{ status: 404, body: 'channel_not_found' }], {
      failures: 0,
      postponedMs: [],
      posts: 1,
      deadLetter: { reason: /^Slack answered 404 channel_not_found$/, statusCode: '404' },
    }),
  },
  {
    fault: 'a Slack queue message that is not an alert document (not JSON, another schema)',
    outcome: 'dead-lettered with the parser’s or the schema’s reason; the rest of the batch is posted',
    elsewhere: [
      { file: NOTIFIER_FAULTS, test: 'a message that is not JSON' },
      { file: NOTIFIER_FAULTS, test: 'a message that is not an alert document' },
      { file: PIPELINE, test: 'dead-letters a message that is not an alert document' },
    ],
  },
  {
    fault: 'the webhook URL parameter missing, denied or empty (SSM)',
    outcome:
      'the notifier invocation fails (Errors alarm); nothing posted or dead-lettered, every message stays queued',
    elsewhere: [
      { file: NOTIFIER_FAULTS, test: 'fails the invocation when the parameter is $case' },
      { file: 'test/integration/production.test.ts', test: 'fails with the parameter named when it does not exist' },
    ],
  },

  // SNS: the alert function's own destination.
  {
    fault: 'SNS throttles Publish (ThrottledException, HTTP 429 Throttled)',
    outcome:
      'the SDK retries (3 attempts); the invocation rejects with DeliveryError naming sns, so Lambda retries; Slack has it; the retry publishes once and queues no second Slack message',
    elsewhere: [{ file: PIPELINE, test: 'keeps Slack going when SNS fails, and on retry sends only what is missing' }],
    check: snsFault({ status: 429, code: 'Throttled', message: 'Rate exceeded' }, DELIVERY_BUDGET.maxAttempts),
  },
  {
    // SNS also answers an exceeded API rate with the generic ThrottlingException ("Rate exceeded"):
    // https://repost.aws/knowledge-center/sns-throttling-exception-errors
    fault: 'SNS throttles Publish (ThrottlingException: Rate exceeded)',
    outcome: 'as for Throttled: retried by the SDK, then Lambda; no duplicate on the Slack side',
    elsewhere: [],
    check: snsFault(
      { status: 400, code: 'ThrottlingException', message: 'Rate exceeded' },
      DELIVERY_BUDGET.maxAttempts,
    ),
  },
  {
    fault: 'SNS fails (500 InternalError)',
    outcome: 'retried by the SDK (3 attempts), then by Lambda; Slack has it once',
    elsewhere: [],
    check: snsFault(
      { status: 500, code: 'InternalError', message: 'Request could not be completed' },
      DELIVERY_BUDGET.maxAttempts,
    ),
  },
  {
    fault: 'SNS denies Publish (403 AuthorizationError)',
    outcome:
      'not retried by the SDK (1 attempt); the invocation rejects so Lambda retries, then dead-letters with the reason; Slack has it once',
    elsewhere: [
      { file: PIPELINE, test: 'reaches the other destination when SNS rejects the message' },
      { file: INFRASTRUCTURE, test: 'retries a failed alert twice, then dead-letters it with its reason' },
    ],
    check: snsFault(
      { status: 403, code: 'AuthorizationError', message: 'User is not authorized to perform: SNS:Publish' },
      1,
    ),
  },

  // DynamoDB, the state table.
  {
    fault: 'DynamoDB down (the state table’s endpoint refuses connections)',
    outcome:
      'every event alerted on its own, to SNS and Slack: without deduplication (a duplicate delivery alerts twice) and without folding (the session’s next event alerts too); StateUnavailable metric in EMF',
    elsewhere: [
      {
        file: STATE_FAULTS,
        test: 'delivers the alert to SNS and the Slack queue within the budget, without deduplication, and counts it',
      },
      {
        file: STATE_FAULTS,
        test: 'delivers from its environment alone, logging the StateUnavailable metric in embedded metric format',
      },
      { file: NOTIFIER_FAULTS, test: 'the state table unavailable' },
    ],
    check: async () => {
      // Prepare: an event, and the next event of its root session a minute later.
      const record = fresh('root-password-updated.json');
      const next = { ...record, eventID: `${record.eventID}-next`, eventTime: later(record.eventTime, 60_000) };
      const down = await deployedAlert({ AWS_ENDPOINT_URL_DYNAMODB: await closedEndpoint() });

      // Act: the event, a duplicate delivery of it (a second rule, or EventBridge's at-least-once), the next one.
      const { result, lines } = await capturingStdout(async () => [
        await down.handler(envelopeOf(record), lambdaContext()),
        await down.handler(envelopeOf(record), lambdaContext()),
        await down.handler(envelopeOf(next), lambdaContext()),
      ]);

      // Assess
      for (const outcome of result) {
        expect(outcome).toMatchObject({ status: 'delivered', sinks: ['sns', 'slack-queue'], deduplicated: false });
      }
      expect(await publishedFor(record.eventID, next.eventID)).toHaveLength(3);
      const queued = await receiveQueued(record.eventID, next.eventID);
      expect(queued).toHaveLength(3);
      await forget(queued);
      // Each invocation's claim failed (and the session state was not asked, or failed too).
      expect(stateUnavailableIn(lines).filter((operation) => operation === 'claim')).toHaveLength(3);

      // With the table up, the same pair of events is one alert and one folded event: the fault is what unfolded it.
      const healthy = fresh('root-password-updated.json');
      const healthyNext = {
        ...healthy,
        eventID: `${healthy.eventID}-next`,
        eventTime: later(healthy.eventTime, 60_000),
      };
      const { handler } = await deployedAlert();
      expect(await handler(envelopeOf(healthy), lambdaContext())).toMatchObject({ status: 'delivered' });
      expect(await handler(envelopeOf(healthyNext), lambdaContext())).toMatchObject({ status: 'folded' });
      await receiveQueued(healthy.eventID).then(forget);
    },
  },

  // Enrichment.
  {
    fault: 'Organizations and IAM answer AccessDenied (account name and alias lookups)',
    outcome: 'alert delivered without the account name or alias: the account by its id alone',
    elsewhere: [{ file: PIPELINE, test: 'still alerts when the account-name lookup is denied, leaving the name out' }],
    check: async () => {
      const denied = await startAwsFaultServer((operation) =>
        operation === 'DescribeAccount'
          ? {
              status: 400,
              code: 'AccessDeniedException',
              message: "You don't have permissions to access this resource.",
            }
          : {
              status: 403,
              code: 'AccessDenied',
              message: 'User is not authorized to perform: iam:ListAccountAliases',
            },
      );
      try {
        // Prepare: names from Organizations (no ACCOUNT_NAMES), the alias from IAM for the function's own account.
        const record = fresh('root-create-access-key.json');
        const { handler } = await deployedAlert({
          ACCOUNT_NAMES: '{}',
          ACCOUNT_LOOKUP: 'organizations',
          AWS_ENDPOINT_URL_ORGANIZATIONS: denied.endpoint,
          AWS_ENDPOINT_URL_IAM: denied.endpoint,
        });

        // Act
        const outcome = await handler(envelopeOf(record), lambdaContext());
        const { email, document } = await deliveredAlert(record.eventID);
        await receiveQueued(record.eventID).then(forget);

        // Assess
        expect(outcome).toMatchObject({ status: 'delivered', sinks: ['sns', 'slack-queue'] });
        expect(denied.count('DescribeAccount')).toBeGreaterThan(0);
        expect(denied.count('ListAccountAliases')).toBeGreaterThan(0);
        expect(document.account).toEqual({ id: '111122223333' });
        expect(email).toContain('Account: "111122223333"');
      } finally {
        await denied.close();
      }
    },
  },
  {
    fault: 'the IP databases missing, or corrupt',
    outcome: 'alert delivered without country, ASN and network; the address itself still shown',
    elsewhere: [],
    check: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rootwatch-ip-'));
      try {
        // Prepare: a missing database, and files that are no databases at all.
        const garbage = join(dir, 'garbage');
        writeFileSync(join(dir, 'country.mmdb'), 'not a MaxMind database');
        writeFileSync(join(dir, 'asn-ipv4-num.csv'), 'no,ranges,here\n');
        writeFileSync(join(dir, 'asn-ipv6-num.csv'), '');
        const lookups = {
          healthy: createGeoLookup(),
          missing: createGeoLookup({ countryDb: join(garbage, 'none.mmdb'), asnDir: garbage }),
          corrupt: createGeoLookup({ countryDb: join(dir, 'country.mmdb'), asnDir: dir }),
        };

        // Act
        const healthy = await sourceWithGeo(lookups.healthy);
        const missing = await sourceWithGeo(lookups.missing);
        const corrupt = await sourceWithGeo(lookups.corrupt);

        // Assess: the healthy lookup knows the address, so the faults are what leave the facts out.
        expect(healthy).toMatchObject({ ip: PUBLIC_IP, country: 'US', asn: 15169 });
        for (const source of [missing, corrupt]) {
          expect(source.ip).toBe(PUBLIC_IP);
          expect(source).not.toHaveProperty('country');
          expect(source).not.toHaveProperty('asn');
          expect(source).not.toHaveProperty('org');
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },

  // The event itself.
  {
    fault: 'a malformed event (not an object, no detail, a field of the wrong type)',
    outcome:
      'rejected with EventParseError naming the field; Lambda retries it twice, then sends it to the alert DLQ with the error; nothing delivered',
    elsewhere: [
      { file: PIPELINE, test: 'rejects an event that does not parse, naming the field, so Lambda dead-letters it' },
      {
        file: 'test/integration/production.test.ts',
        test: 'throws on an event that is not from EventBridge, so Lambda retries and dead-letters it',
      },
      { file: INFRASTRUCTURE, test: 'retries a failed alert twice, then dead-letters it with its reason' },
    ],
    check: async () => {
      // Prepare
      const { handler, errors } = await deployedAlert();
      const good = envelopeOf(fresh('root-create-access-key.json'));
      const cases: Array<[unknown, RegExp]> = [
        [null, /\(event\): /],
        ['a string', /\(event\): /],
        [[good], /\(event\): /],
        [{ hello: 'world' }, /detail: /],
        [{ ...good, detail: { ...good.detail, eventName: undefined } }, /detail\.eventName: /],
        [{ ...good, account: 111122223333 }, /account: /],
        [{ ...good, detail: { ...good.detail, userIdentity: 'root' } }, /detail\.userIdentity: /],
        [{ ...good, detail: { ...good.detail, eventSource: ['iam.amazonaws.com'] } }, /detail\.eventSource: /],
      ];

      for (const [event, field] of cases) {
        // Act
        const error = await handler(event, lambdaContext()).catch((e: unknown) => e);
        // Assess
        expect(error, JSON.stringify(event)?.slice(0, 80)).toBeInstanceOf(errors.EventParseError);
        expect((error as Error).message).toMatch(/^not a CloudTrail event from EventBridge: /);
        expect((error as Error).message).toMatch(field);
      }
      expect(await publishedFor(good.detail.eventID as string)).toEqual([]);
    },
  },
  {
    fault: 'an oversized event: a record over SNS’s 256 KB (a 300 KB policy document)',
    outcome:
      'alert delivered: the SNS copies carry a marker instead of the record (it stays in CloudTrail), the Slack queue the whole document, posted within Slack’s limits',
    elsewhere: [
      { file: 'test/unit/render-sns.test.ts', test: 'also cuts long values when leaving out the record is not enough' },
      { file: 'test/unit/render-sns.test.ts', test: 'cuts harder, then throws, as the limit shrinks' },
    ],
    check: async () => {
      // Prepare
      const policy = JSON.stringify({ Statement: [{ Effect: 'Allow', Resource: 'r'.repeat(300_000) }] });
      const record = fresh('root-api-call-put-bucket-versioning.json');
      record.requestParameters = { ...(record.requestParameters as object), policy };
      const { handler } = await deployedAlert();

      // Act
      const outcome = await handler(envelopeOf(record), lambdaContext());
      const { document } = await deliveredAlert(record.eventID);
      const queued = await receiveQueued(record.eventID);
      const notified = await notify(queued);

      // Assess
      expect(JSON.stringify(record).length).toBeGreaterThan(262_144);
      expect(outcome).toMatchObject({ status: 'delivered', sinks: ['sns', 'slack-queue'] });
      expect(document.record).toEqual({
        truncated: true,
        eventID: record.eventID,
        reason: expect.stringMatching(
          /^Record left out: the SNS message would have been \d+ bytes, over the limit of 262144/,
        ),
      });
      expect(JSON.parse(queued[0]?.Body ?? '{}').record.requestParameters.policy).toBe(policy);
      expect(notified).toMatchObject({ failures: 0, deadLetters: [] });
      expect(notified.posts).toHaveLength(1);
      expect(JSON.stringify(notified.posts[0]).length).toBeLessThan(40_000);
    },
  },
  {
    fault:
      'an oversized event: a record over the Slack queue’s 1 MiB (only replayed input can be; EventBridge stops at 256 KB)',
    outcome:
      'a structured rejection: the e-mail is delivered, the Slack queue refuses it, the invocation rejects with DeliveryError naming slack-queue (Lambda retries, then the alert DLQ)',
    elsewhere: [],
    check: async () => {
      // Prepare
      const record = fresh('root-api-call-put-bucket-versioning.json');
      record.requestParameters = { policy: 'p'.repeat(1_100_000) };
      const { handler, errors } = await deployedAlert();

      // Act
      const error = await handler(envelopeOf(record), lambdaContext()).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(errors.DeliveryError);
      expect((error as { failures: Array<{ sink: string }> }).failures.map((f) => f.sink)).toEqual(['slack-queue']);
      expect(await publishedFor(record.eventID)).toHaveLength(1);
    },
  },

  // Optional fields missing: the alert still goes out, the missing fact shown as unknown or left out.
  {
    fault: 'userAgent missing',
    outcome: 'alert delivered; no client and no user-agent line',
    elsewhere: [],
    check: withoutField(['userAgent'], { email: [/^From where: IP "203\.0\.113\.11"$/m] }),
  },
  {
    fault: 'sourceIPAddress missing',
    outcome: 'alert delivered; "From where" gives the client alone',
    elsewhere: [],
    check: withoutField(['sourceIPAddress'], { email: [/^From where: client "Firefox 62 on macOS"$/m] }),
  },
  {
    fault: 'sourceIPAddress and userAgent missing',
    outcome: 'alert delivered; "From where: unknown" in the e-mail and in Slack',
    elsewhere: [],
    check: withoutField(['sourceIPAddress', 'userAgent'], {
      email: [/^From where: unknown$/m],
      slack: /\*From where\*\\nunknown/,
    }),
  },
  {
    fault: 'userIdentity.arn missing',
    outcome: 'alert delivered; "Who" names the type and the credential only',
    elsewhere: [],
    check: withoutField(['userIdentity.arn'], { email: [/^Who: "Root", credential: console$/m] }),
  },
  {
    fault: 'awsRegion, recipientAccountId and eventTime missing',
    outcome: 'alert delivered; region, account and time taken from the EventBridge envelope',
    elsewhere: [
      { file: PIPELINE, test: 'alerts on a CloudTrail record whose envelope lacks a field, taking it from the record' },
    ],
    check: withoutField(
      ['awsRegion', 'recipientAccountId', 'eventTime'],
      {
        email: [
          /^Region: "eu-west-1"$/m,
          /^When: "2025-06-01T08:00:00Z"$/m,
          /^Account: "prod-payments \(111122223333\)"$/m,
        ],
        document: { region: 'eu-west-1', eventTime: '2025-06-01T08:00:00Z', account: { id: '111122223333' } },
      },
      { region: 'eu-west-1', time: '2025-06-01T08:00:00Z', account: '111122223333' },
    ),
  },
  {
    fault: 'eventID missing',
    outcome: 'alert delivered under a stable id derived from the record (sha256:…), so a duplicate still alerts once',
    elsewhere: [],
    check: async () => {
      // Prepare
      const { eventID: _, ...record } = fresh('root-password-updated.json', { userAgent: `matrix-${run}` });
      const { handler } = await deployedAlert();

      // Act
      const first = (await handler(envelopeOf(record), lambdaContext())) as AlertOutcome;
      const again = await handler(envelopeOf(record), lambdaContext());

      // Assess
      expect(first).toMatchObject({ status: 'delivered', eventID: expect.stringMatching(/^sha256:[0-9a-f]{32}$/) });
      expect(again).toEqual({ status: 'duplicate' });
      const eventId = first.status === 'delivered' ? first.eventID : '';
      expect(await publishedFor(eventId)).toHaveLength(1);
      await receiveQueued(eventId).then(forget);
    },
  },
  {
    fault: 'userIdentity missing',
    outcome: 'no detection matches (nothing says root acted): logged, not retried, nothing sent',
    elsewhere: [],
    check: async () => {
      const record = fresh('root-create-access-key.json');
      delete record.userIdentity;
      const { handler } = await deployedAlert();
      expect(await handler(envelopeOf(record), lambdaContext())).toEqual({ status: 'no-match' });
      expect(await publishedFor(record.eventID)).toEqual([]);
    },
  },
];

beforeAll(async () => {
  aws = await startLocalAws('rootwatch-fault-matrix');
  slack = await startSlackServer();
  refusedWebhookUrl = `${await closedEndpoint()}/services/T000/B000/refusedsecret`;
});
afterAll(async () => {
  vi.unstubAllEnvs();
  vi.resetModules();
  await slack?.close();
  await aws?.stop();
});
beforeEach(async () => {
  await aws.drain(aws.subscriberQueueUrl);
  await aws.drain(aws.slackDlqUrl);
  slack.setScript([]);
});

describe('the fault matrix', () => {
  it.each(MATRIX.map((row) => [`${row.fault} → ${row.outcome}`, row] as const))('%s', async (_, row) => {
    // Every test the row names exists, so the index never points at nothing.
    for (const { file, test } of row.elsewhere) {
      const path = join(REPO_ROOT, file);
      expect(existsSync(path), file).toBe(true);
      expect(readFileSync(path, 'utf8'), `${file}: "${test}"`).toContain(test);
    }
    expect(row.check !== undefined || row.elsewhere.length > 0, 'a row asserts its outcome or names where').toBe(true);
    await row.check?.();
  });
});
