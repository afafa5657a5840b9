import { partition } from '@aws-sdk/core/client';
import { FORWARDER_ORIGIN, forwarderRolePrefix, REGION_NAME, stageOfHubBusArn } from '../core/forwarding.js';
import { HEARTBEAT_PATTERN, HEARTBEAT_SOURCE } from '../core/heartbeat.js';
import { CONFIG_COMPLIANCE_PATTERN } from '../core/posture-events.js';
import { ConfigError } from '../errors.js';
import { type DetectionParameterValues, detectionParametersOf, parseDetectionParameterValues } from '../io/config.js';
import { DEFAULT_DETECTIONS_DIR } from '../io/detections.js';
import { catalogRules, type KeyPlaceholder, RULE_RETRY_POLICY } from './catalog-rules.js';
import { buildHeartbeatSchedule, heartbeatRoleName } from './heartbeat-schedule.js';

/*
 * The forwarder: plain CloudFormation (no transform, no framework, no parameters) that holds, on the default event
 * bus of the account and region it is deployed to, every rule of the detection catalog, each forwarding what it
 * matches to the hub bus; and a heartbeat that travels the same way. The same template serves a plain stack per
 * region (the deploy command) and a service-managed StackSet across OUs and regions (`rootwatch forwarder-template`).
 *
 * Everything that forwards carries the condition OutsideHub: deployed into the hub's own account and region (a
 * StackSet targeting an OU that holds the hub account does that), it creates nothing but a placeholder, since the
 * hub's own rules already watch that default bus.
 */

/** A resource as the template holds it. */
interface CloudFormationResource {
  Type: string;
  Condition?: string;
  DeletionPolicy?: 'Delete' | 'Retain';
  UpdateReplacePolicy?: 'Delete' | 'Retain';
  Properties?: Record<string, unknown>;
}

/** A CloudFormation template as plain, JSON-able data. */
interface CloudFormationTemplate {
  AWSTemplateFormatVersion: '2010-09-09';
  Description: string;
  Conditions: Record<string, unknown>;
  Resources: Record<string, CloudFormationResource>;
  Outputs: Record<string, { Description: string; Value: unknown; Condition?: string }>;
}

/** What the forwarder is generated from. */
interface ForwarderTemplateOptions {
  /** The hub's stage: the one in the hub bus's name. */
  stage: string;
  /** The hub bus, `arn:aws:events:<region>:<account>:event-bus/rootwatch-<stage>-hub`. */
  hubBusArn: string;
  /**
   * The hub's KMS key (its stack output AlertTopicKeyArn): alerter-tampering's key clauses then name it, as the hub's
   * do. Without it they name NO_HUB_KEY, which no event carries.
   */
  hubKeyArn?: string;
  /** The stage's detection parameters (readStageParameters), as the hub was deployed with. */
  values: DetectionParameterValues;
  /** Minutes between two heartbeats, 5 to 720 (readStageParameters). */
  heartbeatMinutes: number;
  /** The catalog (default: the repository's events/). */
  detectionsDir?: string;
  /**
   * The hub's posture function role (`arn:aws:iam::<hub account>:role/…`): given, the template also holds
   * PostureAuditRole (postureAuditRoleName), which only that role may assume, for reading root without AssumeRoot.
   */
  postureRoleArn?: string;
}

/**
 * What alerter-tampering's key clauses name when the hub's key is not given: strings that are no key ARN and no key
 * id (KMS names a key `arn:…:key/<id>`, the id a UUID or `mrk-…`), so they match no event KMS records for a real key.
 * Nothing is lost: rootwatch's key lives in the hub's account and region, and KMS records the calls these clauses
 * watch (DisableKey, ScheduleKeyDeletion, PutKeyPolicy) there, where the hub's own rule sees them; they cannot be
 * made on another account's key ("Cross-account use: No", e.g.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html). Each is no longer than the
 * longest key ARN or id, which catalogRules sized the patterns with.
 */
const NO_HUB_KEY: Readonly<Record<KeyPlaceholder, string>> = {
  alerterKeyArn: 'rootwatch:no-hub-key-arn-given',
  alerterKeyId: 'rootwatch:no-hub-key-id-given',
};

/**
 * "Template body size in a request: 51,200 bytes" (CreateStack, UpdateStack, ValidateTemplate; CreateStackSet's
 * TemplateBody likewise): the deploy command and a StackSet pass the template as TemplateBody.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
 */
const TEMPLATE_BODY_MAX_BYTES = 51_200;

/**
 * Names must fit their services' limits in every region. IAM role names: 64 characters
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html); rule names: 64
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html); schedule names: 64
 * (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html); queue names: 80
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html).
 */
const MAX_NAME_LENGTH = { role: 64, rule: 64, schedule: 64, queue: 80 } as const;
/**
 * The longest region name we know of (15 characters; most are 9 to 14). A role name ends with the region
 * (IAM names are per account, a StackSet puts one stack per region), so a stage is checked against this one. AWS
 * publishes no maximum: a longer region would need a shorter stage.
 */
const LONGEST_REGION = 'us-isof-south-1';

const OUTSIDE_HUB = 'OutsideHub';
const IS_HUB = 'IsHub';
const FORWARDER_ROLE = 'ForwarderRole';
const DEAD_LETTER_QUEUE = 'ForwarderDeadLetterQueue';
const HEARTBEAT_RULE = 'ForwarderHeartbeatRule';
const POSTURE_CONFIG_RULE = 'ForwarderPostureConfigRule';
const POSTURE_AUDIT_ROLE = 'PostureAuditRole';
/** Created once per member account: in the hub's region, outside the hub's account (IAM names are per account). */
const POSTURE_AUDIT_HERE = 'PostureAuditHere';

/**
 * The read-only role the forwarder creates in each member account for the hub's posture function, when AssumeRoot is
 * refused: `rootwatch-<stage>-posture-audit`, the value to give the hub's parameter postureAuditRole.
 *
 * @example
 * postureAuditRoleName('prod'); // 'rootwatch-prod-posture-audit'
 */
const postureAuditRoleName = (stage: string): string => `rootwatch-${stage}-posture-audit`;

/** A role ARN of the hub's account: `arn:<partition>:iam::<account>:role/<path and name>`. */
const ROLE_ARN = /^arn:[a-z-]+:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;

/** `Fn::Sub` of `text`, where `${AWS::…}` are CloudFormation's pseudo-parameters. */
const sub = (text: string) => ({ 'Fn::Sub': text });
const getAtt = (logicalId: string, attribute: string) => ({ 'Fn::GetAtt': [logicalId, attribute] });

/** The hub bus's region and account, and the stage it belongs to. */
const hubOf = (hubBusArn: string, stage: string): { region: string; account: string } => {
  const hubStage = stageOfHubBusArn(hubBusArn);
  if (hubStage === undefined) {
    throw new ConfigError(
      `"${hubBusArn}" is not a rootwatch hub bus ARN (arn:aws:events:<region>:<account>:event-bus/rootwatch-<stage>-hub)`,
    );
  }
  if (hubStage !== stage) {
    throw new ConfigError(`the hub bus "${hubBusArn}" belongs to the stage "${hubStage}", not "${stage}"`);
  }
  const [, arnPartition = '', , region = '', account = ''] = hubBusArn.split(':');
  // A region that is not one, or a partition the region is not in (arn:aws-cn:…:us-east-1): the StackSet would fail
  // in every account; say so now. The AWS SDK's own partition data tells (@aws-sdk/core, partition()).
  if (!REGION_NAME.test(region) || partition(region).name !== arnPartition) {
    throw new ConfigError(
      `the hub bus "${hubBusArn}" names the region "${region}" in the partition "${arnPartition}", which AWS does not have (the region's partition is ${REGION_NAME.test(region) ? `"${partition(region).name}"` : 'unknown: not a region name'})`,
    );
  }
  return { region, account };
};

/** The key placeholders' values: the hub key's ARN and id, checked to be in the hub's account and region. */
const hubKeyOf = (
  hubKeyArn: string | undefined,
  hub: { region: string; account: string },
): Record<KeyPlaceholder, string> => {
  if (hubKeyArn === undefined) return NO_HUB_KEY;
  const parameters = detectionParametersOf(parseDetectionParameterValues({ alerterKeyArn: hubKeyArn }, 'hubKeyArn'));
  const [, , , region, account] = hubKeyArn.split(':');
  if (region !== hub.region || account !== hub.account) {
    throw new ConfigError(
      `the hub key "${hubKeyArn}" is not in the hub's account ${hub.account} and region ${hub.region}: give the hub stack's output AlertTopicKeyArn`,
    );
  }
  return { alerterKeyArn: hubKeyArn, alerterKeyId: parameters.alerterKeyId?.[0] ?? '' };
};

/** Throws when a name of the forwarder's own would be over its service's limit (catalogRules checks the rules'). */
const checkNameLengths = (stage: string): void => {
  const names: [string, number][] = [
    [`${forwarderRolePrefix(stage)}${LONGEST_REGION}`, MAX_NAME_LENGTH.role],
    [heartbeatRoleName(stage, LONGEST_REGION), MAX_NAME_LENGTH.role],
    [`rootwatch-${stage}-forwarder-heartbeat`, Math.min(MAX_NAME_LENGTH.rule, MAX_NAME_LENGTH.schedule)],
    [`rootwatch-${stage}-forwarder-dlq`, MAX_NAME_LENGTH.queue],
    [postureAuditRoleName(stage), MAX_NAME_LENGTH.role],
  ];
  for (const [name, max] of names) {
    if (name.length > max) {
      throw new ConfigError(`the stage "${stage}" is too long for the forwarder: "${name}" is over ${max} characters`);
    }
  }
};

/**
 * PostureAuditRole: `postureAuditRoleName(stage)`, which only `postureRoleArn` (the hub's posture function role, in
 * `hubAccount`) may assume, allowed iam:GetAccountSummary and nothing else (whether root has MFA, access keys, signing
 * certificates; functions/io/posture-reader.ts). Created in the hub's region only (IAM is global, a StackSet puts a
 * stack in every region), and not in the hub's account, which the posture function reads itself.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html
 *
 * @throws ConfigError when `postureRoleArn` is not a role ARN of the hub's account in the hub's partition.
 */
const postureAuditRole = (
  stage: string,
  postureRoleArn: string,
  hub: { account: string; partition: string },
): CloudFormationResource => {
  const hubAccount = hub.account;
  const account = ROLE_ARN.exec(postureRoleArn)?.[1];
  if (account !== hubAccount || postureRoleArn.split(':')[1] !== hub.partition) {
    throw new ConfigError(
      `the posture role "${postureRoleArn}" is not a role ARN of the hub's account ${hubAccount} (arn:${hub.partition}:iam::${hubAccount}:role/NAME: the hub's PostureRole)`,
    );
  }
  return {
    Type: 'AWS::IAM::Role',
    Condition: POSTURE_AUDIT_HERE,
    Properties: {
      RoleName: postureAuditRoleName(stage),
      Description: `rootwatch ${stage} - the hub's posture check reads whether root has MFA and keys`,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: postureRoleArn }, Action: 'sts:AssumeRole' }],
      },
      Policies: [
        {
          PolicyName: 'read-account-summary',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'iam:GetAccountSummary', Resource: '*' }],
          },
        },
      ],
    },
  };
};

/**
 * The forwarder's CloudFormation template for `options.stage`: plain JSON-able data, with no Transform, ready for a
 * service-managed StackSet and for a plain stack per region. It holds:
 * - per rule of catalogRules (the same logical id, Name, EventPattern and State as the hub's), an AWS::Events::Rule on
 *   the default bus whose one target `hub` is the hub bus, through the forwarder role, with RULE_RETRY_POLICY and the
 *   forwarder's dead-letter queue; the key placeholders are the hub key's ARN and id (options.hubKeyArn), else
 *   NO_HUB_KEY;
 * - ForwarderRole `rootwatch-<stage>-forwarder-<region>`, which EventBridge assumes for this account's rules, allowed
 *   events:PutEvents on the hub bus and nothing else;
 * - ForwarderDeadLetterQueue `rootwatch-<stage>-forwarder-dlq` (SSE-SQS, 14 days) and its policy: only these rules
 *   send to it, only over TLS;
 * - the heartbeat: ForwarderHeartbeatSchedule `rootwatch-<stage>-forwarder-heartbeat` puts a `rootwatch.heartbeat`
 *   event with `detail.origin` FORWARDER_ORIGIN on the local default bus every `heartbeatMinutes` (through
 *   ForwarderHeartbeatScheduleRole `rootwatch-<stage>-heartbeat-<region>`), and ForwarderHeartbeatRule
 *   `rootwatch-<stage>-forwarder-heartbeat` forwards it to the hub bus like the catalog's rules. Reaching the hub, it
 *   proves the schedule, the local bus, a forwarding rule, the role, the hop across accounts or regions and the hub
 *   bus's policy;
 * - ForwarderPostureConfigRule `rootwatch-<stage>-posture-config`: AWS Config's compliance changes of the root MFA and
 *   root key rules (CONFIG_COMPLIANCE_PATTERN) to the hub bus, like the catalog's rules, for the posture function;
 * - with `postureRoleArn`, PostureAuditRole (postureAuditRole), in the hub's region of each member account;
 * - the condition OutsideHub on all of these (PostureAuditRole: its own): in the hub's own account and region they are not created (the hub's
 *   rules watch that bus), and HubRegionPlaceholder, a resource that does nothing, is created instead.
 *
 * @throws ConfigError when the hub bus ARN is not a rootwatch hub bus of `stage`, the hub key is not a KMS key ARN in
 *   the hub's account and region, or a name would be over its service's limit; DetectionFileError (catalogRules) for
 *   a bad detection file or pattern.
 * @example
 * const template = buildForwarderTemplate({
 *   stage: 'prod',
 *   hubBusArn: 'arn:aws:events:us-east-1:111122223333:event-bus/rootwatch-prod-hub',
 *   values: {},
 *   heartbeatMinutes: 10,
 * });
 * template.Resources.RuleRootApiCall0?.Type; // 'AWS::Events::Rule'
 */
const buildForwarderTemplate = (options: ForwarderTemplateOptions): CloudFormationTemplate => {
  const { stage, hubBusArn, heartbeatMinutes } = options;
  const hub = hubOf(hubBusArn, stage);
  const hubKey = hubKeyOf(options.hubKeyArn, hub);
  checkNameLengths(stage);
  const rules = catalogRules(
    stage,
    options.detectionsDir ?? DEFAULT_DETECTIONS_DIR,
    options.values,
    (placeholder) => hubKey[placeholder],
  );

  /** The one target of every forwarding rule: the hub bus, through the forwarder role, retried, then dead-lettered. */
  const hubTarget = (retryPolicy: { MaximumRetryAttempts: number; MaximumEventAgeInSeconds: number }) => ({
    Id: 'hub',
    Arn: hubBusArn,
    // A bus in another account or region takes a role: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html
    RoleArn: getAtt(FORWARDER_ROLE, 'Arn'),
    RetryPolicy: retryPolicy,
    // The event, with why it could not be delivered (message attributes ERROR_CODE, ERROR_MESSAGE).
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
    DeadLetterConfig: { Arn: getAtt(DEAD_LETTER_QUEUE, 'Arn') },
  });

  const resources: Record<string, CloudFormationResource> = {};
  for (const rule of rules) {
    resources[rule.logicalId] = {
      Type: 'AWS::Events::Rule',
      Condition: OUTSIDE_HUB,
      Properties: {
        Name: rule.name,
        Description: rule.description,
        EventPattern: rule.pattern,
        State: rule.state,
        Targets: [hubTarget(RULE_RETRY_POLICY)],
      },
    };
  }

  // The heartbeat's rule: a heartbeat later than one period is worth nothing, a later one is on its way; one that
  // cannot be delivered still lands in the dead-letter queue, with the reason (a hub bus policy that refuses it).
  resources[HEARTBEAT_RULE] = {
    Type: 'AWS::Events::Rule',
    Condition: OUTSIDE_HUB,
    Properties: {
      Name: `rootwatch-${stage}-forwarder-heartbeat`,
      Description: `rootwatch forwarder heartbeat (${HEARTBEAT_SOURCE}) to the hub bus: proves this forwarder works`,
      EventPattern: HEARTBEAT_PATTERN,
      State: 'ENABLED',
      Targets: [
        hubTarget({
          MaximumRetryAttempts: RULE_RETRY_POLICY.MaximumRetryAttempts,
          MaximumEventAgeInSeconds: heartbeatMinutes * 60,
        }),
      ],
    },
  };
  // AWS Config's compliance changes of the root rules (core/posture-events.ts), for the hub's posture function: Config
  // sends them to this default bus, not through CloudTrail, so no catalog rule carries them.
  resources[POSTURE_CONFIG_RULE] = {
    Type: 'AWS::Events::Rule',
    Condition: OUTSIDE_HUB,
    Properties: {
      Name: `rootwatch-${stage}-posture-config`,
      Description: 'AWS Config: root MFA or root key rule NON_COMPLIANT, to the hub bus for the posture check',
      EventPattern: CONFIG_COMPLIANCE_PATTERN,
      State: 'ENABLED',
      Targets: [hubTarget(RULE_RETRY_POLICY)],
    },
  };
  const ruleLogicalIds = [...rules.map((rule) => rule.logicalId), HEARTBEAT_RULE, POSTURE_CONFIG_RULE];
  if (options.postureRoleArn !== undefined) {
    resources[POSTURE_AUDIT_ROLE] = postureAuditRole(stage, options.postureRoleArn, {
      account: hub.account,
      partition: options.hubBusArn.split(':')[1] ?? '',
    });
  }

  // EventBridge assumes it for this account's rules in this region only: for rule targets, aws:SourceArn is the rule's
  // ARN and aws:SourceAccount its account. The rules are named by prefix rather than one by one: their ARNs would make
  // the trust policy longer than IAM's 2,048 characters, and naming them by reference would be a circular dependency
  // (each rule names this role).
  // https://docs.aws.amazon.com/eventbridge/latest/userguide/cross-service-confused-deputy-prevention.html
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
  resources[FORWARDER_ROLE] = {
    Type: 'AWS::IAM::Role',
    Condition: OUTSIDE_HUB,
    Properties: {
      RoleName: sub(`${forwarderRolePrefix(stage)}\${AWS::Region}`),
      Description: `rootwatch ${stage} - EventBridge puts what the forwarder's rules match on the hub bus`,
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
                'aws:SourceArn': sub(
                  `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/rootwatch-${stage}-*`,
                ),
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
            Statement: [{ Sid: 'PutEventsOnHubBus', Effect: 'Allow', Action: 'events:PutEvents', Resource: hubBusArn }],
          },
        },
      ],
    },
  };

  // What could not reach the hub after a day of retries, kept 14 days (the maximum). Deleted with the stack: a
  // StackSet deletes an account's stack when the account leaves the targeted OUs (RetainStacksOnAccountRemoval=false),
  // and must be able to create it again when the account comes back; a kept queue would keep its name, and the new
  // stack could not create a queue of that name. (SQS takes a name again 60 seconds after its queue is deleted:
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteQueue.html)
  resources[DEAD_LETTER_QUEUE] = {
    Type: 'AWS::SQS::Queue',
    Condition: OUTSIDE_HUB,
    DeletionPolicy: 'Delete',
    UpdateReplacePolicy: 'Delete',
    Properties: {
      QueueName: `rootwatch-${stage}-forwarder-dlq`,
      MessageRetentionPeriod: 1_209_600,
      // EventBridge cannot send to a queue encrypted with the AWS managed KMS key; SSE-SQS works.
      SqsManagedSseEnabled: true,
    },
  };
  // Only these rules send (EventBridge for them, aws:SourceArn); no IAM principal of the account may send (a forged
  // dead letter); nothing without TLS. Reading and deleting messages stay with the account's IAM policies.
  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html#eb-dlq-perms
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-security-best-practices.html
  const queueArn = getAtt(DEAD_LETTER_QUEUE, 'Arn');
  resources.ForwarderDeadLetterQueuePolicy = {
    Type: 'AWS::SQS::QueuePolicy',
    Condition: OUTSIDE_HUB,
    Properties: {
      Queues: [{ Ref: DEAD_LETTER_QUEUE }],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'RootwatchForwarderDeadLetters',
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: queueArn,
            Condition: { ArnEquals: { 'aws:SourceArn': ruleLogicalIds.map((id) => getAtt(id, 'Arn')) } },
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
        ],
      },
    },
  };

  // The heartbeat's schedule, as the hub's (resources/heartbeat.cjs): it puts the heartbeat on the local default bus,
  // where ForwarderHeartbeatRule takes it to the hub.
  Object.assign(
    resources,
    buildHeartbeatSchedule({
      logicalId: 'ForwarderHeartbeatSchedule',
      stage,
      heartbeatMinutes,
      name: `rootwatch-${stage}-forwarder-heartbeat`,
      description: `rootwatch ${stage} forwarder heartbeat: proves the rules' path to the hub bus works`,
      roleDescription: `rootwatch ${stage} - EventBridge Scheduler puts the forwarder's heartbeat on the default event bus`,
      condition: OUTSIDE_HUB,
      origin: FORWARDER_ORIGIN,
    }),
  );

  // In the hub's own account and region nothing above is created. A template must have a resource, and whether
  // CloudFormation creates a stack all of whose resources are conditioned out is not documented, so this one stays:
  // a wait condition handle without a wait condition creates nothing in the account and costs nothing.
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-waitconditionhandle.html
  resources.HubRegionPlaceholder = { Type: 'AWS::CloudFormation::WaitConditionHandle', Condition: IS_HUB };

  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `rootwatch ${stage} forwarder: the detection catalog's ${rules.length} EventBridge rules and a heartbeat every ${heartbeatMinutes} minutes, forwarded to the hub bus ${hubBusArn}`,
    Conditions: {
      [IS_HUB]: {
        'Fn::And': [
          { 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, hub.account] },
          { 'Fn::Equals': [{ Ref: 'AWS::Region' }, hub.region] },
        ],
      },
      [OUTSIDE_HUB]: { 'Fn::Not': [{ Condition: IS_HUB }] },
      ...(options.postureRoleArn === undefined
        ? {}
        : {
            [POSTURE_AUDIT_HERE]: {
              'Fn::And': [
                { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, hub.account] }] },
                { 'Fn::Equals': [{ Ref: 'AWS::Region' }, hub.region] },
              ],
            },
          }),
    },
    Resources: resources,
    Outputs: {
      HubBusArn: { Description: 'Where the rules forward what they match', Value: hubBusArn },
      Forwarding: {
        Description: 'Whether this stack forwards (not in the hub account and region, which the hub covers)',
        Value: {
          'Fn::If': [OUTSIDE_HUB, 'forwarding to the hub bus', 'nothing: the hub covers this account and region'],
        },
      },
      ForwarderDeadLetterQueueUrl: {
        Description: 'Events the rules could not deliver to the hub bus, with the reason',
        Condition: OUTSIDE_HUB,
        Value: { Ref: DEAD_LETTER_QUEUE },
      },
    },
  };
};

/**
 * The size of `template` as compact JSON, in bytes (UTF-8): what TEMPLATE_BODY_MAX_BYTES limits.
 *
 * @example
 * templateBodyBytes({ Resources: {} }); // 16
 */
const templateBodyBytes = (template: unknown): number => Buffer.byteLength(JSON.stringify(template), 'utf8');

/**
 * How many AWS::Events::Rule resources `template` holds: the catalog's rules and the heartbeat's.
 *
 * @example
 * countRules({ Resources: { A: { Type: 'AWS::Events::Rule' }, Q: { Type: 'AWS::SQS::Queue' } } }); // 1
 */
const countRules = (template: Pick<CloudFormationTemplate, 'Resources'>): number =>
  Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Events::Rule').length;

export type { CloudFormationResource, CloudFormationTemplate, ForwarderTemplateOptions };
export {
  buildForwarderTemplate,
  countRules,
  NO_HUB_KEY,
  postureAuditRoleName,
  TEMPLATE_BODY_MAX_BYTES,
  templateBodyBytes,
};
