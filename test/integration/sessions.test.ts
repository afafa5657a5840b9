/**
 * Root sessions on the live path, through the real SDK clients against dynalite (the state table) and fauxqs (the
 * topic, the Slack lanes, the digest queue): the first alerting event of a session alerts at once, escalations alert
 * once each, the rest is folded into digests flushed by size (in the alert invocation) and by the fold timer (its SQS
 * message handed to the digest consumer), and every eventID ends in exactly one alert or digest, read back from the
 * SNS JSON messages, whatever the order, the duplicates and the concurrency. Then the failures: the session state
 * down, a digest destination down, a fold that keeps failing.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, type SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AlertOutcome, createAlertPipeline } from '../../functions/app/alert-pipeline.js';
import { createDigestQueueConsumer, createFoldFlusher, type FlushOutcome } from '../../functions/app/digest.js';
import type { AlertState, HealthMetrics, SessionState, StateOperation } from '../../functions/app/ports.js';
import { createLaneNotifier, createSlackNotifier } from '../../functions/app/slack-notifier.js';
import { type Alert, AlertSchema } from '../../functions/core/alert-document.js';
import { type Digest, DigestSchema } from '../../functions/core/digest-document.js';
import { parseEvent, recordToEvent } from '../../functions/core/event.js';
import { FOLD_MAX_EVENTS, sessionKeyOf } from '../../functions/core/session.js';
import { createDynamoSessions } from '../../functions/io/dynamo-sessions.js';
import { createDynamoState } from '../../functions/io/dynamo-state.js';
import { createDigestDeadLetters, createFoldTimer } from '../../functions/io/fold-timer.js';
import { logger } from '../../functions/io/logger.js';
import { createSinks, createSlackQueueSink } from '../../functions/io/sinks.js';
import { createDeadLetters, createPostponer } from '../../functions/io/slack-queue.js';
import { postSlackMessage } from '../../functions/io/slack-webhook.js';
import { deployedEnvironment, type LocalAws, startLocalAws } from '../../functions/local/aws.js';
import { type SlackServer, startSlackServer } from '../../functions/local/slack-server.js';
import { detections, envelopeOf, publishedOf, sqsEventOf } from '../helpers/pipeline.js';
import { readSample } from '../helpers/samples.js';

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const RUNBOOKS = 'https://runbooks.example/';

let aws: LocalAws;
let slack: SlackServer;

beforeAll(async () => {
  aws = await startLocalAws('rootwatch-sessions');
  slack = await startSlackServer();
});
afterAll(async () => {
  await slack?.close();
  await aws?.stop();
});
beforeEach(async () => {
  for (const queue of [
    aws.subscriberQueueUrl,
    aws.slackQueueUrl,
    aws.slackPriorityQueueUrl,
    aws.digestQueueUrl,
    aws.digestDlqUrl,
  ]) {
    await aws.drain(queue);
  }
  slack.requests.length = 0;
  slack.setScript([]);
});

/** Records what the pipeline counted. */
const recordMetrics = (): HealthMetrics & { operations: StateOperation[] } => {
  const operations: StateOperation[] = [];
  return { operations, stateUnavailable: (operation) => void operations.push(operation) };
};

/** A DynamoDB client at a port nothing listens on: the state table is down. */
const downDynamo = () =>
  new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: CREDENTIALS, maxAttempts: 1 });

interface WiringOptions {
  state?: AlertState;
  sessions?: SessionState;
  metrics?: HealthMetrics;
  sns?: SNSClient;
  now?: () => number;
}

/**
 * The alert function's pipeline with sessions, and the digest function's consumer, as functions/alert.ts and
 * functions/digest.ts wire them, on local AWS. The fold timer is the deployed one (the digest queue) with the delay
 * left out: what SQS hands the digest function FOLD_WINDOW_MS later, handed over now. Every flush is recorded, with
 * who asked for it (the alert invocation whose event filled the fold, or the timer).
 */
const wiring = (options: WiringOptions = {}) => {
  const state = options.state ?? createDynamoState(aws.dynamodb, aws.tableName);
  const sessions = options.sessions ?? createDynamoSessions(aws.dynamodb, aws.tableName);
  const sinks = createSinks({
    sns: options.sns ?? aws.sns,
    topicArn: aws.topicArn,
    sqs: aws.sqs,
    slackQueueUrl: aws.slackQueueUrl,
    slackPriorityQueueUrl: aws.slackPriorityQueueUrl,
    detections,
  });
  const timer = createFoldTimer(aws.sqs, aws.digestQueueUrl);
  const flushes: Array<FlushOutcome & { by: 'size' | 'timer' }> = [];
  const flushFold = createFoldFlusher({ sessions, state, sinks, ...(options.now ? { now: options.now } : {}) });
  const recorded = (by: 'size' | 'timer') => async (foldId: string, owner: string) => {
    const outcome = await flushFold(foldId, owner);
    flushes.push({ ...outcome, by });
    return outcome;
  };
  const pipeline = createAlertPipeline({
    detections,
    minSeverity: 'info',
    runbookBaseUrl: RUNBOOKS,
    state,
    enrich: async () => ({ account: { name: 'prod-payments' } }),
    sinks,
    sessions: { state: sessions, timer: { schedule: (foldId) => timer.schedule(foldId, 0) }, flush: recorded('size') },
    ...(options.metrics ? { metrics: options.metrics } : {}),
    // dynalite answers one request at a time: a burst of concurrent invocations queues behind it.
    stateTimeoutMs: 120_000,
    ...(options.now ? { now: options.now } : {}),
  });
  const consume = createDigestQueueConsumer({
    flushFold: recorded('timer'),
    deadLetter: createDigestDeadLetters(aws.sqs, aws.digestDlqUrl),
  });
  return {
    handle: (raw: unknown, requestId: string): Promise<AlertOutcome> => pipeline.process(parseEvent(raw), requestId),
    /** Hands every due fold timer message to the digest consumer, as the digest queue's mapping does. */
    fireTimers: async (receiveCount = 1) => {
      const messages = await aws.drain(aws.digestQueueUrl);
      if (messages.length === 0) return { messages, result: { batchItemFailures: [] } };
      return {
        messages,
        result: await consume(sqsEventOf(messages, receiveCount, undefined, aws.digestQueueArn), 'digest'),
      };
    },
    consume,
    flushes,
  };
};

/** What reached the topic, as its JSON subscribers see it: alerts and digests. */
const published = async (): Promise<{ alerts: Alert[]; digests: Digest[] }> => {
  const documents = (await aws.drain(aws.subscriberQueueUrl)).map(
    (message) => JSON.parse(publishedOf(message).structure.sqs ?? '{}') as { schema: string },
  );
  return {
    alerts: documents.filter((d) => d.schema === 'rootwatch.alert/v1').map((d) => AlertSchema.parse(d)),
    digests: documents.filter((d) => d.schema === 'rootwatch.digest/v1').map((d) => DigestSchema.parse(d)),
  };
};

/** The documents queued on a Slack lane. */
const queued = async (queueUrl: string) =>
  (await aws.drain(queueUrl)).map(
    (message) => JSON.parse(message.Body ?? '{}') as { schema: string; eventID?: string },
  );

/**
 * `n` root events of one console session (its temporary access key `keyId`), 50 ms apart, from one address: routine
 * API calls (root-api-call, high), and in a burst of 100 or more a CreateAccessKey at 40 % (critical, a new
 * detection) and a DeactivateMFADevice of root's device at 70 % (a new detection).
 */
const burst = (keyId: string, n: number): Array<Record<string, unknown> & { eventID: string }> => {
  const start = Date.UTC(2025, 5, 1, 9, 0, 0);
  const names = ['ListBuckets', 'GetBucketAcl', 'PutBucketVersioning', 'DescribeInstances', 'ListUsers'];
  const special: Record<number, string> =
    n >= 100
      ? {
          [Math.floor(n * 0.4)]: 'root-create-access-key.json',
          [Math.floor(n * 0.7)]: 'root-deactivate-mfa-device.json',
        }
      : {};
  return Array.from({ length: n }, (_, i) => {
    const base = readSample(special[i] ?? 'root-api-call-put-bucket-versioning.json');
    const identity = base.userIdentity as Record<string, unknown>;
    return {
      ...base,
      ...(special[i] ? {} : { eventName: names[i % names.length] }),
      eventID: `${keyId}-${String(i).padStart(4, '0')}`,
      eventTime: new Date(start + i * 50).toISOString(),
      sourceIPAddress: '203.0.113.50',
      userIdentity: { ...identity, accessKeyId: keyId },
      recipientAccountId: '111122223333',
    };
  });
};

/** A deterministic shuffle (a linear congruential generator), so a failure can be replayed. */
const shuffled = <T>(items: readonly T[], seed = 42): T[] => {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i -= 1) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
};

/** Checks that every eventID of `records` is in exactly one alert or digest, and nothing else is. */
const expectEachOnce = (records: readonly { eventID: string }[], alerts: Alert[], digests: Digest[]) => {
  const seen = [...alerts.map((alert) => alert.eventID), ...digests.flatMap((digest) => digest.eventIDs)];
  expect(seen).toHaveLength(records.length);
  expect(new Set(seen).size).toBe(records.length);
  expect(new Set(seen)).toStrictEqual(new Set(records.map((record) => record.eventID)));
};

describe('a burst of 1,000 root events from one session', () => {
  it('in order, with duplicates: the first alert at once, each escalation once, the rest in two digests, by size and by timer', async () => {
    // Prepare: every 10th event delivered twice (two rules, or EventBridge's at-least-once), the copy right after it.
    const alerter = wiring();
    const records = burst('ASIABURSTORDERED0001', 1000);
    const key = sessionKeyOf(recordToEvent(records[0] as Record<string, unknown>));
    const [accessKey, mfa] = [records[400], records[700]] as [{ eventID: string }, { eventID: string }];

    // Act
    const outcomes: AlertOutcome[] = [];
    for (const [i, record] of records.entries()) {
      outcomes.push(await alerter.handle(envelopeOf(record), `ordered-${i}`));
      if (i % 10 === 0) outcomes.push(await alerter.handle(envelopeOf(record), `ordered-${i}-copy`));
    }
    const timers = await alerter.fireTimers();
    const { alerts, digests } = await published();

    // Assess: three alerts, in order: the first, then the two escalations, each with its reason.
    expect(alerts.map((alert) => [alert.eventID, alert.session])).toStrictEqual([
      [records[0]?.eventID, { key, first: true }],
      [
        accessKey.eventID,
        {
          key,
          first: false,
          escalation: { reason: 'severity high → critical; new detection root-access-key-created' },
        },
      ],
      [mfa.eventID, { key, first: false, escalation: { reason: 'new detection mfa-device-deactivated' } }],
    ]);
    expect(outcomes.filter((o) => o.status === 'duplicate')).toHaveLength(100);
    expect(outcomes.filter((o) => o.status === 'folded')).toHaveLength(997);
    // The 500th folded event flushed its fold at once; the timer flushed the rest, and found the first fold done.
    expect(digests.map((digest) => digest.count)).toStrictEqual([FOLD_MAX_EVENTS, 997 - FOLD_MAX_EVENTS]);
    expect(digests.map((digest) => digest.session)).toStrictEqual([
      { key, fold: 1 },
      { key, fold: 2 },
    ]);
    expect(alerter.flushes.map((f) => [f.by, f.status])).toStrictEqual([
      ['size', 'flushed'],
      ['timer', 'done'],
      ['timer', 'flushed'],
    ]);
    expect(timers.messages).toHaveLength(2);
    expect(timers.result.batchItemFailures).toStrictEqual([]);
    expectEachOnce(records, alerts, digests);
    expect(digests[0]).toMatchObject({
      account: { id: '111122223333', name: 'prod-payments' },
      actor: { type: 'Root', credential: expect.any(String) },
      severity: 'high',
      eventNames: expect.objectContaining({ ListBuckets: expect.any(Number) }),
      detections: { 'root-api-call': FOLD_MAX_EVENTS },
      sources: [{ ip: '203.0.113.50', count: FOLD_MAX_EVENTS, client: expect.any(String) }],
    });
    // The lanes: the first alert and the escalations jump the queue; digests wait their turn.
    expect((await queued(aws.slackPriorityQueueUrl)).map((d) => d.eventID)).toStrictEqual(
      alerts.map((alert) => alert.eventID),
    );
    expect((await queued(aws.slackQueueUrl)).map((d) => d.schema)).toStrictEqual([
      'rootwatch.digest/v1',
      'rootwatch.digest/v1',
    ]);
  }, 240_000);

  it('shuffled, with duplicates, by concurrent invocations: one first alert, escalations once, every eventID once', async () => {
    // Prepare: every event once, a fifth of them twice, shuffled, handled 50 at a time by concurrent invocations.
    const alerter = wiring();
    const records = burst('ASIABURSTSHUFFLED001', 1000);
    const deliveries = shuffled([...records, ...records.filter((_, i) => i % 5 === 0)]);
    const special = new Set([records[400]?.eventID, records[700]?.eventID]);

    // Act
    const outcomes: AlertOutcome[] = [];
    for (let i = 0; i < deliveries.length; i += 50) {
      const wave = deliveries.slice(i, i + 50);
      outcomes.push(
        ...(await Promise.all(wave.map((record, j) => alerter.handle(envelopeOf(record), `shuffled-${i + j}`)))),
      );
    }
    const timers = await alerter.fireTimers();
    const { alerts, digests } = await published();

    // Assess: one first alert; the two events with a new detection alert (as the first, or escalating); nothing else.
    expect(alerts.filter((alert) => alert.session?.first)).toHaveLength(1);
    for (const alert of alerts.filter((a) => !a.session?.first)) {
      expect(special.has(alert.eventID), alert.eventID).toBe(true);
      expect(alert.session?.escalation?.reason).toMatch(/new detection/);
    }
    for (const id of special) expect(alerts.map((alert) => alert.eventID)).toContain(id);
    expect(new Set(alerts.map((alert) => alert.eventID)).size).toBe(alerts.length);
    expect(outcomes.filter((o) => o.status === 'duplicate')).toHaveLength(200);
    expect(timers.result.batchItemFailures).toStrictEqual([]);
    expect(digests.map((digest) => digest.count)).toStrictEqual([
      FOLD_MAX_EVENTS,
      records.length - alerts.length - FOLD_MAX_EVENTS,
    ]);
    expect(alerter.flushes.filter((f) => f.status === 'flushed').map((f) => f.by)).toStrictEqual(['size', 'timer']);
    expectEachOnce(records, alerts, digests);
    expect(await queued(aws.slackPriorityQueueUrl)).toHaveLength(alerts.length);
    expect(await queued(aws.slackQueueUrl)).toHaveLength(digests.length);
  }, 240_000);

  it('decides the same for two concurrent first events: one is the first alert, the other is folded', async () => {
    // Prepare
    const alerter = wiring();
    const [a = {}, b = {}] = burst('ASIABURSTRACINGFIRST', 2);

    // Act
    const outcomes = await Promise.all([
      alerter.handle(envelopeOf(a), 'race-a'),
      alerter.handle(envelopeOf(b), 'race-b'),
    ]);

    // Assess
    expect(outcomes.map((o) => o.status).sort()).toStrictEqual(['delivered', 'folded']);
    const { alerts } = await published();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.session?.first).toBe(true);
  });
});

describe('when the session state is unavailable', () => {
  it('alerts every event on its own, without folding, and says so in the log and the metric', async () => {
    // Prepare: the alert state answers, the session state's table does not.
    const metrics = recordMetrics();
    const alerter = wiring({ sessions: createDynamoSessions(downDynamo(), aws.tableName), metrics });
    const records = burst('ASIASTATEDOWNSESS01', 30);
    const written: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    };
    const spies = [
      vi.spyOn(process.stdout, 'write').mockImplementation(capture),
      vi.spyOn(process.stderr, 'write').mockImplementation(capture),
    ];
    logger.setLogLevel('WARN');

    // Act
    let outcomes: AlertOutcome[];
    try {
      outcomes = await Promise.all(records.map((record, i) => alerter.handle(envelopeOf(record), `down-${i}`)));
    } finally {
      logger.setLogLevel('SILENT');
      for (const spy of spies) spy.mockRestore();
    }
    const { alerts, digests } = await published();

    // Assess
    expect(outcomes.map((o) => o.status)).toStrictEqual(Array(30).fill('delivered'));
    expect(alerts).toHaveLength(30);
    expect(alerts.every((alert) => alert.session === undefined)).toBe(true);
    expect(digests).toHaveLength(0);
    expectEachOnce(records, alerts, digests);
    expect(metrics.operations).toStrictEqual(Array(30).fill('observe'));
    expect(written.filter((line) => line.includes('session state unavailable: alerting without folding'))).toHaveLength(
      30,
    );
    // Critical ones take the priority lane, the rest the normal one: none of them is folded away.
    expect((await queued(aws.slackPriorityQueueUrl)).length + (await queued(aws.slackQueueUrl)).length).toBe(30);
  });

  it('alerts every event when the whole state table is down, counting claim and observe', async () => {
    // Prepare
    const metrics = recordMetrics();
    const alerter = wiring({
      state: createDynamoState(downDynamo(), aws.tableName),
      sessions: createDynamoSessions(downDynamo(), aws.tableName),
      metrics,
    });
    const records = burst('ASIATABLEDOWNSESS01', 10);

    // Act
    for (const [i, record] of records.entries()) await alerter.handle(envelopeOf(record), `table-down-${i}`);
    const { alerts } = await published();

    // Assess
    expect(alerts.map((alert) => alert.eventID)).toStrictEqual(records.map((record) => record.eventID));
    expect(metrics.operations.filter((o) => o === 'claim')).toHaveLength(10);
    expect(metrics.operations.filter((o) => o === 'observe')).toHaveLength(10);
  });
});

/**
 * A session's first event and `folded` more, through `alerter`; the first alert is taken off the topic and the
 * priority lane, the fold's timer message left queued.
 */
const session = async (alerter: ReturnType<typeof wiring>, keyId: string, folded: number) => {
  const records = burst(keyId, folded + 1);
  for (const [i, record] of records.entries()) await alerter.handle(envelopeOf(record), `${keyId}-${i}`);
  await aws.drain(aws.subscriberQueueUrl);
  return records;
};

describe('flushing a fold', () => {
  it('delivers a digest again after a destination failed, only to the destination that did not have it', async () => {
    // Prepare: SNS refuses (a throttle SNS would answer), the Slack queue takes the digest.
    const brokenSns = new SNSClient({ region: 'us-east-1', credentials: CREDENTIALS });
    vi.spyOn(brokenSns, 'send').mockRejectedValue(
      Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException' }) as never,
    );
    const records = await session(wiring(), 'ASIADIGESTRETRY0001', 5);
    const timers = await aws.drain(aws.digestQueueUrl);
    expect(timers).toHaveLength(1);

    // Act: the timer message, then its redelivery after the queue's visibility timeout (the owner's lease run out).
    const first = await wiring({ sns: brokenSns }).consume(
      sqsEventOf(timers, 1, undefined, aws.digestQueueArn),
      'digest-1',
    );
    const slackAfterFirst = await queued(aws.slackQueueUrl);
    const snsAfterFirst = await published();
    const later = () => Date.now() + 60_000;
    const retried = await wiring({ now: later }).consume(
      sqsEventOf(timers, 2, undefined, aws.digestQueueArn),
      'digest-2',
    );
    const again = await wiring({ now: later }).consume(
      sqsEventOf(timers, 3, undefined, aws.digestQueueArn),
      'digest-3',
    );
    const { digests } = await published();

    // Assess
    expect(first.batchItemFailures).toStrictEqual([{ itemIdentifier: timers[0]?.MessageId }]);
    expect(slackAfterFirst.map((d) => d.schema)).toStrictEqual(['rootwatch.digest/v1']);
    expect(snsAfterFirst.digests).toHaveLength(0);
    expect(retried.batchItemFailures).toStrictEqual([]);
    expect(again.batchItemFailures).toStrictEqual([]);
    expect(digests).toHaveLength(1);
    expect(digests[0]?.eventIDs).toStrictEqual(records.slice(1).map((record) => record.eventID));
    expect(await queued(aws.slackQueueUrl)).toHaveLength(0);
  });

  it('dead-letters a fold with its reason when it still fails at its 10th receive, and keeps it flushable', async () => {
    // Prepare
    const brokenSns = new SNSClient({ region: 'us-east-1', credentials: CREDENTIALS });
    vi.spyOn(brokenSns, 'send').mockRejectedValue(
      Object.assign(new Error('Internal error'), { name: 'InternalErrorException' }) as never,
    );
    await session(wiring(), 'ASIADIGESTDEADLETTR1', 3);
    const timers = await aws.drain(aws.digestQueueUrl);
    const later = () => Date.now() + 60_000;

    // Act
    const result = await wiring({ sns: brokenSns, now: later }).consume(
      sqsEventOf(timers, 10, undefined, aws.digestQueueArn),
      'digest-10',
    );
    const [dead] = await aws.drain(aws.digestDlqUrl);
    // An operator sends it back once SNS works: the fold is still there.
    const redriven = await wiring({ now: () => Date.now() + 120_000 }).consume(
      sqsEventOf([dead as (typeof timers)[number]], 1, undefined, aws.digestQueueArn),
      'digest-redrive',
    );

    // Assess
    expect(result.batchItemFailures).toStrictEqual([]);
    expect(dead?.Body).toBe(timers[0]?.Body);
    expect(dead?.MessageAttributes?.reason?.StringValue).toMatch(
      /^still failing after 10 receives: Delivery failed for sns/,
    );
    expect(redriven.batchItemFailures).toStrictEqual([]);
    expect((await published()).digests.map((digest) => digest.count)).toStrictEqual([3]);
  });

  it('dead-letters a message that is no fold timer message', async () => {
    const result = await wiring().consume(
      sqsEventOf([{ MessageId: 'junk', ReceiptHandle: 'r', Body: '{"hello":1}' }], 1, undefined, aws.digestQueueArn),
      'digest-junk',
    );
    expect(result.batchItemFailures).toStrictEqual([]);
    const [dead] = await aws.drain(aws.digestDlqUrl);
    expect(dead?.MessageAttributes?.reason?.StringValue).toBe('not a fold timer message: expected {"foldId": "…"}');
  });

  it('leaves a fold another invocation is flushing on the queue, to try again', async () => {
    // Prepare: the fold taken by an invocation that is still within its lease.
    const alerter = wiring();
    await session(alerter, 'ASIADIGESTBUSYFOLD01', 2);
    const timers = await aws.drain(aws.digestQueueUrl);
    const { foldId } = JSON.parse(timers[0]?.Body ?? '{}') as { foldId: string };
    await createDynamoSessions(aws.dynamodb, aws.tableName).takeFold(foldId, 'someone-else', Date.now());

    // Act
    const result = await alerter.consume(sqsEventOf(timers, 1, undefined, aws.digestQueueArn), 'digest-busy');

    // Assess
    expect(result.batchItemFailures).toStrictEqual([{ itemIdentifier: timers[0]?.MessageId }]);
    expect(alerter.flushes.at(-1)?.status).toBe('busy');
    expect((await published()).digests).toHaveLength(0);
  });
});

describe('the fold timer', () => {
  it('delays its message as SQS allows, so the digest function gets it when the fold is due', async () => {
    // Prepare
    const timer = createFoldTimer(aws.sqs, aws.digestQueueUrl);
    const delayed = async () =>
      Number(
        (
          await aws.sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: aws.digestQueueUrl,
              AttributeNames: ['ApproximateNumberOfMessagesDelayed'],
            }),
          )
        ).Attributes?.ApproximateNumberOfMessagesDelayed,
      );

    // Act
    await timer.schedule('111122223333#key#ASIATIMERDELAYED001#1', 1_500);
    const atOnce = await aws.drain(aws.digestQueueUrl);
    const delayedAtOnce = await delayed();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const due = await aws.drain(aws.digestQueueUrl);

    // Assess: 1.5 s is rounded up to 2 whole seconds.
    expect(atOnce).toHaveLength(0);
    expect(delayedAtOnce).toBe(1);
    expect(due.map((message) => JSON.parse(message.Body ?? '{}'))).toStrictEqual([
      { foldId: '111122223333#key#ASIATIMERDELAYED001#1' },
    ]);
  });

  it('asks SQS for at most 900 seconds, its longest delay', async () => {
    // Prepare: a client that records what it sends (and sends it).
    const sqs = new SQSClient({ region: 'us-east-1', endpoint: aws.endpoints.fauxqs, credentials: CREDENTIALS });
    const send = vi.spyOn(sqs, 'send');

    // Act
    await createFoldTimer(sqs, aws.digestQueueUrl).schedule('111122223333#key#ASIATIMERCAPPED0001#1', 3_600_000);

    // Assess
    const [command] = send.mock.calls[0] ?? [];
    expect((command as SendMessageCommand | undefined)?.input.DelaySeconds).toBe(900);
    sqs.destroy();
  });
});

describe('the Slack lanes', () => {
  it.each([
    ['a session’s first alert', 'priority', 'root-password-updated.json', { first: true }],
    ['an escalation', 'priority', 'root-password-updated.json', { first: false, escalation: { reason: 'x' } }],
    ['a critical alert of no session', 'priority', 'root-console-sign-in-no-mfa.json', undefined],
    ['a high alert of no session', 'normal', 'root-password-updated.json', undefined],
  ] as const)('sends %s to the %s lane', async (_what, lane, fixture, session) => {
    // Prepare: the alert as the pipeline builds it, with its session.
    const record = { ...readSample(fixture), eventID: `lane-${Math.random()}` };
    const built: Alert[] = [];
    await createAlertPipeline({
      detections,
      minSeverity: 'info',
      runbookBaseUrl: RUNBOOKS,
      state: createDynamoState(aws.dynamodb, aws.tableName),
      enrich: async () => ({}),
      sinks: [{ name: 'capture', send: async (alert) => void built.push(alert) }],
    }).process(recordToEvent(record), 'lane');
    const alert: Alert = { ...(built[0] as Alert), ...(session ? { session: { key: 'k', ...session } } : {}) };
    const sink = createSlackQueueSink(aws.sqs, aws.slackQueueUrl, aws.slackPriorityQueueUrl);

    // Act
    await sink.send(alert);

    // Assess
    const [priority, normal] = [await queued(aws.slackPriorityQueueUrl), await queued(aws.slackQueueUrl)];
    expect((lane === 'priority' ? priority : normal).map((d) => d.eventID)).toStrictEqual([alert.eventID]);
    expect(lane === 'priority' ? normal : priority).toStrictEqual([]);
  });

  it('posts alerts from both lanes and digests from the normal one, each once, pacing each lane on its own', async () => {
    // Prepare: a session's first alert (priority) and its digest (normal), each queued twice (SQS redelivers).
    const alerter = wiring();
    await session(alerter, 'ASIALANENOTIFIER001', 3);
    await alerter.fireTimers();
    await aws.drain(aws.subscriberQueueUrl);
    const priority = await aws.drain(aws.slackPriorityQueueUrl);
    const normal = await aws.drain(aws.slackQueueUrl);
    let clock = Date.now();
    const slept: number[] = [];
    const lane = (queueUrl: string) =>
      createSlackNotifier({
        detections,
        state: createDynamoState(aws.dynamodb, aws.tableName),
        post: async (message, { deadlineMs }) => {
          await postSlackMessage(slack.url, message, { deadline: deadlineMs, allowInsecureLocalhost: true });
        },
        deadLetter: createDeadLetters(aws.sqs, aws.slackDlqUrl, 'Slack message'),
        postpone: createPostponer(aws.sqs, queueUrl),
        minIntervalMs: 4_400,
        maxAgeMs: 24 * 3_600_000,
        now: () => clock,
        sleep: async (ms) => {
          slept.push(ms);
          clock += ms;
        },
      });
    const notify = createLaneNotifier(
      [{ queueName: 'rootwatch-sessions-slack-priority', notify: lane(aws.slackPriorityQueueUrl) }],
      lane(aws.slackQueueUrl),
    );
    const event = {
      Records: [
        ...sqsEventOf(priority, 1, undefined, aws.slackPriorityQueueArn).Records,
        ...sqsEventOf(normal, 1, undefined, aws.slackQueueArn).Records,
      ],
    };

    // Act
    const first = await notify(event, { getRemainingTimeInMillis: () => 60_000 } as Context);
    const second = await notify(event, { getRemainingTimeInMillis: () => 60_000 } as Context);

    // Assess: one post each; the digest did not wait for the priority lane's post (each lane paces itself).
    expect(first.batchItemFailures).toStrictEqual([]);
    expect(second.batchItemFailures).toStrictEqual([]);
    expect(slack.requests).toHaveLength(2);
    expect(slept).toStrictEqual([]);
    const texts = slack.requests.map((request) => (request.body as { text: string }).text);
    expect(texts[0]).toMatch(/HIGH: Root user API call/);
    expect(texts[1]).toMatch(/3 more root events in prod-payments \(111122223333\)/);
  });
});

describe('the deployed alert and digest handlers', () => {
  const lambdaContext = (name: string) =>
    ({
      awsRequestId: `req-${Math.random()}`,
      invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:rootwatch-test-${name}`,
      functionName: `rootwatch-test-${name}`,
      getRemainingTimeInMillis: () => 30_000,
    }) as unknown as Context;

  beforeAll(() => {
    const env = deployedEnvironment(aws, 'http://127.0.0.1:9', {
      ACCOUNT_NAMES: '{"111122223333":"prod-payments"}',
      ACCOUNT_LOOKUP: 'none',
    });
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it('fold a session from their environment alone: the timer on the digest queue, the digest from the handler', async () => {
    // Prepare
    const { handler: alert } = await import('../../functions/alert.js');
    const { handler: digest } = await import('../../functions/digest.js');
    const records = burst('ASIADEPLOYEDHANDLER1', 4);

    const delayed = async () =>
      Number(
        (
          await aws.sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: aws.digestQueueUrl,
              AttributeNames: ['ApproximateNumberOfMessagesDelayed'],
            }),
          )
        ).Attributes?.ApproximateNumberOfMessagesDelayed,
      );
    const delayedBefore = await delayed();

    // Act
    const outcomes = [];
    for (const record of records) outcomes.push(await alert(envelopeOf(record), lambdaContext('alert')));
    const delayedAfter = await delayed();
    const folded = outcomes.filter((o) => o.status === 'folded') as Extract<AlertOutcome, { status: 'folded' }>[];
    // What the digest queue hands the function FOLD_WINDOW_MS later (the message itself is delayed 300 s).
    const timerMessage = {
      MessageId: 'timer-1',
      ReceiptHandle: 'r',
      Body: JSON.stringify({ foldId: folded[0]?.foldId }),
    };
    const result = await digest(sqsEventOf([timerMessage], 1, undefined, aws.digestQueueArn), lambdaContext('digest'));
    const { alerts, digests } = await published();

    // Assess
    expect(outcomes.map((o) => o.status)).toStrictEqual(['delivered', 'folded', 'folded', 'folded']);
    // One timer, for the one fold, delayed (FOLD_WINDOW_MS) on the digest queue.
    expect(delayedAfter - delayedBefore).toBe(1);
    expect(result.batchItemFailures).toStrictEqual([]);
    expect(alerts.map((a) => a.session?.first)).toStrictEqual([true]);
    expect(digests).toHaveLength(1);
    expect(digests[0]?.title).toMatch(/^3 more root events in prod-payments \(111122223333\)/);
    expectEachOnce(records, alerts, digests);
    expect(await queued(aws.slackPriorityQueueUrl)).toHaveLength(1);
    expect(await queued(aws.slackQueueUrl)).toHaveLength(1);
  });
});
