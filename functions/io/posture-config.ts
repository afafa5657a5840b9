import * as z from '../core/zod.js';
import {
  AccountNamesSchema,
  AlertConfigSchema,
  DetectionsDirSchema,
  nameListOf,
  QueueUrlSchema,
  RunbookBaseUrlSchema,
  StateTableSchema,
} from './config.js';

/*
 * The posture function's environment and parameters, apart from io/config.ts so that the other functions' bundles do
 * not carry them.
 */

/** A DNS domain name: labels of letters, digits and hyphens, dot-separated, a letter-only top level (`example.com`). */
const DOMAIN_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/**
 * The parameter rootEmailDomains: the domains the company owns, comma-separated. A root e-mail on none of them (or
 * their subdomains) is a finding of the posture check (core/posture.ts); empty: only personal mailboxes are.
 */
const RootEmailDomainsSchema = nameListOf(DOMAIN_NAME, 'a domain name', 'example.com');

/**
 * The parameter postureSchedule: when the posture function runs, an EventBridge schedule expression of at least an
 * hour apart (`rate(1 day)`, `rate(12 hours)`, `cron(0 6 * * ? *)`), or `off` for no schedule (run it by hand).
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
 */
const PostureScheduleSchema = z
  .string()
  .check(
    z.regex(
      /^(off|rate\((1 (hour|day)|([2-9]|[1-9]\d+) (hours|days))\)|cron\((\S+ ){5}\S+\))$/,
      'expected off, rate(N hours|days) (at least an hour apart, "1 hour" or "2 hours"), or cron(six fields)',
    ),
  );

/**
 * The parameter postureAuditRole: the name of a read-only role in each member account (the forwarder's
 * `rootwatch-<stage>-posture-audit`, or your own) that the posture function assumes when AssumeRoot is refused. An
 * IAM role name: letters, digits and +=,.@_-, 1 to 64 characters.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html (RoleName)
 */
const PostureAuditRoleSchema = z
  .string()
  .check(z.regex(/^[\w+=,.@-]{1,64}$/, 'expected an IAM role name (letters, digits and +=,.@_-, up to 64)'));

/** The serverless.yml parameter of the posture function's schedule (resources/posture.cjs), by its parameter name. */
const PostureParametersSchema = z.object({
  postureSchedule: z._default(PostureScheduleSchema, 'rate(1 day)'),
});

/**
 * The posture function's environment (functions/posture.ts): where its alerts go (the guard's destinations) and what
 * it checks the root e-mails against.
 */
const PostureConfigSchema = z.object({
  ALERT_TOPIC_ARN: AlertConfigSchema.shape.ALERT_TOPIC_ARN,
  SLACK_QUEUE_URL: QueueUrlSchema,
  /** The priority Slack lane, which critical findings take. Unset: the normal lane. */
  SLACK_PRIORITY_QUEUE_URL: z.optional(QueueUrlSchema),
  STATE_TABLE: StateTableSchema,
  /** From the parameter rootEmailDomains. Unset: only personal mailboxes are findings. */
  ROOT_EMAIL_DOMAINS: z._default(RootEmailDomainsSchema, []),
  /** From the parameter postureAuditRole: the members' read-only role when AssumeRoot is refused. Unset: none. */
  POSTURE_AUDIT_ROLE: z.optional(PostureAuditRoleSchema),
  /** From the parameter runbookBaseUrl: the alert links to root-posture-drift's runbook (unset or empty: no link). */
  RUNBOOK_BASE_URL: z.optional(RunbookBaseUrlSchema),
  /** From the parameter accountNames: names that win over the Organizations names in the alerts. */
  ACCOUNT_NAMES: z.optional(AccountNamesSchema),
  DETECTIONS_DIR: z.optional(DetectionsDirSchema),
});

export { PostureConfigSchema, PostureParametersSchema };
