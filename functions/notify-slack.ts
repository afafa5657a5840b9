import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { receiveHeartbeat } from './app/heartbeat.js';
import type { SlackNotifierPorts } from './app/slack-notifier.js';
import { ConfigError, toError } from './errors.js';
import { createNotifierClients } from './io/aws-clients.js';
import { logger } from './io/logger.js';

/**
 * The modules of the wiring, imported on the first invocation rather than at module load (a cold start evaluates this
 * file, the logger and the clients' factory only; see functions/alert.ts, "Loading").
 */
const notifierModules = async () => {
  const { receiveHeartbeat } = await import('./app/heartbeat.js');
  const { createLaneNotifier, createSlackNotifier } = await import('./app/slack-notifier.js');
  const { loadConfig } = await import('./io/config.js');
  const { NotifierConfigSchema } = await import('./io/notifier-config.js');
  const { detectionsDirFor, loadDetections } = await import('./io/detections.js');
  const { createDynamoState } = await import('./io/dynamo-state.js');
  const { createDynamoHeartbeatLog } = await import('./io/heartbeat-log.js');
  const { hopMetricsOf } = await import('./io/heartbeat-metrics.js');
  const { createHealthMetrics } = await import('./io/metrics.js');
  const { createDeadLetters, createPostponer } = await import('./io/slack-queue.js');
  const { postSlackMessage } = await import('./io/slack-webhook.js');
  const { createWebhookUrlReader } = await import('./io/slack-webhook-url.js');
  return {
    receiveHeartbeat,
    createLaneNotifier,
    createSlackNotifier,
    loadConfig,
    NotifierConfigSchema,
    detectionsDirFor,
    loadDetections,
    createDynamoState,
    createDynamoHeartbeatLog,
    hopMetricsOf,
    createHealthMetrics,
    createDeadLetters,
    createPostponer,
    postSlackMessage,
    createWebhookUrlReader,
  };
};

/**
 * The longest Slack Retry-After the notifier waits out in process; a longer one postpones the message
 * on the queue instead, so a wait never runs past the function's timeout.
 */
const MAX_RETRY_AFTER_MS = 5_000;

/** The queue name of an SQS queue URL (its last path segment), as an SQS record's eventSourceARN ends with it. */
const queueNameOfUrl = (url: string): string => new URL(url).pathname.split('/').at(-1) ?? '';

/**
 * The deployed wiring, built on the first invocation from the environment (checked once), with the clients'
 * timeouts of io/aws-clients.ts. `webhookUrl` reads the URL from SSM (cached for five minutes); the handler asks
 * it first, so a missing, empty, denied or wrong parameter fails the invocation before any message is touched.
 * Each route of SLACK_ROUTES (the parameter slackRoutes) has a reader of its own parameter, read when a message first
 * goes there: a route whose parameter is missing or wrong fails that route's posts only (app/slack-notifier.ts). A
 * route naming the default parameter is the default channel, which has every message already.
 * Two lanes, one notifier each (its own pace, postponing on its own queue): the priority queue's batches, by their
 * event source, and the Slack queue's (anything else).
 */
const createProductionNotifier = async (env: Record<string, string | undefined>) => {
  const {
    createDeadLetters,
    createDynamoHeartbeatLog,
    createDynamoState,
    createHealthMetrics,
    createLaneNotifier,
    createPostponer,
    createSlackNotifier,
    createWebhookUrlReader,
    detectionsDirFor,
    hopMetricsOf,
    loadConfig,
    loadDetections,
    NotifierConfigSchema,
    postSlackMessage,
    receiveHeartbeat,
  } = await notifierModules();
  const config = loadConfig(NotifierConfigSchema, env);
  const clients = await createNotifierClients();
  const webhookUrl = createWebhookUrlReader(clients.ssm, config.SLACK_WEBHOOK_PARAMETER);
  const routes = config.SLACK_ROUTES.filter((route) => route.parameter !== config.SLACK_WEBHOOK_PARAMETER);
  const routeUrls = new Map(
    routes.map((route) => [route.parameter, createWebhookUrlReader(clients.ssm, route.parameter)] as const),
  );
  let receive: ReturnType<typeof receiveHeartbeat> | undefined;
  const ports: Omit<SlackNotifierPorts, 'postpone'> = {
    // Titles and runbooks only: the notifier matches no event, so its placeholders need no values.
    detections: loadDetections(detectionsDirFor(config.DETECTIONS_DIR, env.LAMBDA_TASK_ROOT), {}),
    state: createDynamoState(clients.dynamodb, config.STATE_TABLE),
    routes,
    post: async (message, { deadlineMs, route }) => {
      const url = route === undefined ? webhookUrl : routeUrls.get(route);
      if (!url) throw new ConfigError(`no Slack route reads SSM parameter ${route}`);
      await postSlackMessage(await url(), message, {
        maxRetryAfterMs: MAX_RETRY_AFTER_MS,
        deadline: deadlineMs,
      });
    },
    deadLetter: createDeadLetters(clients.sqs, config.SLACK_DLQ_URL, 'Slack message'),
    minIntervalMs: config.SLACK_MIN_INTERVAL_MS,
    maxAgeMs: config.SLACK_MAX_AGE_HOURS * 3_600_000,
    metrics: createHealthMetrics(env.ROOTWATCH_STAGE),
    // The heartbeat's last hop: recorded in the state table and as a metric, never posted. Built on the first
    // heartbeat, so that its configuration (ROOTWATCH_STAGE) never stands between an alert and Slack.
    heartbeat: (beat) => {
      receive ??= receiveHeartbeat({
        log: createDynamoHeartbeatLog(clients.dynamodb, config.STATE_TABLE),
        metrics: hopMetricsOf(env),
      });
      return receive(beat);
    },
  };
  const normal = createSlackNotifier({ ...ports, postpone: createPostponer(clients.sqs, config.SLACK_QUEUE_URL) });
  const priority = config.SLACK_PRIORITY_QUEUE_URL;
  const notify = priority
    ? createLaneNotifier(
        [
          {
            queueName: queueNameOfUrl(priority),
            notify: createSlackNotifier({ ...ports, postpone: createPostponer(clients.sqs, priority) }),
          },
        ],
        normal,
      )
    : normal;
  return { webhookUrl, notify };
};

let notifier: Awaited<ReturnType<typeof createProductionNotifier>> | undefined;

/**
 * The Slack notifier, fed by the event source mappings of the Slack queue and its priority lane (partial batch
 * responses). Throws, failing
 * the invocation so that its Errors alarm fires and every message stays queued, when the configuration is
 * invalid or the webhook URL cannot be read from SSM; any other problem is one message's, reported in the
 * batch response.
 */
const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  try {
    notifier ??= await createProductionNotifier(process.env);
    await notifier.webhookUrl();
    return await notifier.notify(event, context);
  } catch (error) {
    const err = toError(error);
    logger.error('notifier failed; the messages stay queued', { errorName: err.name, error: err.message });
    throw err;
  }
};

export { handler };
