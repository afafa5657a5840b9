// The deployed alerter's pipeline and Slack notifier, wired to the local stand-ins instead of AWS: for
// `npm start` and the tests. Development dependencies only: the Lambda bundles never import this file.
import { type AlertPipeline, type AlertPipelineOptions, createAlertPipeline } from '../app/alert-pipeline.js';
import { createEnricher } from '../app/enrich.js';
import { type HopMetrics, receiveHeartbeat, relayHeartbeat } from '../app/heartbeat.js';
import { createSlackNotifier, type SlackNotifierPorts } from '../app/slack-notifier.js';
import type { Detection } from '../core/detection.js';
import type { HeartbeatHop } from '../core/heartbeat.js';
import type { Severity } from '../core/severity.js';
import { createAccountNames } from '../io/accounts.js';
import { createDynamoState } from '../io/dynamo-state.js';
import { createDynamoHeartbeatLog } from '../io/heartbeat-log.js';
import { createHeartbeatSinks } from '../io/heartbeat-sinks.js';
import { createGeoLookup } from '../io/ip/geo-lookup.js';
import { createSinks } from '../io/sinks.js';
import { createPostponer, createSlackDeadLetters } from '../io/slack-queue.js';
import { type PostOptions, postSlackMessage } from '../io/slack-webhook.js';
import type { LocalAws } from './aws.js';

interface LocalPipelineOptions {
  detections: readonly Detection[];
  minSeverity?: Severity;
  runbookBaseUrl: string;
  /** The `accountNames` parameter's map. */
  accountNames?: Record<string, string>;
  /** Replaces any port, to inject a fault. */
  overrides?: Partial<AlertPipelineOptions>;
}

/**
 * The alert pipeline as the alert function builds it, on local AWS: DynamoDB state (dynalite), the SNS
 * and Slack-queue sinks (fauxqs), and enrichment from the bundled IP databases and static account names
 * (there is no Organizations or IAM here). Lookups get 60 s instead of 3: a busy test machine loading the
 * IP databases must not make the output vary.
 */
const createLocalPipeline = (aws: LocalAws, options: LocalPipelineOptions): AlertPipeline =>
  createAlertPipeline({
    detections: options.detections,
    minSeverity: options.minSeverity ?? 'info',
    runbookBaseUrl: options.runbookBaseUrl,
    state: createDynamoState(aws.dynamodb, aws.tableName),
    sinks: createSinks({
      sns: aws.sns,
      topicArn: aws.topicArn,
      sqs: aws.sqs,
      slackQueueUrl: aws.slackQueueUrl,
      detections: options.detections,
    }),
    enrich: createEnricher({
      geo: createGeoLookup(),
      accountNames: createAccountNames({ names: options.accountNames ?? {} }),
      timeoutMs: 60_000,
    }),
    ...options.overrides,
  });

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
  /** Replaces any port, to inject a fault. */
  overrides?: Partial<SlackNotifierPorts>;
}

/** The Slack notifier as the notifier function builds it, on local AWS and the given webhook. */
const createLocalNotifier = (aws: LocalAws, options: LocalNotifierOptions) =>
  createSlackNotifier({
    detections: options.detections,
    state: createDynamoState(aws.dynamodb, aws.tableName),
    post: async (message, { deadlineMs }) => {
      await postSlackMessage(options.webhookUrl, message, { deadline: deadlineMs, ...options.postOptions });
    },
    deadLetter: createSlackDeadLetters(aws.sqs, aws.slackDlqUrl),
    postpone: createPostponer(aws.sqs, aws.slackQueueUrl),
    minIntervalMs: options.minIntervalMs ?? 0,
    maxAgeMs: options.maxAgeMs ?? 24 * 3_600_000,
    heartbeat: createLocalHeartbeat(aws).receive,
    ...options.overrides,
  });

export { createLocalHeartbeat, createLocalNotifier, createLocalPipeline, createRecordedHopMetrics };
