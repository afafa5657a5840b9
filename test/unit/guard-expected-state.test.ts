import { describe, expect, it } from 'vitest';
import { eventBusNameOf, resolveTemplateValue } from '../../functions/core/guard/cloudformation.js';
import {
  buildExpectedState,
  checkExpectedState,
  deployedValuesOf,
  expectationOf,
  functionLogicalId,
  ruleKeyOf,
} from '../../functions/core/guard/expected-state.js';
import { ExpectedStateError } from '../../functions/errors.js';
import { LOCAL_CONTEXT, sampleExpectation, sampleExpectedState } from '../helpers/guard.js';

const CONTEXT = { ...LOCAL_CONTEXT, partition: 'aws-us-gov', region: 'us-gov-west-1', accountId: '111122223333' };
const RESOURCES = {
  SlackQueue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'rootwatch-prod-slack' } },
  AlertTopic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'rootwatch-prod-alerts' } },
  AlertRole: {
    Type: 'AWS::IAM::Role',
    Properties: { RoleName: { 'Fn::Sub': `rootwatch-prod-alert-\${AWS::Region}` } },
  },
  AlertLambdaFunction: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'rootwatch-prod-alert' } },
  RuleRootApiCall0: { Type: 'AWS::Events::Rule', Properties: { Name: 'rootwatch-prod-root-api-call' } },
  HubEventBus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'rootwatch-prod-hub' } },
  HubRuleRootApiCall0: {
    Type: 'AWS::Events::Rule',
    Properties: { Name: 'rootwatch-prod-root-api-call', EventBusName: { Ref: 'HubEventBus' } },
  },
  HubRuleByArn: {
    Type: 'AWS::Events::Rule',
    Properties: { Name: 'rootwatch-prod-heartbeat', EventBusName: { 'Fn::GetAtt': ['HubEventBus', 'Arn'] } },
  },
  StateTable: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'rootwatch-prod-state' } },
  AlertTopicKey: { Type: 'AWS::KMS::Key', Properties: {} },
  Unnamed: { Type: 'AWS::SQS::Queue', Properties: {} },
};
const values = { 'AlertTopicKey.Arn': 'arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd' };
const resolve = (value: unknown) => resolveTemplateValue(value, RESOURCES, { ...CONTEXT, values }, 'at');

describe('resolveTemplateValue', () => {
  it.each([
    [{ Ref: 'SlackQueue' }, 'https://sqs.us-gov-west-1.amazonaws.com/111122223333/rootwatch-prod-slack'],
    [{ 'Fn::GetAtt': ['SlackQueue', 'Arn'] }, 'arn:aws-us-gov:sqs:us-gov-west-1:111122223333:rootwatch-prod-slack'],
    [{ 'Fn::GetAtt': 'SlackQueue.QueueName' }, 'rootwatch-prod-slack'],
    [{ Ref: 'AlertTopic' }, 'arn:aws-us-gov:sns:us-gov-west-1:111122223333:rootwatch-prod-alerts'],
    [
      { 'Fn::GetAtt': ['AlertRole', 'Arn'] },
      'arn:aws-us-gov:iam::111122223333:role/rootwatch-prod-alert-us-gov-west-1',
    ],
    [
      { 'Fn::GetAtt': ['AlertLambdaFunction', 'Arn'] },
      'arn:aws-us-gov:lambda:us-gov-west-1:111122223333:function:rootwatch-prod-alert',
    ],
    [
      { 'Fn::GetAtt': ['RuleRootApiCall0', 'Arn'] },
      'arn:aws-us-gov:events:us-gov-west-1:111122223333:rule/rootwatch-prod-root-api-call',
    ],
    [
      { 'Fn::GetAtt': ['HubRuleRootApiCall0', 'Arn'] },
      'arn:aws-us-gov:events:us-gov-west-1:111122223333:rule/rootwatch-prod-hub/rootwatch-prod-root-api-call',
    ],
    [
      { 'Fn::GetAtt': ['HubRuleByArn', 'Arn'] },
      'arn:aws-us-gov:events:us-gov-west-1:111122223333:rule/rootwatch-prod-hub/rootwatch-prod-heartbeat',
    ],
    [{ Ref: 'HubEventBus' }, 'rootwatch-prod-hub'],
    [{ 'Fn::GetAtt': ['HubEventBus', 'Name'] }, 'rootwatch-prod-hub'],
    [
      { 'Fn::GetAtt': ['HubEventBus', 'Arn'] },
      'arn:aws-us-gov:events:us-gov-west-1:111122223333:event-bus/rootwatch-prod-hub',
    ],
    [
      { 'Fn::GetAtt': ['StateTable', 'Arn'] },
      'arn:aws-us-gov:dynamodb:us-gov-west-1:111122223333:table/rootwatch-prod-state',
    ],
    [{ 'Fn::GetAtt': ['AlertTopicKey', 'Arn'] }, values['AlertTopicKey.Arn']],
    [{ Ref: 'AlertTopicKey' }, '1234abcd'],
    [
      { 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:root \${AlertTopic.TopicName} \${!Literal}` },
      `arn:aws-us-gov:iam::111122223333:root rootwatch-prod-alerts \${Literal}`,
    ],
    [
      { 'Fn::Sub': [`\${Queue}-x`, { Queue: { Ref: 'SlackQueue' } }] },
      'https://sqs.us-gov-west-1.amazonaws.com/111122223333/rootwatch-prod-slack-x',
    ],
    [{ 'Fn::Join': ['/', ['a', { Ref: 'AWS::Region' }]] }, 'a/us-gov-west-1'],
    [{ nested: [{ Ref: 'AWS::URLSuffix' }, 1, null] }, { nested: ['amazonaws.com', 1, null] }],
  ])('resolves %j', (value, expected) => {
    // Assess
    expect(resolve(value)).toStrictEqual(expected);
  });

  it.each([
    [{ Ref: 'Nowhere' }, 'no resource Nowhere'],
    [{ Ref: 'Unnamed' }, 'has no QueueName'],
    [{ Ref: 'AWS::StackName' }, 'AWS::StackName is not supported'],
    [{ 'Fn::GetAtt': ['SlackQueue', 'RedrivePolicy'] }, 'SlackQueue.RedrivePolicy is not supported'],
    [{ 'Fn::If': ['c', 1, 2] }, 'Fn::If is not supported'],
    [{ Ref: 'RuleRootApiCall0' }, 'use Fn::GetAtt'],
  ])('refuses %j, saying why', (value, message) => {
    // Assess
    expect(() => resolve(value)).toThrow(ExpectedStateError);
    expect(() => resolve(value)).toThrow(message);
  });

  it('needs the values only AWS knows', () => {
    // Assess
    expect(() =>
      resolveTemplateValue({ 'Fn::GetAtt': ['AlertTopicKey', 'Arn'] }, RESOURCES, { ...CONTEXT, values: {} }, 'at'),
    ).toThrow('AlertTopicKey.Arn is only known once deployed');
  });
});

describe('buildExpectedState', () => {
  it('keeps what the guard checks and the names of what it refers to, and adds the functions as CloudFormation would', () => {
    // Act
    const document = buildExpectedState({
      stage: 'prod',
      resources: {
        ...RESOURCES,
        AlertRole: {
          Type: 'AWS::IAM::Role',
          Properties: { RoleName: 'rootwatch-prod-alert', Policies: [{ PolicyName: 'alert' }] },
        },
        AlertErrorsAlarm: { Type: 'AWS::CloudWatch::Alarm', Properties: { AlarmName: 'x' } },
      },
      functions: {
        'notify-slack_v2': {
          name: 'rootwatch-prod-notify',
          role: 'arn:aws:iam::111122223333:role/given',
          reservedConcurrency: 2,
          events: [{ sqs: 'arn:aws:sqs:us-east-1:111122223333:q' }, { schedule: 'rate(1 hour)' }],
        },
      },
      deployedValues: { 'AlertTopicKey.Arn': 'ALERTER_KEY_ARN' },
    });

    // Assess
    expect(document.resources.AlertRole).toStrictEqual({
      Type: 'AWS::IAM::Role',
      Properties: { RoleName: 'rootwatch-prod-alert' },
    });
    expect(document.resources.AlertErrorsAlarm).toBeUndefined();
    expect(document.resources.NotifyDashslackUnderscorev2LambdaFunction).toStrictEqual({
      Type: 'AWS::Lambda::Function',
      Properties: {
        FunctionName: 'rootwatch-prod-notify',
        Role: 'arn:aws:iam::111122223333:role/given',
        ReservedConcurrentExecutions: 2,
      },
    });
    expect(document.resources.NotifyDashslackUnderscorev2LambdaFunctionSqsEventSource0).toStrictEqual({
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        FunctionName: { Ref: 'NotifyDashslackUnderscorev2LambdaFunction' },
        EventSourceArn: 'arn:aws:sqs:us-east-1:111122223333:q',
        Enabled: true,
      },
    });
  });

  it('names functions as the framework does', () => {
    // Assess
    expect(functionLogicalId('alert')).toBe('AlertLambdaFunction');
    expect(functionLogicalId('notifySlack')).toBe('NotifySlackLambdaFunction');
  });

  it('refuses a function without a name, and a key without a variable for its ARN', () => {
    // Assess
    expect(() =>
      buildExpectedState({ stage: 'prod', resources: {}, functions: { alert: {} }, deployedValues: {} }),
    ).toThrow('functions.alert has no name');
    expect(() =>
      buildExpectedState({
        stage: 'prod',
        resources: { K: RESOURCES.AlertTopicKey },
        functions: {},
        deployedValues: {},
      }),
    ).toThrow('give the guard a variable for K.Arn');
  });
});

describe('checkExpectedState', () => {
  it('accepts a document every reference of which resolves', () => {
    // Assess
    expect(() => checkExpectedState(sampleExpectedState())).not.toThrow();
  });

  it.each([
    ['a bus the stack does not deploy', 'audit'],
    ['a bus of another account, by ARN', 'arn:aws:events:us-east-1:444455556666:event-bus/rootwatch-test-hub'],
  ])('refuses a rule on %s, which the guard does not read', (_, bus) => {
    // Prepare
    const document = sampleExpectedState();
    const rule = document.resources.RuleRootApiCall0;
    if (rule?.Properties) rule.Properties.EventBusName = bus;

    // Assess
    expect(() => checkExpectedState(document)).toThrow(
      `RuleRootApiCall0.Properties.EventBusName: ${bus} is not an event bus of this stack`,
    );
  });

  it.each([
    ['by name', 'rootwatch-test-hub'],
    ['by ARN', 'arn:aws:events:us-east-1:111122223333:event-bus/rootwatch-test-hub'],
    ['by its ARN, resolved', { 'Fn::GetAtt': ['HubEventBus', 'Arn'] }],
    ['as "default"', 'default'],
  ])('accepts a rule on the hub bus or the default bus named %s', (_, bus) => {
    // Prepare
    const document = sampleExpectedState();
    const rule = document.resources.HubRuleRootApiCall0;
    if (rule?.Properties) rule.Properties.EventBusName = bus;

    // Assess
    expect(() => checkExpectedState(document)).not.toThrow();
  });

  it('refuses a document with a reference the guard could not resolve', () => {
    // Prepare
    const document = sampleExpectedState();
    document.resources.SlackQueue = { Type: 'AWS::SQS::Queue', Properties: {} };

    // Assess
    expect(() => checkExpectedState(document)).toThrow(ExpectedStateError);
  });
});

describe('expectationOf', () => {
  it('groups the resolved resources by what the guard reads, each policy with its queue or topic', () => {
    // Act
    const expectation = sampleExpectation();

    // Assess
    expect(
      expectation.rules.map((rule) => [ruleKeyOf(rule), rule.eventBusName, rule.state, rule.targets[0]?.deadLetterArn]),
    ).toStrictEqual([
      [
        'rootwatch-test-root-api-call',
        undefined,
        'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
        'arn:aws:sqs:us-east-1:000000000000:rootwatch-test-rules-dlq',
      ],
      [
        'rootwatch-test-hub/rootwatch-test-root-api-call',
        'rootwatch-test-hub',
        'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
        'arn:aws:sqs:us-east-1:000000000000:rootwatch-test-rules-dlq',
      ],
    ]);
    expect(expectation.eventBuses).toStrictEqual([
      {
        logicalId: 'HubEventBus',
        name: 'rootwatch-test-hub',
        arn: 'arn:aws:events:us-east-1:000000000000:event-bus/rootwatch-test-hub',
        policy: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'ForwardersOfTheOrganization',
              Effect: 'Allow',
              Principal: '*',
              Action: 'events:PutEvents',
              Resource: 'arn:aws:events:us-east-1:000000000000:event-bus/rootwatch-test-hub',
              Condition: {
                StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' },
                ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/rootwatch-test-forwarder-*' },
              },
            },
          ],
        },
      },
    ]);
    expect(expectation.functions).toStrictEqual([
      {
        logicalId: 'AlertLambdaFunction',
        name: 'rootwatch-test-alert',
        role: 'arn:aws:iam::000000000000:role/rootwatch-test-alert-us-east-1',
        eventSources: [],
      },
      {
        logicalId: 'NotifySlackLambdaFunction',
        name: 'rootwatch-test-notify-slack',
        role: 'arn:aws:iam::000000000000:role/rootwatch-test-notify-slack-us-east-1',
        reservedConcurrency: 2,
        eventSources: [{ eventSourceArn: 'arn:aws:sqs:us-east-1:000000000000:rootwatch-test-slack', enabled: true }],
      },
    ]);
    expect(expectation.queues.map((queue) => [queue.name, queue.policy !== undefined])).toStrictEqual([
      ['rootwatch-test-rules-dlq', true],
      ['rootwatch-test-slack', false],
    ]);
    const [topic] = expectation.topics;
    expect(topic?.kmsMasterKeyId).toBe(LOCAL_CONTEXT.values['AlertTopicKey.Arn']);
    expect(topic?.subscriptions.map((subscription) => subscription.endpoint)).toStrictEqual(['sec@example.com']);
    expect(expectation.keys.map((key) => [key.arn, key.enabled])).toStrictEqual([
      [LOCAL_CONTEXT.values['AlertTopicKey.Arn'], true],
    ]);
  });
});

describe('an event bus without a policy', () => {
  it('is expected to have none', () => {
    // Prepare
    const document = sampleExpectedState();
    delete document.resources.HubEventBus?.Properties?.Policy;

    // Act
    const expectation = expectationOf(document, LOCAL_CONTEXT);

    // Assess
    expect(expectation.eventBuses.map((bus) => [bus.name, 'policy' in bus])).toStrictEqual([
      ['rootwatch-test-hub', false],
    ]);
  });
});

describe('eventBusNameOf', () => {
  it.each([
    [undefined, 'default'],
    ['', 'default'],
    ['default', 'default'],
    ['rootwatch-prod-hub', 'rootwatch-prod-hub'],
    ['arn:aws:events:us-east-1:111122223333:event-bus/rootwatch-prod-hub', 'rootwatch-prod-hub'],
    ['arn:aws-cn:events:cn-north-1:111122223333:event-bus/default', 'default'],
  ])('reads %j as %j', (given, expected) => {
    // Assess
    expect(eventBusNameOf(given)).toBe(expected);
  });
});

describe('deployedValuesOf', () => {
  it("reads the values only AWS knows from the guard's environment, by the variables the document names", () => {
    // Assess
    expect(deployedValuesOf(sampleExpectedState(), { ALERTER_KEY_ARN: 'arn:k' })).toStrictEqual({
      'AlertTopicKey.Arn': 'arn:k',
    });
    expect(() => deployedValuesOf(sampleExpectedState(), {})).toThrow("the guard's environment lacks ALERTER_KEY_ARN");
  });
});
