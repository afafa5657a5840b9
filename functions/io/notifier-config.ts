import { parseSlackRoutes } from '../core/slack-routes.js';
import * as z from '../core/zod.js';
import { DetectionsDirSchema, QueueUrlSchema, SlackWebhookParameterSchema, StateTableSchema } from './config.js';

/*
 * The Slack notifier's environment, apart from io/config.ts: it alone parses slackRoutes (core/slack-routes.ts), so
 * the other functions' bundles, which import io/config.ts, do not carry the routes' parser.
 */

/**
 * The parameter slackRoutes: comma-separated `SELECTOR=PARAMETER` entries sending matching messages to extra Slack
 * channels besides the default one (core/slack-routes.ts has the syntax). Each bad entry is an issue naming its
 * position; a target that is not a parameter name (a webhook URL) is never quoted.
 */
const SlackRoutesSchema = z.pipe(
  z.string(),
  z.transform((text: string, context) => {
    const { routes, problems } = parseSlackRoutes(text);
    for (const message of problems) context.issues.push({ code: 'custom', input: '', message });
    return routes;
  }),
);

/** The Slack notifier's environment. The webhook URL itself is never configured here: it lives in SSM. */
const NotifierConfigSchema = z.object({
  /** From the parameter slackWebhookParameter. */
  SLACK_WEBHOOK_PARAMETER: SlackWebhookParameterSchema,
  /** The queue the notifier reads: a message Slack asked to wait for is postponed on it. */
  SLACK_QUEUE_URL: z.url({ protocol: /^https?$/ }),
  /** The priority lane, read by a mapping of its own; its messages are postponed on it. Unset: one lane only. */
  SLACK_PRIORITY_QUEUE_URL: z.optional(QueueUrlSchema),
  SLACK_DLQ_URL: z.url({ protocol: /^https?$/ }),
  STATE_TABLE: StateTableSchema,
  /**
   * The least time between two posts of one notifier on one lane. Slack takes about one message a second per
   * webhook; serverless.yml runs at most four notifiers (two per lane) at 4.4 s each.
   */
  SLACK_MIN_INTERVAL_MS: z._default(z.coerce.number().check(z.int(), z.gte(0), z.lte(60_000)), 1100),
  /**
   * How long a message may keep failing (Slack down, timing out, answering 5xx or 429) before it goes to the DLQ
   * with its reason, in hours from when it was queued (SentTimestamp). Until then it stays queued, tried again
   * after a backoff of 1 to 15 minutes. At most 72: the Slack queue keeps messages 4 days (resources/alerting.yml).
   */
  SLACK_MAX_AGE_HOURS: z._default(z.coerce.number().check(z.gte(1), z.lte(72)), 24),
  DETECTIONS_DIR: z.optional(DetectionsDirSchema),
  /**
   * From the parameter slackRoutes: the extra channels each message also goes to, by severity, kind or detection
   * (core/slack-routes.ts). Unset: the default channel only.
   */
  SLACK_ROUTES: z._default(SlackRoutesSchema, []),
});

export { NotifierConfigSchema };
