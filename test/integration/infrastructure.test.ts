import { mkdtemp, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_COMPLIANCE_PATTERN } from '../../functions/core/posture-events.js';
import { AlertConfigSchema, DigestConfigSchema, loadConfig } from '../../functions/io/config.js';
import { createHealthMetrics } from '../../functions/io/metrics.js';
import { NotifierConfigSchema } from '../../functions/io/notifier-config.js';
import { getAtt, PACKAGE_TIMEOUT_MS, packageService, removeWorkDir, STAGE } from '../helpers/package.js';

/**
 * The deployment around the rules (serverless.yml, resources/*): functions, topic, queues, table, alarms, roles and
 * the hub bus's policy, as `serverless package` (osls, offline, no AWS credentials) generates them with two e-mail
 * addresses, an e-mail severity floor, an organization and a member account. package.test.ts covers the rules, the
 * zips and the default parameters.
 */

const EMAILS = ['sec@example.com', 'oncall@example.com'];
const ORGANIZATION = 'o-a1b2c3d4e5';
const MEMBER_ACCOUNT = '210987654321';
/** This account's other regions with a forwarder, as `npm run deploy -- --all-regions` passes them. */
const FORWARDER_REGIONS = ['eu-west-1', 'ap-southeast-2'];
const PARAMS = [
  `alertEmails=${EMAILS.join(',')}`,
  'emailMinSeverity=high',
  `organizationId=${ORGANIZATION}`,
  `memberAccounts=${MEMBER_ACCOUNT}`,
  `forwarderRegions=${FORWARDER_REGIONS.join(',')}`,
  `postureAuditRole=rootwatch-${STAGE}-posture-audit`,
];
/**
 * The only actions that may have Resource "*": none can be scoped to a resource we know at package time (the guard's
 * ListEventSourceMappings has no resource type at all).
 */
const UNSCOPABLE_ACTIONS = new Set([
  'organizations:DescribeAccount',
  'iam:ListAccountAliases',
  'lambda:ListEventSourceMappings',
  // The posture function's reads of the organization and of its own account's root (no resource type either).
  'organizations:DescribeOrganization',
  'organizations:ListAccounts',
  'iam:ListOrganizationsFeatures',
  'iam:GetAccountSummary',
]);

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
  Principal?: unknown;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** The resources whose policies admit only rootwatch's roles: the queues by name (rootwatch-ci-<name>), the topic, the table. */
type Guarded =
  | 'slack'
  | 'slack-priority'
  | 'slack-dlq'
  | 'digest'
  | 'digest-dlq'
  | 'alert-dlq'
  | 'rules-dlq'
  | 'topic'
  | 'table';
/** Every way to read, write or remove a queue's messages (the batch forms are authorized as these). */
const SQS_DATA_ACTIONS = [
  'sqs:SendMessage',
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:PurgeQueue',
];

const ref = (logicalId: string) => ({ Ref: logicalId });
const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
/** An `Fn::Sub` of `text`, in which `${AWS::…}` are CloudFormation's pseudo-parameters. */
const sub = (text: string) => ({ 'Fn::Sub': text });
/** This stage's CloudWatch alarms in the stack's account and region: the only alarms that may use the topic and key. */
const ALARMS = sub(`arn:\${AWS::Partition}:cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:rootwatch-${STAGE}-*`);
/** Whether a policy's Principal is an AWS service (`{ Service: … }`) and nothing else. */
const isServicePrincipal = (principal: unknown): boolean =>
  typeof principal === 'object' && principal !== null && Object.keys(principal).join() === 'Service';
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
  runbookBaseUrl: '',
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
  /** The statements of the resource policy on `resource`. */
  const policyOf = (resource: Guarded): Statement[] => {
    if (resource === 'table') {
      const [, table] = named('AWS::DynamoDB::Table', 'TableName', `rootwatch-${STAGE}-state`);
      return (table.Properties.ResourcePolicy as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument
        .Statement;
    }
    const [type, target, property] =
      resource === 'topic'
        ? ['AWS::SNS::TopicPolicy', ref(topicId()), 'Topics']
        : ['AWS::SQS::QueuePolicy', ref(queue(resource)[0]), 'Queues'];
    const policies = resourcesOfType(type).filter(([, policy]) =>
      asArray(policy.Properties[property]).some((item) => isDeepStrictEqual(item, target)),
    );
    expect(policies, `${type} on ${resource}`).toHaveLength(1);
    return ((policies[0] as [string, Resource])[1].Properties.PolicyDocument as { Statement: Statement[] }).Statement;
  };
  /** How `resource`'s own policy names it in its statements' Resource. */
  const resourceArnOf = (resource: Guarded): unknown => {
    if (resource === 'topic') return ref(topicId());
    if (resource === 'table') {
      return sub(`arn:\${AWS::Partition}:dynamodb:\${AWS::Region}:\${AWS::AccountId}:table/rootwatch-${STAGE}-state`);
    }
    return getAtt(queue(resource)[0]);
  };
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
    const expected = {
      alert: { MemorySize: 512, Timeout: 30 },
      'notify-slack': { MemorySize: 256, Timeout: 60 },
      digest: { MemorySize: 256, Timeout: 30 },
    };

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
    expect(fn('digest')[1].Properties.Handler).toBe('functions/digest.handler');
  });

  it('configures the alert function through its environment', () => {
    // Prepare
    const [, alert] = fn('alert');

    // Assess
    expect((alert.Properties.Environment as { Variables: unknown }).Variables).toMatchObject({
      ALERT_TOPIC_ARN: ref(topicId()),
      SLACK_QUEUE_URL: ref(queue('slack')[0]),
      SLACK_PRIORITY_QUEUE_URL: ref(queue('slack-priority')[0]),
      DIGEST_QUEUE_URL: ref(queue('digest')[0]),
      STATE_TABLE: ref(tableId()),
      MIN_SEVERITY: 'info',
      RUNBOOK_BASE_URL: '',
      ACCOUNT_NAMES: '',
      ACCOUNT_LOOKUP: 'organizations',
      // The IP data packaged beside the bundle (resources/ip-data.cjs). No DETECTIONS_DIR: the catalog is inlined.
      IP_DATA_DIR: '.rootwatch/ip-data',
    });
    expect(alert.Properties.Environment).not.toHaveProperty('Variables.DETECTIONS_DIR');
  });

  it('gives each function an environment its own schema accepts, once CloudFormation fills in the references', () => {
    // Prepare: what the references resolve to in a deployed stack.
    const resolved: Record<string, string> = {
      ALERT_TOPIC_ARN: `arn:aws:sns:us-east-1:111122223333:rootwatch-${STAGE}-alerts`,
      SLACK_QUEUE_URL: `https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-${STAGE}-slack`,
      SLACK_DLQ_URL: `https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-${STAGE}-slack-dlq`,
      SLACK_PRIORITY_QUEUE_URL: `https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-${STAGE}-slack-priority`,
      DIGEST_QUEUE_URL: `https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-${STAGE}-digest`,
      DIGEST_DLQ_URL: `https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-${STAGE}-digest-dlq`,
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
    const digest = loadConfig(DigestConfigSchema, environmentOf('digest'));

    // Assess
    expect(alert).toMatchObject({ MIN_SEVERITY: 'info', ACCOUNT_LOOKUP: 'organizations' });
    expect(alert.DIGEST_QUEUE_URL).toBe(resolved.DIGEST_QUEUE_URL);
    expect(notifier.SLACK_WEBHOOK_PARAMETER).toBe(`/rootwatch/${STAGE}/slack-webhook-url`);
    expect(notifier.SLACK_PRIORITY_QUEUE_URL).toBe(resolved.SLACK_PRIORITY_QUEUE_URL);
    expect(digest).toMatchObject({
      SLACK_QUEUE_URL: resolved.SLACK_QUEUE_URL,
      DIGEST_DLQ_URL: resolved.DIGEST_DLQ_URL,
    });
  });

  it('gives the notifier the name of the webhook parameter, never the webhook itself', () => {
    // Prepare
    const [, notifier] = fn('notify-slack');
    const text = JSON.stringify(template);

    // Assess
    expect((notifier.Properties.Environment as { Variables: unknown }).Variables).toMatchObject({
      SLACK_WEBHOOK_PARAMETER: `/rootwatch/${STAGE}/slack-webhook-url`,
      SLACK_QUEUE_URL: ref(queue('slack')[0]),
      SLACK_PRIORITY_QUEUE_URL: ref(queue('slack-priority')[0]),
      SLACK_DLQ_URL: ref(queue('slack-dlq')[0]),
      STATE_TABLE: ref(tableId()),
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

  it('posts to Slack from two lanes, each polled on its own by unthrottled pollers, within Slack’s pace', () => {
    // Prepare
    const [notifierId, notifier] = fn('notify-slack');
    const isNotifier = (name: unknown) =>
      isDeepStrictEqual(name, getAtt(notifierId)) || isDeepStrictEqual(name, ref(notifierId));
    const mappings = resourcesOfType('AWS::Lambda::EventSourceMapping')
      .map(([, mapping]) => mapping.Properties)
      .filter((mapping) => isNotifier(mapping.FunctionName));
    const environment = (notifier.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const concurrency = (mapping: Record<string, unknown>) =>
      Number((mapping.ScalingConfig as { MaximumConcurrency: number }).MaximumConcurrency);

    // Assess: the priority lane and the normal one, each a mapping of its own.
    expect(mappings.map((mapping) => mapping.EventSourceArn)).toStrictEqual([
      getAtt(queue('slack-priority')[0]),
      getAtt(queue('slack')[0]),
    ]);
    for (const mapping of mappings) {
      expect(mapping).toMatchObject({
        BatchSize: 5,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 2 },
      });
    }
    // No more pollers than reserved executions: a throttled batch would wait out the visibility timeout.
    const pollers = mappings.reduce((sum, mapping) => sum + concurrency(mapping), 0);
    expect(notifier.Properties.ReservedConcurrentExecutions).toBe(pollers);
    // Four notifiers at most, each posting every 4.4 s on its lane: within Slack's one message a second.
    expect(environment.SLACK_MIN_INTERVAL_MS).toBe('4400');
    expect(pollers / (Number(environment.SLACK_MIN_INTERVAL_MS) / 1000)).toBeLessThanOrEqual(1);
  });

  it('flushes folds from the digest queue, reporting failures per message, its DLQ behind a backstop', () => {
    // Prepare
    const [digestId, digest] = fn('digest');
    const [, digestQueue] = queue('digest');
    const [digestDlqId] = queue('digest-dlq');
    const mappings = resourcesOfType('AWS::Lambda::EventSourceMapping')
      .map(([, mapping]) => mapping.Properties)
      .filter((mapping) => [getAtt(digestId), ref(digestId)].some((id) => isDeepStrictEqual(id, mapping.FunctionName)));

    // Assess
    expect(mappings).toStrictEqual([
      expect.objectContaining({
        EventSourceArn: getAtt(queue('digest')[0]),
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      }),
    ]);
    expect(Number(digestQueue.Properties.VisibilityTimeout)).toBeGreaterThanOrEqual(
      6 * Number(digest.Properties.Timeout),
    );
    // The function dead-letters a fold itself at its 10th receive (functions/app/digest.ts); the redrive is a backstop.
    expect(digestQueue.Properties.RedrivePolicy).toStrictEqual({
      deadLetterTargetArn: getAtt(digestDlqId),
      maxReceiveCount: 20,
    });
  });

  it('encrypts the topic with its own rotating key, usable by this stage’s CloudWatch alarms only', () => {
    // Prepare
    const [, topic] = named('AWS::SNS::Topic', 'TopicName', `rootwatch-${STAGE}-alerts`);
    const keys = resourcesOfType('AWS::KMS::Key');
    expect(keys).toHaveLength(1);
    const [keyId, key] = keys[0] as [string, Resource];
    const keyStatements = (key.Properties.KeyPolicy as { Statement: Statement[] }).Statement;
    const serviceStatements = keyStatements.filter((statement) => isServicePrincipal(statement.Principal));
    const encryptAlerts = statementsOf(roleOf('alert')[1]).filter((statement) =>
      asArray(statement.Action).includes('kms:GenerateDataKey'),
    );

    // Assess
    expect([getAtt(keyId), ref(keyId)]).toContainEqual(topic.Properties.KmsMasterKeyId);
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(named('AWS::KMS::Alias', 'AliasName', `alias/rootwatch-${STAGE}-alerts`)[1].Properties.TargetKeyId).toEqual(
      ref(keyId),
    );
    // The account administers the key, and IAM grants its use: the default key policy.
    expect(keyStatements).toHaveLength(2);
    expect(keyStatements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { AWS: sub(`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:root`) },
      }),
    );
    // The one service grant: CloudWatch, for this account's rootwatch-ci-… alarms. EventBridge (no rule targets the
    // topic) has none.
    expect(serviceStatements).toStrictEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Condition: {
          StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
          ArnLike: { 'aws:SourceArn': ALARMS },
        },
      }),
    ]);
    expect(asArray(serviceStatements[0]?.Action).sort()).toStrictEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(JSON.stringify(key)).not.toContain('events.amazonaws.com');
    // The alert function's role encrypts only through SNS.
    expect(encryptAlerts).toHaveLength(1);
    expect(encryptAlerts[0]?.Condition).toStrictEqual({
      StringEquals: { 'kms:ViaService': sub(`sns.\${AWS::Region}.amazonaws.com`) },
    });
  });

  it("lets this stage's CloudWatch alarms publish to the topic, and only rootwatch's roles besides", () => {
    // Prepare
    const statements = policyOf('topic');
    const allows = statements.filter((statement) => statement.Effect === 'Allow');

    // Assess
    expect(allows).toStrictEqual([
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: ref(topicId()),
        Condition: {
          StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
          ArnLike: { 'aws:SourceArn': ALARMS },
        },
      }),
    ]);
    // Every alarm notifies the topic, and every alarm is one the Allow names.
    for (const [alarmId, alarm] of resourcesOfType('AWS::CloudWatch::Alarm')) {
      expect(String(alarm.Properties.AlarmName), alarmId).toMatch(new RegExp(`^rootwatch-${STAGE}-`));
    }
  });

  it('alarms when a message waits more than 15 minutes in either Slack queue (a destination that keeps failing)', () => {
    const alarmTopicId = named('AWS::SNS::Topic', 'TopicName', `rootwatch-${STAGE}-alarms`)[0];
    for (const lane of ['slack', 'slack-priority']) {
      const [, alarm] = named('AWS::CloudWatch::Alarm', 'AlarmName', `rootwatch-${STAGE}-${lane}-stuck`);
      expect(alarm.Properties, lane).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: [{ Name: 'QueueName', Value: getAtt(queue(lane)[0], 'QueueName') }],
        Statistic: 'Maximum',
        Threshold: 900,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [ref(topicId()), ref(alarmTopicId)],
        OKActions: [ref(topicId()), ref(alarmTopicId)],
      });
    }
  });

  it('alarms on the StateUnavailable metric exactly as the functions emit it (namespace, name, dimensions)', () => {
    // Prepare: what the functions write when the state table fails, in embedded metric format.
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => lines.push(String(chunk)) > 0) as typeof process.stdout.write;
    try {
      createHealthMetrics(STAGE).stateUnavailable('claim');
    } finally {
      process.stdout.write = write;
    }
    const emf = JSON.parse(lines.join('').trim().split('\n').at(-1) ?? '{}');
    const [directive] = emf._aws.CloudWatchMetrics;
    const [, alarm] = resourcesOfType('AWS::CloudWatch::Alarm').find(([id]) => id === 'StateUnavailableAlarm') ?? [];

    // Assess
    expect(alarm?.Properties).toMatchObject({
      AlarmName: `rootwatch-${STAGE}-state-unavailable`,
      Namespace: directive.Namespace,
      MetricName: directive.Metrics[0].Name,
      TreatMissingData: 'notBreaching',
    });
    const declared = (alarm?.Properties.Dimensions ?? []) as { Name: string; Value: string }[];
    const dimensions = declared.map((d) => [d.Name, d.Value]);
    expect(dimensions).toStrictEqual(directive.Dimensions[0].map((name: string) => [name, emf[name]]));
  });

  describe('resource policies: nobody else touches rootwatch’s resources', () => {
    /** The roles admitted to each resource's data actions, by function (`operator` is the role people use). */
    const admitted: Record<Guarded, string[]> = {
      slack: ['alert', 'digest', 'notify-slack', 'guard', 'posture', 'operator'],
      'slack-priority': ['alert', 'guard', 'posture', 'notify-slack', 'operator'],
      'slack-dlq': ['notify-slack', 'operator'],
      digest: ['alert', 'digest', 'operator'],
      'digest-dlq': ['digest', 'operator'],
      'alert-dlq': ['alert', 'operator'],
      'rules-dlq': ['operator'],
      topic: ['alert', 'digest', 'guard', 'posture', 'operator'],
      table: ['alert', 'digest', 'notify-slack', 'guard', 'posture', 'operator'],
    };
    /** What each Deny must cover: every way to read, write, delete or move the data. */
    const dataActions: Record<Guarded, string[]> = {
      slack: SQS_DATA_ACTIONS,
      'slack-priority': SQS_DATA_ACTIONS,
      'slack-dlq': [...SQS_DATA_ACTIONS, 'sqs:StartMessageMoveTask'],
      digest: SQS_DATA_ACTIONS,
      'digest-dlq': [...SQS_DATA_ACTIONS, 'sqs:StartMessageMoveTask'],
      'alert-dlq': [...SQS_DATA_ACTIONS, 'sqs:StartMessageMoveTask'],
      'rules-dlq': [...SQS_DATA_ACTIONS, 'sqs:StartMessageMoveTask'],
      topic: ['sns:Publish'],
      table: [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:Query',
        'dynamodb:Scan',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:PartiQLSelect',
        'dynamodb:PartiQLInsert',
        'dynamodb:PartiQLUpdate',
        'dynamodb:PartiQLDelete',
        'dynamodb:ExportTableToPointInTime',
        'dynamodb:RestoreTableToPointInTime',
      ],
    };
    /** Actions that manage the resource or its policy: left to IAM, so the stack can still update and delete them. */
    const MANAGEMENT =
      /^(sqs:(SetQueueAttributes|GetQueueAttributes|DeleteQueue|AddPermission|RemovePermission|TagQueue|UntagQueue)|sns:(SetTopicAttributes|GetTopicAttributes|DeleteTopic|Subscribe|Unsubscribe|AddPermission|RemovePermission|TagResource|UntagResource)|dynamodb:(DescribeTable|UpdateTable|DeleteTable|UpdateTimeToLive|PutResourcePolicy|DeleteResourcePolicy|GetResourcePolicy|UpdateContinuousBackups|TagResource|UntagResource))$/;
    /**
     * The ARN of the role `name` runs with, as its RoleName spells it; `operator` is the role people use, which the stack
     * does not create. The guard writes its drift alerts straight to the topic, the Slack queue and the table; until its
     * function is packaged, its role is expected under the name every function's role has (resources/iam.yml).
     */
    const roleArn = (name: string): unknown => {
      const arn = (roleName: string) => sub(`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${roleName}`);
      if (name === 'operator') return arn(`rootwatch-${STAGE}-operator`);
      const deployed = resourcesOfType('AWS::Lambda::Function').some(
        ([, lambda]) => lambda.Properties.FunctionName === `rootwatch-${STAGE}-${name}`,
      );
      return arn(deployed ? nameOf(roleOf(name)[1].Properties.RoleName) : `rootwatch-${STAGE}-${name}-\${AWS::Region}`);
    };
    const guarded = Object.keys(admitted) as Guarded[];
    const exemptDeny = (resource: Guarded) =>
      policyOf(resource).filter((statement) => statement.Effect === 'Deny' && statement.Condition?.ArnNotEquals);

    it.each(guarded)('%s: denies its data actions to every principal but the rootwatch roles it needs', (resource) => {
      // Prepare
      const denies = exemptDeny(resource);

      // Assess
      expect(denies).toHaveLength(1);
      const [deny] = denies as [Statement];
      expect(deny.Principal).toBe('*');
      expect(deny.Resource).toStrictEqual(resourceArnOf(resource));
      expect(deny.Condition).toStrictEqual({
        ArnNotEquals: { 'aws:PrincipalArn': admitted[resource].map(roleArn) },
        // AWS services are left to the Allow statements, which name the resources they deliver for.
        BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
      });
      expect(asArray(deny.Action)).toStrictEqual(expect.arrayContaining(dataActions[resource]));
      for (const action of asArray(deny.Action)) {
        expect(action, `${resource}: ${action}`).not.toMatch(/\*/);
        expect(action, `${resource}: ${action} would lock the stack out of managing it`).not.toMatch(MANAGEMENT);
      }
    });

    it.each(guarded)('%s: denies every request made without TLS', (resource) => {
      // Prepare
      const transport = policyOf(resource).filter((statement) =>
        isDeepStrictEqual(statement.Condition, { Bool: { 'aws:SecureTransport': 'false' } }),
      );
      const required: Record<string, string[]> = {
        sqs: ['sqs:*'],
        sns: ['sns:Publish', 'sns:Subscribe'],
        dynamodb: ['dynamodb:*'],
      };

      // Assess
      expect(transport).toHaveLength(1);
      const [statement] = transport as [Statement];
      expect(statement).toMatchObject({ Effect: 'Deny', Principal: '*', Resource: resourceArnOf(resource) });
      const service = String(asArray(statement.Action)[0]).split(':')[0] as string;
      expect(asArray(statement.Action)).toStrictEqual(expect.arrayContaining(required[service] ?? ['none']));
    });

    it.each(guarded)('%s: allows nothing but a delivering AWS service, on its source', (resource) => {
      // Prepare
      const allows = policyOf(resource).filter((statement) => statement.Effect === 'Allow');

      // Assess
      for (const allow of allows) {
        expect(isServicePrincipal(allow.Principal), `${resource}: ${JSON.stringify(allow.Principal)}`).toBe(true);
        const conditions = Object.values(allow.Condition ?? {}).flatMap((condition) => Object.keys(condition));
        expect(conditions, resource).toContain('aws:SourceArn');
      }
    });

    it('lets EventBridge dead-letter only the events of the rules that name the queue', () => {
      // Prepare
      const allows = policyOf('rules-dlq').filter((statement) => statement.Effect === 'Allow');
      const dlq = resourceArnOf('rules-dlq');
      const ruleIds = resourcesOfType('AWS::Events::Rule')
        .filter(([, rule]) =>
          (rule.Properties.Targets as { DeadLetterConfig?: { Arn: unknown } }[]).some((target) =>
            isDeepStrictEqual(target.DeadLetterConfig?.Arn, dlq),
          ),
        )
        .map(([ruleId]) => ruleId);
      const onHubBus = (ruleId: string) =>
        isDeepStrictEqual(template.Resources[ruleId]?.Properties.EventBusName, ref('HubEventBus'));

      // Assess: the default bus's rules by ARN; the hub bus's as rule/<hub bus>/*, the ARNs of its rules only.
      expect(ruleIds.filter(onHubBus).length).toBeGreaterThan(0);
      expect(allows).toStrictEqual([
        expect.objectContaining({
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: resourceArnOf('rules-dlq'),
          Condition: {
            ArnEquals: {
              'aws:SourceArn': ruleIds.filter((ruleId) => !onHubBus(ruleId)).map((ruleId) => getAtt(ruleId)),
            },
          },
        }),
        expect.objectContaining({
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: resourceArnOf('rules-dlq'),
          Condition: {
            ArnLike: {
              'aws:SourceArn': sub(
                `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/rootwatch-${STAGE}-hub/*`,
              ),
            },
          },
        }),
      ]);
      for (const resource of [
        'slack',
        'slack-priority',
        'slack-dlq',
        'digest',
        'digest-dlq',
        'alert-dlq',
        'table',
      ] as const) {
        expect(
          policyOf(resource).filter((statement) => statement.Effect === 'Allow'),
          resource,
        ).toStrictEqual([]);
      }
    });

    it('puts exactly one policy on each queue and each topic', () => {
      // Assess
      for (const [queueId] of resourcesOfType('AWS::SQS::Queue')) {
        const policies = resourcesOfType('AWS::SQS::QueuePolicy').filter(([, policy]) =>
          asArray(policy.Properties.Queues).some((queue) => isDeepStrictEqual(queue, ref(queueId))),
        );
        expect(policies, queueId).toHaveLength(1);
        expect(asArray(policies[0]?.[1].Properties.Queues), queueId).toStrictEqual([ref(queueId)]);
      }
      for (const [topicId] of resourcesOfType('AWS::SNS::Topic')) {
        const policies = resourcesOfType('AWS::SNS::TopicPolicy').filter(([, policy]) =>
          asArray(policy.Properties.Topics).some((topic) => isDeepStrictEqual(topic, ref(topicId))),
        );
        expect(policies, topicId).toHaveLength(1);
        expect(asArray(policies[0]?.[1].Properties.Topics), topicId).toStrictEqual([ref(topicId)]);
      }
    });
  });

  it('keeps the dead-letter queues, the state table and the key when the stack is deleted or replaces them', () => {
    // Prepare
    const retained: [string, Resource][] = [
      ...['slack-dlq', 'digest-dlq', 'alert-dlq', 'rules-dlq'].map(queue),
      named('AWS::DynamoDB::Table', 'TableName', `rootwatch-${STAGE}-state`),
      ...resourcesOfType('AWS::KMS::Key'),
    ];

    // Assess
    expect(retained).toHaveLength(6);
    for (const [logicalId, resource] of retained) {
      expect(resource, logicalId).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
  });

  it('subscribes each address to the alerts, high and critical without heartbeats, and to the alarms unfiltered', () => {
    // Prepare
    const subscriptions = resourcesOfType('AWS::SNS::Subscription').map(([, subscription]) => subscription.Properties);
    const alarmTopicId = named('AWS::SNS::Topic', 'TopicName', `rootwatch-${STAGE}-alarms`)[0];
    const to = (topic: string) =>
      subscriptions.filter((subscription) => isDeepStrictEqual(subscription.TopicArn, ref(topic)));

    // Assess
    expect(subscriptions).toHaveLength(2 * EMAILS.length);
    for (const topic of [topicId(), alarmTopicId]) {
      expect(
        to(topic)
          .map((subscription) => subscription.Endpoint)
          .sort(),
        topic,
      ).toStrictEqual([...EMAILS].sort());
    }
    for (const subscription of to(topicId())) {
      expect(subscription).toStrictEqual({
        TopicArn: ref(topicId()),
        Protocol: 'email',
        Endpoint: expect.any(String),
        FilterPolicyScope: 'MessageAttributes',
        FilterPolicy: {
          kind: [{ exists: false }],
          $or: [{ severity: ['high', 'critical'] }, { severity: [{ exists: false }] }],
        },
      });
    }
    // CloudWatch's alarm notifications carry no message attributes, which no attribute filter policy lets through.
    for (const subscription of to(alarmTopicId)) {
      expect(subscription).toStrictEqual({
        TopicArn: ref(alarmTopicId),
        Protocol: 'email',
        Endpoint: expect.any(String),
      });
    }
  });

  it('encrypts every queue, and sizes the Slack queue to ride out a Slack outage until the age limit', () => {
    // Prepare
    const [, slack] = queue('slack');
    const [slackDlqId] = queue('slack-dlq');
    const [, notifier] = fn('notify-slack');
    const notifierTimeout = Number(notifier.Properties.Timeout);
    const environment = (notifier.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const hour = 3600;
    // The notifier's backoff between failed posts: 1, 2, 4, 8 minutes, then every 15 (app/slack-notifier.ts).
    const receivesWithin = (seconds: number) => 4 + Math.ceil((seconds - 15 * 60) / (15 * 60));
    const longestAge = 72 * hour; // SLACK_MAX_AGE_HOURS at most (functions/io/config.ts)

    // Assess
    for (const [, q] of resourcesOfType('AWS::SQS::Queue')) {
      expect(q.Properties.SqsManagedSseEnabled, String(q.Properties.QueueName)).toBe(true);
    }
    expect(slack.Properties.VisibilityTimeout).toBe(360);
    expect(Number(slack.Properties.VisibilityTimeout)).toBeGreaterThanOrEqual(6 * notifierTimeout);
    expect(environment.SLACK_MAX_AGE_HOURS).toBe('24');
    const { maxReceiveCount } = slack.Properties.RedrivePolicy as { maxReceiveCount: number };
    expect(slack.Properties.RedrivePolicy).toStrictEqual({
      deadLetterTargetArn: getAtt(slackDlqId),
      maxReceiveCount: 500,
    });
    // The redrive policy never beats the age limit to a failing message, even at the longest age allowed...
    expect(maxReceiveCount).toBeGreaterThan(receivesWithin(longestAge));
    // ...and the queue keeps a message past that age, and past the backstop of a notifier failing outright.
    const retention = Number(slack.Properties.MessageRetentionPeriod);
    expect(retention).toBe(4 * 24 * hour);
    expect(retention).toBeGreaterThan(longestAge);
    expect(retention).toBeGreaterThan(maxReceiveCount * Number(slack.Properties.VisibilityTimeout));
    for (const name of ['slack-dlq', 'digest-dlq', 'alert-dlq', 'rules-dlq']) {
      expect(queue(name)[1].Properties.MessageRetentionPeriod, name).toBe(1209600);
    }
    // The priority lane rides out an outage as the Slack queue does, into the same DLQ.
    const [, priority] = queue('slack-priority');
    for (const property of ['VisibilityTimeout', 'MessageRetentionPeriod', 'RedrivePolicy']) {
      expect(priority.Properties[property], property).toStrictEqual(slack.Properties[property]);
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

  it("alarms on the functions' errors, the alert function's throttles and every DLQ, to the topic", () => {
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
      ...['alert', 'notify-slack', 'digest'].map((name) => watching('AWS/Lambda', 'Errors', ref(fn(name)[0]))),
      watching('AWS/Lambda', 'Throttles', ref(fn('alert')[0])),
      ...['rules-dlq', 'alert-dlq', 'slack-dlq', 'digest-dlq'].map((name) =>
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
        AlarmActions: [ref(topicId()), ref('AlarmTopic')],
        OKActions: [ref(topicId()), ref('AlarmTopic')],
      });
    }
    for (const found of expected.slice(0, 4)) expect(found[0]).toMatchObject({ Statistic: 'Sum', Period: 60 });
    for (const found of expected.slice(4)) expect(found[0]).toMatchObject({ Statistic: 'Maximum' });
  });

  it('names every action in every role explicitly, and scopes every resource but the unscopable reads', () => {
    // Prepare
    const roles = resourcesOfType('AWS::IAM::Role');

    // Assess
    expect(roles.map(([roleId]) => roleId).sort()).toStrictEqual(
      [
        roleOf('alert')[0],
        roleOf('notify-slack')[0],
        roleOf('digest')[0],
        roleOf('guard')[0],
        roleOf('posture')[0],
        'HeartbeatScheduleRole',
      ].sort(),
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
    expect(grants(role, 'sqs:SendMessage')).toStrictEqual([
      getAtt(queue('slack')[0]),
      getAtt(queue('slack-priority')[0]),
      getAtt(queue('digest')[0]),
      getAtt(queue('alert-dlq')[0]),
    ]);
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']) {
      expect(grants(role, action), action).toStrictEqual([getAtt(tableId())]);
    }
    expect(grants(role, 'organizations:DescribeAccount')).toStrictEqual(['*']);
    expect(grants(role, 'iam:ListAccountAliases')).toStrictEqual(['*']);
  });

  it('runs the posture check daily (postureSchedule) with its environment, and alarms on its errors', () => {
    // Prepare
    const [postureId, posture] = fn('posture');
    const schedules = resourcesOfType('AWS::Events::Rule').filter(([, rule]) =>
      (rule.Properties.Targets as { Arn: unknown }[]).some((target) =>
        isDeepStrictEqual(target.Arn, getAtt(postureId)),
      ),
    );
    const errors = resourcesOfType('AWS::CloudWatch::Alarm').filter(
      ([, alarm]) =>
        alarm.Properties.MetricName === 'Errors' &&
        isDeepStrictEqual((alarm.Properties.Dimensions as { Value: unknown }[])[0]?.Value, ref(postureId)),
    );

    // Assess
    expect(posture.Properties).toMatchObject({ Handler: 'functions/posture.handler', Architectures: ['arm64'] });
    expect(schedules.filter(([, rule]) => rule.Properties.ScheduleExpression !== undefined)).toHaveLength(1);
    expect(schedules[0]?.[1].Properties).toMatchObject({
      Name: `rootwatch-${STAGE}-posture`,
      ScheduleExpression: 'rate(1 day)',
      State: 'ENABLED',
    });
    expect((posture.Properties.Environment as { Variables: unknown }).Variables).toMatchObject({
      ALERT_TOPIC_ARN: ref(topicId()),
      SLACK_QUEUE_URL: ref(queue('slack')[0]),
      SLACK_PRIORITY_QUEUE_URL: ref(queue('slack-priority')[0]),
      STATE_TABLE: ref(tableId()),
      ROOT_EMAIL_DOMAINS: '',
      POSTURE_AUDIT_ROLE: `rootwatch-${STAGE}-posture-audit`,
    });
    // One run at a time: every run replaces the one record of findings.
    expect(posture.Properties.ReservedConcurrentExecutions).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.[1].Properties).toMatchObject({
      AlarmName: `rootwatch-${STAGE}-posture-errors`,
      AlarmActions: [ref(topicId()), ref('AlarmTopic')],
    });
  });

  it('hands AWS Config’s root compliance changes on both buses to the posture function, each rule alone', () => {
    // Prepare
    const [postureId] = fn('posture');
    const rules = resourcesOfType('AWS::Events::Rule').filter(
      ([, rule]) => rule.Properties.Name === `rootwatch-${STAGE}-posture-config`,
    );
    const permissions = resourcesOfType('AWS::Lambda::Permission').filter(([, permission]) =>
      isDeepStrictEqual(permission.Properties.FunctionName, getAtt(postureId)),
    );

    // Assess: the same pattern on the default bus and the hub bus, targeting the posture function only.
    expect(rules.map(([, rule]) => rule.Properties.EventBusName ?? 'default')).toStrictEqual([
      'default',
      ref('HubEventBus'),
    ]);
    for (const [, rule] of rules) {
      expect(rule.Properties.EventPattern).toStrictEqual(CONFIG_COMPLIANCE_PATTERN);
      expect(rule.Properties.State).toBe('ENABLED');
      expect(rule.Properties.Targets).toStrictEqual([
        {
          Id: 'posture',
          Arn: getAtt(postureId),
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
        },
      ]);
    }
    for (const [id] of rules) {
      const own = permissions.filter(([, permission]) =>
        isDeepStrictEqual(permission.Properties.SourceArn, getAtt(id)),
      );
      expect(own, id).toHaveLength(1);
    }
  });

  it('lets the posture check assume the postureAuditRole by that name only', () => {
    // Prepare
    const [roleId] = roleOf('posture');
    const policies = resourcesOfType('AWS::IAM::Policy').filter(([, policy]) =>
      asArray(policy.Properties.Roles).some((role) => isDeepStrictEqual(role, ref(roleId))),
    );

    // Assess
    expect(policies).toHaveLength(1);
    expect(
      ((policies[0] as [string, Resource])[1].Properties.PolicyDocument as { Statement: Statement[] }).Statement,
    ).toStrictEqual([
      {
        Sid: 'AssumePostureAuditRole',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: sub(`arn:\${AWS::Partition}:iam::*:role/rootwatch-${STAGE}-posture-audit`),
      },
    ]);
  });

  it('grants the posture check its reads, root sessions for auditing only, and the guard’s destinations', () => {
    // Prepare
    const [, role] = roleOf('posture');
    const keyId = resourcesOfType('AWS::KMS::Key')[0]?.[0] as string;
    const statement = (action: string) =>
      statementsOf(role).filter((candidate) => asArray(candidate.Action).includes(action));
    const logGroup = `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/rootwatch-${STAGE}-posture`;

    // Assess
    expect(grants(role, 'logs:CreateLogStream')).toStrictEqual([sub(`${logGroup}:*`)]);
    expect(grants(role, 'logs:PutLogEvents')).toStrictEqual([sub(`${logGroup}:*:*`)]);
    for (const action of [
      'organizations:DescribeOrganization',
      'organizations:ListAccounts',
      'iam:ListOrganizationsFeatures',
      'iam:GetAccountSummary',
    ]) {
      expect(grants(role, action), action).toStrictEqual(['*']);
    }
    // A root session only with the task policy that reads root's credentials: never one that deletes or creates them.
    expect(statement('sts:AssumeRoot')).toStrictEqual([
      {
        Sid: 'AuditRootCredentials',
        Effect: 'Allow',
        Action: 'sts:AssumeRoot',
        Resource: sub(`arn:\${AWS::Partition}:iam::*:root`),
        Condition: {
          StringEquals: {
            'sts:TaskPolicyArn': sub(`arn:\${AWS::Partition}:iam::aws:policy/root-task/IAMAuditRootUserCredentials`),
          },
        },
      },
    ]);
    expect(statement('account:GetAlternateContact')[0]?.Condition).toStrictEqual({
      'ForAllValues:StringEquals': { 'account:AlternateContactTypes': ['SECURITY'] },
    });
    expect(grants(role, 'sts:AssumeRole')).toStrictEqual([]);
    expect(grants(role, 'sns:Publish')).toStrictEqual([ref(topicId())]);
    expect(grants(role, 'kms:GenerateDataKey')).toStrictEqual([getAtt(keyId)]);
    expect(grants(role, 'sqs:SendMessage')).toStrictEqual([
      getAtt(queue('slack')[0]),
      getAtt(queue('slack-priority')[0]),
    ]);
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']) {
      expect(grants(role, action), action).toStrictEqual([getAtt(tableId())]);
    }
    // Nothing that writes to IAM, Organizations or Account.
    for (const action of statementsOf(role).flatMap((candidate) => asArray(candidate.Action))) {
      expect(action).not.toMatch(/^(iam|organizations|account):(Create|Delete|Put|Update|Attach|Detach)/);
    }
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
      expect(grants(role, action), action).toStrictEqual([
        getAtt(queue('slack-priority')[0]),
        getAtt(queue('slack')[0]),
      ]);
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

  it('grants the digest function its queue, its DLQ, the topic, the normal Slack lane and the table only', () => {
    // Prepare
    const [, role] = roleOf('digest');
    const keyId = resourcesOfType('AWS::KMS::Key')[0]?.[0] as string;

    // Assess
    for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes']) {
      expect(grants(role, action), action).toStrictEqual([getAtt(queue('digest')[0])]);
    }
    expect(grants(role, 'sqs:SendMessage')).toStrictEqual([getAtt(queue('digest-dlq')[0]), getAtt(queue('slack')[0])]);
    expect(grants(role, 'sns:Publish')).toStrictEqual([ref(topicId())]);
    expect(grants(role, 'kms:GenerateDataKey')).toStrictEqual([getAtt(keyId)]);
    for (const action of ['dynamodb:GetItem', 'dynamodb:UpdateItem']) {
      expect(grants(role, action), action).toStrictEqual([getAtt(tableId())]);
    }
    expect(grants(role, 'dynamodb:PutItem')).toStrictEqual([]);
    expect(grants(role, 'organizations:DescribeAccount')).toStrictEqual([]);
  });

  it('keeps the functions\u2019 logs for a year', () => {
    // Assess
    for (const name of ['alert', 'notify-slack', 'digest']) {
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
      'AWS::Events::EventBus': 'Name',
      'AWS::IAM::Role': 'RoleName',
      'AWS::Scheduler::Schedule': 'Name',
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

  describe('the hub bus policy (organizationId and memberAccounts)', () => {
    const hubBus = `rootwatch-${STAGE}-hub`;
    const busArn = sub(`arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/${hubBus}`);
    /** The forwarders' roles, rootwatch-<stage>-forwarder-<region>, in any account (functions/core/forwarding.ts). */
    const forwarderRoles = sub(`arn:\${AWS::Partition}:iam::*:role/rootwatch-${STAGE}-forwarder-*`);
    const policy = () =>
      named('AWS::Events::EventBus', 'Name', hubBus)[1].Properties.Policy as { Statement: Statement[] };

    it("lets the organization's forwarder roles, and the member account's, put events on the hub bus and nothing else", () => {
      // Assess
      expect(policy()).toStrictEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'ForwardersOfTheOrganization',
            Effect: 'Allow',
            Principal: '*',
            Action: 'events:PutEvents',
            Resource: busArn,
            Condition: {
              StringEquals: { 'aws:PrincipalOrgID': ORGANIZATION },
              ArnLike: { 'aws:PrincipalArn': forwarderRoles },
            },
          },
          {
            Sid: 'ForwardersOfMemberAccounts',
            Effect: 'Allow',
            Principal: { AWS: [sub(`arn:\${AWS::Partition}:iam::${MEMBER_ACCOUNT}:root`)] },
            Action: 'events:PutEvents',
            Resource: busArn,
            Condition: { ArnLike: { 'aws:PrincipalArn': forwarderRoles } },
          },
        ],
      });
    });

    it('opens no statement to everyone without a condition that names the organization or the forwarder roles', () => {
      // Assess
      for (const statement of policy().Statement) {
        expect(statement.Effect).toBe('Allow');
        expect(asArray(statement.Action)).toStrictEqual(['events:PutEvents']);
        expect(statement.Condition?.ArnLike?.['aws:PrincipalArn'], statement.Sid).toStrictEqual(forwarderRoles);
        if (statement.Principal === '*') {
          expect(statement.Condition?.StringEquals?.['aws:PrincipalOrgID'], statement.Sid).toBe(ORGANIZATION);
        }
      }
    });

    it('is the one policy of the bus: no AWS::Events::EventBusPolicy adds statements beside it', () => {
      // Assess
      expect(resourcesOfType('AWS::Events::EventBusPolicy')).toStrictEqual([]);
    });
  });

  describe('forwarder heartbeats (resources/heartbeat.cjs, forwarderRegions)', () => {
    const alarms = () =>
      resourcesOfType('AWS::CloudWatch::Alarm').filter(([, alarm]) =>
        String(alarm.Properties.AlarmName).startsWith(`rootwatch-${STAGE}-forwarder`),
      );

    it('hands heartbeats arriving on the hub bus to the alert function, under the hub bus permission', () => {
      // Prepare
      const hubRule = template.Resources.HubHeartbeatRule as Resource;
      const defaultRule = template.Resources.HeartbeatRule as Resource;
      const hubPermissions = resourcesOfType('AWS::Lambda::Permission').filter(([, permission]) =>
        JSON.stringify(permission.Properties.SourceArn).includes(`rule/rootwatch-${STAGE}-hub/*`),
      );

      // Assess
      expect(hubRule.Properties).toStrictEqual({
        ...defaultRule.Properties,
        EventBusName: ref('HubEventBus'),
        Description: expect.any(String),
      });
      expect(hubPermissions).toHaveLength(1);
      expect(
        resourcesOfType('AWS::Lambda::Permission').filter(([, permission]) =>
          isDeepStrictEqual(permission.Properties.SourceArn, getAtt('HubHeartbeatRule')),
        ),
      ).toStrictEqual([]);
    });

    it('alarms per forwarder region of this account when its heartbeats stop, naming account and region', () => {
      // Prepare
      const perRegion = alarms().filter(([, alarm]) => alarm.Properties.MetricName === 'ForwarderHeartbeat');

      // Assess
      expect(perRegion.map(([, alarm]) => alarm.Properties.AlarmName).sort()).toStrictEqual(
        FORWARDER_REGIONS.map((region) => `rootwatch-${STAGE}-forwarder-${region}`).sort(),
      );
      for (const [alarmId, alarm] of perRegion) {
        const region = String(alarm.Properties.AlarmName).replace(`rootwatch-${STAGE}-forwarder-`, '');
        expect(alarm.Properties, alarmId).toMatchObject({
          Namespace: 'rootwatch',
          Dimensions: [
            { Name: 'service', Value: 'rootwatch' },
            { Name: 'stage', Value: STAGE },
            { Name: 'account', Value: ref('AWS::AccountId') },
            { Name: 'region', Value: region },
          ],
          Period: 600,
          EvaluationPeriods: 2,
          DatapointsToAlarm: 2,
          Threshold: 1,
          ComparisonOperator: 'LessThanThreshold',
          TreatMissingData: 'breaching',
          AlarmActions: [ref(topicId()), ref('AlarmTopic')],
        });
        expect(JSON.stringify(alarm.Properties.AlarmDescription), alarmId).toContain(`\${AWS::AccountId}`);
        expect(JSON.stringify(alarm.Properties.AlarmDescription), alarmId).toContain(region);
      }
    });

    it("alarms on the guard's count of silent forwarders, and gives the guard the period and the regions", () => {
      // Prepare
      const silent = alarms().filter(([, alarm]) => alarm.Properties.MetricName === 'SilentForwarders');
      const [, guard] = fn('guard');

      // Assess
      expect(silent).toHaveLength(1);
      expect(silent[0]?.[1].Properties).toMatchObject({
        AlarmName: `rootwatch-${STAGE}-forwarders-silent`,
        Namespace: 'rootwatch',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
      expect(guard.Properties.Environment).toMatchObject({
        Variables: { HEARTBEAT_MINUTES: '10', FORWARDER_REGIONS: FORWARDER_REGIONS.join(',') },
      });
    });
  });

  it('outputs the topic, the queues and the table', () => {
    // Prepare
    const values = Object.values(template.Outputs).map((output) => output.Value);

    // Assess
    expect(values).toContainEqual(ref(topicId()));
    expect(values).toContainEqual(ref('AlarmTopic'));
    expect(values).toContainEqual(ref(tableId()));
    for (const name of ['slack', 'slack-priority', 'slack-dlq', 'digest', 'digest-dlq', 'alert-dlq', 'rules-dlq']) {
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

    // Assess: each address to the alert topic and to the alarm topic.
    expect(Object.values(Resources).map((resource) => resource.Properties.Endpoint)).toStrictEqual([
      'a@example.com',
      'a@example.com',
      'b@example.org',
      'b@example.org',
    ]);
    for (const logicalId of Object.keys(Resources)) {
      expect(logicalId).toMatch(/^(AlertEmailSubscription|AlarmEmailSubscription)[0-9a-f]+$/);
    }
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
  ])(
    'filters e-mail from %s up and never a heartbeat, letting messages without a severity through',
    async (floor, severities) => {
      // Act
      const { Resources } = await resolveParameters(
        withParams({ alertEmails: 'a@example.com', emailMinSeverity: floor }),
      );

      // Assess
      const alerts = Object.values(Resources).find((resource) =>
        isDeepStrictEqual(resource.Properties.TopicArn, ref('AlertTopic')),
      );
      const alarms = Object.values(Resources).find((resource) =>
        isDeepStrictEqual(resource.Properties.TopicArn, ref('AlarmTopic')),
      );
      expect(alerts?.Properties.FilterPolicy).toStrictEqual({
        kind: [{ exists: false }],
        ...(severities && { $or: [{ severity: severities }, { severity: [{ exists: false }] }] }),
      });
      expect(alerts?.Properties.FilterPolicyScope).toBe('MessageAttributes');
      expect(alarms?.Properties.FilterPolicy).toBeUndefined();
    },
  );

  it.each([
    ['minSeverity', 'severe', /"severe" is not one of info, low, medium, high, critical/],
    ['emailMinSeverity', 'HIGH', /"HIGH" is not one of/],
    ['runbookBaseUrl', 'https://example.com/runbooks', /must end with "\/"/],
    ['runbookBaseUrl', 'http://example.com/', /must be an https URL/],
    ['accountNames', '{"prod":"210987654321"}', /"prod" is not a 12-digit account id/],
    ['accountNames', 'prod=210987654321', /expected a JSON object/],
    ['accountLookup', 'org', /"org" is not one of organizations, none/],
    ['slackWebhookParameter', 'rootwatch/slack', /SSM SecureString/],
    ['heartbeatMinutes', '4', /must be at least 5 \(minutes\)/],
    ['heartbeatMinutes', '721', /must be at most 720 \(minutes\)/],
    ['heartbeatMinutes', '7.5', /expected a whole number of minutes/],
    ['heartbeatMinutes', 'ten', /expected a whole number of minutes/],
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
