import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { DetectionParameters } from '../core/detection.js';
import { ACCOUNT_ID, REGION_NAME } from '../core/forwarding.js';
import { SEVERITIES } from '../core/severity.js';
import * as z from '../core/zod.js';
import { ConfigError, toError } from '../errors.js';

/*
 * One schema per configuration contract:
 * - AlertConfigSchema: the alert Lambda's environment;
 * - NotifierConfigSchema (io/notifier-config.ts, apart, so that no other function bundles the routes' parser): the
 *   Slack notifier's environment;
 * - DigestConfigSchema: the digest function's environment;
 * - EmailConfigSchema: the serverless.yml parameters that become the alert topic's e-mail subscriptions
 *   and reach no function;
 * - DetectionParameterValuesSchema: the parameters the detection files name (`{ param: trailBuckets }`), by their
 *   serverless.yml names, as `rootwatch replay --config FILE` and `--param name=value` give them. The alert
 *   function reads the same values from its environment, through the same field schemas.
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
const AccountNamesSchema = z.pipe(
  z.pipe(
    z.string().check(z.refine(isJson, ACCOUNT_NAMES_SHAPE)),
    z.transform((text: string) => JSON.parse(text) as unknown),
  ),
  z.record(
    z.string().check(z.regex(/^\d{12}$/)),
    z.string().check(z.minLength(1, 'must be a non-empty account name')),
    {
      error: (issue) => {
        if (issue.code === 'invalid_key') return `${quote(issue.input)} is not a 12-digit account id`;
        if (issue.code === 'invalid_type') return ACCOUNT_NAMES_SHAPE;
        return undefined;
      },
    },
  ),
);

/**
 * An alert links to `<base><detection id>.yml`. Unset (the default): no runbook link, since no page is known to exist;
 * Slack and e-mail carry the runbook's steps either way.
 */
const RunbookBaseUrlSchema = z
  .url({
    protocol: /^https$/,
    error: (issue) => (URL.canParse(String(issue.input)) ? 'must be an https URL' : 'is not a URL'),
    abort: true,
  })
  .check(z.refine((url) => url.endsWith('/'), 'must end with "/" (the detection id is appended)'));

/** The message never quotes the value: it may be the webhook URL itself, pasted in the wrong place. */
const SlackWebhookParameterSchema = z
  .string()
  .check(
    z.regex(
      /^\/[\w.\-/]+$/,
      'expected the name of the SSM SecureString holding the Slack webhook URL (starting with "/", then letters, digits, _ . - /), not the URL',
    ),
  );

/** S3 bucket names: 3 to 63 of a-z, 0-9, '.' and '-', starting and ending with a letter or digit. */
const S3_BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** A KMS key ARN: `arn:aws:kms:us-east-1:111122223333:key/1234abcd-…` (multi-Region keys: `key/mrk-…`). */
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[\w-]+$/;
/** CloudWatch Logs group names: 1 to 512 of letters, digits, '_', '-', '/', '.' and '#'. */
const LOG_GROUP_NAME = /^[\w\-/.#]{1,512}$/;

/**
 * A comma-separated list, as a serverless.yml parameter or an environment variable holds it (`a, b,`): trimmed,
 * empty items dropped, each item once. A YAML list (the replay configuration file) is read the same way. The
 * message quotes the bad item: these are resource names, never secrets.
 */
const nameListOf = (item: RegExp, what: string, example: string) =>
  z.pipe(
    z.union([z.string(), z.array(z.string())]),
    z.transform((input: string | string[], context) => {
      const names: string[] = [];
      for (const raw of typeof input === 'string' ? input.split(',') : input) {
        const name = raw.trim();
        if (name === '') continue;
        if (!item.test(name)) {
          context.issues.push({ code: 'custom', input, message: `${quote(name)} is not ${what} (like ${example})` });
        } else if (!names.includes(name)) {
          names.push(name);
        }
      }
      return names;
    }),
  );

/** The S3 buckets the trails deliver to, by name. */
const TrailBucketsSchema = nameListOf(S3_BUCKET_NAME, 'an S3 bucket name', 'aws-cloudtrail-logs-111122223333-1a2b3c4d');
/** The KMS keys that encrypt the trails' log files, by key ARN. */
const TrailKeyArnsSchema = nameListOf(
  KMS_KEY_ARN,
  'a KMS key ARN',
  'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
);
/** The CloudWatch Logs groups the trails deliver to, by name. */
const TrailLogGroupsSchema = nameListOf(
  LOG_GROUP_NAME,
  'a CloudWatch Logs group name',
  'aws-cloudtrail-logs-111122223333',
);
/** rootwatch's own KMS key (AlertTopicKey), by key ARN. */
const AlerterKeyArnSchema = z
  .string()
  .check(z.regex(KMS_KEY_ARN, 'expected a KMS key ARN, like arn:aws:kms:us-east-1:111122223333:key/…'));

/**
 * An organization id: "o-" then 10 to 32 lowercase letters or digits (the Organizations API reference, the pattern
 * of Organization.Id). https://docs.aws.amazon.com/organizations/latest/APIReference/API_Organization.html
 */
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;

/**
 * The serverless.yml parameters of the hub (resources/event-rules.cjs, resources/heartbeat.cjs), by their parameter
 * names. Which forwarders may put events on the hub bus, and which the hub expects heartbeats from.
 */
/** Minutes between two heartbeats, 5 to 720 (see HeartbeatConfigSchema). */
const HeartbeatMinutesSchema = z._default(
  z.coerce
    .number({ error: 'expected a whole number of minutes' })
    .check(
      z.int('expected a whole number of minutes'),
      z.gte(5, 'must be at least 5 (minutes)'),
      z.lte(720, 'must be at most 720 (minutes)'),
    ),
  10,
);

const HubConfigSchema = z.object({
  /** The organization whose forwarders' roles may put events on the hub bus (aws:PrincipalOrgID). Unset: none. */
  organizationId: z.optional(
    z.string().check(z.regex(ORGANIZATION_ID, 'expected an organization id like o-a1b2c3d4e5')),
  ),
  /** Accounts outside (or besides) the organization whose forwarders' roles may put events on the hub bus. */
  memberAccounts: z._default(nameListOf(ACCOUNT_ID, 'a 12-digit account id', '210987654321'), []),
  /** The other regions of the hub's own account that have a forwarder; each gets a heartbeat alarm. */
  forwarderRegions: z._default(nameListOf(REGION_NAME, 'a region name', 'eu-west-1'), []),
});

const StateTableSchema = z.string().check(z.regex(/^[\w.-]{3,255}$/, 'a DynamoDB table name'));
const DetectionsDirSchema = z.string().check(z.minLength(1));

const QueueUrlSchema = z.url({ protocol: /^https?$/ });

/** The alert Lambda's environment. */
const AlertConfigSchema = z.object({
  ALERT_TOPIC_ARN: z.string().check(z.regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/, 'an SNS topic ARN')),
  SLACK_QUEUE_URL: QueueUrlSchema,
  /**
   * The Slack priority lane (a session's first alert, escalations, critical alerts). Unset: every alert takes
   * SLACK_QUEUE_URL, as before the lanes.
   */
  SLACK_PRIORITY_QUEUE_URL: z.optional(QueueUrlSchema),
  /**
   * The fold timer's queue (rootwatch-<stage>-digest). Set: a root session's first alerting event alerts, the rest is
   * folded into digests. Unset: every alerting event alerts on its own, as before sessions.
   */
  DIGEST_QUEUE_URL: z.optional(QueueUrlSchema),
  STATE_TABLE: StateTableSchema,
  /** From the parameter minSeverity. */
  MIN_SEVERITY: z._default(SeveritySchema, 'info'),
  /** From the parameter runbookBaseUrl; unset or empty: alerts carry no runbook link. */
  RUNBOOK_BASE_URL: z.optional(RunbookBaseUrlSchema),
  /** From the parameter accountNames. */
  ACCOUNT_NAMES: z.optional(AccountNamesSchema),
  /**
   * From the parameter accountLookup: look account names up in AWS Organizations (works from the management or
   * a delegated admin account), or not.
   */
  ACCOUNT_LOOKUP: z._default(oneOf(['organizations', 'none']), 'organizations'),
  DETECTIONS_DIR: z.optional(DetectionsDirSchema),
  /**
   * The IP data folder packaged with the function (resources/ip-data.cjs: the country mmdb and the ASN tables in
   * binary), relative to the task root. Unset: the @ip-location-db packages in node_modules, as replay reads them.
   */
  IP_DATA_DIR: z.optional(z.string().check(z.minLength(1))),
  /** From the parameter trailBuckets: audit-trail-tampering watches these buckets. Unset: none. */
  TRAIL_BUCKETS: z._default(TrailBucketsSchema, []),
  /** From the parameter trailKeyArns: audit-trail-tampering watches these keys. Unset: none. */
  TRAIL_KEY_ARNS: z._default(TrailKeyArnsSchema, []),
  /** From the parameter trailLogGroups: audit-trail-tampering watches these log groups. Unset: none. */
  TRAIL_LOG_GROUPS: z._default(TrailLogGroupsSchema, []),
  /**
   * rootwatch's own key, `!GetAtt AlertTopicKey.Arn` in serverless.yml: alerter-tampering watches it. The rules get
   * the same ARN at packaging time; without it here, the function would not recognise what they deliver.
   */
  ALERTER_KEY_ARN: z.optional(AlerterKeyArnSchema),
  /** From the parameter slackWebhookParameter: alerter-tampering watches that SSM parameter. */
  SLACK_WEBHOOK_PARAMETER: z.optional(SlackWebhookParameterSchema),
});
type AlertConfig = z.infer<typeof AlertConfigSchema>;

/** The digest function's environment: where digests go, and where a fold it gives up on goes. */
const DigestConfigSchema = z.object({
  ALERT_TOPIC_ARN: AlertConfigSchema.shape.ALERT_TOPIC_ARN,
  /** Digests take the normal Slack lane. */
  SLACK_QUEUE_URL: QueueUrlSchema,
  STATE_TABLE: StateTableSchema,
  /** rootwatch-<stage>-digest-dlq: folds whose digest still failed at their 10th try, with the reason. */
  DIGEST_DLQ_URL: QueueUrlSchema,
  DETECTIONS_DIR: z.optional(DetectionsDirSchema),
});

/**
 * The guard's environment. What it compares the deployment with is the expected-state document packaged beside it;
 * the values only AWS knows (the KMS key's ARN) are variables that document names (ALERTER_KEY_ARN).
 */
const GuardConfigSchema = z.object({
  ALERT_TOPIC_ARN: AlertConfigSchema.shape.ALERT_TOPIC_ARN,
  SLACK_QUEUE_URL: z.url({ protocol: /^https?$/ }),
  /** The priority Slack lane, which the guard's critical findings take. Unset: the normal lane. */
  SLACK_PRIORITY_QUEUE_URL: z.optional(QueueUrlSchema),
  STATE_TABLE: StateTableSchema,
  /** The expected-state document (resources/guard.cjs writes it at packaging), relative to the task root. */
  EXPECTED_STATE_FILE: z.string().check(z.minLength(1)),
  /** From the parameter runbookBaseUrl: the alert links to alerter-tampering's runbook (unset or empty: no link). */
  RUNBOOK_BASE_URL: z.optional(RunbookBaseUrlSchema),
  /** From the parameter accountNames: the account's name in the alert. */
  ACCOUNT_NAMES: z.optional(AccountNamesSchema),
  DETECTIONS_DIR: z.optional(DetectionsDirSchema),
  /** From the parameter heartbeatMinutes: a forwarder silent for two such periods is reported. */
  HEARTBEAT_MINUTES: HeartbeatMinutesSchema,
  /** From the parameter forwarderRegions: the regions of this account that have a forwarder. */
  FORWARDER_REGIONS: HubConfigSchema.shape.forwarderRegions,
});

/** Rough on purpose: one @, no spaces or commas, a dot in the domain. SNS confirms each address anyway. */
const EMAIL = /^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>".]+$/;

/** `a@example.com, B@example.com,` -> ['a@example.com', 'B@example.com']: trimmed, each address once (any case). */
const EmailListSchema = z.pipe(
  z.string(),
  z.transform((text: string, context) => {
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
  }),
);

/**
 * The serverless.yml parameters that configure e-mail, by their parameter names: they become the alert topic's
 * subscriptions (resources/parameters.cjs) and no function reads them.
 */
const EmailConfigSchema = z.object({
  /** Comma-separated addresses subscribed to the alert topic. Unset: no e-mail. */
  alertEmails: z._default(EmailListSchema, []),
  /** Least severe alert e-mailed. Above info, each subscription filters on the `severity` message attribute. */
  emailMinSeverity: z._default(SeveritySchema, 'info'),
});

/**
 * The serverless.yml parameter of the heartbeat (resources/heartbeat.cjs), by its parameter name; no function reads
 * it. At least 5 minutes, so that a backlog on the Slack queue does not pass for a dead notifier; at most 720, as
 * each heartbeat alarm looks at two periods of that length and CloudWatch evaluates at most a day.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
 */
const HeartbeatConfigSchema = z.object({
  /** Minutes between two heartbeats; the heartbeat alarms fire after two such periods without one. */
  heartbeatMinutes: HeartbeatMinutesSchema,
});

/** What the functions need to emit the heartbeat's metrics: the stage, one of the metric's dimensions. */
const MetricsConfigSchema = z.object({
  /** `${sls:stage}`, set by serverless.yml. */
  ROOTWATCH_STAGE: z.string().check(z.regex(/^[A-Za-z0-9-]{1,40}$/, 'a stage name (letters, digits and -)')),
});

/**
 * The parameters the detection files name, by their serverless.yml names: what `rootwatch replay --config FILE`
 * holds (YAML or JSON) and `--param name=value` sets, validated field by field by the schemas the alert function
 * reads the same values with (TRAIL_BUCKETS, …). An unknown name is refused, so a typo cannot leave a clause
 * without its value unnoticed.
 */
const DetectionParameterValuesSchema = z.strictObject({
  trailBuckets: z.optional(TrailBucketsSchema),
  trailKeyArns: z.optional(TrailKeyArnsSchema),
  trailLogGroups: z.optional(TrailLogGroupsSchema),
  alerterKeyArn: z.optional(AlerterKeyArnSchema),
  slackWebhookParameter: z.optional(SlackWebhookParameterSchema),
});
type DetectionParameterValues = z.infer<typeof DetectionParameterValuesSchema>;

/** `arn:aws:kms:us-east-1:111122223333:key/1234abcd-…` → `1234abcd-…`: KMS calls name a key by either. */
const keyIdOf = (keyArn: string): string => keyArn.slice(keyArn.indexOf(':key/') + ':key/'.length);

/**
 * The values of the detections' placeholders (core/detection.ts, DETECTION_PARAMETERS) for validated parameter
 * values: each KMS key ARN also gives its key id (`trailKeyIds`, `alerterKeyId`), since KMS records whichever
 * the caller gave.
 *
 * @example
 * const parameters = detectionParametersOf({
 *   trailKeyArns: ['arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
 * });
 * parameters.trailKeyIds; // ['1234abcd-12ab-34cd-56ef-1234567890ab']
 */
const detectionParametersOf = (values: DetectionParameterValues): DetectionParameters => ({
  trailBuckets: values.trailBuckets ?? [],
  trailKeyArns: values.trailKeyArns ?? [],
  trailKeyIds: (values.trailKeyArns ?? []).map(keyIdOf),
  trailLogGroups: values.trailLogGroups ?? [],
  alerterKeyArn: values.alerterKeyArn ? [values.alerterKeyArn] : [],
  alerterKeyId: values.alerterKeyArn ? [keyIdOf(values.alerterKeyArn)] : [],
  slackWebhookParameter: values.slackWebhookParameter ? [values.slackWebhookParameter] : [],
});

/**
 * The detection parameters of the alert function's environment (loadConfig(AlertConfigSchema, …)).
 *
 * @example
 * import { loadDetections } from './detections.js';
 * const config = loadConfig(AlertConfigSchema, process.env);
 * const detections = loadDetections(undefined, detectionParametersOfConfig(config));
 */
const detectionParametersOfConfig = (config: AlertConfig): DetectionParameters =>
  detectionParametersOf({
    trailBuckets: config.TRAIL_BUCKETS,
    trailKeyArns: config.TRAIL_KEY_ARNS,
    trailLogGroups: config.TRAIL_LOG_GROUPS,
    ...(config.ALERTER_KEY_ARN ? { alerterKeyArn: config.ALERTER_KEY_ARN } : {}),
    ...(config.SLACK_WEBHOOK_PARAMETER ? { slackWebhookParameter: config.SLACK_WEBHOOK_PARAMETER } : {}),
  });

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Validates detection parameter values (a replay configuration file's mapping, `--param` flags), `from` naming
 * where they came from in the message. A blank value counts as unset.
 *
 * @throws ConfigError naming each bad or unknown parameter (its `cause` is the ZodError).
 * @example
 * parseDetectionParameterValues({ trailBuckets: 'my-trail-bucket,other-trail-bucket' }, '--param');
 * // { trailBuckets: ['my-trail-bucket', 'other-trail-bucket'] }
 */
const parseDetectionParameterValues = (values: unknown, from: string): DetectionParameterValues => {
  const cleaned = isRecord(values)
    ? Object.fromEntries(
        Object.entries(values).filter(([, value]) => value !== undefined && value !== null && value !== ''),
      )
    : values;
  const result = DetectionParameterValuesSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      `Invalid parameters in ${from} (known: ${Object.keys(DetectionParameterValuesSchema.shape).join(', ')}):\n${z.prettifyError(result.error)}`,
      { cause: result.error },
    );
  }
  return result.data;
};

/**
 * Reads a replay configuration file: a YAML (or JSON) mapping of detection parameters by their serverless.yml
 * names, each a comma-separated string or a list, such as events/samples/parameters.yml.
 *
 * @throws ConfigError naming the file when it cannot be read, is not YAML, or holds a bad or unknown parameter.
 * @example
 * const values = readDetectionParameterFile('events/samples/parameters.yml');
 * values.trailBuckets; // ['aws-cloudtrail-logs-111122223333-3f2a9c1e']
 */
const readDetectionParameterFile = (file: string): DetectionParameterValues => {
  let data: unknown;
  try {
    // Required here, on first use, not imported: the Lambda bundles read no such file and ship no YAML parser.
    const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    data = parse(readFileSync(file, 'utf8'), { uniqueKeys: true });
  } catch (error) {
    throw new ConfigError(`${file}: cannot read parameters: ${toError(error).message}`, { cause: error });
  }
  return parseDetectionParameterValues(data ?? {}, file);
};

/**
 * Validates an environment against a schema without throwing. An empty variable (a blank serverless parameter)
 * counts as unset, so the schema's default applies. Each issue's `path` starts with the variable's name.
 *
 * @example
 * import * as z from '../core/zod.js';
 *
 * const result = safeParseConfig(z.pick(AlertConfigSchema, { MIN_SEVERITY: true }), { MIN_SEVERITY: 'urgent' });
 * result.success; // false
 * result.error?.issues[0]?.message; // '"urgent" is not one of info, low, medium, high, critical'
 */
const safeParseConfig = <S extends z.ZodMiniType>(
  schema: S,
  env: Readonly<Record<string, unknown>>,
): z.util.SafeParseResult<z.infer<S>> =>
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
const loadConfig = <S extends z.ZodMiniType>(schema: S, env: Readonly<Record<string, unknown>>): z.infer<S> => {
  const result = safeParseConfig(schema, env);
  if (!result.success) {
    throw new ConfigError(`Invalid configuration:\n${z.prettifyError(result.error)}`, { cause: result.error });
  }
  return result.data;
};

export type { AlertConfig, DetectionParameterValues };
export {
  AccountNamesSchema,
  AlertConfigSchema,
  DetectionsDirSchema,
  DigestConfigSchema,
  detectionParametersOf,
  detectionParametersOfConfig,
  EmailConfigSchema,
  GuardConfigSchema,
  HeartbeatConfigSchema,
  HubConfigSchema,
  loadConfig,
  MetricsConfigSchema,
  nameListOf,
  parseDetectionParameterValues,
  QueueUrlSchema,
  RunbookBaseUrlSchema,
  readDetectionParameterFile,
  SlackWebhookParameterSchema,
  StateTableSchema,
  safeParseConfig,
};
