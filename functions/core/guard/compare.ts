import { isDeepStrictEqual } from 'node:util';
import type { Severity } from '../severity.js';
import {
  type Expectation,
  type ExpectedEventBus,
  type ExpectedFunction,
  type ExpectedKey,
  type ExpectedQueue,
  type ExpectedRule,
  type ExpectedSubscription,
  type ExpectedTarget,
  type ExpectedTopic,
  ruleKeyOf,
} from './expected-state.js';

/*
 * The guard's comparison: what is deployed (as io/deployment.ts reads it) against what rootwatch deployed (the
 * expected state), as a list of drifts, each naming the resource and what differs. Pure: the reads happen before.
 */

/** What a read found: the resource, its absence, or why it could not be read. */
type Observed<T> = { status: 'found'; value: T } | { status: 'missing' } | { status: 'unreadable'; error: string };

/** A rule's target as ListTargetsByRule returns it. */
interface DeployedTarget {
  id: string;
  arn?: string;
  retryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
  deadLetterArn?: string;
  input?: string;
  inputPath?: string;
  roleArn?: string;
}

/** A rule as DescribeRule returns it (the pattern as EventBridge's JSON text), with its targets. */
interface DeployedRule {
  state?: string;
  eventPattern?: string;
  scheduleExpression?: string;
  targets: Observed<DeployedTarget[]>;
}

/** A subscription as ListSubscriptionsByTopic and GetSubscriptionAttributes return it. */
interface DeployedSubscription {
  protocol: string;
  endpoint: string;
  /** ListSubscriptionsByTopic's SubscriptionArn "PendingConfirmation". */
  pendingConfirmation: boolean;
  /** The attributes, read for a confirmed subscription the guard expects. */
  attributes?: Observed<{ filterPolicy?: string; filterPolicyScope?: string }>;
}

/** An SQS event source mapping as ListEventSourceMappings returns it. */
interface DeployedEventSource {
  eventSourceArn: string;
  /** Creating, Enabling, Enabled, Disabling, Disabled, Updating, Deleting. */
  state?: string;
}

/** A function as GetFunctionConfiguration and GetFunctionConcurrency return it, with its event source mappings. */
interface DeployedFunction {
  /** Pending, Active, Inactive, Failed. */
  state?: string;
  role?: string;
  /** Unset: the function draws on the account's unreserved concurrency. */
  reservedConcurrency?: number;
  eventSources: Observed<DeployedEventSource[]>;
}

/** An event bus as DescribeEventBus returns it. */
interface DeployedEventBus {
  /** Its resource policy (JSON text); unset when it has none. */
  policy?: string;
}

interface DeployedQueue {
  /** The Policy attribute (JSON text); unset when the queue has none. */
  policy?: string;
}

interface DeployedTopic {
  policy?: string;
  kmsMasterKeyId?: string;
  subscriptions: Observed<DeployedSubscription[]>;
}

/** A key as DescribeKey and GetKeyPolicy return it. */
interface DeployedKey {
  /** Enabled, Disabled, PendingDeletion, PendingImport, … */
  keyState?: string;
  /** ISO 8601, when deletion is scheduled. */
  deletionDate?: string;
  policy?: Observed<string>;
}

/** What the guard read, by the identifiers it read with. */
interface DeployedState {
  /** By rule name on the default bus, `<bus name>/<rule name>` on another (expected-state.ts, ruleKeyOf). */
  rules: Readonly<Record<string, Observed<DeployedRule>>>;
  /** By bus name. */
  eventBuses: Readonly<Record<string, Observed<DeployedEventBus>>>;
  /** By function name. */
  functions: Readonly<Record<string, Observed<DeployedFunction>>>;
  /** By queue name. */
  queues: Readonly<Record<string, Observed<DeployedQueue>>>;
  /** By topic ARN. */
  topics: Readonly<Record<string, Observed<DeployedTopic>>>;
  /** By key ARN. */
  keys: Readonly<Record<string, Observed<DeployedKey>>>;
}

const DRIFT_RESOURCES = [
  'rule',
  'event bus',
  'function',
  'event source mapping',
  'queue',
  'topic',
  'subscription',
  'key',
  'forwarder',
] as const;
type DriftResource = (typeof DRIFT_RESOURCES)[number];

/** One difference between the deployment and what rootwatch deployed. */
interface Drift {
  resource: DriftResource;
  /**
   * The rule (`<bus name>/<rule name>` on a bus other than the default), event bus, function, queue or topic name; the
   * key's ARN; "email sec@example.com" for a subscription.
   */
  name: string;
  /** What differs: `exists`, `readable`, `State`, `EventPattern`, `Target alert`, `Policy`, … */
  property: string;
  /** What rootwatch deployed and what was found, when a value says it (absent for a missing resource). */
  expected?: unknown;
  actual?: unknown;
  /** One line for people: "rule rootwatch-prod-root-api-call is DISABLED, deployed ENABLED". */
  message: string;
  /** critical: something rootwatch's delivery depends on is gone or changed; high: unreadable; medium: not yet confirmed. */
  severity: Severity;
}

// ── JSON values compared as AWS stores them ────────────────────────────────────────────────────────

const parseJson = (text: string): { ok: true; value: unknown } | { ok: false } => {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
};

/** Key order never matters in JSON objects; array order does (patterns and filter policies keep it). */
const jsonEqual = (a: unknown, b: unknown): boolean => isDeepStrictEqual(a, b);

/**
 * A policy in a canonical form, so that the same grants compare equal however AWS stores them: a single
 * statement or value is the same as a list of one, lists are unordered, `Principal: "*"` is `{ AWS: "*" }`, and
 * `Id` (which a service may add) is left out.
 */
const canonicalPolicy = (policy: unknown): unknown => {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) {
      const items = value.map(canonical);
      if (items.length === 1) return items[0];
      return items.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    }
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(
        Object.entries(value)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([key, item]) => [key, key === 'Principal' && item === '*' ? { AWS: '*' } : canonical(item)]),
      );
    }
    return value;
  };
  const { Version, Statement } = (typeof policy === 'object' && policy !== null ? policy : {}) as Record<
    string,
    unknown
  >;
  return canonical({ Version, Statement: Array.isArray(Statement) ? Statement : [Statement] });
};

// ── One comparison per kind of resource ────────────────────────────────────────────────────────────

const critical = (drift: Omit<Drift, 'severity'>): Drift => ({ ...drift, severity: 'critical' });

/** The drift of a resource that is gone or could not be read; undefined when it was found. */
const absence = <T>(
  observed: Observed<T> | undefined,
  resource: DriftResource,
  name: string,
  what: string,
): Drift | undefined => {
  if (observed === undefined || observed.status === 'missing') {
    return critical({ resource, name, property: 'exists', message: `${what} is missing (deleted?)` });
  }
  if (observed.status === 'unreadable') {
    return {
      resource,
      name,
      property: 'readable',
      actual: observed.error,
      message: `${what} could not be read: ${observed.error}`,
      severity: 'high',
    };
  }
  return undefined;
};

const TARGET_FIELDS = ['arn', 'retryPolicy', 'deadLetterArn', 'input', 'inputPath', 'roleArn'] as const;
const TARGET_FIELD_NAMES: Readonly<Record<(typeof TARGET_FIELDS)[number], string>> = {
  arn: 'Arn',
  retryPolicy: 'RetryPolicy',
  deadLetterArn: 'DeadLetterConfig',
  input: 'Input',
  inputPath: 'InputPath',
  roleArn: 'RoleArn',
};

/** `rule rootwatch-prod-root-api-call`, `rule rootwatch-prod-root-api-call on the bus rootwatch-prod-hub`. */
const ruleLabel = (rule: ExpectedRule): string =>
  rule.eventBusName === undefined ? `rule ${rule.name}` : `rule ${rule.name} on the bus ${rule.eventBusName}`;

const compareTargets = (rule: ExpectedRule, observed: Observed<DeployedTarget[]>): Drift[] => {
  const what = ruleLabel(rule);
  const gone = absence(observed, 'rule', ruleKeyOf(rule), `the targets of ${what}`);
  if (gone || observed.status !== 'found') return gone ? [gone] : [];
  const drifts: Drift[] = [];
  for (const target of rule.targets) {
    const found = observed.value.find((candidate) => candidate.id === target.id);
    const property = `Target ${target.id}`;
    if (!found) {
      drifts.push(
        critical({
          resource: 'rule',
          name: ruleKeyOf(rule),
          property,
          expected: target,
          message: `${what} lost its target ${target.id} (${target.arn})`,
        }),
      );
      continue;
    }
    for (const field of TARGET_FIELDS) {
      const expected = target[field as keyof ExpectedTarget];
      const actual = found[field as keyof DeployedTarget];
      if (!jsonEqual(expected, actual)) {
        drifts.push(
          critical({
            resource: 'rule',
            name: ruleKeyOf(rule),
            property: `${property} ${TARGET_FIELD_NAMES[field]}`,
            expected,
            actual,
            message: `${what}: target ${target.id} has another ${TARGET_FIELD_NAMES[field]} than deployed`,
          }),
        );
      }
    }
  }
  for (const extra of observed.value.filter(
    (candidate) => !rule.targets.some((target) => target.id === candidate.id),
  )) {
    drifts.push(
      critical({
        resource: 'rule',
        name: ruleKeyOf(rule),
        property: `Target ${extra.id}`,
        actual: extra,
        message: `${what} has a target rootwatch did not deploy: ${extra.id} (${extra.arn ?? 'no ARN'})`,
      }),
    );
  }
  return drifts;
};

const compareRule = (rule: ExpectedRule, observed: Observed<DeployedRule> | undefined): Drift[] => {
  const what = ruleLabel(rule);
  const gone = absence(observed, 'rule', ruleKeyOf(rule), what);
  if (gone || observed?.status !== 'found') return gone ? [gone] : [];
  const deployed = observed.value;
  const drifts: Drift[] = [];
  if (deployed.state !== rule.state) {
    drifts.push(
      critical({
        resource: 'rule',
        name: ruleKeyOf(rule),
        property: 'State',
        expected: rule.state,
        actual: deployed.state,
        message: `${what} is ${deployed.state ?? 'in no state'}, deployed ${rule.state}`,
      }),
    );
  }
  if (rule.eventPattern !== undefined || deployed.eventPattern !== undefined) {
    const parsed = deployed.eventPattern === undefined ? undefined : parseJson(deployed.eventPattern);
    const actual = parsed?.ok ? parsed.value : deployed.eventPattern;
    if (!jsonEqual(rule.eventPattern, actual)) {
      drifts.push(
        critical({
          resource: 'rule',
          name: ruleKeyOf(rule),
          property: 'EventPattern',
          expected: rule.eventPattern,
          actual,
          message: `${what} has another event pattern than deployed`,
        }),
      );
    }
  }
  if (rule.scheduleExpression !== deployed.scheduleExpression) {
    drifts.push(
      critical({
        resource: 'rule',
        name: ruleKeyOf(rule),
        property: 'ScheduleExpression',
        expected: rule.scheduleExpression,
        actual: deployed.scheduleExpression,
        message: `${what} runs on ${deployed.scheduleExpression ?? 'no schedule'}, deployed ${rule.scheduleExpression ?? 'none'}`,
      }),
    );
  }
  return [...drifts, ...compareTargets(rule, deployed.targets)];
};

/** Event source mappings on their way to enabled, or there. */
const ENABLED_MAPPING_STATES = new Set(['Creating', 'Enabling', 'Enabled', 'Updating']);

const compareFunction = (fn: ExpectedFunction, observed: Observed<DeployedFunction> | undefined): Drift[] => {
  const what = `function ${fn.name}`;
  const gone = absence(observed, 'function', fn.name, what);
  if (gone || observed?.status !== 'found') return gone ? [gone] : [];
  const deployed = observed.value;
  const drifts: Drift[] = [];
  if (deployed.state !== 'Active') {
    drifts.push(
      critical({
        resource: 'function',
        name: fn.name,
        property: 'State',
        expected: 'Active',
        actual: deployed.state,
        message: `${what} is ${deployed.state ?? 'in no state'}, not Active`,
      }),
    );
  }
  if (fn.reservedConcurrency !== deployed.reservedConcurrency) {
    const actual = deployed.reservedConcurrency;
    drifts.push(
      critical({
        resource: 'function',
        name: fn.name,
        property: 'ReservedConcurrency',
        expected: fn.reservedConcurrency,
        actual,
        message:
          actual === 0
            ? `${what} has a reserved concurrency of 0: it cannot run at all`
            : `${what} has a reserved concurrency of ${actual ?? 'none'}, deployed ${fn.reservedConcurrency ?? 'none'}`,
      }),
    );
  }
  if (fn.role !== undefined && fn.role !== deployed.role) {
    drifts.push(
      critical({
        resource: 'function',
        name: fn.name,
        property: 'Role',
        expected: fn.role,
        actual: deployed.role,
        message: `${what} runs with another role than deployed`,
      }),
    );
  }
  if (fn.eventSources.length === 0) return drifts;
  const mappingName = `${fn.name} ← ${fn.eventSources.map((source) => source.eventSourceArn.split(':').at(-1)).join(', ')}`;
  const sourcesGone = absence(
    deployed.eventSources,
    'event source mapping',
    mappingName,
    `the event sources of ${what}`,
  );
  if (sourcesGone || deployed.eventSources.status !== 'found') return sourcesGone ? [...drifts, sourcesGone] : drifts;
  const mappings = deployed.eventSources.value;
  for (const source of fn.eventSources) {
    const queue = source.eventSourceArn.split(':').at(-1) ?? source.eventSourceArn;
    const name = `${fn.name} ← ${queue}`;
    const found = mappings.filter((mapping) => mapping.eventSourceArn === source.eventSourceArn);
    if (found.length === 0) {
      drifts.push(
        critical({
          resource: 'event source mapping',
          name,
          property: 'exists',
          message: `${what} no longer reads ${queue} (its event source mapping is missing)`,
        }),
      );
      continue;
    }
    const enabled = found.some((mapping) => ENABLED_MAPPING_STATES.has(mapping.state ?? ''));
    if (enabled !== source.enabled) {
      drifts.push(
        critical({
          resource: 'event source mapping',
          name,
          property: 'State',
          expected: source.enabled ? 'Enabled' : 'Disabled',
          actual: found.map((mapping) => mapping.state).join(', '),
          message: `the event source mapping of ${what} from ${queue} is ${found.map((mapping) => mapping.state).join(', ')}, deployed ${source.enabled ? 'Enabled' : 'Disabled'}`,
        }),
      );
    }
  }
  return drifts;
};

/** The drift of a resource policy: different from the one deployed, or present where none was. */
const comparePolicy = (
  resource: DriftResource,
  name: string,
  what: string,
  expected: unknown,
  actualText: string | undefined,
): Drift[] => {
  if (expected === undefined && (actualText === undefined || actualText === '')) return [];
  const parsed = actualText === undefined || actualText === '' ? undefined : parseJson(actualText);
  const actual = parsed?.ok ? parsed.value : actualText;
  if (expected !== undefined && actual !== undefined && jsonEqual(canonicalPolicy(expected), canonicalPolicy(actual))) {
    return [];
  }
  const message =
    expected === undefined
      ? `${what} has a policy rootwatch did not deploy`
      : actual === undefined
        ? `${what} lost its policy`
        : `${what} has another policy than deployed`;
  return [critical({ resource, name, property: 'Policy', expected, actual, message })];
};

/**
 * An event bus: there, and with the policy deployed (none when none was): a statement added by hand, say one letting
 * every account put events on the hub bus, is a drift.
 */
const compareEventBus = (bus: ExpectedEventBus, observed: Observed<DeployedEventBus> | undefined): Drift[] => {
  const what = `event bus ${bus.name}`;
  const gone = absence(observed, 'event bus', bus.name, what);
  if (gone || observed?.status !== 'found') return gone ? [gone] : [];
  return comparePolicy('event bus', bus.name, what, bus.policy, observed.value.policy);
};

const compareQueue = (queue: ExpectedQueue, observed: Observed<DeployedQueue> | undefined): Drift[] => {
  const what = `queue ${queue.name}`;
  const gone = absence(observed, 'queue', queue.name, what);
  if (gone || observed?.status !== 'found') return gone ? [gone] : [];
  return comparePolicy('queue', queue.name, what, queue.policy, observed.value.policy);
};

const subscriptionName = (subscription: ExpectedSubscription): string =>
  `${subscription.protocol} ${subscription.endpoint}`;

const compareSubscription = (
  subscription: ExpectedSubscription,
  topicName: string,
  deployed: readonly DeployedSubscription[],
): Drift[] => {
  const name = subscriptionName(subscription);
  const what = `the ${name} subscription to ${topicName}`;
  const found = deployed.filter(
    (candidate) => candidate.protocol === subscription.protocol && candidate.endpoint === subscription.endpoint,
  );
  if (found.length === 0) {
    return [critical({ resource: 'subscription', name, property: 'exists', message: `${what} is missing (deleted?)` })];
  }
  const confirmed = found.find((candidate) => !candidate.pendingConfirmation);
  if (!confirmed) {
    return [
      {
        resource: 'subscription',
        name,
        property: 'PendingConfirmation',
        expected: false,
        actual: true,
        message: `${what} is pending confirmation: it receives nothing until the link SNS sent is followed`,
        severity: 'medium',
      },
    ];
  }
  const attributes = confirmed.attributes;
  if (attributes === undefined) return [];
  const gone = absence(attributes, 'subscription', name, `the attributes of ${what}`);
  if (gone || attributes.status !== 'found') return gone ? [gone] : [];
  const { filterPolicy, filterPolicyScope } = attributes.value;
  const parsed = filterPolicy === undefined || filterPolicy === '' ? undefined : parseJson(filterPolicy);
  const actual = parsed?.ok ? parsed.value : filterPolicy || undefined;
  const drifts: Drift[] = [];
  if (!jsonEqual(subscription.filterPolicy, actual)) {
    drifts.push(
      critical({
        resource: 'subscription',
        name,
        property: 'FilterPolicy',
        expected: subscription.filterPolicy,
        actual,
        message:
          subscription.filterPolicy === undefined
            ? `${what} has a filter policy rootwatch did not deploy: it may drop alerts`
            : `${what} has another filter policy than deployed`,
      }),
    );
  }
  // SNS reports MessageAttributes, its default, once a filter policy is set.
  const scope =
    subscription.filterPolicy === undefined ? undefined : (subscription.filterPolicyScope ?? 'MessageAttributes');
  if (scope !== undefined && filterPolicyScope !== undefined && scope !== filterPolicyScope) {
    drifts.push(
      critical({
        resource: 'subscription',
        name,
        property: 'FilterPolicyScope',
        expected: scope,
        actual: filterPolicyScope,
        message: `${what} filters on ${filterPolicyScope}, deployed ${scope}`,
      }),
    );
  }
  return drifts;
};

const compareTopic = (topic: ExpectedTopic, observed: Observed<DeployedTopic> | undefined): Drift[] => {
  const what = `topic ${topic.name}`;
  const gone = absence(observed, 'topic', topic.name, what);
  if (gone || observed?.status !== 'found') {
    // Without its topic, no subscription is there either: one drift says it.
    return gone ? [gone] : [];
  }
  const deployed = observed.value;
  const drifts: Drift[] = [];
  // A topic without a TopicPolicy has SNS's default policy, which is not ours to compare.
  if (topic.policy !== undefined)
    drifts.push(...comparePolicy('topic', topic.name, what, topic.policy, deployed.policy));
  if (topic.kmsMasterKeyId !== undefined && topic.kmsMasterKeyId !== deployed.kmsMasterKeyId) {
    drifts.push(
      critical({
        resource: 'topic',
        name: topic.name,
        property: 'KmsMasterKeyId',
        expected: topic.kmsMasterKeyId,
        actual: deployed.kmsMasterKeyId,
        message: `${what} is encrypted with ${deployed.kmsMasterKeyId ? 'another key' : 'no key'}, not the one deployed`,
      }),
    );
  }
  if (topic.subscriptions.length === 0) return drifts;
  const subscriptionsGone = absence(deployed.subscriptions, 'topic', topic.name, `the subscriptions of ${what}`);
  if (subscriptionsGone || deployed.subscriptions.status !== 'found') {
    return subscriptionsGone ? [...drifts, subscriptionsGone] : drifts;
  }
  const subscriptions = deployed.subscriptions.value;
  return [
    ...drifts,
    ...topic.subscriptions.flatMap((subscription) => compareSubscription(subscription, topic.name, subscriptions)),
  ];
};

const compareKey = (key: ExpectedKey, observed: Observed<DeployedKey> | undefined): Drift[] => {
  const what = `KMS key ${key.arn}`;
  const gone = absence(observed, 'key', key.arn, what);
  if (gone || observed?.status !== 'found') return gone ? [gone] : [];
  const deployed = observed.value;
  const drifts: Drift[] = [];
  const expectedState = key.enabled ? 'Enabled' : 'Disabled';
  if (deployed.keyState !== expectedState) {
    drifts.push(
      critical({
        resource: 'key',
        name: key.arn,
        property: 'KeyState',
        expected: expectedState,
        actual: deployed.keyState,
        message:
          deployed.keyState === 'PendingDeletion'
            ? `${what} is scheduled for deletion${deployed.deletionDate ? ` on ${deployed.deletionDate}` : ''}: cancel it (aws kms cancel-key-deletion)`
            : `${what} is ${deployed.keyState ?? 'in no state'}, deployed ${expectedState}`,
      }),
    );
  }
  if (key.policy !== undefined && deployed.policy !== undefined) {
    const gonePolicy = absence(deployed.policy, 'key', key.arn, `the policy of ${what}`);
    if (gonePolicy) drifts.push(gonePolicy);
    else if (deployed.policy.status === 'found') {
      drifts.push(...comparePolicy('key', key.arn, what, key.policy, deployed.policy.value));
    }
  }
  return drifts;
};

/**
 * The drifts of a deployment from what rootwatch deployed: every rule, on the default bus or the hub bus (exists,
 * state, pattern, schedule, each target with its retry policy and dead-letter queue, no other target), event bus
 * (exists, its resource policy and no other), function (exists, Active, reserved
 * concurrency, role, SQS event source mappings enabled), queue and topic (exists, policy; the topic's key and
 * subscriptions: present, confirmed, same filter policy) and KMS key (exists, enabled and not pending deletion,
 * policy). Patterns, filter policies and policies compare as JSON values (policies whatever the order of their
 * statements and lists). None when the deployment is as deployed.
 *
 * @example
 * import type { Expectation } from './expected-state.js';
 *
 * declare const expectation: Expectation;
 * declare const deployed: DeployedState;
 * for (const drift of compareDeployment(expectation, deployed)) console.log(drift.message);
 * // rule rootwatch-prod-alerter-tampering-0 is DISABLED, deployed ENABLED
 */
const compareDeployment = (expectation: Expectation, deployed: DeployedState): Drift[] => [
  ...expectation.rules.flatMap((rule) => compareRule(rule, deployed.rules[ruleKeyOf(rule)])),
  ...expectation.eventBuses.flatMap((bus) => compareEventBus(bus, deployed.eventBuses[bus.name])),
  ...expectation.functions.flatMap((fn) => compareFunction(fn, deployed.functions[fn.name])),
  ...expectation.queues.flatMap((queue) => compareQueue(queue, deployed.queues[queue.name])),
  ...expectation.topics.flatMap((topic) => compareTopic(topic, deployed.topics[topic.arn])),
  ...expectation.keys.flatMap((key) => compareKey(key, deployed.keys[key.arn])),
];

export type {
  DeployedEventBus,
  DeployedEventSource,
  DeployedFunction,
  DeployedKey,
  DeployedQueue,
  DeployedRule,
  DeployedState,
  DeployedSubscription,
  DeployedTarget,
  DeployedTopic,
  Drift,
  Observed,
};
export { canonicalPolicy, compareDeployment };
