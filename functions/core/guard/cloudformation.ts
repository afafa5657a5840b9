import { ExpectedStateError } from '../../errors.js';

/*
 * CloudFormation references, resolved the way CloudFormation resolves them at deployment, for the guard: the
 * expected state (core/guard/expected-state.ts) keeps the template's own values (`!Ref AlertTopic`,
 * `!GetAtt SlackQueue.Arn`, `!Sub arn:${AWS::Partition}:…`), and the guard turns them into the ARNs, URLs and names it
 * reads back from AWS. Every physical id rootwatch deploys is derived from a name the template sets, so only the
 * pseudo parameters (from the guard's own ARN) and what AWS makes up (the KMS key's id) are needed from outside.
 * Anything else is refused with an ExpectedStateError naming where it was found, so packaging fails rather than
 * the guard.
 *
 * Return values by resource type: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sqs-queue.html#aws-resource-sqs-queue-return-values
 * (and the same section of each type's page); intrinsic functions: .../intrinsic-function-reference.html
 */

/** A resource as the template holds it (only Type and Properties matter here). */
interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

/** Resources by logical id. */
type TemplateResources = Readonly<Record<string, TemplateResource>>;

/** Where the stack runs, and the values AWS made up at deployment, by `LogicalId.Attribute`. */
interface StackContext {
  partition: string;
  region: string;
  accountId: string;
  /** `amazonaws.com`, `amazonaws.com.cn` in China. */
  urlSuffix: string;
  /** Attribute values no name gives (`AlertTopicKey.Arn`); a key's id is read off its ARN. */
  values: Readonly<Record<string, string>>;
}

/** How each type rootwatch deploys is named, and what Ref and Fn::GetAtt return for it. */
interface PhysicalNaming {
  /** The property holding the resource's name. */
  nameProperty?: string;
  ref?: (name: string, resource: ResolvedNames) => string;
  attributes: Record<string, (name: string, resource: ResolvedNames) => string>;
}

/** What a naming function is given besides the name. */
interface ResolvedNames {
  context: StackContext;
  /** The resource's resolved `Path` (IAM roles). */
  path: string;
  /** The resource's logical id, for values given in the context. */
  logicalId: string;
  /** A rule's event bus, by name (`default` unless its EventBusName names another, by name or ARN). */
  eventBus: string;
}

const arn = ({ context }: ResolvedNames, service: string, resource: string, regional = true): string =>
  `arn:${context.partition}:${service}:${regional ? context.region : ''}:${context.accountId}:${resource}`;

/** A value the context must give (what AWS makes up); throws an ExpectedStateError when it does not. */
const given = (names: ResolvedNames, attribute: string): string => {
  const value = names.context.values[`${names.logicalId}.${attribute}`];
  if (value === undefined) {
    throw new ExpectedStateError(`${names.logicalId}.${attribute} is only known once deployed and was not given`);
  }
  return value;
};

/** The bus a rule without EventBusName is on. */
const DEFAULT_EVENT_BUS = 'default';

/**
 * The name of the event bus an EventBusName gives, by name or ARN: `arn:aws:events:us-east-1:111122223333:event-bus/
 * rootwatch-prod-hub` → `rootwatch-prod-hub`; `default` for none.
 *
 * @example
 * eventBusNameOf(undefined); // 'default'
 * eventBusNameOf('arn:aws:events:us-east-1:111122223333:event-bus/rootwatch-prod-hub'); // 'rootwatch-prod-hub'
 */
const eventBusNameOf = (nameOrArn: string | undefined): string => {
  if (nameOrArn === undefined || nameOrArn === '') return DEFAULT_EVENT_BUS;
  const marker = ':event-bus/';
  return nameOrArn.startsWith('arn:') && nameOrArn.includes(marker)
    ? nameOrArn.slice(nameOrArn.indexOf(marker) + marker.length)
    : nameOrArn;
};

const NAMING: Readonly<Record<string, PhysicalNaming>> = {
  'AWS::SQS::Queue': {
    nameProperty: 'QueueName',
    ref: (name, names) =>
      `https://sqs.${names.context.region}.${names.context.urlSuffix}/${names.context.accountId}/${name}`,
    attributes: {
      Arn: (name, names) => arn(names, 'sqs', name),
      QueueName: (name) => name,
      QueueUrl: (name, names) =>
        `https://sqs.${names.context.region}.${names.context.urlSuffix}/${names.context.accountId}/${name}`,
    },
  },
  'AWS::SNS::Topic': {
    nameProperty: 'TopicName',
    ref: (name, names) => arn(names, 'sns', name),
    attributes: { TopicArn: (name, names) => arn(names, 'sns', name), TopicName: (name) => name },
  },
  'AWS::Lambda::Function': {
    nameProperty: 'FunctionName',
    ref: (name) => name,
    attributes: { Arn: (name, names) => arn(names, 'lambda', `function:${name}`) },
  },
  'AWS::IAM::Role': {
    nameProperty: 'RoleName',
    ref: (name) => name,
    attributes: { Arn: (name, names) => arn(names, 'iam', `role${names.path}${name}`, false) },
  },
  // A rule on the default bus is rule/<name>; on another bus, rule/<bus name>/<name>.
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html (rule-on-custom-bus)
  'AWS::Events::Rule': {
    nameProperty: 'Name',
    attributes: {
      Arn: (name, names) =>
        arn(names, 'events', names.eventBus === DEFAULT_EVENT_BUS ? `rule/${name}` : `rule/${names.eventBus}/${name}`),
    },
  },
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-events-eventbus.html#aws-resource-events-eventbus-return-values
  'AWS::Events::EventBus': {
    nameProperty: 'Name',
    ref: (name) => name,
    attributes: { Arn: (name, names) => arn(names, 'events', `event-bus/${name}`), Name: (name) => name },
  },
  'AWS::DynamoDB::Table': {
    nameProperty: 'TableName',
    ref: (name) => name,
    attributes: { Arn: (name, names) => arn(names, 'dynamodb', `table/${name}`) },
  },
  'AWS::KMS::Key': {
    ref: (_, names) => keyIdOf(given(names, 'Arn')),
    attributes: { Arn: (_, names) => given(names, 'Arn'), KeyId: (_, names) => keyIdOf(given(names, 'Arn')) },
  },
  'AWS::KMS::Alias': { nameProperty: 'AliasName', ref: (name) => name, attributes: {} },
};

/** `arn:aws:kms:us-east-1:111122223333:key/1234abcd-…` → `1234abcd-…`. */
const keyIdOf = (keyArn: string): string => keyArn.slice(keyArn.lastIndexOf('/') + 1);

/** References resolve into references (a role's name is a `!Sub`); deeper than this is a cycle. */
const MAX_DEPTH = 8;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const pseudoParameter = (name: string, context: StackContext): string | undefined =>
  ({
    'AWS::Partition': context.partition,
    'AWS::Region': context.region,
    'AWS::AccountId': context.accountId,
    'AWS::URLSuffix': context.urlSuffix,
  })[name];

/**
 * Resolves the references in template values. One instance per stack context; names are resolved once each.
 */
const createResolver = (resources: TemplateResources, context: StackContext) => {
  const physical = (
    logicalId: string,
    at: string,
    depth: number,
  ): { naming: PhysicalNaming; names: ResolvedNames; name: string } => {
    const resource = resources[logicalId];
    if (!resource) throw new ExpectedStateError(`${at}: no resource ${logicalId} in the expected state`);
    const naming = NAMING[resource.Type];
    if (!naming)
      throw new ExpectedStateError(`${at}: cannot tell the physical id of a ${resource.Type} (${logicalId})`);
    const text = (property: string, fallback?: string): string => {
      const raw = resource.Properties?.[property];
      if (raw === undefined && fallback !== undefined) return fallback;
      const value = resolve(raw, `${logicalId}.Properties.${property}`, depth + 1);
      if (typeof value !== 'string' || value === '') {
        throw new ExpectedStateError(
          `${at}: ${logicalId} has no ${property}, so its physical id is CloudFormation's choice`,
        );
      }
      return value;
    };
    const name = naming.nameProperty ? text(naming.nameProperty) : '';
    const path = resource.Type === 'AWS::IAM::Role' ? text('Path', '/') : '/';
    const eventBus =
      resource.Type === 'AWS::Events::Rule'
        ? eventBusNameOf(text('EventBusName', DEFAULT_EVENT_BUS))
        : DEFAULT_EVENT_BUS;
    return { naming, name, names: { context, path, logicalId, eventBus } };
  };

  const ref = (target: unknown, at: string, depth: number): string => {
    if (typeof target !== 'string') throw new ExpectedStateError(`${at}: Ref takes a name`);
    const pseudo = pseudoParameter(target, context);
    if (pseudo !== undefined) return pseudo;
    if (target.startsWith('AWS::'))
      throw new ExpectedStateError(`${at}: the pseudo parameter ${target} is not supported`);
    const { naming, names, name } = physical(target, at, depth);
    if (!naming.ref) throw new ExpectedStateError(`${at}: Ref of ${target} is not supported; use Fn::GetAtt`);
    return naming.ref(name, names);
  };

  const getAtt = (target: unknown, at: string, depth: number): string => {
    const [logicalId, attribute] = typeof target === 'string' ? target.split(/\.(.*)/s) : (target as unknown[]);
    if (typeof logicalId !== 'string' || typeof attribute !== 'string') {
      throw new ExpectedStateError(`${at}: Fn::GetAtt takes [LogicalId, Attribute]`);
    }
    const { naming, names, name } = physical(logicalId, at, depth);
    const attributeOf = naming.attributes[attribute];
    if (!attributeOf) throw new ExpectedStateError(`${at}: Fn::GetAtt ${logicalId}.${attribute} is not supported`);
    return attributeOf(name, names);
  };

  const sub = (argument: unknown, at: string, depth: number): string => {
    const [text, variables = {}] = Array.isArray(argument) ? argument : [argument];
    if (typeof text !== 'string' || !isObject(variables)) {
      throw new ExpectedStateError(`${at}: Fn::Sub takes a string, or [string, { name: value }]`);
    }
    // ${!Literal} stands for the text ${Literal}.
    return text.replace(/\$\{(!?)([^}]*)\}/g, (_, literal: string, name: string) => {
      if (literal) return `\${${name}}`;
      if (name in variables) return String(resolve(variables[name], `${at}.${name}`, depth + 1));
      return name.includes('.') && !name.startsWith('AWS::') ? getAtt(name, at, depth) : ref(name, at, depth);
    });
  };

  const join = (argument: unknown, at: string, depth: number): string => {
    const [delimiter, items] = Array.isArray(argument) ? argument : [];
    const values = resolve(items, at, depth + 1);
    if (typeof delimiter !== 'string' || !Array.isArray(values)) {
      throw new ExpectedStateError(`${at}: Fn::Join takes [delimiter, [values]]`);
    }
    return values.map(String).join(delimiter);
  };

  const INTRINSICS: Readonly<Record<string, (argument: unknown, at: string, depth: number) => unknown>> = {
    Ref: ref,
    'Fn::GetAtt': getAtt,
    'Fn::Sub': sub,
    'Fn::Join': join,
  };

  const resolve = (value: unknown, at: string, depth = 0): unknown => {
    if (depth > MAX_DEPTH) throw new ExpectedStateError(`${at}: references nest too deep (a cycle?)`);
    if (Array.isArray(value)) return value.map((item, index) => resolve(item, `${at}[${index}]`, depth));
    if (!isObject(value)) return value;
    const keys = Object.keys(value);
    const only = keys.length === 1 ? keys[0] : undefined;
    if (only !== undefined && (only === 'Ref' || only.startsWith('Fn::'))) {
      const intrinsic = INTRINSICS[only];
      if (!intrinsic) throw new ExpectedStateError(`${at}: ${only} is not supported`);
      return intrinsic(value[only], at, depth);
    }
    return Object.fromEntries(keys.map((key) => [key, resolve(value[key], `${at}.${key}`, depth)]));
  };

  return (value: unknown, at: string): unknown => resolve(value, at);
};

/**
 * `value` with every CloudFormation reference in it (Ref, Fn::GetAtt, Fn::Sub, Fn::Join) replaced by what
 * CloudFormation gives it in `context`: queue URLs and ARNs, topic, function, role, rule and table ARNs from the
 * names the template sets, the pseudo parameters, and the values only AWS knows (`context.values`).
 *
 * @throws ExpectedStateError naming `at` and the reference when it names a resource not in `resources`, one whose
 *   name CloudFormation would choose, or an intrinsic or attribute this does not support.
 * @example
 * const context = { partition: 'aws', region: 'us-east-1', accountId: '111122223333', urlSuffix: 'amazonaws.com', values: {} };
 * const resources = { SlackQueue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'rootwatch-prod-slack' } } };
 * resolveTemplateValue({ 'Fn::GetAtt': ['SlackQueue', 'Arn'] }, resources, context, 'Targets[0].Arn');
 * // 'arn:aws:sqs:us-east-1:111122223333:rootwatch-prod-slack'
 */
const resolveTemplateValue = (
  value: unknown,
  resources: TemplateResources,
  context: StackContext,
  at: string,
): unknown => createResolver(resources, context)(value, at);

export type { StackContext, TemplateResource, TemplateResources };
export { createResolver, DEFAULT_EVENT_BUS, eventBusNameOf, resolveTemplateValue };
