import type { Context } from 'aws-lambda';
import type { AlertOutcome, AlertPipelineOptions } from '../../functions/app/alert-pipeline.js';
import type { SlackNotifierPorts } from '../../functions/app/slack-notifier.js';
import { type CloudTrailEvent, parseEvent, recordToEvent } from '../../functions/core/event.js';
import { loadDetections } from '../../functions/io/detections.js';
import type { PostOptions } from '../../functions/io/slack-webhook.js';
import { createLocalNotifier, createLocalPipeline } from '../../functions/local/alerter.js';
import { type LocalAws, publishedOf, sqsEventOf } from '../../functions/local/aws.js';

const detections = loadDetections();

/** The EventBridge event AWS delivers for a record, as the Lambda receives it. */
const envelopeOf = (record: Record<string, unknown>): CloudTrailEvent => {
  const event = recordToEvent(record);
  // EventBridge's own id differs from the CloudTrail eventID; the handler must alert by the latter.
  // Vendor test logs carry "redacted" or no eventTime; EventBridge always stamps a real time.
  const time = Number.isNaN(Date.parse(event.time)) ? '2025-01-01T00:00:00Z' : event.time;
  return { ...event, id: `eb-${event.id}`, time };
};

/**
 * What the alert function does with an event (parse, then the one pipeline), wired to local AWS as the
 * deployed function is to AWS; any port can be swapped for fault injection.
 */
const alertHandlerFor = (aws: LocalAws, overrides: Partial<AlertPipelineOptions> = {}) => {
  const pipeline = createLocalPipeline(aws, {
    detections,
    runbookBaseUrl: 'https://runbooks.example/',
    accountNames: { '111122223333': 'prod-payments' },
    overrides,
  });
  return async (raw: unknown, context: Pick<Context, 'awsRequestId'>): Promise<AlertOutcome> =>
    pipeline.process(parseEvent(raw), context.awsRequestId);
};

/** The real Slack notifier wired to local AWS and a local webhook, with quick retries. */
const notifierFor = (
  aws: LocalAws,
  webhookUrl: string,
  options: { postOptions?: PostOptions; overrides?: Partial<SlackNotifierPorts> } = {},
) =>
  createLocalNotifier(aws, {
    detections,
    webhookUrl,
    postOptions: options.postOptions ?? {
      allowInsecureLocalhost: true,
      timeoutMs: 500,
      baseDelayMs: 1,
      maxAttempts: 2,
      sleep: async () => {},
    },
    ...(options.overrides ? { overrides: options.overrides } : {}),
  });

export { alertHandlerFor, detections, envelopeOf, notifierFor, publishedOf, sqsEventOf };
