/**
 * One run of the burst benchmark (burst.bench.ts): the burst handed to the deployed alert handler (functions/alert.ts),
 * the fold timers to the deployed digest handler (functions/digest.ts), both Slack lanes drained by the notifier, all
 * against fresh local servers (functions/local/aws.ts: fauxqs and dynalite; functions/local/slack-server.ts). Resolves
 * to what came out: the Slack posts (with when the webhook received each), the documents and e-mails on the topic,
 * the dead letters, the folds left open, and timings.
 *
 * How each part is driven:
 * - Alert function: the events in arrival order, `concurrency` invocations at a time, each as EventBridge hands it
 *   (the envelope) with a Lambda context. A throw is retried twice (Lambda's asynchronous retries, made at once here
 *   rather than after about 1 and 2 minutes), then the event is recorded as dead-lettered with its error (the alert
 *   DLQ, which functions/local/aws.ts does not create).
 * - Benchmark clock: the arrival clock of the events (ms after the burst's start), so the 60 s burst is compressed to
 *   however long the handlers take. It moves to an event's arrival time when the event is handed; once every event
 *   is handled, it jumps to the next due fold timer.
 * - Fold timers: read from the local digest queue without consuming them (fauxqs's inspection endpoint, which shows
 *   delayed messages with their send time and delayUntil). A message was sent by the invocation of its fold's first
 *   event (the fold item's openedBy), so it is due at that event's arrival plus its DelaySeconds (delayUntil −
 *   sentTimestamp, as the alert function asked); then it is handed to the digest handler, up to 10 at a time, as the
 *   digest queue's mapping would. One the handler reports failed comes back 180 s later (the queue's visibility
 *   timeout, resources/alerting.yml) with its receive count raised.
 * - Slack: per lane (priority, normal) `notifiersPerLane` pollers, each one notifier function instance (its own
 *   pace per lane, as a Lambda instance keeps it), receiving up to 5 messages (the mappings' batchSize) with long
 *   polling, deleting what the partial batch response does not name. The lanes are polled apart, as their two event
 *   source mappings do. The notifier is createLocalNotifier (functions/local/alerter.ts), the deployed one's logic on
 *   a local webhook: the deployed handler (functions/notify-slack.ts) reads its URL from SSM and accepts only
 *   https://hooks.slack.com/… (io/slack-webhook-url.ts, io/slack-webhook.ts), so it cannot post to a loopback server.
 */
import { type AttributeValue, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createLaneNotifier } from '../../functions/app/slack-notifier.js';
import { type Alert, AlertSchema } from '../../functions/core/alert-document.js';
import { mapLimit } from '../../functions/core/concurrency.js';
import type { Detection } from '../../functions/core/detection.js';
import { type Digest, DigestSchema } from '../../functions/core/digest-document.js';
import { createPostponer } from '../../functions/io/slack-queue.js';
import { createLocalNotifier } from '../../functions/local/alerter.js';
import {
  deployedEnvironment,
  type LocalAws,
  publishedOf,
  sqsEventOf,
  startLocalAws,
} from '../../functions/local/aws.js';
import { startSlackServer } from '../../functions/local/slack-server.js';
import { type BurstEvent, envelopeOf } from './burst-events.js';

/** How a run is set up. */
interface RunOptions {
  /** Names the local queues, topic and table (rootwatch-…). */
  name: string;
  /** Sessions on (the alert function with DIGEST_QUEUE_URL, as deployed now) or off (without: every event alerts). */
  sessions: boolean;
  events: readonly BurstEvent[];
  /** Alert function invocations at once. */
  concurrency: number;
  /** SLACK_MIN_INTERVAL_MS of every notifier: the least time between two posts of one notifier on one lane. */
  slackMinIntervalMs: number;
  /** Notifier instances polling each lane (the mappings' maximumConcurrency, 2 in serverless.yml). */
  notifiersPerLane: number;
  /** The run gives up waiting for the queues to empty after this many ms (real time). */
  timeoutMs: number;
  /** The catalog the notifier renders titles with. */
  detections: readonly Detection[];
}

/** A Slack post as the local webhook received it. */
interface Post {
  /** Date.now() when the webhook received it. */
  atMs: number;
  rawBody: string;
}

/** One fold timer message and what became of it. */
interface TimerDelivery {
  foldId: string;
  /** SQS DelaySeconds the alert function asked for. */
  delaySeconds: number;
  /** Benchmark clock (ms after the burst's start): when it was sent, when it is (next) due, when last handed over. */
  sentAtMs: number;
  dueAtMs: number;
  handedAtMs?: number;
  receives: number;
  /** The digest handler took it (flushed, or found the fold done, or dead-lettered it itself). */
  done: boolean;
}

/** What a run produced. */
interface RunResult {
  options: Omit<RunOptions, 'events' | 'detections'>;
  posts: Post[];
  /** The lane each posted id (eventID or digestID) came from. */
  laneOf: Map<string, 'priority' | 'normal'>;
  alerts: Alert[];
  digests: Digest[];
  /** SNS messages with an e-mail body. */
  emails: number;
  /** SNS messages in all. */
  published: number;
  /** What the alert handler returned, by status (`error` when it threw for good). */
  outcomes: Map<string, number>;
  /** Events the alert function failed on after its retries, with the error. */
  alertDeadLetters: Array<{ eventID: string; reason: string }>;
  /** Folds in the digest DLQ, with the reason and the eventIDs their item holds. */
  digestDeadLetters: Array<{ foldId: string; reason: string; eventIDs: string[] }>;
  /** Messages in the Slack DLQ, with the reason. */
  slackDeadLetters: string[];
  /** Folds still open or being flushed at the end, with their eventIDs. */
  openFolds: Array<{ foldId: string; status: string; eventIDs: string[] }>;
  timers: TimerDelivery[];
  /** Date.now() when each event was handed to the alert handler (first attempt), and when its invocation ended. */
  handedAt: number[];
  returnedAt: number[];
  /** ms: handing every event (first handed to last returned), and until everything had settled. */
  handlingMs: number;
  totalMs: number;
  /** Whether every queue emptied before timeoutMs. */
  settled: boolean;
}

type AlertHandler = typeof import('../../functions/alert.js')['handler'];
type DigestHandler = typeof import('../../functions/digest.js')['handler'];

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Lambda context for `name`, with `timeoutMs` from now. The account is the hub's, not the burst's. */
const lambdaContext = (name: string, requestId: string, timeoutMs: number): Context => {
  const started = Date.now();
  return {
    awsRequestId: requestId,
    functionName: `rootwatch-bench-${name}`,
    invokedFunctionArn: `arn:aws:lambda:us-east-1:444455556666:function:rootwatch-bench-${name}`,
    getRemainingTimeInMillis: () => timeoutMs - (Date.now() - started),
  } as unknown as Context;
};

/**
 * The benchmark clock (ms after the burst's start). `set` only moves it forward and remembers when (real time) it
 * did, so `atReal` can tell what it read at a past real time (when a timer message was sent).
 */
const createBenchClock = () => {
  let nowMs = 0;
  const marks: Array<{ realMs: number; benchMs: number }> = [];
  return {
    now: () => nowMs,
    set(ms: number) {
      if (ms <= nowMs && marks.length > 0) return;
      nowMs = Math.max(nowMs, ms);
      marks.push({ realMs: Date.now(), benchMs: nowMs });
    },
    atReal(realMs: number): number {
      let found = 0;
      for (const mark of marks) {
        if (mark.realMs > realMs) break;
        found = mark.benchMs;
      }
      return found;
    },
  };
};

/** A message of fauxqs's inspection endpoint (GET /_fauxqs/queues/<name>; fauxqs README, "Queue inspection"). */
interface InspectedMessage {
  messageId: string;
  body: string;
  sentTimestamp: number;
  approximateReceiveCount: number;
  delayUntil?: number;
}

/** Every message in queue `url` (ready, delayed, in flight), without receiving any. */
const inspectQueue = async (aws: LocalAws, url: string): Promise<InspectedMessage[]> => {
  const name = new URL(url).pathname.split('/').at(-1) ?? '';
  const response = await fetch(`${aws.endpoints.fauxqs}/_fauxqs/queues/${encodeURIComponent(name)}`);
  if (!response.ok) throw new Error(`fauxqs inspection of queue ${name} answered ${response.status}`);
  const { messages } = (await response.json()) as {
    messages: { ready: InspectedMessage[]; delayed: InspectedMessage[]; inflight: { message: InspectedMessage }[] };
  };
  return [...messages.ready, ...messages.delayed, ...messages.inflight.map((entry) => entry.message)];
};

/** Messages visible, in flight and delayed on queue `url`. */
const queueDepth = async (aws: LocalAws, url: string): Promise<number> => {
  const { Attributes = {} } = await aws.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return Object.values(Attributes).reduce((sum, value) => sum + Number(value), 0);
};

/** The id a Slack queue message posts under: an alert's eventID or a digest's digestID. */
const idOfBody = (body: string | undefined): string | undefined => {
  try {
    const document = JSON.parse(body ?? '') as { eventID?: unknown; digestID?: unknown };
    const id = document.digestID ?? document.eventID;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
};

/**
 * The Slack lanes, drained as their event source mappings do: per lane `perLane` pollers, each a notifier function
 * instance (createLaneNotifier over one notifier per lane, as functions/notify-slack.ts builds it).
 */
const startSlackLanes = (aws: LocalAws, webhookUrl: string, options: RunOptions) => {
  const priorityName = new URL(aws.slackPriorityQueueUrl).pathname.split('/').at(-1) ?? '';
  const laneOf = new Map<string, 'priority' | 'normal'>();
  let busy = 0;
  let stopped = false;

  const notifierInstance = () => {
    const notifierFor = (queueUrl: string) =>
      createLocalNotifier(aws, {
        detections: options.detections,
        webhookUrl,
        minIntervalMs: options.slackMinIntervalMs,
        // As functions/notify-slack.ts: a Retry-After over 5 s postpones the message instead (MAX_RETRY_AFTER_MS).
        postOptions: { allowInsecureLocalhost: true, maxRetryAfterMs: 5_000 },
        overrides: { postpone: createPostponer(aws.sqs, queueUrl) },
      });
    return createLaneNotifier(
      [{ queueName: priorityName, notify: notifierFor(aws.slackPriorityQueueUrl) }],
      notifierFor(aws.slackQueueUrl),
    );
  };

  const poll = async (lane: 'priority' | 'normal', queueUrl: string, queueArn: string) => {
    const notify = notifierInstance();
    let invocation = 0;
    while (!stopped) {
      const { Messages = [] } = await aws.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 5,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) continue;
      busy += 1;
      const event: SQSEvent = {
        Records: Messages.flatMap(
          (message) =>
            sqsEventOf([message], Number(message.Attributes?.ApproximateReceiveCount) || 1, undefined, queueArn)
              .Records,
        ),
      };
      invocation += 1;
      let failed: Set<string>;
      try {
        const result = await notify(event, lambdaContext('notify-slack', `${lane}-${invocation}`, 60_000));
        failed = new Set(result.batchItemFailures.map((failure) => failure.itemIdentifier));
      } catch (error) {
        console.error(`notifier (${lane} lane) failed its invocation: ${(error as Error).message}`);
        failed = new Set(Messages.map((message) => message.MessageId ?? ''));
      }
      for (const message of Messages.filter((m) => !failed.has(m.MessageId ?? ''))) {
        const id = idOfBody(message.Body);
        if (id !== undefined) laneOf.set(id, lane);
        await aws.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
      busy -= 1;
    }
  };

  const pollers = Array.from({ length: options.notifiersPerLane }, () => [
    poll('priority', aws.slackPriorityQueueUrl, aws.slackPriorityQueueArn),
    poll('normal', aws.slackQueueUrl, aws.slackQueueArn),
  ]).flat();

  return {
    laneOf,
    /** Both lanes empty (nothing visible, in flight or delayed) and no notifier invocation running. */
    idle: async () =>
      busy === 0 &&
      (await queueDepth(aws, aws.slackPriorityQueueUrl)) === 0 &&
      (await queueDepth(aws, aws.slackQueueUrl)) === 0 &&
      busy === 0,
    stop: async () => {
      stopped = true;
      await Promise.all(pollers);
    },
  };
};

/** The digest queue's messages handed to the digest handler when due on the benchmark clock (see the top). */
const startFoldTimers = (
  aws: LocalAws,
  digest: DigestHandler | undefined,
  clock: ReturnType<typeof createBenchClock>,
  alertsSettled: () => boolean,
  arrivalOf: (eventID: string | undefined) => number | undefined,
) => {
  const timers = new Map<string, TimerDelivery & { message: InspectedMessage }>();
  let stopped = false;
  let failure: Error | undefined;
  /** A whole look at the queue began after the last alert invocation ended: no timer it sent is unseen. */
  let caughtUp = false;

  const tick = async () => {
    const settledBefore = alertsSettled();
    for (const message of await inspectQueue(aws, aws.digestQueueUrl)) {
      if (timers.has(message.messageId)) continue;
      const delayMs = message.delayUntil === undefined ? 0 : message.delayUntil - message.sentTimestamp;
      const foldId = (JSON.parse(message.body) as { foldId?: string }).foldId ?? '(no foldId)';
      // Sent by the invocation of the fold's first event (its item's openedBy): the clock read that event's arrival.
      const sentAtMs = arrivalOf(await openerOf(aws, foldId)) ?? clock.atReal(message.sentTimestamp);
      timers.set(message.messageId, {
        message,
        foldId,
        delaySeconds: Math.round(delayMs / 1000),
        sentAtMs,
        dueAtMs: sentAtMs + delayMs,
        receives: 0,
        done: false,
      });
    }
    const pending = [...timers.values()].filter((timer) => !timer.done);
    // Nothing else will happen before the next timer: move the clock to it.
    if (alertsSettled() && pending.length > 0) clock.set(Math.min(...pending.map((timer) => timer.dueAtMs)));
    const due = pending.filter((timer) => timer.dueAtMs <= clock.now()).slice(0, 10);
    caughtUp = settledBefore;
    if (due.length === 0 || !digest) return;
    const records = due.flatMap((timer) => {
      timer.receives += 1;
      timer.handedAtMs = clock.now();
      const message: Message = { MessageId: timer.message.messageId, ReceiptHandle: '', Body: timer.message.body };
      return sqsEventOf([message], timer.receives, timer.message.sentTimestamp, aws.digestQueueArn).Records;
    });
    let result: SQSBatchResponse;
    try {
      result = await digest({ Records: records }, lambdaContext('digest', `digest-${clock.now()}`, 30_000));
    } catch (error) {
      console.error(`digest function failed its invocation: ${(error as Error).message}`);
      result = { batchItemFailures: records.map((record) => ({ itemIdentifier: record.messageId })) };
    }
    const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
    for (const timer of due) {
      // A failed one comes back after the digest queue's visibility timeout (180 s); the handler itself dead-letters
      // one still failing at its 10th receive, reporting it done.
      if (failed.has(timer.message.messageId)) timer.dueAtMs = clock.now() + 180_000;
      else timer.done = true;
    }
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        await tick();
      } catch (error) {
        failure = error as Error;
        return;
      }
      await pause(50);
    }
  })();

  return {
    idle: () => {
      if (failure) throw failure;
      return caughtUp && [...timers.values()].every((timer) => timer.done);
    },
    timers: (): TimerDelivery[] => [...timers.values()].map(({ message: _message, ...timer }) => timer),
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
};

/** The eventID whose invocation opened fold `foldId` (its item's openedBy, functions/io/dynamo-sessions.ts). */
const openerOf = async (aws: LocalAws, foldId: string): Promise<string | undefined> => {
  const { Item } = await aws.dynamodb.send(
    new GetItemCommand({
      TableName: aws.tableName,
      Key: { pk: { S: `fold#${foldId}` } },
      ConsistentRead: true,
      ProjectionExpression: 'openedBy',
    }),
  );
  return Item?.openedBy?.S;
};

/** Every fold item of the state table still open or being flushed, with the eventIDs it holds. */
const openFoldsOf = async (aws: LocalAws) => {
  const folds: Array<{ foldId: string; status: string; eventIDs: string[] }> = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await aws.dynamodb.send(
      new ScanCommand({
        TableName: aws.tableName,
        FilterExpression: 'begins_with(pk, :fold) AND #status <> :flushed',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':fold': { S: 'fold#' }, ':flushed': { S: 'flushed' } },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      folds.push({
        foldId: (item.pk?.S ?? '').replace(/^fold#/, ''),
        status: item.status?.S ?? '?',
        eventIDs: Object.keys(item.entries?.M ?? {}),
      });
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return folds;
};

/** Sets `env` in process.env; returns how to put back what was there. */
const applyEnvironment = (env: Record<string, string | undefined>) => {
  const before = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  const set = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  set(env);
  return () => set(before);
};

/**
 * Runs the burst once (see the top of this file): fresh local servers, the deployed handlers loaded anew for this
 * run's environment (a module instance of their own, so their cached wiring is this run's), everything drained.
 */
const runBurst = async (options: RunOptions): Promise<RunResult> => {
  const aws = await startLocalAws(options.name);
  const posts: Post[] = [];
  const slack = await startSlackServer();
  slack.setScript(
    Array.from({ length: 20_000 }, () => (request: { rawBody: string }) => {
      posts.push({ atMs: Date.now(), rawBody: request.rawBody });
      return 200;
    }),
  );
  const env: Record<string, string | undefined> = {
    ...deployedEnvironment(aws, 'http://127.0.0.1:9', {
      ACCOUNT_NAMES: '{"111122223333":"prod-payments"}',
      ACCOUNT_LOOKUP: 'none',
      SLACK_MIN_INTERVAL_MS: String(options.slackMinIntervalMs),
    }),
  };
  if (!options.sessions) env.DIGEST_QUEUE_URL = undefined;
  const restoreEnvironment = applyEnvironment(env);
  try {
    // A module instance per run (the query string): the handlers build their wiring once, from the environment.
    const alert = ((await import(`../../functions/alert.js?${options.name}`)) as { handler: AlertHandler }).handler;
    const digest = options.sessions
      ? ((await import(`../../functions/digest.js?${options.name}`)) as { handler: DigestHandler }).handler
      : undefined;

    const clock = createBenchClock();
    const outcomes = new Map<string, number>();
    const count = (status: string) => outcomes.set(status, (outcomes.get(status) ?? 0) + 1);
    const alertDeadLetters: RunResult['alertDeadLetters'] = [];
    const handedAt: number[] = [];
    const returnedAt: number[] = [];
    let handling = true;

    const lanes = startSlackLanes(aws, slack.url, options);
    const arrivals = new Map(options.events.map((event) => [event.record.eventID, event.arrivalMs]));
    const timers = startFoldTimers(
      aws,
      digest,
      clock,
      () => !handling,
      (id) => (id === undefined ? undefined : arrivals.get(id)),
    );
    const started = Date.now();

    const numbered = options.events.map((event, index) => ({ ...event, index }));
    await mapLimit(numbered, options.concurrency, async ({ record, arrivalMs, index }) => {
      clock.set(arrivalMs);
      const envelope = envelopeOf(record);
      handedAt[index] = Date.now();
      let error: Error | undefined;
      for (let attempt = 1; attempt <= 3; attempt += 1) {
        try {
          const outcome = await alert(envelope, lambdaContext('alert', `alert-${index}-${attempt}`, 30_000));
          count(outcome.status);
          error = undefined;
          break;
        } catch (caught) {
          error = caught as Error;
        }
      }
      if (error) {
        count('error');
        alertDeadLetters.push({ eventID: record.eventID, reason: `${error.name}: ${error.message}` });
      }
      returnedAt[index] = Date.now();
    });
    handling = false;
    const handlingMs = Date.now() - started;

    let settled = false;
    while (Date.now() - started < options.timeoutMs) {
      if (timers.idle() && (await lanes.idle())) {
        settled = true;
        break;
      }
      await pause(100);
    }
    await timers.stop();
    await lanes.stop();
    const totalMs = Date.now() - started;

    const documents = (await aws.drain(aws.subscriberQueueUrl)).map((message) => publishedOf(message).structure);
    const parsed = documents.map((structure) => JSON.parse(structure.sqs ?? '{}') as { schema?: string });
    const openFolds = await openFoldsOf(aws);
    const digestDeadLetters = (await aws.drain(aws.digestDlqUrl)).map((message) => {
      const foldId = (JSON.parse(message.Body ?? '{}') as { foldId?: string }).foldId ?? '';
      return {
        foldId,
        reason: message.MessageAttributes?.reason?.StringValue ?? '(no reason)',
        eventIDs: openFolds.find((fold) => fold.foldId === foldId)?.eventIDs ?? [],
      };
    });
    const slackDeadLetters = (await aws.drain(aws.slackDlqUrl)).map(
      (message) => message.MessageAttributes?.reason?.StringValue ?? '(no reason)',
    );

    return {
      options: {
        name: options.name,
        sessions: options.sessions,
        concurrency: options.concurrency,
        slackMinIntervalMs: options.slackMinIntervalMs,
        notifiersPerLane: options.notifiersPerLane,
        timeoutMs: options.timeoutMs,
      },
      posts,
      laneOf: lanes.laneOf,
      alerts: parsed.filter((d) => d.schema === 'rootwatch.alert/v1').map((d) => AlertSchema.parse(d)),
      digests: parsed.filter((d) => d.schema === 'rootwatch.digest/v1').map((d) => DigestSchema.parse(d)),
      emails: documents.filter((structure) => typeof structure.email === 'string' && structure.email !== '').length,
      published: documents.length,
      outcomes,
      alertDeadLetters,
      digestDeadLetters,
      slackDeadLetters,
      openFolds: openFolds.filter((fold) => !digestDeadLetters.some((dead) => dead.foldId === fold.foldId)),
      timers: timers.timers(),
      handedAt,
      returnedAt,
      handlingMs,
      totalMs,
      settled,
    };
  } finally {
    restoreEnvironment();
    await slack.close();
    await aws.stop();
  }
};

export type { RunResult };
export { runBurst };
