import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePattern } from '../../functions/core/event-pattern/compile.js';
import { FORWARDER_ORIGIN, forwarderRolePrefix } from '../../functions/core/forwarding.js';
import { HEARTBEAT_DETAIL_TYPE, HEARTBEAT_PATTERN, HEARTBEAT_SOURCE } from '../../functions/core/heartbeat.js';
import { CONFIG_COMPLIANCE_PATTERN } from '../../functions/core/posture-events.js';
import { catalogRules, RULE_RETRY_POLICY } from '../../functions/deploy/catalog-rules.js';
import {
  buildForwarderTemplate,
  type CloudFormationTemplate,
  type ForwarderTemplateOptions,
  NO_HUB_KEY,
  postureAuditRoleName,
  TEMPLATE_BODY_MAX_BYTES,
  templateBodyBytes,
} from '../../functions/deploy/forwarder-template.js';
import { readStageParameters } from '../../functions/deploy/stage-parameters.js';
import { ConfigError } from '../../functions/errors.js';
import { parseDetectionParameterValues, readDetectionParameterFile } from '../../functions/io/config.js';
import { DEFAULT_DETECTIONS_DIR } from '../../functions/io/detections.js';
import { readSampleEvent, SAMPLES_DIR } from '../helpers/samples.js';

const HUB_BUS_ARN = 'arn:aws:events:us-east-1:111122223333:event-bus/rootwatch-prod-hub';
/** The samples' rootwatch key (events/samples/parameters.yml), as the hub's key. */
const HUB_KEY_ID = '0987dcba-09fe-87dc-65ba-ab0987654321';
const HUB_KEY_ARN = `arn:aws:kms:us-east-1:111122223333:key/${HUB_KEY_ID}`;
/** A deployment with every detection parameter set: the samples' values. */
const { alerterKeyArn: _samplesKey, ...VALUES } = readDetectionParameterFile(join(SAMPLES_DIR, 'parameters.yml'));

const build = (overrides: Partial<ForwarderTemplateOptions> = {}) =>
  buildForwarderTemplate({
    stage: 'prod',
    hubBusArn: HUB_BUS_ARN,
    hubKeyArn: HUB_KEY_ARN,
    values: VALUES,
    heartbeatMinutes: 10,
    ...overrides,
  });

type Properties = Record<string, unknown>;
const propertiesOf = (template: CloudFormationTemplate, logicalId: string): Properties =>
  (template.Resources[logicalId]?.Properties ?? {}) as Properties;
const rulesOf = (template: CloudFormationTemplate) =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === 'AWS::Events::Rule');

/**
 * The resources CloudFormation creates from `template` in `account` and `region`: the ones whose condition holds,
 * evaluating the few condition functions the template uses (Fn::And, Fn::Equals, Fn::Not, Condition, Ref).
 */
const createdIn = (template: CloudFormationTemplate, account: string, region: string): string[] => {
  const evaluate = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    const [[fn, args]] = Object.entries(value) as [[string, unknown]];
    const list = args as unknown[];
    switch (fn) {
      case 'Ref':
        return { 'AWS::AccountId': account, 'AWS::Region': region }[args as string];
      case 'Fn::Equals':
        return evaluate(list[0]) === evaluate(list[1]);
      case 'Fn::And':
        return list.every((item) => evaluate(item) === true);
      case 'Fn::Not':
        return evaluate(list[0]) !== true;
      case 'Condition':
        return evaluate(template.Conditions[args as string]);
      default:
        throw new Error(`unexpected condition function ${fn}`);
    }
  };
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Condition === undefined || evaluate(template.Conditions[resource.Condition]))
    .map(([logicalId]) => logicalId);
};

describe('buildForwarderTemplate', () => {
  it('gives every rule of the catalog a twin of the hub rule: same logical id, Name, EventPattern and State', () => {
    // Prepare: the hub's rules, its key resolved to the ARN and id CloudFormation gives it
    const hubRules = catalogRules('prod', DEFAULT_DETECTIONS_DIR, VALUES, (placeholder) =>
      placeholder === 'alerterKeyArn' ? HUB_KEY_ARN : HUB_KEY_ID,
    );

    // Act
    const template = build();

    // Assess
    expect(hubRules.length).toBeGreaterThan(20);
    expect(rulesOf(template).map(([logicalId]) => logicalId)).toStrictEqual([
      ...hubRules.map((rule) => rule.logicalId),
      'ForwarderHeartbeatRule',
      'ForwarderPostureConfigRule',
    ]);
    for (const rule of hubRules) {
      const { Name, EventPattern, State } = propertiesOf(template, rule.logicalId);
      expect({ Name, EventPattern, State }).toStrictEqual({
        Name: rule.name,
        EventPattern: rule.pattern,
        State: rule.state,
      });
    }
    expect(JSON.stringify(template)).toContain(`"${HUB_KEY_ID}"`);
  });

  it('forwards AWS Config’s root compliance changes to the hub bus, as the catalog’s rules are', () => {
    // Act
    const template = build();
    const rule = propertiesOf(template, 'ForwarderPostureConfigRule');
    const heartbeat = propertiesOf(template, 'ForwarderHeartbeatRule');

    // Assess
    expect(template.Resources.ForwarderPostureConfigRule?.Condition).toBe('OutsideHub');
    expect(rule).toMatchObject({
      Name: 'rootwatch-prod-posture-config',
      EventPattern: CONFIG_COMPLIANCE_PATTERN,
      State: 'ENABLED',
    });
    expect(rule.Targets).toStrictEqual([
      { ...(heartbeat.Targets as Properties[])[0], RetryPolicy: { ...RULE_RETRY_POLICY } },
    ]);
    // Its dead letters are admitted like the other rules'.
    expect(JSON.stringify(template.Resources.ForwarderDeadLetterQueuePolicy)).toContain('ForwarderPostureConfigRule');
  });

  it('adds the posture audit role only with the hub’s posture role: trusting it alone, reading the summary only', () => {
    // Prepare
    const postureRoleArn = 'arn:aws:iam::111122223333:role/rootwatch-prod-PostureRole-ABC123';

    // Act
    const without = build();
    const template = build({ postureRoleArn });
    const role = propertiesOf(template, 'PostureAuditRole');

    // Assess
    expect(without.Resources.PostureAuditRole).toBeUndefined();
    expect(role.RoleName).toBe(postureAuditRoleName('prod'));
    expect(role.AssumeRolePolicyDocument).toStrictEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: postureRoleArn }, Action: 'sts:AssumeRole' }],
    });
    expect((role.Policies as { PolicyDocument: unknown }[]).map((policy) => policy.PolicyDocument)).toStrictEqual([
      { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'iam:GetAccountSummary', Resource: '*' }] },
    ]);
    // Once per member account (IAM is global): in the hub's region, never in the hub's account.
    expect(createdIn(template, '210987654321', 'us-east-1')).toContain('PostureAuditRole');
    expect(createdIn(template, '210987654321', 'eu-west-1')).not.toContain('PostureAuditRole');
    expect(createdIn(template, '111122223333', 'us-east-1')).not.toContain('PostureAuditRole');
    expect(templateBodyBytes(template)).toBeLessThan(TEMPLATE_BODY_MAX_BYTES);
  });

  it.each([
    ['a role of another account', 'arn:aws:iam::444455556666:role/rootwatch-prod-PostureRole-ABC123'],
    ['a user, not a role', 'arn:aws:iam::111122223333:user/alice'],
    ["a role in another partition than the hub bus's", 'arn:aws-cn:iam::111122223333:role/rootwatch-prod-PostureRole'],
    ['an empty ARN', ''],
  ])('refuses %s as the posture role, naming it', (_, postureRoleArn) => {
    expect(() => build({ postureRoleArn })).toThrow(ConfigError);
    expect(() => build({ postureRoleArn })).toThrow(`the posture role "${postureRoleArn}" is not a role ARN`);
  });

  it("watches the hub's key as the hub does when given its ARN, and no key without it", () => {
    // Prepare: a role disabling the hub's key, and deleting its alias (which names no key)
    const disableKey = readSampleEvent('role-disable-rootwatch-key.json');
    const deleteAlias = readSampleEvent('role-delete-rootwatch-key-alias.json');
    const matching = (template: CloudFormationTemplate, event: unknown) =>
      rulesOf(template)
        .filter(([, resource]) => compilePattern((resource.Properties as Properties).EventPattern)(event))
        .map(([logicalId]) => logicalId);

    // Act
    const keyed = build();
    const keyless = build({ hubKeyArn: undefined });

    // Assess
    expect(matching(keyed, disableKey)).not.toStrictEqual([]);
    expect(matching(keyless, disableKey)).toStrictEqual([]);
    expect(matching(keyless, deleteAlias)).toStrictEqual(matching(keyed, deleteAlias));
    expect(matching(keyless, deleteAlias)).not.toStrictEqual([]);
    for (const standIn of Object.values(NO_HUB_KEY)) {
      expect(() => parseDetectionParameterValues({ alerterKeyArn: standIn }, 'test')).toThrow(ConfigError);
      expect(standIn).not.toMatch(/^(mrk-)?[0-9a-f-]{32,36}$/);
      expect(JSON.stringify(keyless)).toContain(`"${standIn}"`);
    }
  });

  it('targets only the hub bus from every rule, through the forwarder role, with a retry policy and the dead-letter queue', () => {
    // Act
    const template = build({ heartbeatMinutes: 15 });

    // Assess
    for (const [logicalId, resource] of rulesOf(template)) {
      const retryPolicy =
        logicalId === 'ForwarderHeartbeatRule'
          ? { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 900 }
          : RULE_RETRY_POLICY;
      expect((resource.Properties as Properties).Targets).toStrictEqual([
        {
          Id: 'hub',
          Arn: HUB_BUS_ARN,
          RoleArn: { 'Fn::GetAtt': ['ForwarderRole', 'Arn'] },
          RetryPolicy: retryPolicy,
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['ForwarderDeadLetterQueue', 'Arn'] } },
        },
      ]);
      expect((resource.Properties as Properties).EventBusName).toBeUndefined();
    }
  });

  it('allows the forwarder role events:PutEvents on the hub bus and nothing else, for this account rules only', () => {
    // Act
    const role = build().Resources.ForwarderRole;

    // Assess
    expect(role?.Type).toBe('AWS::IAM::Role');
    expect(role?.Properties).toStrictEqual({
      RoleName: { 'Fn::Sub': `${forwarderRolePrefix('prod')}\${AWS::Region}` },
      Description: expect.any(String),
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sts:AssumeRole',
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/rootwatch-prod-*`,
                },
              },
            },
          },
        ],
      },
      Policies: [
        {
          PolicyName: 'put-events-on-hub-bus',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              { Sid: 'PutEventsOnHubBus', Effect: 'Allow', Action: 'events:PutEvents', Resource: HUB_BUS_ARN },
            ],
          },
        },
      ],
    });
  });

  it('dead-letters to a queue only these rules send to, encrypted, kept 14 days, deleted with the stack', () => {
    // Act
    const template = build();

    // Assess
    const queue = template.Resources.ForwarderDeadLetterQueue;
    expect(queue).toStrictEqual({
      Type: 'AWS::SQS::Queue',
      Condition: 'OutsideHub',
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: {
        QueueName: 'rootwatch-prod-forwarder-dlq',
        MessageRetentionPeriod: 1209600,
        SqsManagedSseEnabled: true,
      },
    });
    const policy = propertiesOf(template, 'ForwarderDeadLetterQueuePolicy');
    const queueArn = { 'Fn::GetAtt': ['ForwarderDeadLetterQueue', 'Arn'] };
    expect(policy.Queues).toStrictEqual([{ Ref: 'ForwarderDeadLetterQueue' }]);
    expect((policy.PolicyDocument as { Statement: unknown[] }).Statement).toStrictEqual([
      {
        Sid: 'RootwatchForwarderDeadLetters',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: {
          ArnEquals: {
            'aws:SourceArn': rulesOf(template).map(([logicalId]) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] })),
          },
        },
      },
      {
        Sid: 'OnlyEventBridgeSends',
        Effect: 'Deny',
        Principal: '*',
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: { BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' } },
      },
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 'sqs:*',
        Resource: queueArn,
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ]);
  });

  it('puts a forwarder heartbeat on the local default bus every heartbeatMinutes, and forwards it to the hub bus', () => {
    // Act
    const template = build({ heartbeatMinutes: 15 });

    // Assess
    const defaultBus = {
      'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/default`,
    };
    const schedule = propertiesOf(template, 'ForwarderHeartbeatSchedule');
    const target = schedule.Target as Properties;
    expect(schedule).toMatchObject({
      Name: 'rootwatch-prod-forwarder-heartbeat',
      ScheduleExpression: 'rate(15 minutes)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
    });
    expect(target).toMatchObject({
      Arn: defaultBus,
      RoleArn: { 'Fn::GetAtt': ['ForwarderHeartbeatScheduleRole', 'Arn'] },
      EventBridgeParameters: { Source: HEARTBEAT_SOURCE, DetailType: HEARTBEAT_DETAIL_TYPE },
    });
    expect(JSON.parse(target.Input as string)).toStrictEqual({
      id: '<aws.scheduler.execution-id>',
      scheduledTime: '<aws.scheduler.scheduled-time>',
      origin: FORWARDER_ORIGIN,
    });

    const role = propertiesOf(template, 'ForwarderHeartbeatScheduleRole');
    expect(role.RoleName).toStrictEqual({ 'Fn::Sub': `rootwatch-prod-heartbeat-\${AWS::Region}` });
    expect(JSON.stringify(role.AssumeRolePolicyDocument)).toContain('"scheduler.amazonaws.com"');
    expect(role.Policies).toStrictEqual([
      {
        PolicyName: 'heartbeat',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'PutHeartbeat',
              Effect: 'Allow',
              Action: 'events:PutEvents',
              Resource: defaultBus,
              Condition: { StringEquals: { 'events:source': HEARTBEAT_SOURCE } },
            },
          ],
        },
      },
    ]);

    const rule = propertiesOf(template, 'ForwarderHeartbeatRule');
    expect(rule).toMatchObject({
      Name: 'rootwatch-prod-forwarder-heartbeat',
      EventPattern: HEARTBEAT_PATTERN,
      State: 'ENABLED',
    });
  });

  it("creates nothing that forwards in the hub's own account and region, and everything elsewhere", () => {
    // Prepare
    const template = build();
    const all = Object.keys(template.Resources);
    const forwarding = all.filter((logicalId) => logicalId !== 'HubRegionPlaceholder');

    // Act, Assess
    expect(createdIn(template, '111122223333', 'us-east-1')).toStrictEqual(['HubRegionPlaceholder']);
    expect(createdIn(template, '111122223333', 'eu-west-1')).toStrictEqual(forwarding);
    expect(createdIn(template, '210987654321', 'us-east-1')).toStrictEqual(forwarding);
    expect(forwarding.every((logicalId) => template.Resources[logicalId]?.Condition === 'OutsideHub')).toBe(true);
    expect(template.Resources.HubRegionPlaceholder).toStrictEqual({
      Type: 'AWS::CloudFormation::WaitConditionHandle',
      Condition: 'IsHub',
    });
  });

  it('is plain CloudFormation: no Transform, no framework variables, a Description naming stage and hub bus', () => {
    // Act
    const template = build();
    const json = JSON.stringify(template);

    // Assess
    expect(Object.keys(template)).toStrictEqual([
      'AWSTemplateFormatVersion',
      'Description',
      'Conditions',
      'Resources',
      'Outputs',
    ]);
    expect(template.AWSTemplateFormatVersion).toBe('2010-09-09');
    expect(template.Description).toContain('rootwatch prod forwarder');
    expect(template.Description).toContain(HUB_BUS_ARN);
    expect(json).not.toMatch(/Transform|\$\{(sls|self|param|ssm|env|file|opt|cf):/);
  });

  it('names everything it creates rootwatch-<stage>-…, which alerter-tampering keys on', () => {
    // Act
    const template = build();

    // Assess
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      const properties = (resource.Properties ?? {}) as Properties;
      const name = properties.Name ?? properties.RoleName ?? properties.QueueName;
      if (resource.Type === 'AWS::CloudFormation::WaitConditionHandle' || resource.Type === 'AWS::SQS::QueuePolicy') {
        continue;
      }
      const text = typeof name === 'string' ? name : (name as { 'Fn::Sub': string } | undefined)?.['Fn::Sub'];
      expect(text, logicalId).toMatch(/^rootwatch-prod-/);
    }
  });

  it(`stays under CloudFormation's TemplateBody limit of ${TEMPLATE_BODY_MAX_BYTES} bytes as compact JSON`, () => {
    // Prepare: more trail buckets, keys and log groups than most organizations have
    const many = {
      trailBuckets: Array.from({ length: 4 }, (_, i) => `aws-cloudtrail-logs-111122223333-${i}a2b3c4d`),
      trailKeyArns: Array.from(
        { length: 4 },
        (_, i) => `arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-12345678900${i}`,
      ),
      trailLogGroups: Array.from({ length: 4 }, (_, i) => `aws-cloudtrail-logs-111122223333-org-${i}`),
      slackWebhookParameter: '/rootwatch/prod/slack-webhook-url',
    };

    // Act
    const bytes = templateBodyBytes(build());
    const manyBytes = templateBodyBytes(build({ values: many }));

    // Assess
    console.info(
      `forwarder template: ${bytes} bytes as compact JSON (${manyBytes} with 4 trail buckets, keys and log groups); TemplateBody takes ${TEMPLATE_BODY_MAX_BYTES}`,
    );
    expect(bytes).toBeLessThan(TEMPLATE_BODY_MAX_BYTES);
    expect(manyBytes).toBeLessThan(TEMPLATE_BODY_MAX_BYTES);
    expect(templateBodyBytes({ Description: 'é' })).toBe(JSON.stringify({ Description: 'é' }).length + 1);
  });

  it.each([
    {
      name: 'a bus that is not a rootwatch hub bus',
      options: { hubBusArn: 'arn:aws:events:us-east-1:111122223333:event-bus/default' },
      message: /"arn:aws:events:us-east-1:111122223333:event-bus\/default" is not a rootwatch hub bus ARN/,
    },
    {
      name: 'a hub bus whose region is not in its partition',
      options: { hubBusArn: 'arn:aws-cn:events:us-east-1:111122223333:event-bus/rootwatch-prod-hub' },
      message: /names the region "us-east-1" in the partition "aws-cn", which AWS does not have/,
    },
    {
      name: 'a hub bus in a region that is not one',
      options: { hubBusArn: 'arn:aws:events:mars-1:111122223333:event-bus/rootwatch-prod-hub' },
      message: /the region "mars-1" .* not a region name/,
    },
    {
      name: "another stage's hub bus",
      options: { hubBusArn: 'arn:aws:events:us-east-1:111122223333:event-bus/rootwatch-dev-hub' },
      message: /belongs to the stage "dev", not "prod"/,
    },
    {
      name: 'a hub key in another region',
      options: { hubKeyArn: `arn:aws:kms:eu-west-1:111122223333:key/${HUB_KEY_ID}` },
      message: /is not in the hub's account 111122223333 and region us-east-1/,
    },
    {
      name: 'a hub key that is not a key ARN',
      options: { hubKeyArn: HUB_KEY_ID },
      message: /alerterKeyArn/,
    },
    {
      name: 'a stage too long for the role name',
      options: {
        stage: 'a-very-long-stage-for-rootwatch',
        hubBusArn: 'arn:aws:events:us-east-1:111122223333:event-bus/rootwatch-a-very-long-stage-for-rootwatch-hub',
      },
      message:
        /stage "a-very-long-stage-for-rootwatch" is too long for the forwarder: "rootwatch-a-very-long-stage-for-rootwatch-forwarder-us-isof-south-1" is over 64 characters/,
    },
  ])('refuses $name', ({ options, message }) => {
    expect(() => build(options)).toThrow(message);
  });
});

describe('readStageParameters', () => {
  /** A service folder holding `serverless` as its serverless.yml. */
  const serviceWith = (serverless: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'rootwatch-stage-parameters-'));
    writeFileSync(join(dir, 'serverless.yml'), serverless);
    return dir;
  };
  /** Like the repository's: CloudFormation tags elsewhere, framework variables in values the forwarder ignores. */
  const SERVERLESS = `service: rootwatch
provider:
  environment:
    ALERT_TOPIC_ARN: !Ref AlertTopic
    ALERTER_KEY_ARN: !GetAtt AlertTopicKey.Arn
    NAME: !Sub 'rootwatch-\${AWS::Region}'
    STAGE: \${sls:stage}
params:
  default:
    alertEmails: \${ssm:/not/read/here}
    slackWebhookParameter: /rootwatch/\${sls:stage}/slack-webhook-url
    trailBuckets: ''
    trailKeyArns: ''
    trailLogGroups: ''
    heartbeatMinutes: 10
  prod:
    trailBuckets: org-trail-bucket, other-trail-bucket
    heartbeatMinutes: 30
resources:
  Resources:
    Topic:
      Type: AWS::SNS::Topic
      Properties:
        TopicName: !Join ['-', [rootwatch, !Ref AWS::Region]]
`;

  it(`reads params.default, with \${sls:stage} the stage's name`, () => {
    expect(readStageParameters('dev', [], serviceWith(SERVERLESS))).toStrictEqual({
      values: { slackWebhookParameter: '/rootwatch/dev/slack-webhook-url' },
      heartbeatMinutes: 10,
    });
  });

  it("takes the stage's own section over the defaults", () => {
    expect(readStageParameters('prod', [], serviceWith(SERVERLESS))).toStrictEqual({
      values: {
        slackWebhookParameter: '/rootwatch/prod/slack-webhook-url',
        trailBuckets: ['org-trail-bucket', 'other-trail-bucket'],
      },
      heartbeatMinutes: 30,
    });
  });

  it('takes NAME=VALUE overrides over both, as --param does for the framework', () => {
    // Act
    const parameters = readStageParameters(
      'prod',
      [
        'trailBuckets=override-bucket',
        'heartbeatMinutes=20',
        `trailLogGroups=group-\${sls:stage}`,
        'alertEmails=a@example.com',
      ],
      serviceWith(SERVERLESS),
    );

    // Assess
    expect(parameters).toStrictEqual({
      values: {
        slackWebhookParameter: '/rootwatch/prod/slack-webhook-url',
        trailBuckets: ['override-bucket'],
        trailLogGroups: ['group-prod'],
      },
      heartbeatMinutes: 20,
    });
  });

  it("reads the repository's serverless.yml by default", () => {
    expect(readStageParameters('prod', [])).toStrictEqual({
      values: { slackWebhookParameter: '/rootwatch/prod/slack-webhook-url' },
      heartbeatMinutes: 10,
    });
  });

  it('defaults the heartbeat to 10 minutes when serverless.yml has no params', () => {
    expect(readStageParameters('prod', [], serviceWith('service: rootwatch\n'))).toStrictEqual({
      values: {},
      heartbeatMinutes: 10,
    });
  });

  it.each([
    {
      name: 'another framework variable in a value it needs',
      serverless: SERVERLESS.replace("trailLogGroups: ''", `trailLogGroups: \${ssm:/trail/log-groups}`),
      overrides: [],
      message:
        /Parameter "trailLogGroups" in serverless.yml params.default uses the variable \$\{ssm:\/trail\/log-groups\}/,
    },
    {
      name: 'a framework variable in an override',
      serverless: SERVERLESS,
      overrides: [`heartbeatMinutes=\${env:MINUTES}`],
      message: /Parameter "heartbeatMinutes" in --param uses the variable \$\{env:MINUTES\}/,
    },
    {
      name: 'an unknown override name',
      serverless: SERVERLESS,
      overrides: ['trailBucket=my-bucket'],
      message:
        /--param trailBucket: unknown parameter \(serverless.yml has alertEmails, slackWebhookParameter, trailBuckets/,
    },
    {
      name: 'an override without =',
      serverless: SERVERLESS,
      overrides: ['trailBuckets'],
      message: /--param takes NAME=VALUE \(got "trailBuckets"\)/,
    },
    {
      name: "a bad value in the stage's section",
      serverless: SERVERLESS.replace('org-trail-bucket', 'Org_Trail_Bucket'),
      overrides: [],
      message:
        /Invalid parameters in serverless.yml params.prod[\s\S]*"Org_Trail_Bucket" is not an S3 bucket name[\s\S]*trailBuckets/,
    },
    {
      name: 'a heartbeat out of range',
      serverless: SERVERLESS,
      overrides: ['heartbeatMinutes=1'],
      message: /Invalid parameter "heartbeatMinutes" in --param: must be at least 5 \(minutes\)/,
    },
    {
      name: 'invalid YAML',
      serverless: 'params: [\n',
      overrides: [],
      message: /serverless.yml: not valid YAML/,
    },
    {
      name: 'params under stages:, which osls does not read',
      serverless: `${SERVERLESS}stages:\n  prod:\n    params:\n      heartbeatMinutes: 15\n`,
      overrides: [],
      message: /stages.<stage>.params is not read/,
    },
  ])('refuses $name, naming the parameter and where', ({ serverless, overrides, message }) => {
    // Act, Assess
    expect(() => readStageParameters('prod', overrides, serviceWith(serverless))).toThrow(message);
    expect(() => readStageParameters('prod', overrides, serviceWith(serverless))).toThrow(ConfigError);
  });

  it('lists every bad parameter at once', () => {
    // Act
    const read = () =>
      readStageParameters('prod', ['trailKeyArns=not-a-key', 'heartbeatMinutes=1000'], serviceWith(SERVERLESS));

    // Assess
    expect(read).toThrow(/"not-a-key" is not a KMS key ARN[\s\S]*"heartbeatMinutes" in --param: must be at most 720/);
  });

  it('refuses a folder without serverless.yml, naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rootwatch-stage-parameters-'));
    expect(() => readStageParameters('prod', [], dir)).toThrow(`${join(dir, 'serverless.yml')}: cannot read it`);
  });
});
