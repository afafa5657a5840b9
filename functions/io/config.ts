import { z } from 'zod';
import { SEVERITIES } from '../core/severity.js';
import { ConfigError } from '../errors.js';

/*
 * One schema per configuration contract:
 * - AlertConfigSchema: the alert Lambda's environment;
 * - NotifierConfigSchema: the Slack notifier's environment;
 * - EmailConfigSchema: the serverless.yml parameters that become the alert topic's e-mail subscriptions
 *   and reach no function.
 * resources/parameters.cjs checks serverless.yml's parameters at package time with these same schemas, field by
 * field (a parameter becomes the environment variable named in its table), so packaging rejects exactly what a
 * cold start would. A message here may quote a value only where the value cannot be a secret.
 */

/** A value as a message quotes it: `"urgent"`, `12`. */
const quote = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** One of `values`, with a message that quotes the value given and lists the allowed ones. */
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: (issue) => `${quote(issue.input)} is not one of ${values.join(', ')}` });

const SeveritySchema = oneOf(SEVERITIES);

const isJson = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

const ACCOUNT_NAMES_SHAPE = 'expected a JSON object of account id to name, like {"210987654321":"prod-payments"}';

/** `{"210987654321":"prod-payments"}`: display names that win over the ones looked up. */
const AccountNamesSchema = z
  .string()
  .refine(isJson, ACCOUNT_NAMES_SHAPE)
  .transform((text) => JSON.parse(text) as unknown)
  .pipe(
    z.record(z.string().regex(/^\d{12}$/), z.string().min(1, 'must be a non-empty account name'), {
      error: (issue) => {
        if (issue.code === 'invalid_key') return `${quote(issue.input)} is not a 12-digit account id`;
        if (issue.code === 'invalid_type') return ACCOUNT_NAMES_SHAPE;
        return undefined;
      },
    }),
  );

/** Where alert links point for a detection's runbook unless configured: the catalog in the project's repository. */
const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/rootwatch/rootwatch/blob/main/events/';

/** An alert links to `<base><detection id>.yml`. */
const RunbookBaseUrlSchema = z
  .url({
    protocol: /^https$/,
    error: (issue) => (URL.canParse(String(issue.input)) ? 'must be an https URL' : 'is not a URL'),
    abort: true,
  })
  .refine((url) => url.endsWith('/'), 'must end with "/" (the detection id is appended)');

/** The message never quotes the value: it may be the webhook URL itself, pasted in the wrong place. */
const SlackWebhookParameterSchema = z
  .string()
  .regex(
    /^\/[\w.\-/]+$/,
    'expected the name of the SSM SecureString holding the Slack webhook URL (starting with "/", then letters, digits, _ . - /), not the URL',
  );

const StateTableSchema = z.string().regex(/^[\w.-]{3,255}$/, 'a DynamoDB table name');
const DetectionsDirSchema = z.string().min(1);

/** The alert Lambda's environment. */
const AlertConfigSchema = z.object({
  ALERT_TOPIC_ARN: z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/, 'an SNS topic ARN'),
  SLACK_QUEUE_URL: z.url({ protocol: /^https?$/ }),
  STATE_TABLE: StateTableSchema,
  /** From the parameter minSeverity. */
  MIN_SEVERITY: SeveritySchema.default('info'),
  /** From the parameter runbookBaseUrl. */
  RUNBOOK_BASE_URL: RunbookBaseUrlSchema.default(DEFAULT_RUNBOOK_BASE_URL),
  /** From the parameter accountNames. */
  ACCOUNT_NAMES: AccountNamesSchema.optional(),
  /**
   * From the parameter accountLookup: look account names up in AWS Organizations (works from the management or
   * a delegated admin account), or not.
   */
  ACCOUNT_LOOKUP: oneOf(['organizations', 'none']).default('organizations'),
  DETECTIONS_DIR: DetectionsDirSchema.optional(),
});

/** The Slack notifier's environment. The webhook URL itself is never configured here: it lives in SSM. */
const NotifierConfigSchema = z.object({
  /** From the parameter slackWebhookParameter. */
  SLACK_WEBHOOK_PARAMETER: SlackWebhookParameterSchema,
  /** The queue the notifier reads: a message Slack asked to wait for is postponed on it. */
  SLACK_QUEUE_URL: z.url({ protocol: /^https?$/ }),
  SLACK_DLQ_URL: z.url({ protocol: /^https?$/ }),
  STATE_TABLE: StateTableSchema,
  /** Slack takes about one message a second per webhook; serverless.yml runs two notifiers at 2.2 s each. */
  SLACK_MIN_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(1100),
  /** Receives after which a still-failing message goes to the DLQ with its reason. */
  SLACK_MAX_RECEIVES: z.coerce.number().int().min(1).max(100).default(8),
  DETECTIONS_DIR: DetectionsDirSchema.optional(),
});

/** Rough on purpose: one @, no spaces or commas, a dot in the domain. SNS confirms each address anyway. */
const EMAIL = /^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>".]+$/;

/** `a@example.com, B@example.com,` -> ['a@example.com', 'B@example.com']: trimmed, each address once (any case). */
const EmailListSchema = z.string().transform((text, context) => {
  const emails: string[] = [];
  const seen = new Set<string>();
  for (const item of text.split(',')) {
    const email = item.trim();
    if (email === '') continue;
    if (!EMAIL.test(email)) {
      context.issues.push({
        code: 'custom',
        input: text,
        message: `"${email}" is not an e-mail address (expected comma-separated addresses like security@example.com)`,
      });
    } else if (!seen.has(email.toLowerCase())) {
      seen.add(email.toLowerCase());
      emails.push(email);
    }
  }
  return emails;
});

/**
 * The serverless.yml parameters that configure e-mail, by their parameter names: they become the alert topic's
 * subscriptions (resources/parameters.cjs) and no function reads them.
 */
const EmailConfigSchema = z.object({
  /** Comma-separated addresses subscribed to the alert topic. Unset: no e-mail. */
  alertEmails: EmailListSchema.default([]),
  /** Least severe alert e-mailed. Above info, each subscription filters on the `severity` message attribute. */
  emailMinSeverity: SeveritySchema.default('info'),
});

/**
 * Validates an environment against a schema without throwing. An empty variable (a blank serverless parameter)
 * counts as unset, so the schema's default applies. Each issue's `path` starts with the variable's name.
 *
 * @example
 * const result = safeParseConfig(AlertConfigSchema.pick({ MIN_SEVERITY: true }), { MIN_SEVERITY: 'urgent' });
 * result.success; // false
 * result.error?.issues[0]?.message; // '"urgent" is not one of info, low, medium, high, critical'
 */
const safeParseConfig = <S extends z.ZodType>(
  schema: S,
  env: Readonly<Record<string, unknown>>,
): z.ZodSafeParseResult<z.infer<S>> =>
  schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== '')));

/**
 * Validates an environment against a schema (AlertConfigSchema, NotifierConfigSchema, EmailConfigSchema), listing
 * every problem at once. An empty variable counts as unset. Call it once, at cold start.
 *
 * @returns the schema's output: defaults applied, ACCOUNT_NAMES parsed into an object.
 * @throws ConfigError listing each invalid variable by name (its `cause` is the ZodError); it never quotes the
 *   value of SLACK_WEBHOOK_PARAMETER.
 * @example
 * const config = loadConfig(AlertConfigSchema, process.env);
 * config.MIN_SEVERITY; // 'info' unless set
 */
const loadConfig = <S extends z.ZodType>(schema: S, env: Readonly<Record<string, unknown>>): z.infer<S> => {
  const result = safeParseConfig(schema, env);
  if (!result.success) {
    throw new ConfigError(`Invalid configuration:\n${z.prettifyError(result.error)}`, { cause: result.error });
  }
  return result.data;
};

export {
  AlertConfigSchema,
  DEFAULT_RUNBOOK_BASE_URL,
  EmailConfigSchema,
  loadConfig,
  NotifierConfigSchema,
  safeParseConfig,
};
