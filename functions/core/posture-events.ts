import { EventParseError } from '../errors.js';
import * as z from './zod.js';

/*
 * AWS Config's compliance changes for the two managed rules that watch root, matched as events so that the posture
 * function checks that account within minutes instead of at its next scheduled run. They are not CloudTrail events:
 * Config sends them to EventBridge itself ("Config Rules Compliance Change", best effort), so they never reach the
 * alert function, replay or Athena; an EventBridge rule hands them to the posture function (resources/posture.cjs on
 * the hub's two buses, functions/deploy/forwarder-template.ts in other accounts and regions).
 *   https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-config.html
 *   https://docs.aws.amazon.com/config/latest/developerguide/monitor-config-with-cloudwatchevents.html (the event)
 *   https://docs.aws.amazon.com/config/latest/developerguide/example-config-rule-compliance-notification.html
 *     (`detail` is this notification's Message: awsAccountId, configRuleName, newEvaluationResult.complianceType, …)
 */

/**
 * The names the two managed rules get, as `configRuleName` matchers (EventBridge `wildcard` and `prefix`,
 * case-sensitive):
 * - the Config console and conformance packs name them after the rule: `root-account-mfa-enabled`,
 *   `iam-root-access-key-check`, `iam-root-access-key-check-conformance-pack-…`;
 * - Security Hub: `securityhub-root-account-mfa-enabled-<suffix>`, `securityhub-iam-root-access-key-check-<suffix>`
 *   (both inside the two lower-case wildcards);
 * - Control Tower's detective control: `AWSControlTower_AWS-GR_ROOT_ACCOUNT_MFA_ENABLED`; a rule named after the key
 *   check's identifier, `…IAM_ROOT_ACCESS_KEY_CHECK…`.
 * Three wildcards at most: EventBridge refuses a fourth `*…*` here as "Rule is too complex" (the project's matcher,
 * core/event-pattern/wildcards.ts, reproduces that check).
 *   https://docs.aws.amazon.com/config/latest/developerguide/root-account-mfa-enabled.html (ROOT_ACCOUNT_MFA_ENABLED)
 *   https://docs.aws.amazon.com/config/latest/developerguide/iam-root-access-key-check.html (IAM_ROOT_ACCESS_KEY_CHECK)
 *   https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html (IAM.4, IAM.9: their Config rules)
 *   https://docs.aws.amazon.com/controltower/latest/controlreference/strongly-recommended-controls.html
 */
const ROOT_CONFIG_RULE_NAMES = [
  { wildcard: '*root-account-mfa-enabled*' },
  { wildcard: '*iam-root-access-key-check*' },
  { wildcard: '*IAM_ROOT_ACCESS_KEY_CHECK*' },
  { prefix: 'AWSControlTower_AWS-GR_ROOT_ACCOUNT_MFA_ENABLED' },
];

/** The `detail-type` of a Config rule's compliance change. */
const CONFIG_COMPLIANCE_DETAIL_TYPE = 'Config Rules Compliance Change';

/**
 * The EventBridge pattern of the posture function's Config rules: a compliance change of one of the root rules to
 * NON_COMPLIANT (a change back to COMPLIANT is no drift). The hub (resources/posture.cjs) and the forwarders
 * (functions/deploy/forwarder-template.ts) package exactly this.
 */
const CONFIG_COMPLIANCE_PATTERN = {
  source: ['aws.config'],
  'detail-type': [CONFIG_COMPLIANCE_DETAIL_TYPE],
  detail: {
    configRuleName: ROOT_CONFIG_RULE_NAMES,
    newEvaluationResult: { complianceType: ['NON_COMPLIANT'] },
  },
};

const ConfigComplianceEventSchema = z.object({
  id: z.string(),
  source: z.literal('aws.config'),
  'detail-type': z.literal(CONFIG_COMPLIANCE_DETAIL_TYPE),
  detail: z.object({
    awsAccountId: z.string().check(z.regex(/^\d{12}$/, 'expected a 12-digit account id')),
    configRuleName: z.string(),
  }),
});

/** What the posture function takes from a Config compliance change. */
interface ConfigComplianceChange {
  /** The event's id: names the run across Lambda's retries. */
  id: string;
  /** The account whose rule changed (`detail.awsAccountId`), 12 digits. */
  accountId: string;
  /** The Config rule, e.g. `securityhub-root-account-mfa-enabled-a1b2c3`. */
  configRuleName: string;
}

/**
 * The account of a Config compliance change the posture function was invoked with, or undefined when `event` is not
 * one (`source` aws.config with `detail-type` "Config Rules Compliance Change"): a scheduled event, or `{}` by hand.
 *
 * @throws EventParseError naming the field when it is such an event but has no id, no 12-digit `detail.awsAccountId`
 *   or no `detail.configRuleName`.
 * @example
 * configComplianceChangeOf({
 *   id: 'e1', source: 'aws.config', 'detail-type': 'Config Rules Compliance Change',
 *   detail: { awsAccountId: '210987654321', configRuleName: 'root-account-mfa-enabled' },
 * }); // { id: 'e1', accountId: '210987654321', configRuleName: 'root-account-mfa-enabled' }
 */
const configComplianceChangeOf = (event: unknown): ConfigComplianceChange | undefined => {
  const candidate = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  if (candidate.source !== 'aws.config' || candidate['detail-type'] !== CONFIG_COMPLIANCE_DETAIL_TYPE) return undefined;
  const result = ConfigComplianceEventSchema.safeParse(event);
  if (!result.success) {
    const where = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new EventParseError(`Config compliance change: ${where}`, { cause: result.error });
  }
  const { id, detail } = result.data;
  return { id, accountId: detail.awsAccountId, configRuleName: detail.configRuleName };
};

export { CONFIG_COMPLIANCE_PATTERN, configComplianceChangeOf };
