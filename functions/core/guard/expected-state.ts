import { ExpectedStateError } from '../../errors.js';
import * as z from '../zod.js';
import {
  createResolver,
  DEFAULT_EVENT_BUS,
  eventBusNameOf,
  type StackContext,
  type TemplateResource,
  type TemplateResources,
} from './cloudformation.js';

/*
 * What the guard compares the deployment with: the expected state, written at packaging by
 * resources/guard.cjs from the very resources serverless.yml deploys (the rules event-rules.cjs generates, the
 * e-mail subscriptions of parameters.cjs, the topic, queues, key and policies of alerting.yml and event-rules.cjs, the
 * hub bus and its policy)
 * and from serverless.yml's `functions`, never restated. It keeps the template's own values, references included;
 * the guard resolves them (core/guard/cloudformation.ts) with its account, region and the key's ARN.
 */

const EXPECTED_STATE_SCHEMA = 'rootwatch.expected-state/v1';

/** The resource types the guard checks, and those it only needs the names of (to resolve references). */
const CHECKED_TYPES = [
  'AWS::Events::Rule',
  'AWS::Events::EventBus',
  'AWS::SNS::Subscription',
  'AWS::SNS::Topic',
  'AWS::SNS::TopicPolicy',
  'AWS::SQS::Queue',
  'AWS::SQS::QueuePolicy',
  'AWS::KMS::Key',
] as const;
/** Their names only: `Path` too for roles (an ARN holds it). */
const NAMED_TYPES: Readonly<Record<string, readonly string[]>> = {
  'AWS::IAM::Role': ['RoleName', 'Path'],
  'AWS::DynamoDB::Table': ['TableName'],
  'AWS::KMS::Alias': ['AliasName', 'TargetKeyId'],
};

const TemplateResourceSchema = z.object({
  Type: z.string().check(z.minLength(1)),
  Properties: z.optional(z.record(z.string(), z.unknown())),
});

/** The expected-state document, as packaging writes it into the guard's package. */
const ExpectedStateSchema = z.strictObject({
  schema: z.literal(EXPECTED_STATE_SCHEMA),
  stage: z.string().check(z.minLength(1)),
  /** The resources, by logical id, as the template holds them; the functions as CloudFormation would get them. */
  resources: z.record(z.string(), TemplateResourceSchema),
  /** The values only AWS knows (`AlertTopicKey.Arn`), by `LogicalId.Attribute`: the guard's variable holding each. */
  deployedValues: z.record(z.string(), z.string().check(z.regex(/^[A-Z][A-Z0-9_]*$/))),
});
type ExpectedState = z.infer<typeof ExpectedStateSchema>;

/** A function of serverless.yml's `functions`, as the framework resolved it (only what the guard checks). */
interface FunctionConfig {
  name?: string;
  role?: unknown;
  reservedConcurrency?: number;
  events?: Array<Record<string, unknown>>;
}

interface ExpectedStateInput {
  stage: string;
  /** Every resource of `resources:`, by logical id, as the framework resolved them. */
  resources: Readonly<Record<string, TemplateResource>>;
  /** serverless.yml's functions the guard checks, by key (`alert`, `notifySlack`). */
  functions: Readonly<Record<string, FunctionConfig>>;
  /** The guard's environment variables holding what only AWS knows, by `LogicalId.Attribute`. */
  deployedValues: Readonly<Record<string, string>>;
}

/**
 * The framework's logical id of a function: `notifySlack` → `NotifySlackLambdaFunction`, as osls and Serverless
 * Framework v4 name it (upper-case first letter, `-` → `Dash`, `_` → `Underscore`).
 */
const functionLogicalId = (key: string): string =>
  `${key.charAt(0).toUpperCase()}${key.slice(1).replaceAll('-', 'Dash').replaceAll('_', 'Underscore')}LambdaFunction`;

/** `role: AlertRole` names a role of the template; an ARN or an intrinsic is used as it is. */
const roleOf = (role: unknown): unknown =>
  typeof role === 'string' && !role.startsWith('arn:') ? { 'Fn::GetAtt': [role, 'Arn'] } : role;

/** A function and its SQS event source mappings as CloudFormation resources. */
const functionResources = (key: string, config: FunctionConfig): Record<string, TemplateResource> => {
  if (!config.name) {
    throw new ExpectedStateError(`functions.${key} has no name: the guard finds functions by the name they are given`);
  }
  const logicalId = functionLogicalId(key);
  const resources: Record<string, TemplateResource> = {
    [logicalId]: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        FunctionName: config.name,
        ...(config.role === undefined ? {} : { Role: roleOf(config.role) }),
        ...(config.reservedConcurrency === undefined
          ? {}
          : { ReservedConcurrentExecutions: config.reservedConcurrency }),
      },
    },
  };
  for (const [index, event] of (config.events ?? []).entries()) {
    if (!('sqs' in event)) continue;
    const sqs = event.sqs as string | { arn: unknown; enabled?: boolean };
    const source = typeof sqs === 'string' ? { arn: sqs } : sqs;
    resources[`${logicalId}SqsEventSource${index}`] = {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: { FunctionName: { Ref: logicalId }, EventSourceArn: source.arn, Enabled: source.enabled ?? true },
    };
  }
  return resources;
};

/**
 * The expected-state document for a stage: the checked resources as the template holds them, the names of the
 * ones they refer to, and the functions (with their SQS event source mappings) as CloudFormation would get them.
 *
 * @throws ExpectedStateError when a function has no name, or a KMS key's ARN has no variable in `deployedValues`.
 * @example
 * const document = buildExpectedState({
 *   stage: 'prod',
 *   resources: { RuleRootApiCall0: { Type: 'AWS::Events::Rule', Properties: { Name: 'rootwatch-prod-root-api-call' } } },
 *   functions: { alert: { name: 'rootwatch-prod-alert', role: 'AlertRole' } },
 *   deployedValues: {},
 * });
 * Object.keys(document.resources); // ['RuleRootApiCall0', 'AlertLambdaFunction']
 */
const buildExpectedState = (input: ExpectedStateInput): ExpectedState => {
  const resources: Record<string, TemplateResource> = {};
  for (const [logicalId, resource] of Object.entries(input.resources)) {
    if ((CHECKED_TYPES as readonly string[]).includes(resource.Type)) {
      resources[logicalId] = { Type: resource.Type, Properties: resource.Properties ?? {} };
    } else if (NAMED_TYPES[resource.Type]) {
      const kept = NAMED_TYPES[resource.Type] ?? [];
      resources[logicalId] = {
        Type: resource.Type,
        Properties: Object.fromEntries(
          Object.entries(resource.Properties ?? {}).filter(([property]) => kept.includes(property)),
        ),
      };
    }
  }
  for (const [key, config] of Object.entries(input.functions)) Object.assign(resources, functionResources(key, config));
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (resource.Type === 'AWS::KMS::Key' && !input.deployedValues[`${logicalId}.Arn`]) {
      throw new ExpectedStateError(
        `${logicalId}: a KMS key's ARN is known only once deployed; give the guard a variable for ${logicalId}.Arn`,
      );
    }
  }
  return { schema: EXPECTED_STATE_SCHEMA, stage: input.stage, resources, deployedValues: { ...input.deployedValues } };
};

// ── What the guard expects, resolved ───────────────────────────────────────────────────────────────

/** A target of a rule, as PutTargets takes it (the fields the guard compares). */
interface ExpectedTarget {
  id: string;
  arn: string;
  retryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
  deadLetterArn?: string;
  input?: string;
  inputPath?: string;
  roleArn?: string;
}

interface ExpectedRule {
  logicalId: string;
  name: string;
  /** The event bus the rule is on, by name, when it is not the default bus (the hub bus, rootwatch-<stage>-hub). */
  eventBusName?: string;
  /** ENABLED, DISABLED or ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS (CloudFormation's default: ENABLED). */
  state: string;
  eventPattern?: unknown;
  scheduleExpression?: string;
  targets: ExpectedTarget[];
}

interface ExpectedSubscription {
  logicalId: string;
  topicArn: string;
  protocol: string;
  endpoint: string;
  filterPolicy?: unknown;
  filterPolicyScope?: string;
}

interface ExpectedEventSource {
  eventSourceArn: string;
  enabled: boolean;
}

interface ExpectedFunction {
  logicalId: string;
  name: string;
  role?: string;
  reservedConcurrency?: number;
  eventSources: ExpectedEventSource[];
}

interface ExpectedQueue {
  logicalId: string;
  name: string;
  arn: string;
  /** Its QueuePolicy's document; none: the queue must have no policy. */
  policy?: unknown;
}

interface ExpectedTopic {
  logicalId: string;
  name: string;
  arn: string;
  /** Its TopicPolicy's document; none: SNS's default policy, not compared. */
  policy?: unknown;
  kmsMasterKeyId?: string;
  subscriptions: ExpectedSubscription[];
}

/** An event bus of the stack (the hub bus), with its resource policy. */
interface ExpectedEventBus {
  logicalId: string;
  name: string;
  arn: string;
  /** Its `Policy`; none: the bus must have no resource policy (only its own account may put events on it). */
  policy?: unknown;
}

interface ExpectedKey {
  logicalId: string;
  arn: string;
  enabled: boolean;
  policy?: unknown;
}

/** Everything the guard checks, with every reference resolved for one account and region. */
interface Expectation {
  stage: string;
  rules: ExpectedRule[];
  eventBuses: ExpectedEventBus[];
  functions: ExpectedFunction[];
  queues: ExpectedQueue[];
  topics: ExpectedTopic[];
  keys: ExpectedKey[];
}

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

const textAt = (value: unknown, at: string): string => {
  if (typeof value !== 'string' || value === '') throw new ExpectedStateError(`${at}: expected a string`);
  return value;
};

const optionalText = (value: unknown, at: string): string | undefined =>
  value === undefined ? undefined : textAt(value, at);

/** `{ key: value }` when value is defined, else `{}`. */
const defined = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

/** A pattern or policy may be given as JSON text; the guard compares JSON values. */
const jsonValue = (value: unknown, at: string): unknown => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new ExpectedStateError(`${at}: not JSON`, { cause: error });
  }
};

const targetOf = (raw: unknown, at: string): ExpectedTarget => {
  const target = asRecord(raw);
  const retry = target.RetryPolicy === undefined ? undefined : asRecord(target.RetryPolicy);
  return {
    id: textAt(target.Id, `${at}.Id`),
    arn: textAt(target.Arn, `${at}.Arn`),
    ...defined('retryPolicy', retry as ExpectedTarget['retryPolicy']),
    ...defined('deadLetterArn', optionalText(asRecord(target.DeadLetterConfig).Arn, `${at}.DeadLetterConfig.Arn`)),
    ...defined('input', optionalText(target.Input, `${at}.Input`)),
    ...defined('inputPath', optionalText(target.InputPath, `${at}.InputPath`)),
    ...defined('roleArn', optionalText(target.RoleArn, `${at}.RoleArn`)),
  };
};

/**
 * What the guard expects of the deployment in `context` (its account, region, and the values only AWS knows): the
 * document's resources with every reference resolved, grouped by what the guard reads.
 *
 * @throws ExpectedStateError naming the resource and property that cannot be resolved or has the wrong shape.
 * @example
 * declare const document: ExpectedState;
 * const expectation = expectationOf(document, {
 *   partition: 'aws',
 *   region: 'us-east-1',
 *   accountId: '111122223333',
 *   urlSuffix: 'amazonaws.com',
 *   values: { 'AlertTopicKey.Arn': 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
 * });
 * expectation.rules.map((rule) => rule.name); // ['rootwatch-prod-alerter-tampering-0', …]
 */
const expectationOf = (document: ExpectedState, context: StackContext): Expectation => {
  const resources: TemplateResources = document.resources;
  const resolve = createResolver(resources, context);
  const resolved = Object.entries(resources).map(([logicalId, resource]) => ({
    logicalId,
    type: resource.Type,
    properties: asRecord(resolve(resource.Properties ?? {}, `${logicalId}.Properties`)),
  }));
  const ofType = (type: string) => resolved.filter((resource) => resource.type === type);
  const nameOf = (logicalId: string, property: string) => textAt(resolve({ Ref: logicalId }, logicalId), property);
  const arnOf = (logicalId: string, attribute = 'Arn') =>
    textAt(resolve({ 'Fn::GetAtt': [logicalId, attribute] }, logicalId), attribute);

  const eventBuses = ofType('AWS::Events::EventBus').map(
    ({ logicalId, properties }): ExpectedEventBus => ({
      logicalId,
      name: nameOf(logicalId, 'Name'),
      arn: arnOf(logicalId),
      ...defined(
        'policy',
        properties.Policy === undefined ? undefined : jsonValue(properties.Policy, `${logicalId}.Properties.Policy`),
      ),
    }),
  );
  /** The bus of a rule: the default bus, or one of the stack's own buses in this account and region. */
  const eventBusOf = (value: unknown, at: string): string | undefined => {
    const given = optionalText(value, at);
    const bus = eventBusNameOf(given);
    if (bus === DEFAULT_EVENT_BUS) return undefined;
    const own = eventBuses.find((candidate) => candidate.name === bus);
    if (!own || (given?.startsWith('arn:') && given !== own.arn)) {
      throw new ExpectedStateError(
        `${at}: ${given} is not an event bus of this stack; the guard reads rules on the default bus and on the stack's own buses`,
      );
    }
    return bus;
  };

  const rules = ofType('AWS::Events::Rule').map(({ logicalId, properties }): ExpectedRule => {
    const at = `${logicalId}.Properties`;
    return {
      logicalId,
      name: textAt(properties.Name, `${at}.Name`),
      ...defined('eventBusName', eventBusOf(properties.EventBusName, `${at}.EventBusName`)),
      state: optionalText(properties.State, `${at}.State`) ?? 'ENABLED',
      ...defined(
        'eventPattern',
        properties.EventPattern === undefined ? undefined : jsonValue(properties.EventPattern, `${at}.EventPattern`),
      ),
      ...defined('scheduleExpression', optionalText(properties.ScheduleExpression, `${at}.ScheduleExpression`)),
      targets: (Array.isArray(properties.Targets) ? properties.Targets : []).map((target, index) =>
        targetOf(target, `${at}.Targets[${index}]`),
      ),
    };
  });

  const eventSources = ofType('AWS::Lambda::EventSourceMapping');
  const functions = ofType('AWS::Lambda::Function').map(({ logicalId, properties }): ExpectedFunction => {
    const name = textAt(properties.FunctionName, `${logicalId}.Properties.FunctionName`);
    const concurrency = properties.ReservedConcurrentExecutions;
    return {
      logicalId,
      name,
      ...defined('role', optionalText(properties.Role, `${logicalId}.Properties.Role`)),
      ...defined('reservedConcurrency', typeof concurrency === 'number' ? concurrency : undefined),
      eventSources: eventSources
        .filter((source) => source.properties.FunctionName === name)
        .map((source) => ({
          eventSourceArn: textAt(source.properties.EventSourceArn, `${source.logicalId}.Properties.EventSourceArn`),
          enabled: source.properties.Enabled !== false,
        })),
    };
  });

  const queuePolicies = ofType('AWS::SQS::QueuePolicy');
  const queues = ofType('AWS::SQS::Queue').map(({ logicalId }): ExpectedQueue => {
    const url = nameOf(logicalId, 'QueueUrl');
    const policy = queuePolicies.find((candidate) =>
      (Array.isArray(candidate.properties.Queues) ? candidate.properties.Queues : []).includes(url),
    );
    return {
      logicalId,
      name: arnOf(logicalId, 'QueueName'),
      arn: arnOf(logicalId),
      ...defined(
        'policy',
        policy
          ? jsonValue(policy.properties.PolicyDocument, `${policy.logicalId}.Properties.PolicyDocument`)
          : undefined,
      ),
    };
  });

  const subscriptions = ofType('AWS::SNS::Subscription').map(({ logicalId, properties }): ExpectedSubscription => {
    const at = `${logicalId}.Properties`;
    return {
      logicalId,
      topicArn: textAt(properties.TopicArn, `${at}.TopicArn`),
      protocol: textAt(properties.Protocol, `${at}.Protocol`),
      endpoint: textAt(properties.Endpoint, `${at}.Endpoint`),
      ...defined(
        'filterPolicy',
        properties.FilterPolicy === undefined ? undefined : jsonValue(properties.FilterPolicy, `${at}.FilterPolicy`),
      ),
      ...defined('filterPolicyScope', optionalText(properties.FilterPolicyScope, `${at}.FilterPolicyScope`)),
    };
  });
  const topicPolicies = ofType('AWS::SNS::TopicPolicy');
  const topics = ofType('AWS::SNS::Topic').map(({ logicalId, properties }): ExpectedTopic => {
    const arn = arnOf(logicalId, 'TopicArn');
    const policy = topicPolicies.find((candidate) =>
      (Array.isArray(candidate.properties.Topics) ? candidate.properties.Topics : []).includes(arn),
    );
    return {
      logicalId,
      name: arnOf(logicalId, 'TopicName'),
      arn,
      ...defined(
        'policy',
        policy
          ? jsonValue(policy.properties.PolicyDocument, `${policy.logicalId}.Properties.PolicyDocument`)
          : undefined,
      ),
      ...defined('kmsMasterKeyId', optionalText(properties.KmsMasterKeyId, `${logicalId}.Properties.KmsMasterKeyId`)),
      subscriptions: subscriptions.filter((subscription) => subscription.topicArn === arn),
    };
  });
  const orphan = subscriptions.find((subscription) => !topics.some((topic) => topic.arn === subscription.topicArn));
  if (orphan) throw new ExpectedStateError(`${orphan.logicalId}: its topic is not in the expected state`);

  const keys = ofType('AWS::KMS::Key').map(
    ({ logicalId, properties }): ExpectedKey => ({
      logicalId,
      arn: arnOf(logicalId),
      enabled: properties.Enabled !== false,
      ...defined(
        'policy',
        properties.KeyPolicy === undefined
          ? undefined
          : jsonValue(properties.KeyPolicy, `${logicalId}.Properties.KeyPolicy`),
      ),
    }),
  );

  return { stage: document.stage, rules, eventBuses, functions, queues, topics, keys };
};

/**
 * How the guard's reads key a rule: its name on the default bus, `<bus name>/<rule name>` on another bus (as the rule's
 * ARN ends), so that a rule and its twin of the same name on the hub bus are told apart.
 *
 * @example
 * ruleKeyOf({ name: 'rootwatch-prod-root-api-call' }); // 'rootwatch-prod-root-api-call'
 * ruleKeyOf({ name: 'rootwatch-prod-root-api-call', eventBusName: 'rootwatch-prod-hub' });
 * // 'rootwatch-prod-hub/rootwatch-prod-root-api-call'
 */
const ruleKeyOf = (rule: Pick<ExpectedRule, 'name' | 'eventBusName'>): string =>
  rule.eventBusName === undefined ? rule.name : `${rule.eventBusName}/${rule.name}`;

/**
 * The values only AWS knows, read from the environment by the variable names the document gives.
 *
 * @throws ExpectedStateError naming each variable that is unset or empty.
 * @example
 * declare const document: ExpectedState;
 * deployedValuesOf(document, { ALERTER_KEY_ARN: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd' });
 * // { 'AlertTopicKey.Arn': 'arn:aws:kms:us-east-1:111122223333:key/1234abcd' }
 */
const deployedValuesOf = (
  document: ExpectedState,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> => {
  const missing = Object.values(document.deployedValues).filter((variable) => !env[variable]);
  if (missing.length > 0) throw new ExpectedStateError(`the guard's environment lacks ${missing.join(', ')}`);
  return Object.fromEntries(
    Object.entries(document.deployedValues).map(([attribute, variable]) => [attribute, env[variable] as string]),
  );
};

/**
 * Checks at packaging that the guard will be able to resolve the document: every reference in it, resolved for a
 * sample account and region, names something it can derive.
 *
 * @throws ExpectedStateError naming the first reference that cannot be resolved.
 * @example
 * declare const document: ExpectedState;
 * checkExpectedState(document); // throws when a reference cannot be resolved
 */
const checkExpectedState = (document: ExpectedState): void => {
  const sampleValues = Object.fromEntries(
    Object.keys(document.deployedValues).map((attribute) => [
      attribute,
      `arn:aws:kms:us-east-1:111122223333:key/${attribute.replace(/\W/g, '-')}`,
    ]),
  );
  expectationOf(ExpectedStateSchema.parse(document), {
    partition: 'aws',
    region: 'us-east-1',
    accountId: '111122223333',
    urlSuffix: 'amazonaws.com',
    values: sampleValues,
  });
};

export type {
  Expectation,
  ExpectedEventBus,
  ExpectedEventSource,
  ExpectedFunction,
  ExpectedKey,
  ExpectedQueue,
  ExpectedRule,
  ExpectedState,
  ExpectedSubscription,
  ExpectedTarget,
  ExpectedTopic,
  FunctionConfig,
};
export {
  buildExpectedState,
  checkExpectedState,
  deployedValuesOf,
  ExpectedStateSchema,
  expectationOf,
  functionLogicalId,
  ruleKeyOf,
};
