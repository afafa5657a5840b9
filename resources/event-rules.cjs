'use strict';

/**
 * CloudFormation for the EventBridge rules, generated from the detection catalog (events/*.yml), so
 * that no pattern is restated in serverless.yml.
 *
 * serverless.yml includes it as `resources: - ${file(./resources/event-rules.cjs)}`. The Serverless
 * Framework (osls and v4) require()s a .js/.cjs file variable source and, when it exports a
 * function, calls it with `{ options, resolveConfigurationProperty, resolveVariable }`. It must be
 * CommonJS: the framework require()s it and package.json says "type": "module", hence `.cjs`.
 *
 * Per pattern of each detection it emits:
 * - `Rule<Id><n>` (AWS::Events::Rule) on the default bus, named `rootwatch-<stage>-<id>[-<n>]`,
 *   targeting the alert function with a retry policy and the rules' dead-letter queue;
 * - `Rule<Id><n>Permission` (AWS::Lambda::Permission) letting that rule, and only it, invoke the function.
 * Plus the dead-letter queue `rootwatch-<stage>-rules-dlq` (retained when the stack is deleted) and its policy,
 * which lets only these rules send to it and denies its messages to everyone but the operator role.
 *
 * The catalog is read by the project's own loader (functions/io/detections.ts, loaded through tsx), the one the
 * functions and tests use, so a file the alert function would refuse fails packaging with the same
 * DetectionFileError. Only what packaging adds is checked here: the rule name's length, the pattern's size once
 * deployed, and `${` in a pattern.
 *
 * Placeholders (`{ param: trailBuckets }` in events/*.yml) take the serverless.yml parameters' values, checked by
 * resources/parameters.cjs with the alert function's own schema, which gets the same values in its environment.
 * rootwatch's own KMS key is not a parameter but a resource of this stack: its placeholders (`alerterKeyArn`,
 * `alerterKeyId`) become `Fn::GetAtt: [AlertTopicKey, Arn]` and `Ref: AlertTopicKey` inside the EventPattern,
 * which CloudFormation resolves at deployment; the alert function gets the resolved ARN as ALERTER_KEY_ARN.
 */

const path = require('node:path');
const { register } = require('tsx/cjs/api');

// One tsx namespace for both generators (resources/parameters.cjs too), so they share one copy of each module.
const typescript = register({ namespace: 'rootwatch-resources' });
const { loadDetectionFiles } = typescript.require('../functions/io/detections.ts', __filename);
const { DetectionFileError } = typescript.require('../functions/errors.ts', __filename);
const { detectionParametersOf } = typescript.require('../functions/io/config.ts', __filename);
typescript.unregister();
const { checkDetectionParameters, resolveParameterValues } = require('./parameters.cjs');

const EVENTS_DIR = path.resolve(__dirname, '..', 'events');
/** serverless.yml's function `alert` becomes `AlertLambdaFunction` (the framework's naming). */
const ALERT_FUNCTION = 'AlertLambdaFunction';
const DEAD_LETTER_QUEUE = 'RulesDeadLetterQueue';
const DEAD_LETTER_QUEUE_POLICY = 'RulesDeadLetterQueuePolicy';
/**
 * The ARN of `stage`'s operator role, the one role people use to read and clear what landed in a DLQ (see the top of
 * resources/alerting.yml), as CloudFormation fills in the partition and account.
 */
const operatorRoleArn = (stage) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/rootwatch-${stage}-operator`,
});
/** https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html: Name, 1 to 64 of [.\-_A-Za-z0-9]. */
const MAX_RULE_NAME_LENGTH = 64;
/**
 * Read-only management events (readOnly: true) reach a rule only in this state.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event.html#eb-service-event-cloudtrail
 */
const STATE_WITH_READ_ONLY_EVENTS = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
/** EventBridge's maximum: retry for 24 hours, then dead-letter. */
const RETRY_POLICY = { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 };
/**
 * "Event pattern size: 2,048 characters", the default quota (adjustable).
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
 */
const MAX_PATTERN_LENGTH = 2048;

/** rootwatch's KMS key (resources/alerting.yml), which alerter-tampering watches by key ARN and by key id. */
const ALERT_TOPIC_KEY = 'AlertTopicKey';
/**
 * Stand-ins the loader compiles in place of the key's ARN and id (any string compiles), each replaced by its
 * intrinsic in the generated EventPattern; `longest` is what the longest value could be, for the size check.
 */
const KEY_INTRINSICS = [
  {
    parameter: 'alerterKeyArn',
    standIn: 'rootwatch:cloudformation:AlertTopicKey.Arn',
    intrinsic: { 'Fn::GetAtt': [ALERT_TOPIC_KEY, 'Arn'] },
    longest: 'arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab',
  },
  {
    parameter: 'alerterKeyId',
    standIn: 'rootwatch:cloudformation:AlertTopicKey.Ref',
    intrinsic: { Ref: ALERT_TOPIC_KEY },
    longest: 'mrk-1234abcd12ab34cd56ef1234567890ab',
  },
];

const isPlainObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `root-api-call` -> `RootApiCall` (CloudFormation logical ids are alphanumeric). */
const toPascalCase = (id) =>
  id
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');

/** The framework would read `${...}` in the generated template as one of its own variables. */
const findVariableSyntax = (value, at) => {
  if (typeof value === 'string') return value.includes('${') ? at : undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findVariableSyntax(item, `${at}[${index}]`);
      if (found) return found;
    }
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      const found = findVariableSyntax(key, `${at}.${key}`) ?? findVariableSyntax(item, `${at}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
};

/** `value` with each stand-in string replaced by `replace(entry)`, everything else copied as it is. */
const replaceStandIns = (value, replace) => {
  if (typeof value === 'string') {
    const entry = KEY_INTRINSICS.find((candidate) => candidate.standIn === value);
    return entry ? replace(entry) : value;
  }
  if (Array.isArray(value)) return value.map((item) => replaceStandIns(item, replace));
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, replaceStandIns(item, replace)]));
  }
  return value;
};

/**
 * The placeholders' values for packaging: the parameters' (`{ trailBuckets: [...], ... }`, as
 * checkDetectionParameters returns them), and the stand-ins of rootwatch's own key.
 */
const packagingParameters = (values) => ({
  ...detectionParametersOf(values),
  ...Object.fromEntries(KEY_INTRINSICS.map(({ parameter, standIn }) => [parameter, [standIn]])),
});

/**
 * The CloudFormation `Resources` (and `Outputs`) for `stage`'s rules, from the loaded catalog
 * (`[{ file, detection }]`, as loadDetectionFiles returns it, loaded with packagingParameters). Throws a
 * DetectionFileError naming the file when a rule name would be too long, a pattern holds `${`, or a pattern would
 * be over EventBridge's size quota once CloudFormation has filled in the key.
 */
const buildEventRules = (stage, catalog) => {
  const resources = {};
  const ruleLogicalIds = [];

  for (const { file, detection } of catalog) {
    const { id, title, readOnlyEvents, patterns } = detection;
    for (const [index, pattern] of patterns.entries()) {
      const variableAt = findVariableSyntax(pattern, `patterns[${index}]`);
      if (variableAt) {
        throw new DetectionFileError(
          file,
          `${variableAt} contains "\${", which serverless.yml would resolve as a variable`,
        );
      }
      const several = patterns.length > 1;
      const name = `rootwatch-${stage}-${id}${several ? `-${index}` : ''}`;
      if (name.length > MAX_RULE_NAME_LENGTH) {
        throw new DetectionFileError(
          file,
          `id: rule name "${name}" is ${name.length} characters, EventBridge allows ${MAX_RULE_NAME_LENGTH}: shorten the detection id "${id}" or the stage "${stage}"`,
        );
      }
      const deployedLength = JSON.stringify(replaceStandIns(pattern, (entry) => entry.longest)).length;
      if (deployedLength > MAX_PATTERN_LENGTH) {
        throw new DetectionFileError(
          file,
          `patterns[${index}]: ${deployedLength} characters once deployed, EventBridge allows ${MAX_PATTERN_LENGTH}: split the pattern, or give fewer trail buckets, keys or log groups`,
        );
      }
      const ruleId = `Rule${toPascalCase(id)}${index}`;
      ruleLogicalIds.push(ruleId);

      resources[ruleId] = {
        Type: 'AWS::Events::Rule',
        Properties: {
          Name: name,
          Description: several
            ? `${title} (pattern ${index + 1} of ${patterns.length}, events/${file})`
            : `${title} (events/${file})`,
          EventPattern: replaceStandIns(pattern, (entry) => entry.intrinsic),
          State: readOnlyEvents ? STATE_WITH_READ_ONLY_EVENTS : 'ENABLED',
          Targets: [
            {
              Id: 'alert',
              Arn: { 'Fn::GetAtt': [ALERT_FUNCTION, 'Arn'] },
              RetryPolicy: RETRY_POLICY,
              DeadLetterConfig: { Arn: { 'Fn::GetAtt': [DEAD_LETTER_QUEUE, 'Arn'] } },
            },
          ],
        },
      };
      resources[`${ruleId}Permission`] = {
        Type: 'AWS::Lambda::Permission',
        Properties: {
          Action: 'lambda:InvokeFunction',
          FunctionName: { 'Fn::GetAtt': [ALERT_FUNCTION, 'Arn'] },
          Principal: 'events.amazonaws.com',
          SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
        },
      };
    }
  }

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
  // rules (aws:SourceArn), and only for them; every other principal but the operator role is denied the data actions
  // (reading, deleting, sending, purging or redriving a message), and any request without TLS is denied.
  // SetQueueAttributes and the rest of the queue's management stay with IAM, so CloudFormation can update this policy.
  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html#eb-dlq-perms
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-security-best-practices.html
  const queueArn = { 'Fn::GetAtt': [DEAD_LETTER_QUEUE, 'Arn'] };
  resources[DEAD_LETTER_QUEUE_POLICY] = {
    Type: 'AWS::SQS::QueuePolicy',
    Properties: {
      Queues: [{ Ref: DEAD_LETTER_QUEUE }],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'RootwatchRulesDeadLetters',
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: queueArn,
            Condition: {
              ArnEquals: { 'aws:SourceArn': ruleLogicalIds.map((ruleId) => ({ 'Fn::GetAtt': [ruleId, 'Arn'] })) },
            },
          },
          {
            // EventBridge is an AWS service principal, left to the Allow above.
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
    },
  };
};

/**
 * `stage`'s rules for the catalog in `dir`, with `values` as the parameters' values (`{ trailBuckets: [...], ... }`,
 * as checkDetectionParameters returns them; default none): loadDetectionFiles, then buildEventRules. Throws
 * DetectionFileError.
 */
const loadEventRules = (stage, dir = EVENTS_DIR, values = {}) =>
  buildEventRules(stage, loadDetectionFiles(dir, packagingParameters(values)));

/** The file variable source: `${file(./resources/event-rules.cjs)}`. */
const resolveEventRules = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  // Throws parameters.cjs's ParameterError, listing every invalid parameter, before any rule is built.
  const values = checkDetectionParameters(await resolveParameterValues(resolveVariable));
  try {
    return loadEventRules(stage, EVENTS_DIR, values);
  } catch (error) {
    // The framework prints the stack of a failing variable source: for a bad detection file, only the message
    // (file, field, problem) helps; any other error keeps its stack.
    if (error instanceof DetectionFileError) error.stack = `${error.name}: ${error.message}`;
    throw error;
  }
};

module.exports = resolveEventRules;
module.exports.loadEventRules = loadEventRules;
