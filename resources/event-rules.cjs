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
 * Plus the dead-letter queue `rootwatch-<stage>-rules-dlq` and its policy, which lets only these
 * rules send to it.
 */

const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

const EVENTS_DIR = path.resolve(__dirname, '..', 'events');
/** serverless.yml's function `alert` becomes `AlertLambdaFunction` (the framework's naming). */
const ALERT_FUNCTION = 'AlertLambdaFunction';
const DEAD_LETTER_QUEUE = 'RulesDeadLetterQueue';
const DEAD_LETTER_QUEUE_POLICY = 'RulesDeadLetterQueuePolicy';
/** https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html: Name, 1 to 64 of [.\-_A-Za-z0-9]. */
const MAX_RULE_NAME_LENGTH = 64;
const DETECTION_ID = /^[a-z0-9]+(-[a-z0-9]+)*$/;
/**
 * Read-only management events (readOnly: true) reach a rule only in this state.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event.html#eb-service-event-cloudtrail
 */
const STATE_WITH_READ_ONLY_EVENTS = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
/** EventBridge's maximum: retry for 24 hours, then dead-letter. */
const RETRY_POLICY = { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 };

class EventRulesError extends Error {
  constructor(file, message, options) {
    super(`events/${file}: ${message}`, options);
    this.name = 'EventRulesError';
  }
}

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

/** Reads the fields the rules need from one detection file, with errors naming the file. */
const readDetection = (dir, file) => {
  let document;
  try {
    document = YAML.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  } catch (error) {
    throw new EventRulesError(file, `cannot parse YAML: ${error.message}`, { cause: error });
  }
  if (!isPlainObject(document)) throw new EventRulesError(file, 'is not a YAML mapping');

  const { id, title, readOnlyEvents = false, patterns } = document;
  const expectedId = file.replace(/\.ya?ml$/, '');
  if (id !== expectedId)
    throw new EventRulesError(file, `id must equal the file name "${expectedId}", got ${JSON.stringify(id)}`);
  if (!DETECTION_ID.test(id)) throw new EventRulesError(file, `id "${id}" must be kebab-case ([a-z0-9] and "-")`);
  if (typeof title !== 'string' || title.trim() === '') throw new EventRulesError(file, 'lacks a title');
  if (typeof readOnlyEvents !== 'boolean') throw new EventRulesError(file, 'readOnlyEvents must be true or false');
  if (!Array.isArray(patterns) || patterns.length === 0) {
    throw new EventRulesError(file, 'lacks `patterns` (a non-empty list of EventBridge event patterns)');
  }
  for (const [index, pattern] of patterns.entries()) {
    if (!isPlainObject(pattern) || Object.keys(pattern).length === 0) {
      throw new EventRulesError(file, `patterns[${index}] is not a non-empty EventBridge event pattern (a mapping)`);
    }
    const variableAt = findVariableSyntax(pattern, `patterns[${index}]`);
    if (variableAt)
      throw new EventRulesError(file, `${variableAt} contains "\${", which serverless.yml would resolve as a variable`);
  }
  return { file, id, title: title.trim(), readOnlyEvents, patterns };
};

/** Every detection in `dir` (events/*.yml), sorted by id. */
const readCatalog = (dir) => {
  const files = fs
    .readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort();
  if (files.length === 0) throw new Error(`No detection files (*.yml) in ${dir}: there would be no EventBridge rules`);
  return files.map((file) => readDetection(dir, file));
};

/** The CloudFormation `Resources` (and `Outputs`) for `stage`'s rules. */
const buildEventRules = (stage, detections) => {
  const resources = {};
  const ruleLogicalIds = [];

  for (const detection of detections) {
    const { file, id, title, readOnlyEvents, patterns } = detection;
    for (const [index, pattern] of patterns.entries()) {
      const several = patterns.length > 1;
      const name = `rootwatch-${stage}-${id}${several ? `-${index}` : ''}`;
      if (name.length > MAX_RULE_NAME_LENGTH) {
        throw new EventRulesError(
          file,
          `rule name "${name}" is ${name.length} characters, EventBridge allows ${MAX_RULE_NAME_LENGTH}: shorten the detection id "${id}" or the stage "${stage}"`,
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
          EventPattern: pattern,
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

  // Events EventBridge could not deliver after its retries; kept 14 days (the maximum) for replay.
  resources[DEAD_LETTER_QUEUE] = {
    Type: 'AWS::SQS::Queue',
    Properties: {
      QueueName: `rootwatch-${stage}-rules-dlq`,
      MessageRetentionPeriod: 1209600,
      // EventBridge cannot send to a queue encrypted with the AWS managed KMS key; SSE-SQS works.
      SqsManagedSseEnabled: true,
    },
  };
  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html#eb-dlq-perms
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
            Resource: { 'Fn::GetAtt': [DEAD_LETTER_QUEUE, 'Arn'] },
            Condition: {
              ArnEquals: { 'aws:SourceArn': ruleLogicalIds.map((ruleId) => ({ 'Fn::GetAtt': [ruleId, 'Arn'] })) },
            },
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

/** The file variable source: `${file(./resources/event-rules.cjs)}`. */
const resolveEventRules = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  return buildEventRules(stage, readCatalog(EVENTS_DIR));
};

module.exports = resolveEventRules;
module.exports.buildEventRules = buildEventRules;
module.exports.readCatalog = readCatalog;
