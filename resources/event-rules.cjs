'use strict';

/**
 * CloudFormation for the hub's EventBridge rules and its hub bus, generated from the detection catalog (events/*.yml),
 * so that no pattern is restated in serverless.yml.
 *
 * serverless.yml includes it as `resources: - ${file(./resources/event-rules.cjs)}`. The Serverless Framework (osls and
 * v4) require()s a .js/.cjs file variable source and, when it exports a function, calls it with `{ options,
 * resolveConfigurationProperty, resolveVariable }`. It must be CommonJS: the framework require()s it and package.json
 * says "type": "module", hence `.cjs`.
 *
 * The rules themselves (logical id, name, pattern, state, description, and every check of them: the loader's, the
 * rule name's length, `${` in a pattern, the 2,048-character pattern quota) come from catalogRules
 * (functions/deploy/catalog-rules.ts, loaded through tsx), the one builder the forwarders use too, so a forwarder's rule
 * has exactly the hub's pattern and state. This file only says where each rule sits and what it targets:
 * - `Rule<Id><n>` on the default bus and its twin `HubRule<Id><n>` on the hub bus (same Name, EventPattern and State),
 *   both targeting the alert function with RULE_RETRY_POLICY and the rules' dead-letter queue;
 * - `Rule<Id><n>Permission` (AWS::Lambda::Permission) letting that default-bus rule, and only it, invoke the function,
 *   and one `HubRulesPermission` for every rule on the hub bus (why one: see hubRulesPermission below);
 * - `HubEventBus` (AWS::Events::EventBus) rootwatch-<stage>-hub, where forwarders in other regions and accounts put
 *   what their rules matched, with a resource policy admitting other accounts' forwarder roles (hubBusPolicy);
 * - the dead-letter queue `rootwatch-<stage>-rules-dlq` (retained when the stack is deleted) and its policy, which lets
 *   only these rules send to it and denies its messages to everyone but the operator role.
 *
 * Placeholders (`{ param: trailBuckets }` in events/*.yml) take the serverless.yml parameters' values, checked by
 * resources/parameters.cjs with the alert function's own schema, which gets the same values in its environment.
 * rootwatch's own KMS key is not a parameter but a resource of this stack: its placeholders (`alerterKeyArn`,
 * `alerterKeyId`) become `Fn::GetAtt: [AlertTopicKey, Arn]` and `Ref: AlertTopicKey` inside the EventPattern, which
 * CloudFormation resolves at deployment; the alert function gets the resolved ARN as ALERTER_KEY_ARN. The hub
 * parameters organizationId and memberAccounts (checkHubParameters, resources/parameters.cjs) say who may put events on
 * the hub bus.
 */

const path = require('node:path');
const { register } = require('tsx/cjs/api');

// One tsx namespace for every generator (resources/parameters.cjs too), so they share one copy of each module.
const typescript = register({ namespace: 'rootwatch-resources' });
const { catalogRules, RULE_RETRY_POLICY } = typescript.require('../functions/deploy/catalog-rules.ts', __filename);
const { forwarderRolePrefix, hubBusName } = typescript.require('../functions/core/forwarding.ts', __filename);
const { DetectionFileError } = typescript.require('../functions/errors.ts', __filename);
typescript.unregister();
const { checkDetectionParameters, checkHubParameters, resolveParameterValues } = require('./parameters.cjs');

const EVENTS_DIR = path.resolve(__dirname, '..', 'events');
/** serverless.yml's function `alert` becomes `AlertLambdaFunction` (the framework's naming). */
const ALERT_FUNCTION = 'AlertLambdaFunction';
const DEAD_LETTER_QUEUE = 'RulesDeadLetterQueue';
const DEAD_LETTER_QUEUE_POLICY = 'RulesDeadLetterQueuePolicy';
/** The hub bus; resources/heartbeat.cjs's HubHeartbeatRule and the forwarder template name it too. */
const HUB_EVENT_BUS = 'HubEventBus';
const HUB_RULES_PERMISSION = 'HubRulesPermission';
/** rootwatch's KMS key (resources/alerting.yml), which alerter-tampering watches by key ARN and by key id. */
const ALERT_TOPIC_KEY = 'AlertTopicKey';
/** The key placeholders as the hub resolves them: intrinsics CloudFormation fills in at deployment. */
const KEY_INTRINSICS = {
  alerterKeyArn: { 'Fn::GetAtt': [ALERT_TOPIC_KEY, 'Arn'] },
  alerterKeyId: { Ref: ALERT_TOPIC_KEY },
};

/** `Fn::Sub` of `text`, where `${AWS::…}` are CloudFormation's pseudo-parameters. */
const sub = (text) => ({ 'Fn::Sub': text });

/**
 * The ARN of `stage`'s operator role, the one role people use to read and clear what landed in a DLQ (see the top of
 * resources/alerting.yml), as CloudFormation fills in the partition and account.
 */
const operatorRoleArn = (stage) =>
  sub(`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/rootwatch-${stage}-operator`);

/**
 * The hub bus's ARN built from its name (a resource cannot `Fn::GetAtt` itself, and its own policy names it).
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html (event-bus)
 */
const hubBusArn = (stage) =>
  sub(`arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/${hubBusName(stage)}`);

/**
 * Every rule on the hub bus, whoever made it: a rule on a custom bus has the ARN rule/<bus name>/<rule name>.
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html (rule-on-custom-bus)
 */
const hubRulesArn = (stage) =>
  sub(`arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/${hubBusName(stage)}/*`);

/**
 * The hub bus's resource policy for `hub` (`{ organizationId?, memberAccounts: string[] }`, as checkHubParameters
 * returns it), or undefined when neither is set: then only this account may put events on it, through IAM.
 *
 * Who may put events there: the forwarders of other accounts, which are roles named `rootwatch-<stage>-forwarder-…`
 * (forwarderRolePrefix) that their rules (and their heartbeat schedule) put events with, of an account in the
 * organization (`aws:PrincipalOrgID`) or of a listed member account. Only events:PutEvents, only on this bus: no other
 * account may create or change rules here (PutRule, PutTargets would need their own grant). `aws:PrincipalArn` of a
 * role session is the role's ARN, so the condition holds for the role whatever its session is named.
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html (IAM conditions, organizations)
 *   https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutPermission.html (aws:PrincipalOrgID, Principal "*")
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-example-policy-cross-account-custom-bus-source.html
 *     (an account as `arn:…:iam::<account>:root`)
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgid
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn
 * This account's own forwarders (in its other regions) need no statement: within one account an allow in the role's
 * own IAM policy is enough, the bus policy is not needed ("give either the sender ... or the receiver event bus
 * permissions"). https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-bus-to-bus.html,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
 *
 * Why the bus's `Policy` property and not AWS::Events::EventBusPolicy resources: the property is the whole document,
 * set with the bus, which is exactly what DescribeEventBus returns and the guard compares; EventBusPolicy resources add
 * one statement each (PutPermission with a StatementId), so the bus's policy would be the sum of several resources,
 * and a statement someone added by hand would sit beside them unnoticed by the template.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-events-eventbus.html (Policy)
 */
const hubBusPolicy = (stage, hub) => {
  const forwarderRoles = sub(`arn:\${AWS::Partition}:iam::*:role/${forwarderRolePrefix(stage)}*`);
  const statements = [];
  if (hub.organizationId) {
    statements.push({
      Sid: 'ForwardersOfTheOrganization',
      Effect: 'Allow',
      Principal: '*',
      Action: 'events:PutEvents',
      Resource: hubBusArn(stage),
      Condition: {
        StringEquals: { 'aws:PrincipalOrgID': hub.organizationId },
        ArnLike: { 'aws:PrincipalArn': forwarderRoles },
      },
    });
  }
  if (hub.memberAccounts.length > 0) {
    statements.push({
      Sid: 'ForwardersOfMemberAccounts',
      Effect: 'Allow',
      Principal: { AWS: hub.memberAccounts.map((account) => sub(`arn:\${AWS::Partition}:iam::${account}:root`)) },
      Action: 'events:PutEvents',
      Resource: hubBusArn(stage),
      Condition: { ArnLike: { 'aws:PrincipalArn': forwarderRoles } },
    });
  }
  return statements.length === 0 ? undefined : { Version: '2012-10-17', Statement: statements };
};

/** The target of every catalog rule, on either bus: the alert function, retried for a day, then dead-lettered. */
const alertTarget = () => ({
  Id: 'alert',
  Arn: { 'Fn::GetAtt': [ALERT_FUNCTION, 'Arn'] },
  RetryPolicy: { ...RULE_RETRY_POLICY },
  DeadLetterConfig: { Arn: { 'Fn::GetAtt': [DEAD_LETTER_QUEUE, 'Arn'] } },
});

/**
 * One permission for every rule on the hub bus (the catalog's twins here, resources/heartbeat.cjs's HubHeartbeatRule),
 * rather than one per rule as on the default bus: a function's resource-based policy is limited to 20 KB, not
 * adjustable, and AWS's advice when it fills up is a statement with a wildcard. Each per-rule statement is about 330
 * bytes, and the catalog's rules on both buses come to some 60 statements, close to the limit.
 *   https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html (Function resource-based policy: 20 KB)
 *   https://repost.aws/knowledge-center/lambda-resource-based-policy-size-error
 * The wildcard admits rules on the hub bus only. Only principals allowed events:PutRule on this account's bus can
 * create a rule there: the bus policy (hubBusPolicy) grants other accounts PutEvents and nothing else, and a rule
 * created there, or a change to one, is an alerter-tampering alert (PutRule, PutTargets with the hub bus).
 * No dependency on the rules it covers: a rule added later (the heartbeat's) is covered as soon as it exists.
 */
const hubRulesPermission = (stage) => ({
  Type: 'AWS::Lambda::Permission',
  Properties: {
    Action: 'lambda:InvokeFunction',
    FunctionName: { 'Fn::GetAtt': [ALERT_FUNCTION, 'Arn'] },
    Principal: 'events.amazonaws.com',
    SourceArn: hubRulesArn(stage),
  },
});

/**
 * The CloudFormation `Resources` and `Outputs` for `stage`'s rules, `rules` as catalogRules returns them (their key
 * placeholders resolved to intrinsics), and `hub` (`{ organizationId?, memberAccounts: string[] }`) for the hub bus's
 * policy.
 */
const buildEventRules = (stage, rules, hub) => {
  const resources = {};

  const busPolicy = hubBusPolicy(stage, hub);
  resources[HUB_EVENT_BUS] = {
    Type: 'AWS::Events::EventBus',
    Properties: {
      Name: hubBusName(stage),
      Description: `rootwatch ${stage} hub: what forwarders in other regions and accounts matched, for the alert function`,
      ...(busPolicy ? { Policy: busPolicy } : {}),
    },
  };

  for (const rule of rules) {
    const properties = { Name: rule.name, EventPattern: rule.pattern, State: rule.state, Targets: [alertTarget()] };
    resources[rule.logicalId] = {
      Type: 'AWS::Events::Rule',
      Properties: { ...properties, Description: rule.description },
    };
    resources[`${rule.logicalId}Permission`] = {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [ALERT_FUNCTION, 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [rule.logicalId, 'Arn'] },
      },
    };
    // The same rule where forwarders put the events of other regions and accounts.
    resources[`Hub${rule.logicalId}`] = {
      Type: 'AWS::Events::Rule',
      Properties: {
        ...properties,
        EventBusName: { Ref: HUB_EVENT_BUS },
        Description: `${rule.description}, on the hub bus`,
      },
    };
  }
  resources[HUB_RULES_PERMISSION] = hubRulesPermission(stage);

  // Events EventBridge could not deliver after its retries; kept 14 days (the maximum) for replay, and kept when the
  // stack is deleted, like the other DLQs (resources/alerting.yml).
  resources[DEAD_LETTER_QUEUE] = {
    Type: 'AWS::SQS::Queue',
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
    Properties: {
      QueueName: `rootwatch-${stage}-rules-dlq`,
      MessageRetentionPeriod: 1209600,
      // EventBridge cannot send to a queue encrypted with the AWS managed KMS key; SSE-SQS works.
      SqsManagedSseEnabled: true,
    },
  };
  // Who may touch the queue, as for the other queues (the top of resources/alerting.yml): EventBridge sends for these
  // rules (aws:SourceArn), and only for them: the default bus's by ARN, the hub bus's as rule/<hub bus>/* (ArnLike: the
  // catalog's twins, and whatever rule of the hub bus names this queue; only this account can create one there). Every
  // other principal but the operator role is denied the data actions (reading, deleting, sending, purging or redriving
  // a message), and any request without TLS is denied. SetQueueAttributes and the rest of the queue's management stay
  // with IAM, so CloudFormation can update this policy. Two Allow statements, not two operators in one: conditions of
  // one statement must all hold.
  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html#eb-dlq-perms
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_logic_multiple_context_keys_or_values.html
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-security-best-practices.html
  const queueArn = { 'Fn::GetAtt': [DEAD_LETTER_QUEUE, 'Arn'] };
  const deadLetters = (sid, condition) => ({
    Sid: sid,
    Effect: 'Allow',
    Principal: { Service: 'events.amazonaws.com' },
    Action: 'sqs:SendMessage',
    Resource: queueArn,
    Condition: condition,
  });
  resources[DEAD_LETTER_QUEUE_POLICY] = {
    Type: 'AWS::SQS::QueuePolicy',
    Properties: {
      Queues: [{ Ref: DEAD_LETTER_QUEUE }],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          deadLetters('RootwatchRulesDeadLetters', {
            ArnEquals: { 'aws:SourceArn': rules.map((rule) => ({ 'Fn::GetAtt': [rule.logicalId, 'Arn'] })) },
          }),
          deadLetters('RootwatchHubRulesDeadLetters', { ArnLike: { 'aws:SourceArn': hubRulesArn(stage) } }),
          {
            // EventBridge is an AWS service principal, left to the Allows above.
            Sid: 'OnlyRootwatchTouchesMessages',
            Effect: 'Deny',
            Principal: '*',
            Action: [
              'sqs:SendMessage',
              'sqs:ReceiveMessage',
              'sqs:DeleteMessage',
              'sqs:ChangeMessageVisibility',
              'sqs:PurgeQueue',
              'sqs:StartMessageMoveTask',
            ],
            Resource: queueArn,
            Condition: {
              ArnNotEquals: { 'aws:PrincipalArn': [operatorRoleArn(stage)] },
              BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
            },
          },
          {
            Sid: 'DenyInsecureTransport',
            Effect: 'Deny',
            Principal: '*',
            Action: 'sqs:*',
            Resource: queueArn,
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      },
    },
  };

  return {
    Resources: resources,
    Outputs: {
      RulesDeadLetterQueueUrl: {
        Description: 'Events the EventBridge rules could not deliver to the alert function',
        Value: { Ref: DEAD_LETTER_QUEUE },
      },
      // What a forwarder's rules target (npm run deploy, rootwatch forwarder-template --hub-bus-arn).
      HubEventBusArn: {
        Description: 'The hub bus: the target of every forwarder rule in other regions and accounts',
        Value: { 'Fn::GetAtt': [HUB_EVENT_BUS, 'Arn'] },
      },
      HubEventBusName: {
        Description: 'The name of the hub bus',
        Value: { Ref: HUB_EVENT_BUS },
      },
    },
  };
};

/**
 * `stage`'s rules and hub bus for the catalog in `dir`, with `values` as the parameters' values (`{ trailBuckets:
 * [...], ... }`, as checkDetectionParameters returns them; default none) and `hub` as the hub parameters
 * (`{ organizationId?, memberAccounts?: string[] }`, as checkHubParameters returns them; default none):
 * `{ Resources, Outputs }`. Throws DetectionFileError naming the file (catalogRules).
 */
const loadEventRules = (stage, dir = EVENTS_DIR, values = {}, hub = {}) =>
  buildEventRules(
    stage,
    catalogRules(stage, dir, values, (placeholder) => KEY_INTRINSICS[placeholder]),
    { organizationId: hub.organizationId, memberAccounts: hub.memberAccounts ?? [] },
  );

/** The file variable source: `${file(./resources/event-rules.cjs)}`. */
const resolveEventRules = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  // Throws parameters.cjs's ParameterError, listing every invalid parameter, before any rule is built.
  const parameterValues = await resolveParameterValues(resolveVariable);
  const values = checkDetectionParameters(parameterValues);
  const hub = checkHubParameters(parameterValues);
  try {
    return loadEventRules(stage, EVENTS_DIR, values, hub);
  } catch (error) {
    // The framework prints the stack of a failing variable source: for a bad detection file, only the message
    // (file, field, problem) helps; any other error keeps its stack.
    if (error instanceof DetectionFileError) error.stack = `${error.name}: ${error.message}`;
    throw error;
  }
};

module.exports = resolveEventRules;
module.exports.loadEventRules = loadEventRules;
