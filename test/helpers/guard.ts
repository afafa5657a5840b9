import { CreateTopicCommand, SetTopicAttributesCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { DeployedState } from '../../functions/core/guard/compare.js';
import {
  buildExpectedState,
  type Expectation,
  type ExpectedState,
  type ExpectedTarget,
  expectationOf,
  ruleKeyOf,
} from '../../functions/core/guard/expected-state.js';
import type { LocalAws } from '../../functions/local/aws.js';
import type { ControlPlane } from '../../functions/local/control-plane.js';

/** The account and region the local servers answer for (fauxqs's account). */
const LOCAL_CONTEXT = {
  partition: 'aws',
  region: 'us-east-1',
  accountId: '000000000000',
  urlSuffix: 'amazonaws.com',
  values: { 'AlertTopicKey.Arn': 'arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
};

const getAtt = (logicalId: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [logicalId, attribute] });

/** The rule of the sample stage, on the default bus and on the hub bus. */
const SAMPLE_RULE = {
  Name: 'rootwatch-test-root-api-call',
  State: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
  EventPattern: {
    'detail-type': ['AWS API Call via CloudTrail'],
    detail: { userIdentity: { type: ['Root'] } },
  },
  Targets: [
    {
      Id: 'alert',
      Arn: getAtt('AlertLambdaFunction'),
      RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
      DeadLetterConfig: { Arn: getAtt('RulesDeadLetterQueue') },
    },
  ],
};

/**
 * A small stage as the generators would give it: one rule (read-only events, retry policy and DLQ) and its twin on the
 * hub bus, the hub bus with a policy admitting an organization's forwarder roles, the rules' DLQ with a policy naming
 * the rule, the Slack queue, the topic with its key, policy and one filtered e-mail subscription, the
 * key with its policy, and the alert and notifier functions (the notifier's reserved concurrency and queue).
 */
const sampleExpectedState = (): ExpectedState =>
  buildExpectedState({
    stage: 'test',
    resources: {
      RuleRootApiCall0: { Type: 'AWS::Events::Rule', Properties: structuredClone(SAMPLE_RULE) },
      HubRuleRootApiCall0: {
        Type: 'AWS::Events::Rule',
        Properties: { ...structuredClone(SAMPLE_RULE), EventBusName: { Ref: 'HubEventBus' } },
      },
      HubEventBus: {
        Type: 'AWS::Events::EventBus',
        Properties: {
          Name: 'rootwatch-test-hub',
          Policy: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'ForwardersOfTheOrganization',
                Effect: 'Allow',
                Principal: '*',
                Action: 'events:PutEvents',
                Resource: {
                  'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/rootwatch-test-hub`,
                },
                Condition: {
                  StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' },
                  ArnLike: {
                    'aws:PrincipalArn': { 'Fn::Sub': `arn:\${AWS::Partition}:iam::*:role/rootwatch-test-forwarder-*` },
                  },
                },
              },
            ],
          },
        },
      },
      RulesDeadLetterQueue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'rootwatch-test-rules-dlq' } },
      RulesDeadLetterQueuePolicy: {
        Type: 'AWS::SQS::QueuePolicy',
        Properties: {
          Queues: [{ Ref: 'RulesDeadLetterQueue' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Service: 'events.amazonaws.com' },
                Action: 'sqs:SendMessage',
                Resource: getAtt('RulesDeadLetterQueue'),
                Condition: { ArnEquals: { 'aws:SourceArn': [getAtt('RuleRootApiCall0')] } },
              },
              {
                Effect: 'Deny',
                Principal: '*',
                Action: 'sqs:*',
                Resource: getAtt('RulesDeadLetterQueue'),
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              },
            ],
          },
        },
      },
      SlackQueue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'rootwatch-test-slack' } },
      AlertTopicKey: {
        Type: 'AWS::KMS::Key',
        Properties: {
          KeyPolicy: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'AccountAdministers',
                Effect: 'Allow',
                Principal: { AWS: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:root` } },
                Action: 'kms:*',
                Resource: '*',
              },
            ],
          },
        },
      },
      AlertTopic: {
        Type: 'AWS::SNS::Topic',
        Properties: { TopicName: 'rootwatch-test-alerts', KmsMasterKeyId: getAtt('AlertTopicKey') },
      },
      AlertTopicPolicy: {
        Type: 'AWS::SNS::TopicPolicy',
        Properties: {
          Topics: [{ Ref: 'AlertTopic' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'CloudWatchAlarmsPublish',
                Effect: 'Allow',
                Principal: { Service: 'cloudwatch.amazonaws.com' },
                Action: 'sns:Publish',
                Resource: { Ref: 'AlertTopic' },
                Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
              },
            ],
          },
        },
      },
      AlertEmailSubscription1a2b3c4d5e: {
        Type: 'AWS::SNS::Subscription',
        Properties: {
          TopicArn: { Ref: 'AlertTopic' },
          Protocol: 'email',
          Endpoint: 'sec@example.com',
          FilterPolicyScope: 'MessageAttributes',
          FilterPolicy: { severity: ['high', 'critical'] },
        },
      },
      AlertRole: {
        Type: 'AWS::IAM::Role',
        Properties: { RoleName: { 'Fn::Sub': `rootwatch-test-alert-\${AWS::Region}` } },
      },
      NotifySlackRole: {
        Type: 'AWS::IAM::Role',
        Properties: { RoleName: { 'Fn::Sub': `rootwatch-test-notify-slack-\${AWS::Region}` } },
      },
    },
    functions: {
      alert: { name: 'rootwatch-test-alert', role: 'AlertRole' },
      notifySlack: {
        name: 'rootwatch-test-notify-slack',
        role: 'NotifySlackRole',
        reservedConcurrency: 2,
        events: [{ sqs: { arn: getAtt('SlackQueue'), batchSize: 5 } }],
      },
    },
    deployedValues: { 'AlertTopicKey.Arn': 'ALERTER_KEY_ARN' },
  });

/** The sample stage resolved for the local account and region. */
const sampleExpectation = (): Expectation => expectationOf(sampleExpectedState(), LOCAL_CONTEXT);

const deployedTarget = (target: ExpectedTarget) => ({
  Id: target.id,
  Arn: target.arn,
  ...(target.retryPolicy ? { RetryPolicy: target.retryPolicy } : {}),
  ...(target.deadLetterArn ? { DeadLetterConfig: { Arn: target.deadLetterArn } } : {}),
  ...(target.input ? { Input: target.input } : {}),
  ...(target.inputPath ? { InputPath: target.inputPath } : {}),
  ...(target.roleArn ? { RoleArn: target.roleArn } : {}),
});

/**
 * What the guard's reads return for a deployment exactly as `expectation` says, in the form AWS answers in: patterns
 * and policies as JSON text, policies' statements in another order and single values unwrapped, as AWS may store them.
 */
const deployedAsExpected = (expectation: Expectation): DeployedState => ({
  rules: Object.fromEntries(
    expectation.rules.map((rule) => [
      ruleKeyOf(rule),
      {
        status: 'found',
        value: {
          state: rule.state,
          ...(rule.eventPattern === undefined ? {} : { eventPattern: JSON.stringify(rule.eventPattern) }),
          ...(rule.scheduleExpression ? { scheduleExpression: rule.scheduleExpression } : {}),
          targets: {
            status: 'found',
            value: rule.targets.map((target) => {
              const { Id, Arn, RetryPolicy, DeadLetterConfig } = deployedTarget(target);
              return {
                id: Id,
                arn: Arn,
                ...(RetryPolicy ? { retryPolicy: RetryPolicy } : {}),
                ...(DeadLetterConfig ? { deadLetterArn: DeadLetterConfig.Arn } : {}),
              };
            }),
          },
        },
      },
    ]),
  ),
  eventBuses: Object.fromEntries(
    expectation.eventBuses.map((bus) => [
      bus.name,
      { status: 'found', value: bus.policy ? { policy: JSON.stringify(reordered(bus.policy)) } : {} },
    ]),
  ),
  functions: Object.fromEntries(
    expectation.functions.map((fn) => [
      fn.name,
      {
        status: 'found',
        value: {
          state: 'Active',
          ...(fn.role ? { role: fn.role } : {}),
          ...(fn.reservedConcurrency === undefined ? {} : { reservedConcurrency: fn.reservedConcurrency }),
          eventSources: {
            status: 'found',
            value: fn.eventSources.map((source) => ({
              eventSourceArn: source.eventSourceArn,
              state: source.enabled ? 'Enabled' : 'Disabled',
            })),
          },
        },
      },
    ]),
  ),
  queues: Object.fromEntries(
    expectation.queues.map((queue) => [
      queue.name,
      { status: 'found', value: queue.policy ? { policy: JSON.stringify(reordered(queue.policy)) } : {} },
    ]),
  ),
  topics: Object.fromEntries(
    expectation.topics.map((topic) => [
      topic.arn,
      {
        status: 'found',
        value: {
          ...(topic.policy ? { policy: JSON.stringify(reordered(topic.policy)) } : {}),
          ...(topic.kmsMasterKeyId ? { kmsMasterKeyId: topic.kmsMasterKeyId } : {}),
          subscriptions: {
            status: 'found',
            value: topic.subscriptions.map((subscription) => ({
              protocol: subscription.protocol,
              endpoint: subscription.endpoint,
              pendingConfirmation: false,
              attributes: {
                status: 'found',
                value: {
                  ...(subscription.filterPolicy ? { filterPolicy: JSON.stringify(subscription.filterPolicy) } : {}),
                  ...(subscription.filterPolicy
                    ? { filterPolicyScope: subscription.filterPolicyScope ?? 'MessageAttributes' }
                    : {}),
                },
              },
            })),
          },
        },
      },
    ]),
  ),
  keys: Object.fromEntries(
    expectation.keys.map((key) => [
      key.arn,
      {
        status: 'found',
        value: {
          keyState: key.enabled ? 'Enabled' : 'Disabled',
          ...(key.policy ? { policy: { status: 'found', value: JSON.stringify(key.policy, null, 2) } } : {}),
        },
      },
    ]),
  ),
});

/** A policy as AWS may store it: statements in reverse order, a list of one written as its value. */
const reordered = (policy: unknown): unknown => {
  const { Statement, ...rest } = policy as { Statement: Record<string, unknown>[] };
  return {
    ...rest,
    Statement: [...Statement]
      .reverse()
      .map((statement) =>
        Object.fromEntries(
          Object.entries(statement).map(([key, value]) => [
            key,
            Array.isArray(value) && value.length === 1 ? value[0] : value,
          ]),
        ),
      ),
  };
};

/**
 * Deploys `expectation` onto the local servers: queues, topics and subscriptions with their policies on fauxqs;
 * event buses, rules (by ruleKeyOf), functions, event source mappings and keys on the control plane. Returns the subscriptions' ARNs by endpoint.
 */
const deployLocally = async (
  expectation: Expectation,
  aws: LocalAws,
  controlPlane: ControlPlane,
): Promise<Map<string, string>> => {
  for (const queue of expectation.queues) {
    const { QueueUrl } = await aws.sqs.send(new CreateQueueCommand({ QueueName: queue.name }));
    if (queue.policy) {
      await aws.sqs.send(
        new SetQueueAttributesCommand({ QueueUrl, Attributes: { Policy: JSON.stringify(queue.policy) } }),
      );
    }
  }
  const subscriptions = new Map<string, string>();
  for (const topic of expectation.topics) {
    await aws.sns.send(new CreateTopicCommand({ Name: topic.name }));
    const attributes = {
      Policy: topic.policy ? JSON.stringify(topic.policy) : undefined,
      KmsMasterKeyId: topic.kmsMasterKeyId,
    };
    for (const [name, value] of Object.entries(attributes)) {
      if (value) {
        await aws.sns.send(
          new SetTopicAttributesCommand({ TopicArn: topic.arn, AttributeName: name, AttributeValue: value }),
        );
      }
    }
    for (const subscription of topic.subscriptions) {
      const { SubscriptionArn } = await aws.sns.send(
        new SubscribeCommand({
          TopicArn: topic.arn,
          Protocol: subscription.protocol,
          Endpoint: subscription.endpoint,
          ...(subscription.filterPolicy
            ? {
                Attributes: {
                  FilterPolicy: JSON.stringify(subscription.filterPolicy),
                  FilterPolicyScope: subscription.filterPolicyScope ?? 'MessageAttributes',
                },
              }
            : {}),
        }),
      );
      subscriptions.set(`${topic.name} ${subscription.protocol} ${subscription.endpoint}`, SubscriptionArn ?? '');
    }
  }
  const { partition, region, accountId } = LOCAL_CONTEXT;
  for (const bus of expectation.eventBuses) {
    controlPlane.state.eventBuses.set(bus.name, {
      Name: bus.name,
      Arn: bus.arn,
      ...(bus.policy ? { Policy: JSON.stringify(bus.policy) } : {}),
    });
  }
  for (const rule of expectation.rules) {
    controlPlane.state.rules.set(ruleKeyOf(rule), {
      Name: rule.name,
      Arn: `arn:${partition}:events:${region}:${accountId}:rule/${ruleKeyOf(rule)}`,
      ...(rule.eventBusName ? { EventBusName: rule.eventBusName } : {}),
      State: rule.state,
      ...(rule.eventPattern === undefined ? {} : { EventPattern: JSON.stringify(rule.eventPattern) }),
      ...(rule.scheduleExpression ? { ScheduleExpression: rule.scheduleExpression } : {}),
      Targets: rule.targets.map(deployedTarget),
    });
  }
  for (const fn of expectation.functions) {
    controlPlane.state.functions.set(fn.name, {
      FunctionName: fn.name,
      FunctionArn: `arn:${partition}:lambda:${region}:${accountId}:function:${fn.name}`,
      State: 'Active',
      Role: fn.role ?? '',
      ...(fn.reservedConcurrency === undefined ? {} : { ReservedConcurrentExecutions: fn.reservedConcurrency }),
      EventSourceMappings: fn.eventSources.map((source, index) => ({
        UUID: `00000000-0000-0000-0000-00000000000${index}`,
        EventSourceArn: source.eventSourceArn,
        State: source.enabled ? 'Enabled' : 'Disabled',
      })),
    });
  }
  for (const key of expectation.keys) {
    controlPlane.state.keys.set(key.arn, {
      KeyId: key.arn.split('/').at(-1) ?? key.arn,
      Arn: key.arn,
      KeyState: key.enabled ? 'Enabled' : 'Disabled',
      Policy: JSON.stringify(key.policy ?? {}, null, 2),
    });
  }
  return subscriptions;
};

export { deployedAsExpected, deployLocally, LOCAL_CONTEXT, sampleExpectation, sampleExpectedState };
