import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/io/config.js';
import { PostureConfigSchema, PostureParametersSchema } from '../../functions/io/posture-config.js';

/** resources/posture.cjs: the posture function's schedule from the parameter postureSchedule. */
const { postureScheduleOf } = createRequire(import.meta.url)('../../resources/posture.cjs') as {
  postureScheduleOf: (value: string | undefined) => { rate: string; enabled: boolean };
};
/** resources/parameters.cjs: every parameter checked at packaging. */
const { checkParameters } = createRequire(import.meta.url)('../../resources/parameters.cjs') as {
  checkParameters: (values: Record<string, string | undefined>) => unknown;
};

describe('PostureParametersSchema', () => {
  it('defaults postureSchedule to a daily run, and refuses one more often than hourly', () => {
    expect(loadConfig(PostureParametersSchema, {}).postureSchedule).toBe('rate(1 day)');
    expect(() => loadConfig(PostureParametersSchema, { postureSchedule: 'rate(5 minutes)' })).toThrow(
      'postureSchedule',
    );
  });
});

describe('postureSchedule (resources/posture.cjs)', () => {
  it.each([
    [undefined, { rate: 'rate(1 day)', enabled: true }],
    ['', { rate: 'rate(1 day)', enabled: true }],
    ['rate(12 hours)', { rate: 'rate(12 hours)', enabled: true }],
    ['rate(1 hour)', { rate: 'rate(1 hour)', enabled: true }],
    ['cron(0 6 * * ? *)', { rate: 'cron(0 6 * * ? *)', enabled: true }],
    ['off', { rate: 'rate(1 day)', enabled: false }],
  ])('schedules %j as %j', (value, expected) => {
    expect(postureScheduleOf(value)).toStrictEqual(expected);
  });

  it.each(['rate(5 minutes)', 'rate(1 hours)', 'daily', 'cron(0 6 * *)', 'OFF'])(
    'refuses %j, naming the parameter',
    (value) => {
      expect(() => postureScheduleOf(value)).toThrow(
        /^Invalid parameter "postureSchedule": expected off, rate\(N hours\|days\)/,
      );
    },
  );

  it('is checked with every other parameter at packaging', () => {
    expect(() => checkParameters({ postureSchedule: 'rate(5 minutes)' })).toThrow(
      /Invalid parameter "postureSchedule"/,
    );
  });
});

describe('rootEmailDomains (PostureConfigSchema.ROOT_EMAIL_DOMAINS)', () => {
  it('reads a comma list, trimmed, each domain once', () => {
    const config = loadConfig(PostureConfigSchema, {
      ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:rootwatch-prod-alerts',
      SLACK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-slack',
      STATE_TABLE: 'rootwatch-prod-state',
      ROOT_EMAIL_DOMAINS: ' example.com, aws.example.org ,example.com,',
    });
    expect(config.ROOT_EMAIL_DOMAINS).toStrictEqual(['example.com', 'aws.example.org']);
  });

  it('fails packaging on a value that is not a domain, naming the parameter and the item', () => {
    expect(() => checkParameters({ rootEmailDomains: 'example.com,security@example.com' })).toThrow(
      'Invalid parameter "rootEmailDomains": "security@example.com" is not a domain name (like example.com)',
    );
  });
});

describe('postureAuditRole (resources/posture.cjs)', () => {
  const { buildPostureResources, default: resolvePosture } = {
    ...(createRequire(import.meta.url)('../../resources/posture.cjs') as object),
    default: createRequire(import.meta.url)('../../resources/posture.cjs'),
  } as {
    buildPostureResources: (
      stage: string,
      auditRole?: string,
      schedule?: { rate: string; enabled: boolean },
    ) => { Resources: Record<string, unknown> };
    default: (context: { resolveVariable: (address: string) => Promise<unknown> }) => Promise<unknown>;
  };
  const resolveWith = (values: Record<string, string>) =>
    resolvePosture({ resolveVariable: async (address) => ({ 'sls:stage': 'prod', ...values })[address] });

  it('grants no sts:AssumeRole when empty, and the schedule and Config rules either way', () => {
    expect(Object.keys(buildPostureResources('prod').Resources).sort()).toStrictEqual([
      'HubPostureConfigRule',
      'HubPostureConfigRulePermission',
      'PostureConfigRule',
      'PostureConfigRulePermission',
      'PostureScheduleRule',
      'PostureScheduleRulePermission',
    ]);
    expect(Object.keys(buildPostureResources('prod', 'audit').Resources)).toContain('PostureAuditRolePolicy');
  });

  it('leaves the schedule rule in place but disabled with postureSchedule off', () => {
    const { Resources } = buildPostureResources('prod', undefined, { rate: 'rate(1 day)', enabled: false });
    expect(Resources.PostureScheduleRule).toMatchObject({
      Type: 'AWS::Events::Rule',
      Properties: { Name: 'rootwatch-prod-posture', ScheduleExpression: 'rate(1 day)', State: 'DISABLED' },
    });
  });

  it('refuses a value that is not an IAM role name, naming the parameter', async () => {
    await expect(resolveWith({ 'param:postureAuditRole': 'arn:aws:iam::1:role/x y' })).rejects.toThrow(
      /Invalid parameter "postureAuditRole": expected an IAM role name/,
    );
  });
});
