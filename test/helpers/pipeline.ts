import { createAlertHandler } from '../../functions/alert.js';
import type { CloudTrailEvent } from '../../functions/core/event.js';
import { recordToEvent } from '../../functions/core/event.js';
import { createAccountNames } from '../../functions/io/accounts.js';
import { loadDetections } from '../../functions/io/detections.js';
import { createEnricher } from '../../functions/io/enrich.js';
import { createGeoLookup } from '../../functions/io/geo.js';
import type { Sink } from '../../functions/io/sinks.js';
import { createSlackQueueSink, createSnsSink } from '../../functions/io/sinks.js';
import { createDynamoState } from '../../functions/io/state.js';
import { type LocalAws, publishedOf, sqsEventOf } from '../../functions/local/aws.js';
import { createNotifierHandler, type NotifierDeps } from '../../functions/notify-slack.js';

const detections = loadDetections();

/** The EventBridge event AWS delivers for a record, as the Lambda receives it. */
const envelopeOf = (record: Record<string, unknown>): CloudTrailEvent => {
  const event = recordToEvent(record);
  // EventBridge's own id differs from the CloudTrail eventID; the handler must alert by the latter.
  // Vendor test logs carry "redacted" or no eventTime; EventBridge always stamps a real time.
  const time = Number.isNaN(Date.parse(event.time)) ? '2025-01-01T00:00:00Z' : event.time;
  return { ...event, id: `eb-${event.id}`, time };
};

/** The real alert handler wired to local AWS; any dependency can be swapped for fault injection. */
const alertHandlerFor = (aws: LocalAws, overrides: Partial<Parameters<typeof createAlertHandler>[0]> = {}) =>
  createAlertHandler({
    config: { MIN_SEVERITY: 'info', RUNBOOK_BASE_URL: 'https://runbooks.example/' },
    detections,
    state: createDynamoState(aws.dynamodb, aws.tableName),
    sinks: [
      createSnsSink(aws.sns, aws.topicArn, detections),
      createSlackQueueSink(aws.sqs, aws.slackQueueUrl),
    ] as Sink[],
    enrich: createEnricher({
      geo: createGeoLookup(),
      accountNames: createAccountNames({ names: { '111122223333': 'prod-payments' } }),
    }),
    ...overrides,
  });

/** The real Slack notifier wired to local AWS and a local webhook. */
const notifierFor = (aws: LocalAws, webhookUrl: string, overrides: Partial<NotifierDeps> = {}) =>
  createNotifierHandler({
    config: { SLACK_MIN_INTERVAL_MS: 0, SLACK_MAX_RECEIVES: 3, SLACK_DLQ_URL: aws.slackDlqUrl },
    detections,
    state: createDynamoState(aws.dynamodb, aws.tableName),
    sqs: aws.sqs,
    webhookUrl: async () => webhookUrl,
    postOptions: {
      allowInsecureLocalhost: true,
      timeoutMs: 500,
      baseDelayMs: 1,
      maxAttempts: 2,
      sleep: async () => {},
    },
    ...overrides,
  });

export { alertHandlerFor, detections, envelopeOf, notifierFor, publishedOf, sqsEventOf };
