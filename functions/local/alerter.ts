// The deployed alerter's pipeline and Slack notifier, wired to the local stand-ins instead of AWS: for
// `npm start` and the tests. Development dependencies only: the Lambda bundles never import this file.
import type { Message } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { type AlertPipeline, type AlertPipelineOptions, createAlertPipeline } from '../app/alert-pipeline.js';
import { createDigestQueueConsumer, createFoldFlusher } from '../app/digest.js';
import { createEnricher } from '../app/enrich.js';
import { type HopMetrics, receiveHeartbeat, relayHeartbeat } from '../app/heartbeat.js';
import { createLaneNotifier, createSlackNotifier, type SlackNotifierPorts } from '../app/slack-notifier.js';
import type { Detection } from '../core/detection.js';
import type { HeartbeatHop } from '../core/heartbeat.js';
import type { Severity } from '../core/severity.js';
import { createAccountNames } from '../io/accounts.js';
import { createDynamoSessions } from '../io/dynamo-sessions.js';
import { createDynamoState } from '../io/dynamo-state.js';
import { createDigestDeadLetters, createFoldTimer } from '../io/fold-timer.js';
import { createDynamoHeartbeatLog } from '../io/heartbeat-log.js';
import { createHeartbeatSinks } from '../io/heartbeat-sinks.js';
import { createGeoLookup } from '../io/ip/geo-lookup.js';
import { createSinks } from '../io/sinks.js';
import { createDeadLetters, createPostponer } from '../io/slack-queue.js';
import { type PostOptions, postSlackMessage } from '../io/slack-webhook.js';
import { type LocalAws, sqsEventOf } from './aws.js';

interface LocalPipelineOptions {
  detections: readonly Detection[];
  minSeverity?: Severity;
  runbookBaseUrl?: string | undefined;
  /** The `accountNames` parameter's map. */
  accountNames?: Record<string, string>;
  /**
   * Root sessions, as the alert function folds them when deployed with its digest queue (functions/alert.ts,
   * DIGEST_QUEUE_URL): session state in the state table, the fold timer on the local digest queue, a fold that reaches
   * FOLD_MAX_EVENTS flushed at once to the same destinations, and alerts sent to the Slack lane slackLaneOf picks (the
   * priority queue for first, escalating and critical alerts). The timer's message is sent without the delay SQS
   * would hold it for (FOLD_WINDOW_MS): whoever runs the pipeline decides when the window has passed and hands the
   * messages to the digest function (createLocalDigests). Off by default: every alerting event alerted on its own,
   * every alert on the normal lane, as before sessions.
   */
  sessions?: boolean;
  /** Replaces any port, to inject a fault. */
  overrides?: Partial<AlertPipelineOptions>;
}

/** The destinations of the alert and digest functions on local AWS: the topic, and the Slack lanes when `lanes`. */
const localSinks = (aws: LocalAws, detections: readonly Detection[], lanes: boolean) =>
  createSinks({
    sns: aws.sns,
    topicArn: aws.topicArn,
    sqs: aws.sqs,
    slackQueueUrl: aws.slackQueueUrl,
    ...(lanes ? { slackPriorityQueueUrl: aws.slackPriorityQueueUrl } : {}),
    detections,
  });

/**
 * The alert pipeline as the alert function builds it, on local AWS: DynamoDB state (dynalite), the SNS
 * and Slack-queue sinks (fauxqs), and enrichment from the bundled IP databases and static account names
 * (there is no Organizations or IAM here). Lookups get 60 s instead of 3: a busy test machine loading the
 * IP databases must not make the output vary. With `sessions`, root sessions are folded as deployed (see
 * LocalPipelineOptions.sessions).
 */
const createLocalPipeline = (aws: LocalAws, options: LocalPipelineOptions): AlertPipeline => {
  const state = createDynamoState(aws.dynamodb, aws.tableName);
  const sinks = localSinks(aws, options.detections, options.sessions === true);
  const sessions = createDynamoSessions(aws.dynamodb, aws.tableName);
  const timer = createFoldTimer(aws.sqs, aws.digestQueueUrl);
  return createAlertPipeline({
    detections: options.detections,
    minSeverity: options.minSeverity ?? 'info',
    runbookBaseUrl: options.runbookBaseUrl,
    state,
    sinks,
    ...(options.sessions
      ? {
          sessions: {
            state: sessions,
            // Sent at once: the caller delivers it when its clock says the window has passed (createLocalDigests).
            timer: { schedule: (foldId: string) => timer.schedule(foldId, 0) },
            flush: createFoldFlusher({ sessions, state, sinks }),
          },
        }
      : {}),
    enrich: createEnricher({
      geo: createGeoLookup(),
      accountNames: createAccountNames({ names: options.accountNames ?? {} }),
      timeoutMs: 60_000,
    }),
    ...options.overrides,
  });
};

/**
 * The digest function as functions/digest.ts builds it, on local AWS: each fold timer message flushes its fold
 * (sessions and digest claims in the state table, dynalite) as one digest to the topic and the normal Slack lane
 * (fauxqs); a fold that keeps failing goes to the local digest DLQ.
 * - `consume(event, invocation)`: the function itself, for an SQS event of timer messages;
 * - `deliverTimers(messages?)`: hands `messages` (default: every message now on the digest queue, taken off it) to
 *   it as the digest queue's event source mapping would once their delay had passed; resolves to the messages and
 *   the batch response.
 */
const createLocalDigests = (aws: LocalAws, options: { detections: readonly Detection[] }) => {
  const sessions = createDynamoSessions(aws.dynamodb, aws.tableName);
  const consume = createDigestQueueConsumer({
    flushFold: createFoldFlusher({
      sessions,
      state: createDynamoState(aws.dynamodb, aws.tableName),
      sinks: localSinks(aws, options.detections, false),
    }),
    deadLetter: createDigestDeadLetters(aws.sqs, aws.digestDlqUrl),
  });
  return {
    consume,
    async deliverTimers(given?: Message[]): Promise<{ messages: Message[]; result: SQSBatchResponse }> {
      const messages = given ?? (await aws.drain(aws.digestQueueUrl));
      if (messages.length === 0) return { messages, result: { batchItemFailures: [] } };
      return {
        messages,
        result: await consume(sqsEventOf(messages, 1, undefined, aws.digestQueueArn), 'local-digest'),
      };
    },
  };
};

/** Hop metrics kept in memory, in the order emitted: what the deployed functions write to CloudWatch as EMF. */
const createRecordedHopMetrics = (): HopMetrics & { hops: HeartbeatHop[] } => {
  const hops: HeartbeatHop[] = [];
  return { hops, hop: (hop) => void hops.push(hop) };
};

/**
 * The heartbeat's path as the deployed functions wire it, on local AWS: the alert function's part (`relay`: to the
 * topic and the Slack queue, fauxqs) and the notifier's (`receive`), both recording hops in the state table
 * (dynalite) and in `metrics`.
 */
const createLocalHeartbeat = (aws: LocalAws, metrics: HopMetrics = createRecordedHopMetrics()) => {
  const log = createDynamoHeartbeatLog(aws.dynamodb, aws.tableName);
  return {
    relay: relayHeartbeat({
      log,
      metrics,
      ...createHeartbeatSinks({ sns: aws.sns, topicArn: aws.topicArn, sqs: aws.sqs, slackQueueUrl: aws.slackQueueUrl }),
    }),
    receive: receiveHeartbeat({ log, metrics }),
    log,
  };
};

interface LocalNotifierOptions {
  detections: readonly Detection[];
  /** Where to post: the local Slack server's URL, or a real webhook. */
  webhookUrl: string;
  minIntervalMs?: number;
  /** How long a failing message may stay queued; default 24 hours, as deployed. */
  maxAgeMs?: number;
  postOptions?: PostOptions;
  /**
   * Both Slack lanes, as the notifier function is deployed (functions/notify-slack.ts): records from the priority
   * queue (their eventSourceARN names it: sqsEventOf(messages, 1, undefined, aws.slackPriorityQueueArn)) are posted by
   * a notifier of their own that postpones on that queue, the rest by the normal lane's. Off by default: one notifier
   * for the normal queue.
   */
  lanes?: boolean;
  /** Replaces any port, to inject a fault. */
  overrides?: Partial<SlackNotifierPorts>;
}

/** The Slack notifier as the notifier function builds it, on local AWS and the given webhook. */
const createLocalNotifier = (aws: LocalAws, options: LocalNotifierOptions) => {
  const ports: Omit<SlackNotifierPorts, 'postpone'> = {
    detections: options.detections,
    state: createDynamoState(aws.dynamodb, aws.tableName),
    post: async (message, { deadlineMs }) => {
      await postSlackMessage(options.webhookUrl, message, { deadline: deadlineMs, ...options.postOptions });
    },
    deadLetter: createDeadLetters(aws.sqs, aws.slackDlqUrl, 'Slack message'),
    minIntervalMs: options.minIntervalMs ?? 0,
    maxAgeMs: options.maxAgeMs ?? 24 * 3_600_000,
    heartbeat: createLocalHeartbeat(aws).receive,
  };
  const normal = createSlackNotifier({
    ...ports,
    postpone: createPostponer(aws.sqs, aws.slackQueueUrl),
    ...options.overrides,
  });
  if (!options.lanes) return normal;
  const priority = createSlackNotifier({
    ...ports,
    postpone: createPostponer(aws.sqs, aws.slackPriorityQueueUrl),
    ...options.overrides,
  });
  return createLaneNotifier(
    [{ queueName: aws.slackPriorityQueueArn.split(':').at(-1) ?? '', notify: priority }],
    normal,
  );
};

export { createLocalDigests, createLocalHeartbeat, createLocalNotifier, createLocalPipeline, createRecordedHopMetrics };
