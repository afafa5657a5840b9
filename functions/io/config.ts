import { z } from 'zod';
import { SEVERITIES } from '../core/severity.js';
import { ConfigError } from '../errors.js';

const isJson = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

const AccountNamesSchema = z
  .string()
  .refine(isJson, 'must be a JSON object of account id to name')
  .transform((text) => JSON.parse(text) as unknown)
  .pipe(z.record(z.string().regex(/^\d{12}$/, 'keys must be 12-digit account ids'), z.string().min(1)));

/** Where alert links point for a detection's runbook unless configured: the catalog in the project's repository. */
const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/rootwatch/rootwatch/blob/main/events/';

/** The alert Lambda's environment. */
const AlertConfigSchema = z.object({
  ALERT_TOPIC_ARN: z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/, 'an SNS topic ARN'),
  SLACK_QUEUE_URL: z.url({ protocol: /^https?$/ }),
  STATE_TABLE: z.string().regex(/^[\w.-]{3,255}$/, 'a DynamoDB table name'),
  MIN_SEVERITY: z.enum(SEVERITIES).default('info'),
  RUNBOOK_BASE_URL: z
    .url({ protocol: /^https$/ })
    .refine((url) => url.endsWith('/'), 'must end with /')
    .default(DEFAULT_RUNBOOK_BASE_URL),
  ACCOUNT_NAMES: AccountNamesSchema.optional(),
  /** Look account names up in AWS Organizations (works from the management or a delegated admin account). */
  ACCOUNT_LOOKUP: z.enum(['organizations', 'none']).default('organizations'),
  DETECTIONS_DIR: z.string().min(1).optional(),
});
type AlertConfig = z.infer<typeof AlertConfigSchema>;

/** The Slack notifier's environment. The webhook URL itself is never configured here: it lives in SSM. */
const NotifierConfigSchema = z.object({
  SLACK_WEBHOOK_PARAMETER: z.string().regex(/^\/[\w.\-/]+$/, 'an SSM parameter name starting with /'),
  SLACK_DLQ_URL: z.url({ protocol: /^https?$/ }),
  STATE_TABLE: z.string().regex(/^[\w.-]{3,255}$/, 'a DynamoDB table name'),
  /** Slack takes about one message a second per webhook; serverless.yml runs two notifiers at 2.2 s each. */
  SLACK_MIN_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(1100),
  /** Receives after which a still-failing message goes to the DLQ with its reason. */
  SLACK_MAX_RECEIVES: z.coerce.number().int().min(1).max(100).default(8),
  DETECTIONS_DIR: z.string().min(1).optional(),
});
type NotifierConfig = z.infer<typeof NotifierConfigSchema>;

/** Validates an environment against a schema, listing every problem at once. */
const loadConfig = <S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.infer<S> => {
  // An empty variable (a blank serverless parameter) means "not set".
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(present);
  if (!result.success) {
    throw new ConfigError(`Invalid configuration:\n${z.prettifyError(result.error)}`, { cause: result.error });
  }
  return result.data;
};

export type { AlertConfig, NotifierConfig };
export { AlertConfigSchema, DEFAULT_RUNBOOK_BASE_URL, loadConfig, NotifierConfigSchema };
