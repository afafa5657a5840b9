import { mkdtemp, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertConfigSchema, loadConfig, NotifierConfigSchema } from '../../functions/io/config.js';
import { getAtt, PACKAGE_TIMEOUT_MS, packageService, removeWorkDir, STAGE } from '../helpers/package.js';

/**
 * The deployment around the rules (serverless.yml, resources/*): functions, topic, queues, table, alarms and
 * roles, as `serverless package` (osls, offline, no AWS credentials) generates them with two e-mail addresses
 * and an e-mail severity floor. package.test.ts covers the rules, the zips and the default parameters.
 */

const EMAILS = ['sec@example.com', 'oncall@example.com'];
const PARAMS = [`alertEmails=${EMAILS.join(',')}`, 'emailMinSeverity=high'];
/** The only actions that may have Resource "*": neither can be scoped to a resource we know at package time. */
const UNSCOPABLE_ACTIONS = new Set(['organizations:DescribeAccount', 'iam:ListAccountAliases']);

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: string[];
}
interface Template {
  Resources: Record<string, Resource>;
  Outputs: Record<string, { Value: unknown }>;
}
interface Statement {
  Sid?: string;
  Effect: string;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

const ref = (logicalId: string) => ({ Ref: logicalId });
const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
/** An `Fn::Sub` of `text`, in which `${AWS::…}` are CloudFormation's pseudo-parameters. */
const sub = (text: string) => ({ 'Fn::Sub': text });
/** A name that may be a plain string or an `Fn::Sub` of one (the roles' names carry `${AWS::Region}`). */
const nameOf = (value: unknown): string =>
  typeof value === 'string' ? value : String((value as { 'Fn::Sub'?: unknown } | undefined)?.['Fn::Sub']);

/** resources/parameters.cjs, the file variable source that checks the parameters and makes the subscriptions. */
type ParametersSource = (context: { resolveVariable: (address: string) => Promise<unknown> }) => Promise<{
  Resources: Record<string, Resource>;
}>;
const resolveParameters = createRequire(import.meta.url)('../../resources/parameters.cjs') as ParametersSource;
/** serverless.yml's defaults, for resolveParameters outside the framework. */
const DEFAULT_PARAMS: Record<string, string> = {
  alertEmails: '',
  emailMinSeverity: 'info',
  minSeverity: 'info',
  runbookBaseUrl: 'https://github.com/rootwatch/rootwatch/blob/main/events/',
  accountNames: '',
  accountLookup: 'organizations',
  slackWebhookParameter: `/rootwatch/${STAGE}/slack-webhook-url`,
};
const withParams = (params: Record<string, string>) => ({
  resolveVariable: async (address: string) => ({ ...DEFAULT_PARAMS, ...params })[address.replace(/^param:/, '')],
});

describe('serverless package with e-mail subscribers', () => {
  let workDir: string;
  let template: Template;

  const resourcesOfType = (type: string): [string, Resource][] =>
    Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
  /** The one resource of `type` whose `property` is `value`, as [logical id, resource]. */
  const named = (type: string, property: string, value: string): [string, Resource] => {
    const found = resourcesOfType(type).filter(([, resource]) => resource.Properties[property] === value);
    expect(found, `${type} with ${property} ${value}`).toHaveLength(1);
    return found[0] as [string, Resource];
  };
  const fn = (name: string) => named('AWS::Lambda::Function', 'FunctionName', `rootwatch-${STAGE}-${name}`);
  const queue = (name: string) => named('AWS::SQS::Queue', 'QueueName', `rootwatch-${STAGE}-${name}`);
  const topicId = () => named('AWS::SNS::Topic', 'TopicName', `rootwatch-${STAGE}-alerts`)[0];
  const tableId = () => named('AWS::DynamoDB::Table', 'TableName', `rootwatch-${STAGE}-state`)[0];
  /** The role a function runs with (its `Role` is `Fn::GetAtt: [role, Arn]`). */
  const roleOf = (name: string): [string, Resource] => {
    const [, lambda] = fn(name);
    const roleId = (lambda.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const role = template.Resources[roleId];
    expect(role?.Type).toBe('AWS::IAM::Role');
    return [roleId, role as Resource];
  };
  const statementsOf = (role: Resource): Statement[] =>
    (role.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap(
      (policy) => policy.PolicyDocument.Statement,
    );
  /** Every resource the role is allowed `action` on. */
  const grants = (role: Resource, action: string): unknown[] =>
    statementsOf(role)
      .filter((statement) => statement.Effect === 'Allow' && asArray(statement.Action).includes(action))
      .flatMap((statement) => asArray(statement.Resource));

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'rootwatch-infrastructure-'));
    const outputDir = await packageService(workDir, PARAMS);
    template = JSON.parse(await readFile(join(outputDir, 'cloudformation-template-update-stack.json'), 'utf8'));
  }, PACKAGE_TIMEOUT_MS);

  afterAll(async () => {
    if (workDir) await removeWorkDir(workDir);
  });

  it('deploys both functions on nodejs22.x or newer, arm64, with their sizes and timeouts', () => {
    // Prepare
    const expected = { alert: { MemorySize: 512, Timeout: 30 }, 'notify-slack': { MemorySize: 256, Timeout: 60 } };

    // Assess
    for (const [name, settings] of Object.entries(expected)) {
      const [, lambda] = fn(name);
      const runtime = String(lambda.Properties.Runtime);
      expect(runtime, name).toMatch(/^nodejs\d+\.x$/);
      expect(Number(runtime.match(/\d+/)?.[0]), name).toBeGreaterThanOrEqual(22);
      expect(lambda.Properties.Architectures, name).toStrictEqual(['arm64']);
      expect(lambda.Properties, name).toMatchObject(settings);
    }
    expect(fn('alert')[1].Properties.Handler).toBe('functions/alert.handler');
    expect(fn('notify-slack')[1].Properties.Handler).toBe('functions/notify-slack.handler');
  });

  it('configures the alert function through its environment', () => {
    // Prepare
    const [, alert] = fn('alert');

    // Assess
    expect((alert.Properties.Environment as { Variables: unknown }).Variables).toMatchObject({
      ALERT_TOPIC_ARN: ref(topicId()),
      SLACK_QUEUE_URL: ref(queue('slack')[0]),
      STATE_TABLE: ref(tableId()),
      MIN_SEVERITY: 'info',
      RUNBOOK_BASE_URL: 'https://github.com/rootwatch/rootwatch/blob/main/events/',
      ACCOUNT_NAMES: '',
      ACCOUNT_LOOKUP: 'organizations',
      DETECTIONS_DIR: 'events',
    });
  });

  it('gives each function an environment its own schema accepts, once CloudFormation fills in the references', () => {
    // Prepare: what the references resolve to in a deployed stack.
    const resolved: Record<string, string> = {
      ALERT_TOPIC_ARN: `arn:aws:sns:us-east-1:111122223333:rootwatch-${STAGE}-alerts`,
      SLACK_QUEUE_URL: `https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-${STAGE}-slack`,
      SLACK_DLQ_URL: `https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-${STAGE}-slack-dlq`,
      STATE_TABLE: `rootwatch-${STAGE}-state`,
    };
    const environmentOf = (name: string): Record<string, unknown> => {
      const { Variables } = fn(name)[1].Properties.Environment as { Variables: Record<string, unknown> };
      return Object.fromEntries(
        Object.entries(Variables).map(([key, value]) => [key, typeof value === 'string' ? value : resolved[key]]),
      );
    };

    // Act
    const alert = loadConfig(AlertConfigSchema, environmentOf('alert'));
    const notifier = loadConfig(NotifierConfigSchema, environmentOf('notify-slack'));

    // Assess
    expect(alert).toMatchObject({ MIN_SEVERITY: 'info', ACCOUNT_LOOKUP: 'organizations' });
    expect(notifier.SLACK_WEBHOOK_PARAMETER).toBe(`/rootwatch/${STAGE}/slack-webhook-url`);
  });

  it('gives the notifier the name of the webhook parameter, never the webhook itself', () => {
    // Prepare
    const [, notifier] = fn('notify-slack');
    const text = JSON.stringify(template);

    // Assess
    expect((notifier.Properties.Environment as { Variables: unknown }).Variables).toMatchObject({
      SLACK_WEBHOOK_PARAMETER: `/rootwatch/${STAGE}/slack-webhook-url`,
      SLACK_QUEUE_URL: ref(queue('slack')[0]),
      SLACK_DLQ_URL: ref(queue('slack-dlq')[0]),
      STATE_TABLE: ref(tableId()),
      DETECTIONS_DIR: 'events',
    });
    expect(text).not.toContain('hooks.slack.com');
    expect(text).not.toContain('SLACK_WEBHOOK_URL');
  });

  it('retries a failed alert twice, then dead-letters it with its reason', () => {
    // Prepare
    const [alertId] = fn('alert');
    const configs = resourcesOfType('AWS::Lambda::EventInvokeConfig').filter(([, config]) =>
      isDeepStrictEqual(config.Properties.FunctionName, ref(alertId)),
    );

    // Assess
    expect(configs).toHaveLength(1);
    expect(configs[0]?.[1].Properties).toMatchObject({
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: getAtt(queue('alert-dlq')[0]) } },
    });
  });

  it('posts to Slack from the Slack queue with at most two unthrottled pollers, reporting failures per message', () => {
    // Prepare
    const [notifierId, notifier] = fn('notify-slack');
    const mappings = resourcesOfType('AWS::Lambda::EventSourceMapping').map(([, mapping]) => mapping.Properties);

    // Assess
    expect(notifier.Properties.ReservedConcurrentExecutions).toBe(2);
    expect(mappings).toHaveLength(1);
    expect(mappings[0]).toMatchObject({
      EventSourceArn: getAtt(queue('slack')[0]),
      BatchSize: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      // No more pollers than reserved executions: a throttled batch would wait out the visibility timeout.
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    const environment = (notifier.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    // Two notifiers at most, each posting every 2.2 s: within Slack's one message a second.
    expect(environment.SLACK_MIN_INTERVAL_MS).toBe('2200');
    expect([getAtt(notifierId), ref(notifierId)]).toContainEqual(mappings[0]?.FunctionName);
  });

  it('encrypts the topic with its own rotating key, usable by CloudWatch and EventBridge', () => {
    // Prepare
    const [, topic] = named('AWS::SNS::Topic', 'TopicName', `rootwatch-${STAGE}-alerts`);
    const keys = resourcesOfType('AWS::KMS::Key');
    expect(keys).toHaveLength(1);
    const [keyId, key] = keys[0] as [string, Resource];
    const keyStatements = (key.Properties.KeyPolicy as { Statement: (Statement & { Principal: unknown })[] }).Statement;
    const serviceStatement = (service: string) =>
      keyStatements.filter((statement) => isDeepStrictEqual(statement.Principal, { Service: service }));

    // Assess
    expect([getAtt(keyId), ref(keyId)]).toContainEqual(topic.Properties.KmsMasterKeyId);
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(named('AWS::KMS::Alias', 'AliasName', `alias/rootwatch-${STAGE}-alerts`)[1].Properties.TargetKeyId).toEqual(
      ref(keyId),
    );
    expect(keyStatements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { AWS: sub(`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:root`) },
      }),
    );
    for (const service of ['cloudwatch.amazonaws.com', 'events.amazonaws.com']) {
      expect(serviceStatement(service), service).toHaveLength(1);
      expect(asArray(serviceStatement(service)[0]?.Action).sort(), service).toStrictEqual([
        'kms:Decrypt',
        'kms:GenerateDataKey',
      ]);
    }
  });

  it("lets only the account's CloudWatch alarms publish to the topic by policy", () => {
    // Prepare
    const policies = resourcesOfType('AWS::SNS::TopicPolicy').filter(([, policy]) =>
      isDeepStrictEqual(policy.Properties.Topics, [ref(topicId())]),
    );

    // Assess
    expect(policies).toHaveLength(1);
    const [, policy] = policies[0] as [string, Resource];
    expect((policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement).toStrictEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: ref(topicId()),
        Condition: { StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') } },
      }),
    ]);
  });

  it('subscribes each address by e-mail, filtered to high and critical but letting alarms through', () => {
    // Prepare
    const subscriptions = resourcesOfType('AWS::SNS::Subscription').map(([, subscription]) => subscription.Properties);

    // Assess
    expect(subscriptions.map((subscription) => subscription.Endpoint).sort()).toStrictEqual([...EMAILS].sort());
    for (const subscription of subscriptions) {
      expect(subscription).toStrictEqual({
        TopicArn: ref(topicId()),
        Protocol: 'email',
        Endpoint: expect.any(String),
        FilterPolicyScope: 'MessageAttributes',
        FilterPolicy: { $or: [{ severity: ['high', 'critical'] }, { severity: [{ exists: false }] }] },
      });
    }
  });

  it('encrypts every queue, buffers Slack for six notifier timeouts and dead-letters after 10 receives', () => {
    // Prepare
    const [, slack] = queue('slack');
    const [slackDlqId] = queue('slack-dlq');
    const notifierTimeout = Number(fn('notify-slack')[1].Properties.Timeout);

    // Assess
    for (const [, q] of resourcesOfType('AWS::SQS::Queue')) {
      expect(q.Properties.SqsManagedSseEnabled, String(q.Properties.QueueName)).toBe(true);
    }
    expect(slack.Properties.VisibilityTimeout).toBe(360);
    expect(Number(slack.Properties.VisibilityTimeout)).toBeGreaterThanOrEqual(6 * notifierTimeout);
    expect(slack.Properties.RedrivePolicy).toStrictEqual({
      deadLetterTargetArn: getAtt(slackDlqId),
      maxReceiveCount: 10,
    });
    for (const name of ['slack-dlq', 'alert-dlq', 'rules-dlq']) {
      expect(queue(name)[1].Properties.MessageRetentionPeriod, name).toBe(1209600);
    }
  });

  it('keeps state in an encrypted, recoverable, on-demand table whose items expire', () => {
    // Prepare
    const [, table] = named('AWS::DynamoDB::Table', 'TableName', `rootwatch-${STAGE}-state`);

    // Assess
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it("alarms on both functions' errors, the alert function's throttles and every DLQ, to the topic", () => {
    // Prepare
    const alarms = resourcesOfType('AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    const watching = (namespace: string, metric: string, dimension: unknown) =>
      alarms.filter(
        (alarm) =>
          alarm.Namespace === namespace &&
          alarm.MetricName === metric &&
          (alarm.Dimensions as { Value: unknown }[]).some((d) => isDeepStrictEqual(d.Value, dimension)),
      );
    const expected = [
      ...['alert', 'notify-slack'].map((name) => watching('AWS/Lambda', 'Errors', ref(fn(name)[0]))),
      watching('AWS/Lambda', 'Throttles', ref(fn('alert')[0])),
      ...['rules-dlq', 'alert-dlq', 'slack-dlq'].map((name) =>
        watching('AWS/SQS', 'ApproximateNumberOfMessagesVisible', getAtt(queue(name)[0], 'QueueName')),
      ),
    ];

    // Assess
    for (const found of expected) {
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        AlarmActions: [ref(topicId())],
        OKActions: [ref(topicId())],
      });
    }
    for (const found of expected.slice(0, 3)) expect(found[0]).toMatchObject({ Statistic: 'Sum', Period: 60 });
    for (const found of expected.slice(3)) expect(found[0]).toMatchObject({ Statistic: 'Maximum' });
  });

  it('names every action in every role explicitly, and scopes every resource but the two unscopable reads', () => {
    // Prepare
    const roles = resourcesOfType('AWS::IAM::Role');

    // Assess
    expect(roles.map(([roleId]) => roleId).sort()).toStrictEqual(
      [roleOf('alert')[0], roleOf('notify-slack')[0]].sort(),
    );
    for (const [roleId, role] of roles) {
      for (const statement of statementsOf(role)) {
        const where = `${roleId} ${statement.Sid ?? JSON.stringify(statement.Action)}`;
        expect(statement.NotAction, where).toBeUndefined();
        expect(statement.NotResource, where).toBeUndefined();
        const actions = asArray(statement.Action);
        expect(actions.length, where).toBeGreaterThan(0);
        for (const action of actions) expect(action, where).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
        const resources = asArray(statement.Resource);
        expect(resources.length, where).toBeGreaterThan(0);
        if (resources.includes('*')) {
          expect(resources, where).toStrictEqual(['*']);
          for (const action of actions) expect(UNSCOPABLE_ACTIONS.has(action), `${where}: ${action} on *`).toBe(true);
        }
      }
    }
  });

  it("grants the alert function exactly what it uses, on this stage's resources", () => {
    // Prepare
    const [, role] = roleOf('alert');
    const keyId = resourcesOfType('AWS::KMS::Key')[0]?.[0] as string;
    const logGroup = `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/rootwatch-${STAGE}-alert`;

    // Assess
    expect(grants(role, 'logs:CreateLogStream')).toStrictEqual([sub(`${logGroup}:*`)]);
    expect(grants(role, 'logs:PutLogEvents')).toStrictEqual([sub(`${logGroup}:*:*`)]);
    expect(grants(role, 'sns:Publish')).toStrictEqual([ref(topicId())]);
    expect(grants(role, 'kms:GenerateDataKey')).toStrictEqual([getAtt(keyId)]);
    expect(grants(role, 'kms:Decrypt')).toStrictEqual([getAtt(keyId)]);
    expect(grants(role, 'sqs:SendMessage')).toStrictEqual([getAtt(queue('slack')[0]), getAtt(queue('alert-dlq')[0])]);
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']) {
      expect(grants(role, action), action).toStrictEqual([getAtt(tableId())]);
    }
    expect(grants(role, 'organizations:DescribeAccount')).toStrictEqual(['*']);
    expect(grants(role, 'iam:ListAccountAliases')).toStrictEqual(['*']);
  });

  it('grants the notifier its queue, its DLQ, the table and the webhook parameter only', () => {
    // Prepare
    const [, role] = roleOf('notify-slack');
    const parameterArn = `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/rootwatch/${STAGE}/slack-webhook-url`;
    const decrypt = statementsOf(role).filter((statement) => asArray(statement.Action).includes('kms:Decrypt'));

    // Assess
    for (const action of [
      'sqs:ReceiveMessage',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:ChangeMessageVisibility',
    ]) {
      expect(grants(role, action), action).toStrictEqual([getAtt(queue('slack')[0])]);
    }
    expect(grants(role, 'sqs:SendMessage')).toStrictEqual([getAtt(queue('slack-dlq')[0])]);
    expect(grants(role, 'dynamodb:GetItem')).toStrictEqual([getAtt(tableId())]);
    expect(grants(role, 'dynamodb:UpdateItem')).toStrictEqual([getAtt(tableId())]);
    expect(grants(role, 'dynamodb:PutItem')).toStrictEqual([]);
    expect(grants(role, 'ssm:GetParameter')).toStrictEqual([sub(parameterArn)]);
    expect(decrypt).toHaveLength(1);
    expect(decrypt[0]?.Resource).toStrictEqual(
      sub(`arn:\${AWS::Partition}:kms:\${AWS::Region}:\${AWS::AccountId}:key/*`),
    );
    expect(decrypt[0]?.Condition).toStrictEqual({
      StringEquals: {
        'kms:ViaService': sub(`ssm.\${AWS::Region}.amazonaws.com`),
        'kms:EncryptionContext:PARAMETER_ARN': sub(parameterArn),
      },
    });
    expect(grants(role, 'sns:Publish')).toStrictEqual([]);
  });

  it('keeps the functions\u2019 logs for a year', () => {
    // Assess
    for (const name of ['alert', 'notify-slack']) {
      const [, group] = named('AWS::Logs::LogGroup', 'LogGroupName', `/aws/lambda/rootwatch-${STAGE}-${name}`);
      expect(group.Properties.RetentionInDays, name).toBe(365);
    }
  });

  it('names every resource rootwatch-ci-…, the prefix alerter-tampering keys on', () => {
    // Prepare
    const nameProperty: Record<string, string> = {
      'AWS::Lambda::Function': 'FunctionName',
      'AWS::SQS::Queue': 'QueueName',
      'AWS::SNS::Topic': 'TopicName',
      'AWS::DynamoDB::Table': 'TableName',
      'AWS::CloudWatch::Alarm': 'AlarmName',
      'AWS::Events::Rule': 'Name',
      'AWS::IAM::Role': 'RoleName',
    };

    // Assess
    for (const [type, property] of Object.entries(nameProperty)) {
      const resources = resourcesOfType(type);
      expect(resources.length, type).toBeGreaterThan(0);
      for (const [logicalId, resource] of resources) {
        expect(nameOf(resource.Properties[property]), `${type} ${logicalId}`).toMatch(
          new RegExp(`^rootwatch-${STAGE}-`),
        );
      }
    }
    for (const [, alias] of resourcesOfType('AWS::KMS::Alias')) {
      expect(alias.Properties.AliasName).toMatch(new RegExp(`^alias/rootwatch-${STAGE}-`));
    }
  });

  it('outputs the topic, the queues and the table', () => {
    // Prepare
    const values = Object.values(template.Outputs).map((output) => output.Value);

    // Assess
    expect(values).toContainEqual(ref(topicId()));
    expect(values).toContainEqual(ref(tableId()));
    for (const name of ['slack', 'slack-dlq', 'alert-dlq', 'rules-dlq']) {
      expect(values, name).toContainEqual(ref(queue(name)[0]));
    }
  });
});

describe('parameters (resources/parameters.cjs)', () => {
  it(
    'fails packaging on a malformed address, naming the parameter and the address',
    async () => {
      // Prepare
      const workDir = await mkdtemp(join(tmpdir(), 'rootwatch-infrastructure-'));

      try {
        // Act
        const packaging = packageService(workDir, ['alertEmails=sec@example.com,oncall at example.com']);

        // Assess
        await expect(packaging).rejects.toThrow(
          /Invalid parameter "alertEmails": "oncall at example\.com" is not an e-mail address/,
        );
      } finally {
        await removeWorkDir(workDir);
      }
    },
    PACKAGE_TIMEOUT_MS,
  );

  it(
    "fails packaging with the function schema's own reason, never printing a webhook URL given as the parameter name",
    async () => {
      // Prepare
      const workDir = await mkdtemp(join(tmpdir(), 'rootwatch-infrastructure-'));
      const secret = 'https://hooks.slack.com/services/T000/B000/verysecretvalue';
      const reason = AlertConfigSchema.shape.MIN_SEVERITY.safeParse('urgent').error?.issues[0]?.message;

      try {
        // Act
        const error = await packageService(workDir, ['minSeverity=urgent', `slackWebhookParameter=${secret}`]).then(
          () => undefined,
          (e: unknown) => e as Error,
        );

        // Assess
        expect(reason).toBe('"urgent" is not one of info, low, medium, high, critical');
        expect(error?.message).toContain(`Invalid parameter "minSeverity": ${reason}.`);
        expect(error?.message).toContain('Invalid parameter "slackWebhookParameter": ');
        expect(error?.message).not.toContain('verysecretvalue');
      } finally {
        await removeWorkDir(workDir);
      }
    },
    PACKAGE_TIMEOUT_MS,
  );

  it('subscribes each address once, trimmed, ignoring case and empty items', async () => {
    // Act
    const { Resources } = await resolveParameters(
      withParams({ alertEmails: ' a@example.com,, A@Example.com ,b@example.org,' }),
    );

    // Assess
    expect(Object.values(Resources).map((resource) => resource.Properties.Endpoint)).toStrictEqual([
      'a@example.com',
      'b@example.org',
    ]);
    for (const logicalId of Object.keys(Resources)) expect(logicalId).toMatch(/^AlertEmailSubscription[0-9a-f]+$/);
  });

  it("keeps a subscription's logical id when other addresses come and go", async () => {
    // Act
    const before = await resolveParameters(withParams({ alertEmails: 'a@example.com,b@example.com' }));
    const after = await resolveParameters(withParams({ alertEmails: 'b@example.com,c@example.com' }));

    // Assess
    const idOf = (resources: Record<string, Resource>, email: string) =>
      Object.entries(resources).find(([, resource]) => resource.Properties.Endpoint === email)?.[0];
    expect(idOf(after.Resources, 'b@example.com')).toBeDefined();
    expect(idOf(after.Resources, 'b@example.com')).toBe(idOf(before.Resources, 'b@example.com'));
  });

  it.each([
    ['info', undefined],
    ['low', ['low', 'medium', 'high', 'critical']],
    ['critical', ['critical']],
  ])('filters e-mail from %s up, always letting messages without a severity through', async (floor, severities) => {
    // Act
    const { Resources } = await resolveParameters(
      withParams({ alertEmails: 'a@example.com', emailMinSeverity: floor }),
    );

    // Assess
    const [subscription] = Object.values(Resources);
    expect(subscription?.Properties.FilterPolicy).toStrictEqual(
      severities && { $or: [{ severity: severities }, { severity: [{ exists: false }] }] },
    );
  });

  it.each([
    ['minSeverity', 'severe', /"severe" is not one of info, low, medium, high, critical/],
    ['emailMinSeverity', 'HIGH', /"HIGH" is not one of/],
    ['runbookBaseUrl', 'https://example.com/runbooks', /must end with "\/"/],
    ['runbookBaseUrl', 'http://example.com/', /must be an https URL/],
    ['accountNames', '{"prod":"210987654321"}', /"prod" is not a 12-digit account id/],
    ['accountNames', 'prod=210987654321', /expected a JSON object/],
    ['accountLookup', 'org', /"org" is not one of organizations, none/],
    ['slackWebhookParameter', 'rootwatch/slack', /SSM SecureString/],
  ])('rejects %s %s with a message naming it', async (name, value, message) => {
    // Act
    const resolving = resolveParameters(withParams({ [name]: value }));

    // Assess
    await expect(resolving).rejects.toThrow(`Invalid parameter "${name}"`);
    await expect(resolving).rejects.toThrow(message);
    await expect(resolving).rejects.toMatchObject({ name: 'ParameterError' });
  });

  it('never repeats a webhook URL given in place of its parameter name', async () => {
    // Prepare
    const url = 'https://hooks.slack.com/services/T000/B000/XXXXXXXX';

    // Act
    const error = await resolveParameters(withParams({ slackWebhookParameter: url })).then(
      () => undefined,
      (e: unknown) => e as Error,
    );

    // Assess
    expect(error).toBeInstanceOf(Error);
    expect(error?.message).not.toContain('hooks.slack.com');
    expect(error?.stack).not.toContain('hooks.slack.com');
  });

  it('accepts the defaults, and account names as a JSON object', async () => {
    // Act
    const defaults = await resolveParameters(withParams({}));
    const named = await resolveParameters(withParams({ accountNames: '{"210987654321":"prod-payments"}' }));

    // Assess
    expect(defaults).toStrictEqual({ Resources: {} });
    expect(named).toStrictEqual({ Resources: {} });
  });
});
