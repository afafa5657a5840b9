/**
 * The guard as packaged and as deployed: `serverless package` (offline) with an e-mail subscriber and an organization
 * whose forwarders may put events on the hub bus, the guard's
 * function, schedule, role and alarms in the template, the expected state in its zip (the template's own rules and
 * subscriptions); then its handler, configured only by that template's environment, against local servers that
 * speak AWS's wire protocols: fauxqs (SNS, SQS), dynalite (the state table) and functions/local/control-plane.ts
 * (EventBridge, Lambda, KMS), seeded with exactly what was packaged.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { UnsubscribeCommand } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GuardOutcome } from '../../functions/app/guard.js';
import { AlertSchema } from '../../functions/core/alert-document.js';
import { driftsOf } from '../../functions/core/guard/alert.js';
import { type ExpectedState, ExpectedStateSchema, expectationOf } from '../../functions/core/guard/expected-state.js';
import { renderSlackMessage } from '../../functions/core/render/slack.js';
import { loadDetections } from '../../functions/io/detections.js';
import { type LocalAws, publishedOf, startLocalAws } from '../../functions/local/aws.js';
import { type ControlPlane, startControlPlane } from '../../functions/local/control-plane.js';
import { deployLocally, LOCAL_CONTEXT } from '../helpers/guard.js';
import { getAtt, PACKAGE_TIMEOUT_MS, packageService, readZip, removeWorkDir, STAGE } from '../helpers/package.js';

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

const EMAIL = 'sec@example.com';
const ORGANIZATION = 'o-a1b2c3d4e5';
const HUB_BUS = `rootwatch-${STAGE}-hub`;
const GUARD = `rootwatch-${STAGE}-guard`;
const ref = (logicalId: string) => ({ Ref: logicalId });
const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
const sub = (text: string) => ({ 'Fn::Sub': text });

let workDir: string;
let resources: Record<string, Resource>;
let guardZip: Map<string, Buffer>;
let document: ExpectedState;

const resourcesOfType = (type: string): [string, Resource][] =>
  Object.entries(resources).filter(([, resource]) => resource.Type === type);
const guardFunction = (): [string, Resource] => {
  const found = resourcesOfType('AWS::Lambda::Function').filter(([, fn]) => fn.Properties.FunctionName === GUARD);
  expect(found).toHaveLength(1);
  return found[0] as [string, Resource];
};

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'rootwatch-guard-'));
  const outputDir = await packageService(workDir, [`alertEmails=${EMAIL}`, `organizationId=${ORGANIZATION}`]);
  resources = JSON.parse(
    await readFile(join(outputDir, 'cloudformation-template-update-stack.json'), 'utf8'),
  ).Resources;
  guardZip = readZip(await readFile(join(outputDir, 'guard.zip')));
  document = ExpectedStateSchema.parse(
    JSON.parse(guardZip.get('.rootwatch/expected-state.json')?.toString() ?? 'null'),
  );
}, PACKAGE_TIMEOUT_MS);

afterAll(async () => {
  if (workDir) await removeWorkDir(workDir);
});

describe('the packaged guard', () => {
  it('runs every 5 minutes as rootwatch-<stage>-guard, with its own role', () => {
    // Prepare
    const [guardId, guard] = guardFunction();
    const schedules = resourcesOfType('AWS::Events::Rule').filter(([, rule]) =>
      (rule.Properties.Targets as { Arn: unknown }[]).some((target) => isDeepStrictEqual(target.Arn, getAtt(guardId))),
    );

    // Assess
    expect(guard.Properties).toMatchObject({
      Handler: 'functions/guard.handler',
      Role: getAtt('GuardRole'),
      Timeout: 60,
      Architectures: ['arm64'],
    });
    expect(schedules).toHaveLength(1);
    const [scheduleId, schedule] = schedules[0] as [string, Resource];
    expect(schedule.Properties).toMatchObject({ Name: GUARD, ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED' });
    const permissions = resourcesOfType('AWS::Lambda::Permission').filter(([, permission]) =>
      isDeepStrictEqual(permission.Properties.SourceArn, getAtt(scheduleId)),
    );
    expect(permissions.map(([, permission]) => permission.Properties.FunctionName)).toStrictEqual([getAtt(guardId)]);
  });

  it('gives the guard the topic, the Slack queue, the key and where its expected state is', () => {
    // Prepare
    const [, guard] = guardFunction();
    const variables = (guard.Properties.Environment as { Variables: Record<string, unknown> }).Variables;

    // Assess
    expect(variables).toMatchObject({
      ALERT_TOPIC_ARN: ref('AlertTopic'),
      SLACK_QUEUE_URL: ref('SlackQueue'),
      STATE_TABLE: ref('StateTable'),
      ALERTER_KEY_ARN: getAtt('AlertTopicKey'),
      EXPECTED_STATE_FILE: '.rootwatch/expected-state.json',
    });
  });

  it('ships the expected state in its zip, with the catalog for the renderers inlined in its bundle', () => {
    // Assess: the catalog is in the guard's code (functions/guard.mjs and its chunks) as JSON (build/catalog-plugin.mjs),
    // not in an events/ folder.
    const code = [...guardZip.entries()].filter(([name]) => /^functions\/guard\.(?:.+\.)?mjs$/.test(name));
    expect(guardZip.has('.rootwatch/expected-state.json')).toBe(true);
    expect([...guardZip.keys()].filter((name) => name.startsWith('events/'))).toStrictEqual([]);
    expect(code.map(([, content]) => String(content)).join('\n')).toMatch(/\\?"id\\?":\\?"alerter-tampering\\?"/);
    expect(document.stage).toBe(STAGE);
    expect(document.deployedValues).toStrictEqual({ 'AlertTopicKey.Arn': 'ALERTER_KEY_ARN' });
  });

  it("expects exactly the template's rules (names, patterns, states, targets) but its own schedule", () => {
    // Prepare
    const [guardId] = guardFunction();
    const packaged = resourcesOfType('AWS::Events::Rule').filter(
      ([, rule]) =>
        !(rule.Properties.Targets as { Arn: unknown }[]).some((target) =>
          isDeepStrictEqual(target.Arn, getAtt(guardId)),
        ),
    );
    const expected = Object.entries(document.resources).filter(([, resource]) => resource.Type === 'AWS::Events::Rule');

    // Assess
    expect(packaged.length).toBeGreaterThan(20);
    expect(Object.fromEntries(expected)).toStrictEqual(Object.fromEntries(packaged));
  });

  it("expects the template's subscriptions, queue and topic policies and key policy as they are", () => {
    // Assess
    for (const type of [
      'AWS::Events::EventBus',
      'AWS::SNS::Subscription',
      'AWS::SQS::QueuePolicy',
      'AWS::SNS::TopicPolicy',
      'AWS::KMS::Key',
      'AWS::SNS::Topic',
      'AWS::SQS::Queue',
    ]) {
      const packaged = resourcesOfType(type);
      expect(packaged.length, type).toBeGreaterThan(0);
      for (const [logicalId, resource] of packaged) {
        expect(document.resources[logicalId], `${type} ${logicalId}`).toStrictEqual({
          Type: resource.Type,
          Properties: resource.Properties,
        });
      }
    }
  });

  it("expects the functions' names, roles, reserved concurrency and the Slack lanes' event source mappings", () => {
    // Prepare
    const expected = expectationOf(document, LOCAL_CONTEXT);
    const names = resourcesOfType('AWS::Lambda::Function')
      .map(([, fn]) => fn.Properties.FunctionName)
      .filter((name) => name !== GUARD);

    // Assess
    expect(expected.functions.map((fn) => fn.name).sort()).toStrictEqual([...names].sort());
    expect(expected.functions.find((fn) => fn.name.endsWith('-notify-slack'))).toMatchObject({
      reservedConcurrency: 4,
      eventSources: [
        { eventSourceArn: `arn:aws:sqs:us-east-1:000000000000:rootwatch-${STAGE}-slack-priority`, enabled: true },
        { eventSourceArn: `arn:aws:sqs:us-east-1:000000000000:rootwatch-${STAGE}-slack`, enabled: true },
      ],
    });
    expect(expected.functions.find((fn) => fn.name.endsWith('-digest'))).toMatchObject({
      eventSources: [{ eventSourceArn: `arn:aws:sqs:us-east-1:000000000000:rootwatch-${STAGE}-digest`, enabled: true }],
    });
  });

  it('grants the guard reads of its stage resources, sending alerts, and nothing else', () => {
    // Prepare
    const role = resources.GuardRole as Resource;
    const statements = (role.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap(
      (policy) => policy.PolicyDocument.Statement,
    );
    const grants = Object.fromEntries(
      statements.flatMap((statement) => asArray(statement.Action).map((action) => [action, statement.Resource])),
    );
    const arn = (service: string, resource: string, account = `:\${AWS::AccountId}`) =>
      sub(`arn:\${AWS::Partition}:${service}:\${AWS::Region}${account}:${resource}`);
    const logGroup = `log-group:/aws/lambda/${GUARD}`;

    // Assess
    expect(role.Properties.RoleName).toStrictEqual(sub(`${GUARD}-\${AWS::Region}`));
    expect(grants).toStrictEqual({
      'logs:CreateLogStream': arn('logs', `${logGroup}:*`),
      'logs:PutLogEvents': arn('logs', `${logGroup}:*:*`),
      'events:DescribeRule': arn('events', `rule/rootwatch-${STAGE}-*`),
      'events:ListTargetsByRule': arn('events', `rule/rootwatch-${STAGE}-*`),
      'events:DescribeEventBus': getAtt('HubEventBus'),
      'lambda:GetFunctionConfiguration': arn('lambda', `function:rootwatch-${STAGE}-*`),
      'lambda:GetFunctionConcurrency': arn('lambda', `function:rootwatch-${STAGE}-*`),
      'lambda:ListEventSourceMappings': '*',
      'sqs:GetQueueUrl': arn('sqs', `rootwatch-${STAGE}-*`),
      'sqs:GetQueueAttributes': arn('sqs', `rootwatch-${STAGE}-*`),
      'sns:GetTopicAttributes': arn('sns', `rootwatch-${STAGE}-*`),
      'sns:ListSubscriptionsByTopic': arn('sns', `rootwatch-${STAGE}-*`),
      'sns:GetSubscriptionAttributes': arn('sns', `rootwatch-${STAGE}-*`),
      'kms:DescribeKey': getAtt('AlertTopicKey'),
      'kms:GetKeyPolicy': getAtt('AlertTopicKey'),
      'sns:Publish': ref('AlertTopic'),
      'kms:GenerateDataKey': getAtt('AlertTopicKey'),
      'kms:Decrypt': getAtt('AlertTopicKey'),
      // Both Slack lanes: a critical finding takes the priority lane.
      'sqs:SendMessage': [getAtt('SlackQueue'), getAtt('SlackPriorityQueue')],
      'dynamodb:UpdateItem': getAtt('StateTable'),
      // When each forwarder's heartbeat was last seen.
      'dynamodb:GetItem': getAtt('StateTable'),
    });
    expect(statements.find((statement) => asArray(statement.Action).includes('kms:Decrypt'))?.Condition).toStrictEqual({
      StringEquals: { 'kms:ViaService': sub(`sns.\${AWS::Region}.amazonaws.com`) },
    });
  });

  it('alarms when the guard fails, and when it has not run for 15 minutes', () => {
    // Prepare
    const [guardId] = guardFunction();
    const alarms = resourcesOfType('AWS::CloudWatch::Alarm')
      .map(([, alarm]) => alarm.Properties)
      .filter((alarm) => isDeepStrictEqual((alarm.Dimensions as { Value: unknown }[])[0]?.Value, ref(guardId)));

    // Assess
    expect(alarms.map((alarm) => alarm.MetricName).sort()).toStrictEqual(['Errors', 'Invocations']);
    for (const alarm of alarms) {
      expect(alarm.AlarmName).toMatch(new RegExp(`^${GUARD}-`));
      expect(alarm.AlarmActions).toContainEqual(ref('AlertTopic'));
    }
    expect(alarms.find((alarm) => alarm.MetricName === 'Errors')).toMatchObject({
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
    });
    expect(alarms.find((alarm) => alarm.MetricName === 'Invocations')).toMatchObject({
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      Period: 300,
      EvaluationPeriods: 3,
      TreatMissingData: 'breaching',
    });
  });
});

describe('the deployed guard against local AWS', () => {
  let aws: LocalAws;
  let controlPlane: ControlPlane;
  let subscriptions: Map<string, string>;
  let handler: (event: unknown, context: Context) => Promise<GuardOutcome>;
  const detections = loadDetections();
  const context = () =>
    ({
      awsRequestId: `req-${Math.random()}`,
      invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${GUARD}`,
      functionName: GUARD,
    }) as unknown as Context;

  beforeAll(async () => {
    aws = await startLocalAws(`rootwatch-${STAGE}`);
    controlPlane = await startControlPlane();
    subscriptions = await deployLocally(expectationOf(document, LOCAL_CONTEXT), aws, controlPlane);
    // The guard's zip as Lambda unpacks it: the task root holds the expected state where its variable says.
    const taskRoot = join(workDir, 'task');
    const [, guard] = guardFunction();
    const variables = (guard.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const file = join(taskRoot, String(variables.EXPECTED_STATE_FILE));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, guardZip.get(String(variables.EXPECTED_STATE_FILE)) ?? '');
    const env: Record<string, string> = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_SNS: aws.endpoints.fauxqs,
      AWS_ENDPOINT_URL_SQS: aws.endpoints.fauxqs,
      AWS_ENDPOINT_URL_DYNAMODB: aws.endpoints.dynamodb,
      AWS_ENDPOINT_URL_EVENTBRIDGE: controlPlane.endpoint,
      AWS_ENDPOINT_URL_LAMBDA: controlPlane.endpoint,
      AWS_ENDPOINT_URL_KMS: controlPlane.endpoint,
      LAMBDA_TASK_ROOT: taskRoot,
      EXPECTED_STATE_FILE: String(variables.EXPECTED_STATE_FILE),
      ALERT_TOPIC_ARN: aws.topicArn,
      SLACK_QUEUE_URL: aws.slackQueueUrl,
      STATE_TABLE: aws.tableName,
      ALERTER_KEY_ARN: LOCAL_CONTEXT.values['AlertTopicKey.Arn'],
      RUNBOOK_BASE_URL: 'https://runbooks.example/',
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    ({ handler } = await import('../../functions/guard.js'));
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await controlPlane?.stop();
    await aws?.stop();
  });

  it('reports nothing while the deployment is as packaged', async () => {
    // Act
    const outcome = await handler({}, context());

    // Assess
    expect(outcome).toMatchObject({ status: 'in-sync' });
    expect(await aws.drain(aws.subscriberQueueUrl)).toStrictEqual([]);
    expect(await aws.drain(aws.slackQueueUrl)).toStrictEqual([]);
    expect(controlPlane.requests.map((request) => `${request.service} ${request.operation}`)).toEqual(
      expect.arrayContaining([
        'EventBridge DescribeRule',
        'EventBridge ListTargetsByRule',
        'EventBridge DescribeEventBus',
        'KMS DescribeKey',
        'KMS GetKeyPolicy',
      ]),
    );
  });

  it('reports a disabled rule, a removed target and a deleted subscription in one alert, to the topic and the Slack queue', async () => {
    // Prepare: the tampering rule itself disabled, root-api-call's target removed, the e-mail subscription deleted.
    const tampering = controlPlane.state.rules.get(`rootwatch-${STAGE}-alerter-tampering-0`);
    const rootApiCall = controlPlane.state.rules.get(`rootwatch-${STAGE}-root-api-call`);
    if (!tampering || !rootApiCall) throw new Error('the packaged rules were not deployed locally');
    tampering.State = 'DISABLED';
    rootApiCall.Targets = [];
    await aws.sns.send(
      new UnsubscribeCommand({ SubscriptionArn: subscriptions.get(`rootwatch-${STAGE}-alerts email ${EMAIL}`) }),
    );

    // Act
    const outcome = await handler({}, context());

    // Assess
    expect(outcome).toMatchObject({
      status: 'alerted',
      drifts: 3,
      severity: 'critical',
      sinks: ['sns', 'slack-queue'],
    });
    const published = (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf);
    expect(published).toHaveLength(1);
    const [message] = published;
    const alert = AlertSchema.parse(JSON.parse(message?.structure.sqs ?? '{}'));
    expect(alert).toMatchObject({
      detections: ['alerter-tampering'],
      severity: 'critical',
      eventSource: 'rootwatch.guard',
    });
    expect(driftsOf(alert).map((drift) => [drift.resource, drift.name, drift.property])).toStrictEqual([
      ['rule', `rootwatch-${STAGE}-alerter-tampering-0`, 'State'],
      ['rule', `rootwatch-${STAGE}-root-api-call`, 'Target alert'],
      ['subscription', `email ${EMAIL}`, 'exists'],
    ]);
    expect(message?.Subject).toBe('[CRITICAL] alerter-tampering - 000000000000');
    expect(message?.structure.email).toContain(
      `Rule: "rule rootwatch-${STAGE}-alerter-tampering-0 is DISABLED, deployed ENABLED"`,
    );
    expect(message?.structure.email).toContain(`Rule: "rule rootwatch-${STAGE}-root-api-call lost its target alert`);
    expect(message?.structure.email).toContain(
      `Subscription: "the email ${EMAIL} subscription to rootwatch-${STAGE}-alerts is missing (deleted?)"`,
    );
    expect(message?.MessageAttributes.detection?.Value).toBe('["alerter-tampering"]');

    const queued = await aws.drain(aws.slackQueueUrl);
    expect(queued).toHaveLength(1);
    const queuedAlert = AlertSchema.parse(JSON.parse(queued[0]?.Body ?? '{}'));
    expect(queuedAlert.eventID).toBe(alert.eventID);
    const slack = JSON.stringify(renderSlackMessage(queuedAlert, detections));
    expect(slack).toContain(`rule rootwatch-${STAGE}-alerter-tampering-0 is DISABLED, deployed ENABLED`);
  });

  it('does not repeat the alert on the next run while the drift is the same', async () => {
    // Act
    const outcome = await handler({}, context());

    // Assess
    expect(outcome).toMatchObject({ status: 'already-alerted', drifts: 3 });
    expect(await aws.drain(aws.subscriberQueueUrl)).toStrictEqual([]);
    expect(await aws.drain(aws.slackQueueUrl)).toStrictEqual([]);
  });

  it('alerts at once on a new drift: the key scheduled for deletion and the notifier throttled to 0', async () => {
    // Prepare
    const key = controlPlane.state.keys.get(LOCAL_CONTEXT.values['AlertTopicKey.Arn']);
    const notifier = controlPlane.state.functions.get(`rootwatch-${STAGE}-notify-slack`);
    if (!key || !notifier) throw new Error('the key and the notifier were not deployed locally');
    Object.assign(key, { KeyState: 'PendingDeletion', DeletionDate: Date.parse('2026-04-01T00:00:00Z') });
    notifier.ReservedConcurrentExecutions = 0;

    // Act
    const outcome = await handler({}, context());

    // Assess
    expect(outcome).toMatchObject({ status: 'alerted', drifts: 5 });
    const [message] = (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf);
    const drifts = driftsOf(AlertSchema.parse(JSON.parse(message?.structure.sqs ?? '{}')));
    expect(drifts.map((drift) => drift.message)).toEqual(
      expect.arrayContaining([
        `function rootwatch-${STAGE}-notify-slack has a reserved concurrency of 0: it cannot run at all`,
        `KMS key ${LOCAL_CONTEXT.values['AlertTopicKey.Arn']} is scheduled for deletion on 2026-04-01T00:00:00.000Z: cancel it (aws kms cancel-key-deletion)`,
      ]),
    );
    expect(await aws.drain(aws.slackQueueUrl)).toHaveLength(1);
  });

  it('alerts on a rule of the hub bus disabled and the hub bus opened to every account', async () => {
    // Prepare: the hub bus's twin of root-api-call disabled (its default-bus rule is left as it is), and a statement
    // added to the hub bus's policy that lets any principal of any account put events on it.
    const hubRule = controlPlane.state.rules.get(`${HUB_BUS}/rootwatch-${STAGE}-root-api-call`);
    const bus = controlPlane.state.eventBuses.get(HUB_BUS);
    if (!hubRule || !bus?.Policy) throw new Error('the hub bus and its rules were not deployed locally');
    hubRule.State = 'DISABLED';
    const policy = JSON.parse(bus.Policy) as { Statement: unknown[] };
    expect(JSON.stringify(policy)).toContain(ORGANIZATION);
    policy.Statement.push({
      Sid: 'Anyone',
      Effect: 'Allow',
      Principal: '*',
      Action: 'events:PutEvents',
      Resource: '*',
    });
    bus.Policy = JSON.stringify(policy);

    // Act
    const outcome = await handler({}, context());

    // Assess
    expect(outcome).toMatchObject({ status: 'alerted', drifts: 7, severity: 'critical' });
    const [message] = (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf);
    const drifts = driftsOf(AlertSchema.parse(JSON.parse(message?.structure.sqs ?? '{}')));
    expect(
      drifts
        .filter((drift) => drift.name.includes(HUB_BUS))
        .map((drift) => [drift.resource, drift.name, drift.property, drift.message]),
    ).toStrictEqual([
      [
        'rule',
        `${HUB_BUS}/rootwatch-${STAGE}-root-api-call`,
        'State',
        `rule rootwatch-${STAGE}-root-api-call on the bus ${HUB_BUS} is DISABLED, deployed ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`,
      ],
      ['event bus', HUB_BUS, 'Policy', `event bus ${HUB_BUS} has another policy than deployed`],
    ]);
    const described = controlPlane.requests.filter((request) => request.operation === 'DescribeEventBus');
    expect(described.length).toBeGreaterThan(0);
    expect(await aws.drain(aws.slackQueueUrl)).toHaveLength(1);
  });
});
