import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePattern } from '../../functions/core/event-pattern/compile.js';
import { CONFIG_COMPLIANCE_PATTERN, configComplianceChangeOf } from '../../functions/core/posture-events.js';
import { EventParseError } from '../../functions/errors.js';

/** AWS Config's "Config Rules Compliance Change" as EventBridge delivers it (the shape of AWS's documented example). */
const sample = (): Record<string, any> =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/config/root-mfa-non-compliant.json'), 'utf8'));

const withRule = (name: string, complianceType = 'NON_COMPLIANT') => {
  const event = sample();
  event.detail.configRuleName = name;
  event.detail.newEvaluationResult.complianceType = complianceType;
  return event;
};

describe('CONFIG_COMPLIANCE_PATTERN', () => {
  const matches = compilePattern(CONFIG_COMPLIANCE_PATTERN);

  it('matches the sample: Security Hub’s root MFA rule turned NON_COMPLIANT', () => {
    expect(matches(sample())).toBe(true);
  });

  it.each([
    'root-account-mfa-enabled',
    'iam-root-access-key-check',
    'securityhub-iam-root-access-key-check-9f8e7d',
    'iam-root-access-key-check-conformance-pack-abcdefghi',
    'AWSControlTower_AWS-GR_ROOT_ACCOUNT_MFA_ENABLED',
  ])('matches the rule named %s', (name) => {
    expect(matches(withRule(name))).toBe(true);
  });

  it.each([
    ['the same rule turned COMPLIANT', withRule('root-account-mfa-enabled', 'COMPLIANT')],
    ['the same rule NOT_APPLICABLE (no root credentials)', withRule('root-account-mfa-enabled', 'NOT_APPLICABLE')],
    ['another rule NON_COMPLIANT', withRule('mfa-enabled-for-iam-console-access')],
    ['a configuration item change', { ...sample(), 'detail-type': 'Config Configuration Item Change' }],
  ])('does not match %s', (_, event) => {
    expect(matches(event)).toBe(false);
  });
});

describe('configComplianceChangeOf', () => {
  it('takes the account, the rule and the event id from a compliance change', () => {
    expect(configComplianceChangeOf(sample())).toStrictEqual({
      id: '2b1e5a3c-7d4f-4e8a-9c0b-1a2b3c4d5e6f',
      accountId: '210987654321',
      configRuleName: 'securityhub-root-account-mfa-enabled-a1b2c3d4',
    });
  });

  it.each([
    ['a scheduled event', { id: 'e', source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }],
    ['an invocation by hand', {}],
    ['nothing', null],
  ])('is undefined for %s', (_, event) => {
    expect(configComplianceChangeOf(event)).toBeUndefined();
  });

  it('throws EventParseError naming detail.awsAccountId when it is not 12 digits', () => {
    const event = sample();
    event.detail.awsAccountId = '21098765432x';
    expect(() => configComplianceChangeOf(event)).toThrow(EventParseError);
    expect(() => configComplianceChangeOf(event)).toThrow(/detail\.awsAccountId: expected a 12-digit account id/);
  });
});
