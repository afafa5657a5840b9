import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type * as z from '../../functions/core/zod.js';
import { ConfigError } from '../../functions/errors.js';
import {
  AlertConfigSchema,
  detectionParametersOfConfig,
  EmailConfigSchema,
  GuardConfigSchema,
  loadConfig,
  parseDetectionParameterValues,
  readDetectionParameterFile,
  safeParseConfig,
} from '../../functions/io/config.js';
import { NotifierConfigSchema } from '../../functions/io/notifier-config.js';
import { PostureConfigSchema } from '../../functions/io/posture-config.js';
import { REPO_ROOT } from '../helpers/corpus.js';

const alertEnv = {
  ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:rootwatch-prod-alerts',
  SLACK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-slack',
  STATE_TABLE: 'rootwatch-prod-state',
};
const notifierEnv = {
  SLACK_WEBHOOK_PARAMETER: '/rootwatch/prod/slack-webhook-url',
  SLACK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-slack',
  SLACK_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-slack-dlq',
  STATE_TABLE: 'rootwatch-prod-state',
};
const ACCOUNT_NAMES_SHAPE = 'expected a JSON object of account id to name, like {"210987654321":"prod-payments"}';
const WEBHOOK_PARAMETER_RULE =
  'expected the name of the SSM SecureString holding the Slack webhook URL (starting with "/", then letters, digits, _ . - /), not the URL';

const errorOf = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
};

/** The issues of a failed parse, as `{ path, message }`; none when it succeeded. */
const issuesOf = (result: z.util.SafeParseResult<unknown>) =>
  (result.error?.issues ?? []).map(({ path, message }) => ({ path, message }));

describe('loadConfig', () => {
  it('reads a valid environment with its defaults', () => {
    expect(loadConfig(AlertConfigSchema, alertEnv)).toEqual({
      ...alertEnv,
      MIN_SEVERITY: 'info',
      ACCOUNT_LOOKUP: 'organizations',
      TRAIL_BUCKETS: [],
      TRAIL_KEY_ARNS: [],
      TRAIL_LOG_GROUPS: [],
    });
  });

  it('parses the account names map', () => {
    const config = loadConfig(AlertConfigSchema, { ...alertEnv, ACCOUNT_NAMES: '{"210987654321":"prod-payments"}' });
    expect(config.ACCOUNT_NAMES).toEqual({ '210987654321': 'prod-payments' });
  });

  it('treats an empty variable (a blank parameter) as unset', () => {
    expect(loadConfig(AlertConfigSchema, { ...alertEnv, ACCOUNT_NAMES: '', MIN_SEVERITY: '' }).MIN_SEVERITY).toBe(
      'info',
    );
  });

  it('lists every problem at once, naming each variable', () => {
    const error = errorOf(() =>
      loadConfig(AlertConfigSchema, {
        ALERT_TOPIC_ARN: 'not-an-arn',
        STATE_TABLE: 'x',
        MIN_SEVERITY: 'urgent',
        ACCOUNT_NAMES: '{"12":"short"}',
        RUNBOOK_BASE_URL: 'http://insecure.example/',
      }),
    );
    expect(error).toBeInstanceOf(ConfigError);
    for (const name of [
      'ALERT_TOPIC_ARN',
      'SLACK_QUEUE_URL',
      'STATE_TABLE',
      'MIN_SEVERITY',
      'ACCOUNT_NAMES',
      'RUNBOOK_BASE_URL',
    ]) {
      expect(error.message).toContain(name);
    }
  });

  it('says what is wrong with account names that are not JSON', () => {
    const { message } = errorOf(() => loadConfig(AlertConfigSchema, { ...alertEnv, ACCOUNT_NAMES: '{oops' }));
    expect(message).toContain(`${ACCOUNT_NAMES_SHAPE}\n  → at ACCOUNT_NAMES`);
  });

  it('checks the notifier environment, with Slack pacing defaults', () => {
    const config = loadConfig(NotifierConfigSchema, notifierEnv);
    expect(config).toMatchObject({ SLACK_MIN_INTERVAL_MS: 1100, SLACK_MAX_AGE_HOURS: 24 });
    expect(() =>
      loadConfig(NotifierConfigSchema, { SLACK_WEBHOOK_PARAMETER: 'https://hooks.slack.com/services/T/B/secret' }),
    ).toThrow(/SLACK_WEBHOOK_PARAMETER/);
  });

  it('never repeats a value in its message, so a secret pasted in the wrong place is not logged', () => {
    const secret = 'https://hooks.slack.com/services/T000/B000/verysecretvalue';
    const error = errorOf(() => loadConfig(NotifierConfigSchema, { SLACK_WEBHOOK_PARAMETER: secret }));
    expect(error.message).not.toContain('verysecretvalue');
  });
});

describe('AlertConfigSchema and NotifierConfigSchema', () => {
  it.each([
    ['MIN_SEVERITY', 'urgent', [], '"urgent" is not one of info, low, medium, high, critical'],
    ['MIN_SEVERITY', ' high', [], '" high" is not one of info, low, medium, high, critical'],
    ['MIN_SEVERITY', 'HIGH', [], '"HIGH" is not one of info, low, medium, high, critical'],
    ['RUNBOOK_BASE_URL', 'runbooks/', [], 'is not a URL'],
    ['RUNBOOK_BASE_URL', 'http://runbooks.example.com/', [], 'must be an https URL'],
    ['RUNBOOK_BASE_URL', 'https://runbooks.example.com/r', [], 'must end with "/" (the detection id is appended)'],
    ['ACCOUNT_NAMES', '{oops', [], ACCOUNT_NAMES_SHAPE],
    ['ACCOUNT_NAMES', '["210987654321"]', [], ACCOUNT_NAMES_SHAPE],
    ['ACCOUNT_NAMES', '{"prod":"210987654321"}', ['prod'], '"prod" is not a 12-digit account id'],
    ['ACCOUNT_NAMES', '{"210987654321":""}', ['210987654321'], 'must be a non-empty account name'],
    ['ACCOUNT_LOOKUP', 'org', [], '"org" is not one of organizations, none'],
  ])('rejects %s %j with one message', (variable, value, at, message) => {
    // Act
    const result = safeParseConfig(AlertConfigSchema, { ...alertEnv, [variable]: value });

    // Assess
    expect(issuesOf(result)).toStrictEqual([{ path: [variable, ...at], message }]);
  });

  it.each([
    'rootwatch/slack-webhook-url',
    '/rootwatch/slack webhook',
    'https://hooks.slack.com/services/T000/B000/XXXXXXXX',
  ])('rejects SLACK_WEBHOOK_PARAMETER %j without quoting it', (value) => {
    // Act
    const result = safeParseConfig(NotifierConfigSchema, { ...notifierEnv, SLACK_WEBHOOK_PARAMETER: value });

    // Assess
    expect(issuesOf(result)).toStrictEqual([{ path: ['SLACK_WEBHOOK_PARAMETER'], message: WEBHOOK_PARAMETER_RULE }]);
  });
});

describe('EmailConfigSchema', () => {
  it('reads comma-separated addresses, trimmed, each once whatever its case, in order', () => {
    // Act
    const config = loadConfig(EmailConfigSchema, {
      alertEmails: ' a@example.com,, A@Example.com ,b@example.org,',
      emailMinSeverity: 'high',
    });

    // Assess
    expect(config).toStrictEqual({ alertEmails: ['a@example.com', 'b@example.org'], emailMinSeverity: 'high' });
  });

  it('subscribes no one and filters nothing when both are blank', () => {
    expect(loadConfig(EmailConfigSchema, { alertEmails: '', emailMinSeverity: '' })).toStrictEqual({
      alertEmails: [],
      emailMinSeverity: 'info',
    });
  });

  it('names every address that is not one, and a severity that is not one', () => {
    // Act
    const result = safeParseConfig(EmailConfigSchema, {
      alertEmails: 'sec@example.com,oncall at example.com,ops@localhost',
      emailMinSeverity: 'severe',
    });

    // Assess
    expect(issuesOf(result)).toStrictEqual([
      {
        path: ['alertEmails'],
        message:
          '"oncall at example.com" is not an e-mail address (expected comma-separated addresses like security@example.com)',
      },
      {
        path: ['alertEmails'],
        message:
          '"ops@localhost" is not an e-mail address (expected comma-separated addresses like security@example.com)',
      },
      { path: ['emailMinSeverity'], message: '"severe" is not one of info, low, medium, high, critical' },
    ]);
  });
});

/** resources/parameters.cjs, which serverless.yml runs at package time (it loads functions/io/config.ts itself). */
interface ParametersModule {
  checkParameters: (values: Record<string, unknown>) => { alertEmails: string[]; emailMinSeverity: string };
  checkParameterNames: (cliParams: unknown) => void;
  PARAMETERS: Record<string, { field: string; schema: z.ZodMiniObject }>;
}
const { checkParameters, checkParameterNames, PARAMETERS } = createRequire(import.meta.url)(
  '../../resources/parameters.cjs',
) as ParametersModule;

describe('checkParameterNames (--param at package time)', () => {
  it('refuses a misspelt parameter, naming it and the known ones, so a typo cannot deploy without it', () => {
    expect(() => checkParameterNames(['alertEmail=sec@example.com', 'minSeverity=high'])).toThrow(
      /Invalid parameter "alertEmail": unknown parameter \(rootwatch has minSeverity, .*alertEmails/,
    );
    expect(() => checkParameterNames('fooBar=1')).toThrow(/"fooBar": unknown parameter/);
  });

  it('accepts the known parameters, and no parameter at all', () => {
    expect(() => checkParameterNames(Object.keys(PARAMETERS).map((name) => `${name}=x`))).not.toThrow();
    expect(() => checkParameterNames(undefined)).not.toThrow();
  });
});

/** serverless.yml's defaults. */
const DEFAULT_PARAMS: Record<string, string> = {
  alertEmails: '',
  emailMinSeverity: 'info',
  minSeverity: 'info',
  runbookBaseUrl: 'https://github.com/rootwatch/rootwatch/blob/main/events/',
  accountNames: '',
  accountLookup: 'organizations',
  slackWebhookParameter: '/rootwatch/dev/slack-webhook-url',
  slackRoutes: '',
  trailBuckets: '',
  trailKeyArns: '',
  trailLogGroups: '',
  heartbeatMinutes: '10',
  organizationId: '',
  memberAccounts: '',
  forwarderRegions: '',
  rootEmailDomains: '',
  postureAuditRole: '',
  postureSchedule: 'rate(1 day)',
};
/** What each parameter becomes, and the schema and the rest of the environment that reads it at run time. */
const FUNCTION_PARAMETERS: Record<string, { variable: string; schema: z.ZodMiniType; env: Record<string, string> }> = {
  minSeverity: { variable: 'MIN_SEVERITY', schema: AlertConfigSchema, env: alertEnv },
  runbookBaseUrl: { variable: 'RUNBOOK_BASE_URL', schema: AlertConfigSchema, env: alertEnv },
  accountNames: { variable: 'ACCOUNT_NAMES', schema: AlertConfigSchema, env: alertEnv },
  accountLookup: { variable: 'ACCOUNT_LOOKUP', schema: AlertConfigSchema, env: alertEnv },
  slackWebhookParameter: { variable: 'SLACK_WEBHOOK_PARAMETER', schema: NotifierConfigSchema, env: notifierEnv },
  slackRoutes: { variable: 'SLACK_ROUTES', schema: NotifierConfigSchema, env: notifierEnv },
  trailBuckets: { variable: 'TRAIL_BUCKETS', schema: AlertConfigSchema, env: alertEnv },
  trailKeyArns: { variable: 'TRAIL_KEY_ARNS', schema: AlertConfigSchema, env: alertEnv },
  trailLogGroups: { variable: 'TRAIL_LOG_GROUPS', schema: AlertConfigSchema, env: alertEnv },
  heartbeatMinutes: { variable: 'HEARTBEAT_MINUTES', schema: GuardConfigSchema, env: {} },
  forwarderRegions: { variable: 'FORWARDER_REGIONS', schema: GuardConfigSchema, env: {} },
  rootEmailDomains: { variable: 'ROOT_EMAIL_DOMAINS', schema: PostureConfigSchema, env: {} },
  postureAuditRole: { variable: 'POSTURE_AUDIT_ROLE', schema: PostureConfigSchema, env: {} },
};

/** The error checkParameters throws for `params` over the defaults, or undefined when it accepts them. */
const packagingErrorOf = (params: Record<string, unknown>): Error | undefined => {
  try {
    checkParameters({ ...DEFAULT_PARAMS, ...params });
    return undefined;
  } catch (error) {
    return error as Error;
  }
};

describe('the parameters, checked at package time by resources/parameters.cjs', () => {
  it('checks every parameter serverless.yml sets, as the variable serverless.yml sets from it', () => {
    // Prepare
    const serverlessYml = readFileSync(join(REPO_ROOT, 'serverless.yml'), 'utf8');
    const used = new Set([...serverlessYml.matchAll(/\$\{param:(\w+)\}/g)].map((match) => match[1]));

    // Assess
    expect(Object.keys(PARAMETERS).sort()).toStrictEqual(Object.keys(DEFAULT_PARAMS).sort());
    expect([...used].sort()).toStrictEqual(Object.keys(FUNCTION_PARAMETERS).sort());
    for (const [name, { variable, schema }] of Object.entries(FUNCTION_PARAMETERS)) {
      // Checked by the variable's own field, or by a field that accepts and reads every value as it does.
      const parameter = PARAMETERS[name];
      const checker = parameter?.schema.shape[parameter.field] as z.ZodMiniType;
      const reader = (schema as z.ZodMiniObject).shape[variable] as z.ZodMiniType;
      for (const probe of [undefined, '', '10', '4', 'info', 'eu-west-1,ap-south-1', 'x y', '{"210987654321":"a"}']) {
        const [checked, read] = [checker.safeParse(probe), reader.safeParse(probe)];
        expect([checked.success, checked.data], `${name} = ${probe}`).toStrictEqual([read.success, read.data]);
      }
      expect(serverlessYml, name).toContain(`${variable}: \${param:${name}}`);
    }
  });

  it.each([
    ['minSeverity', ['info', 'critical', '', ' info', 'INFO', 'urgent', '3']],
    [
      'runbookBaseUrl',
      [
        'https://runbooks.example.com/rootwatch/',
        ' https://runbooks.example.com/',
        'http://runbooks.example.com/',
        'https://runbooks.example.com/r',
        'runbooks/',
        '',
      ],
    ],
    [
      'accountNames',
      [
        '',
        '{}',
        '{"210987654321":"prod"}',
        '{oops',
        '[]',
        '{"prod":"210987654321"}',
        '{"210987654321":""}',
        '{"210987654321":7}',
      ],
    ],
    ['accountLookup', ['organizations', 'none', 'None', 'org', '']],
    [
      'slackWebhookParameter',
      [
        '/rootwatch/prod/slack-webhook-url',
        'rootwatch/slack',
        '/with space',
        'https://hooks.slack.com/services/T/B/x',
        '',
      ],
    ],
    ['trailBuckets', ['', 'my-trail-bucket', ' a-bucket , b-bucket,', 'My_Bucket', 'ab', 'ok-bucket,s3://x,Y']],
    [
      'trailKeyArns',
      [
        '',
        'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab,',
        'alias/cloudtrail',
        '1234abcd-12ab-34cd-56ef-1234567890ab',
      ],
    ],
    ['trailLogGroups', ['', 'aws-cloudtrail-logs-111122223333', '/org/trail,/org/other', 'with space', 'a:b']],
  ])('rejects exactly the %s values its function rejects, for the same reasons', (name, values) => {
    const { variable, schema, env } = FUNCTION_PARAMETERS[name] as (typeof FUNCTION_PARAMETERS)[string];
    for (const value of values) {
      // Act
      const atRunTime = safeParseConfig(schema, { ...env, [variable]: value });
      const atPackageTime = packagingErrorOf({ [name]: value });

      // Assess
      const reasons = (atRunTime.error?.issues ?? []).map((issue) => issue.message);
      expect(atPackageTime === undefined, `${name} ${JSON.stringify(value)}`).toBe(atRunTime.success);
      for (const reason of reasons) expect(atPackageTime?.message).toContain(`Invalid parameter "${name}": ${reason}`);
      expect(atPackageTime?.message.split('\n').length ?? 0).toBe(reasons.length);
    }
  });

  it.each([
    [
      'alertEmails',
      ['', 'a@example.com, A@example.com', 'oncall at example.com', 'a@b', 'a@example.com;b@example.com'],
    ],
    ['emailMinSeverity', ['', 'info', 'high', 'HIGH', 'severe']],
  ])('checks %s with EmailConfigSchema, for the same reasons', (name, values) => {
    for (const value of values) {
      // Act
      const expected = safeParseConfig(EmailConfigSchema, { ...DEFAULT_PARAMS, [name]: value });
      const atPackageTime = packagingErrorOf({ [name]: value });

      // Assess
      expect(atPackageTime === undefined, `${name} ${JSON.stringify(value)}`).toBe(expected.success);
      if (expected.success) expect(checkParameters({ ...DEFAULT_PARAMS, [name]: value })).toStrictEqual(expected.data);
      for (const issue of expected.error?.issues ?? []) {
        expect(atPackageTime?.message).toContain(`Invalid parameter "${name}": ${issue.message}`);
      }
    }
  });

  it('lists every invalid parameter at once, saying where a bad account name is', () => {
    // Act
    const error = packagingErrorOf({ minSeverity: 'urgent', accountNames: '{"210987654321":""}', alertEmails: 'x' });

    // Assess
    expect(error?.message.split('\n')).toStrictEqual([
      'Invalid parameter "minSeverity": "urgent" is not one of info, low, medium, high, critical. Set it under params: in serverless.yml or with --param="minSeverity=…".',
      'Invalid parameter "accountNames": must be a non-empty account name (at 210987654321). Set it under params: in serverless.yml or with --param="accountNames=…".',
      'Invalid parameter "alertEmails": "x" is not an e-mail address (expected comma-separated addresses like security@example.com). Set it under params: in serverless.yml or with --param="alertEmails=…".',
    ]);
  });

  it('never quotes slackWebhookParameter, which may be the webhook URL pasted by mistake', () => {
    // Act
    const error = packagingErrorOf({ slackWebhookParameter: 'https://hooks.slack.com/services/T0/B0/verysecretvalue' });

    // Assess
    expect(error?.message).toContain(`Invalid parameter "slackWebhookParameter": ${WEBHOOK_PARAMETER_RULE}`);
    expect(error?.message).not.toContain('verysecretvalue');
    expect(error?.stack).not.toContain('verysecretvalue');
  });
});

describe('the detection parameters (trailBuckets, trailKeyArns, trailLogGroups, alerterKeyArn, slackWebhookParameter)', () => {
  const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

  it('reach the alert function as comma-separated lists, trimmed, each once, with the key ids derived', () => {
    // Act
    const config = loadConfig(AlertConfigSchema, {
      ...alertEnv,
      TRAIL_BUCKETS: ' trail-a , trail-b,trail-a,',
      TRAIL_KEY_ARNS: KEY_ARN,
      TRAIL_LOG_GROUPS: 'org-trail',
      ALERTER_KEY_ARN: 'arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321',
      SLACK_WEBHOOK_PARAMETER: '/rootwatch/prod/slack-webhook-url',
    });
    // Assess
    expect(detectionParametersOfConfig(config)).toStrictEqual({
      trailBuckets: ['trail-a', 'trail-b'],
      trailKeyArns: [KEY_ARN],
      trailKeyIds: ['1234abcd-12ab-34cd-56ef-1234567890ab'],
      trailLogGroups: ['org-trail'],
      alerterKeyArn: ['arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321'],
      alerterKeyId: ['0987dcba-09fe-87dc-65ba-ab0987654321'],
      slackWebhookParameter: ['/rootwatch/prod/slack-webhook-url'],
    });
  });

  it('give every placeholder no value when nothing is set', () => {
    expect(Object.values(detectionParametersOfConfig(loadConfig(AlertConfigSchema, alertEnv)))).toStrictEqual(
      Array(7).fill([]),
    );
  });

  it('are read from a replay configuration file as lists or comma-separated strings', () => {
    // Prepare
    const file = join(mkdtempSync(join(tmpdir(), 'rootwatch-config-')), 'parameters.yml');
    writeFileSync(file, `trailBuckets: [trail-a, trail-b]\ntrailKeyArns: ${KEY_ARN}\ntrailLogGroups: ''\n`);
    // Act
    const values = readDetectionParameterFile(file);
    // Assess
    expect(values).toStrictEqual({ trailBuckets: ['trail-a', 'trail-b'], trailKeyArns: [KEY_ARN] });
  });

  it.each([
    [{ trailBucket: 'x' }, 'Unrecognized key: "trailBucket"'],
    [{ trailKeyArns: 'alias/cloudtrail' }, '"alias/cloudtrail" is not a KMS key ARN'],
    [{ alerterKeyArn: 'key/1234' }, 'expected a KMS key ARN'],
    [{ trailBuckets: ['UPPER'] }, '"UPPER" is not an S3 bucket name'],
  ])('refuse %j, naming where the values came from', (values, message) => {
    // Act
    const error = errorOf(() => parseDetectionParameterValues(values, 'params.yml'));
    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^Invalid parameters in params\.yml \(known: trailBuckets, /);
    expect(error.message).toContain(message);
  });

  it('name the file that cannot be read', () => {
    const error = errorOf(() => readDetectionParameterFile('/nonexistent/parameters.yml'));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^\/nonexistent\/parameters\.yml: cannot read parameters: /);
  });
});
