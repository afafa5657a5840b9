import type { EventBridgeClient, Target } from '@aws-sdk/client-eventbridge';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { mapLimit } from '../core/concurrency.js';
import type {
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
  Observed,
} from '../core/guard/compare.js';
import {
  type Expectation,
  type ExpectedEventBus,
  type ExpectedFunction,
  type ExpectedRule,
  type ExpectedTopic,
  ruleKeyOf,
} from '../core/guard/expected-state.js';
import { toError } from '../errors.js';
import { sdk } from './aws-clients.js';

/** The SDK packages, each imported on first use rather than at module load (io/aws-clients.ts, "Loading"). */

/*
 * The guard's reads: what is deployed, for exactly the resources the expectation names, with read-only calls
 * (Describe, Get, List) that resources/iam.yml grants the guard on rootwatch's own resources. A resource that is
 * gone is `missing`; any other failure (denied, throttled past the SDK's retries) is `unreadable` with its error,
 * so one failing read never hides what the others found.
 *   EventBridge: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DescribeRule.html, API_ListTargetsByRule.html
 *     (both take EventBusName for a rule on another bus than the default), API_DescribeEventBus.html (its Policy)
 *   Lambda: https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionConfiguration.html, API_GetFunctionConcurrency.html,
 *     API_ListEventSourceMappings.html
 *   SNS: https://docs.aws.amazon.com/sns/latest/api/API_GetTopicAttributes.html, API_ListSubscriptionsByTopic.html,
 *     API_GetSubscriptionAttributes.html
 *   SQS: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueUrl.html, API_GetQueueAttributes.html
 *   KMS: https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html, API_GetKeyPolicy.html
 */

/** The clients the reads go through (their region is the stack's). */
interface DeploymentClients {
  events: EventBridgeClient;
  lambda: LambdaClient;
  sns: SNSClient;
  sqs: SQSClient;
  kms: KMSClient;
}

/** Reads at most this many resources at once: the control-plane APIs have low request quotas. */
const CONCURRENCY = 4;
/** An error's text in a drift, cut here: it reaches e-mail and Slack. */
const MAX_ERROR_LENGTH = 200;

/** Each service's name for "no such resource" (SQS: both its JSON and its older query protocol names). */
const NOT_FOUND = new Set([
  'ResourceNotFoundException',
  'NotFoundException',
  'NotFound',
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
]);

/** `read()` as an observation: found, missing (the service says there is no such resource) or unreadable. */
const observe = async <T>(read: () => Promise<T>): Promise<Observed<T>> => {
  try {
    return { status: 'found', value: await read() };
  } catch (raw) {
    const error = toError(raw);
    if (NOT_FOUND.has(error.name)) return { status: 'missing' };
    const text = `${error.name}: ${error.message}`;
    return {
      status: 'unreadable',
      error: text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text,
    };
  }
};

const targetOf = (target: Target): DeployedTarget => ({
  id: target.Id ?? '',
  ...(target.Arn === undefined ? {} : { arn: target.Arn }),
  ...(target.RetryPolicy === undefined
    ? {}
    : {
        retryPolicy: {
          ...(target.RetryPolicy.MaximumRetryAttempts === undefined
            ? {}
            : { MaximumRetryAttempts: target.RetryPolicy.MaximumRetryAttempts }),
          ...(target.RetryPolicy.MaximumEventAgeInSeconds === undefined
            ? {}
            : { MaximumEventAgeInSeconds: target.RetryPolicy.MaximumEventAgeInSeconds }),
        },
      }),
  ...(target.DeadLetterConfig?.Arn === undefined ? {} : { deadLetterArn: target.DeadLetterConfig.Arn }),
  ...(target.Input === undefined ? {} : { input: target.Input }),
  ...(target.InputPath === undefined ? {} : { inputPath: target.InputPath }),
  ...(target.RoleArn === undefined ? {} : { roleArn: target.RoleArn }),
});

const readRule = async (clients: DeploymentClients, rule: ExpectedRule): Promise<Observed<DeployedRule>> =>
  observe(async () => {
    // No EventBusName for a rule on the default bus, which the APIs assume.
    const bus = rule.eventBusName === undefined ? {} : { EventBusName: rule.eventBusName };
    const described = await clients.events.send(
      new (await sdk.eventbridge()).DescribeRuleCommand({ Name: rule.name, ...bus }),
    );
    const targets = await observe(async () => {
      const all: DeployedTarget[] = [];
      let token: string | undefined;
      do {
        const page = await clients.events.send(
          new (await sdk.eventbridge()).ListTargetsByRuleCommand({ Rule: rule.name, ...bus, NextToken: token }),
        );
        all.push(...(page.Targets ?? []).map(targetOf));
        token = page.NextToken;
      } while (token);
      return all;
    });
    return {
      ...(described.State === undefined ? {} : { state: described.State }),
      ...(described.EventPattern === undefined ? {} : { eventPattern: described.EventPattern }),
      ...(described.ScheduleExpression === undefined ? {} : { scheduleExpression: described.ScheduleExpression }),
      targets,
    };
  });

/** DescribeEventBus answers a bus's policy as JSON text, or none when it has none. */
const readEventBus = async (clients: DeploymentClients, bus: ExpectedEventBus): Promise<Observed<DeployedEventBus>> =>
  observe(async () => {
    const { Policy } = await clients.events.send(
      new (await sdk.eventbridge()).DescribeEventBusCommand({ Name: bus.name }),
    );
    return Policy ? { policy: Policy } : {};
  });

const readFunction = async (clients: DeploymentClients, fn: ExpectedFunction): Promise<Observed<DeployedFunction>> =>
  observe(async () => {
    const configuration = await clients.lambda.send(
      new (await sdk.lambda()).GetFunctionConfigurationCommand({ FunctionName: fn.name }),
    );
    const concurrency = await clients.lambda.send(
      new (await sdk.lambda()).GetFunctionConcurrencyCommand({ FunctionName: fn.name }),
    );
    const eventSources = await observe(async () => {
      const all: DeployedEventSource[] = [];
      if (fn.eventSources.length === 0) return all;
      let marker: string | undefined;
      do {
        const page = await clients.lambda.send(
          new (await sdk.lambda()).ListEventSourceMappingsCommand({ FunctionName: fn.name, Marker: marker }),
        );
        for (const mapping of page.EventSourceMappings ?? []) {
          if (mapping.EventSourceArn) {
            all.push({
              eventSourceArn: mapping.EventSourceArn,
              ...(mapping.State === undefined ? {} : { state: mapping.State }),
            });
          }
        }
        marker = page.NextMarker;
      } while (marker);
      return all;
    });
    return {
      ...(configuration.State === undefined ? {} : { state: configuration.State }),
      ...(configuration.Role === undefined ? {} : { role: configuration.Role }),
      ...(concurrency.ReservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrency: concurrency.ReservedConcurrentExecutions }),
      eventSources,
    };
  });

/** By name: GetQueueUrl says whether it exists, and gives the URL the queue answers at (a local server's too). */
const readQueue = async (clients: DeploymentClients, name: string): Promise<Observed<DeployedQueue>> =>
  observe(async () => {
    const { QueueUrl } = await clients.sqs.send(new (await sdk.sqs()).GetQueueUrlCommand({ QueueName: name }));
    const { Attributes } = await clients.sqs.send(
      new (await sdk.sqs()).GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['Policy'] }),
    );
    return Attributes?.Policy ? { policy: Attributes.Policy } : {};
  });

const readSubscriptions = async (
  clients: DeploymentClients,
  topic: ExpectedTopic,
): Promise<Observed<DeployedSubscription[]>> =>
  observe(async () => {
    const all: DeployedSubscription[] = [];
    let token: string | undefined;
    do {
      const page = await clients.sns.send(
        new (await sdk.sns()).ListSubscriptionsByTopicCommand({ TopicArn: topic.arn, NextToken: token }),
      );
      for (const subscription of page.Subscriptions ?? []) {
        const protocol = subscription.Protocol ?? '';
        const endpoint = subscription.Endpoint ?? '';
        const pendingConfirmation = subscription.SubscriptionArn === 'PendingConfirmation';
        const expected = topic.subscriptions.some(
          (candidate) => candidate.protocol === protocol && candidate.endpoint === endpoint,
        );
        // Only the subscriptions rootwatch deployed: a SIEM's are its team's to configure.
        const attributes =
          expected && !pendingConfirmation && subscription.SubscriptionArn
            ? await observe(async () => {
                const { Attributes = {} } = await clients.sns.send(
                  new (await sdk.sns()).GetSubscriptionAttributesCommand({
                    SubscriptionArn: subscription.SubscriptionArn,
                  }),
                );
                return {
                  ...(Attributes.FilterPolicy ? { filterPolicy: Attributes.FilterPolicy } : {}),
                  ...(Attributes.FilterPolicyScope ? { filterPolicyScope: Attributes.FilterPolicyScope } : {}),
                };
              })
            : undefined;
        all.push({ protocol, endpoint, pendingConfirmation, ...(attributes ? { attributes } : {}) });
      }
      token = page.NextToken;
    } while (token);
    return all;
  });

const readTopic = async (clients: DeploymentClients, topic: ExpectedTopic): Promise<Observed<DeployedTopic>> =>
  observe(async () => {
    const { Attributes = {} } = await clients.sns.send(
      new (await sdk.sns()).GetTopicAttributesCommand({ TopicArn: topic.arn }),
    );
    return {
      ...(Attributes.Policy ? { policy: Attributes.Policy } : {}),
      ...(Attributes.KmsMasterKeyId ? { kmsMasterKeyId: Attributes.KmsMasterKeyId } : {}),
      subscriptions: await readSubscriptions(clients, topic),
    };
  });

const readKey = async (clients: DeploymentClients, arn: string, withPolicy: boolean): Promise<Observed<DeployedKey>> =>
  observe(async () => {
    const { KeyMetadata } = await clients.kms.send(new (await sdk.kms()).DescribeKeyCommand({ KeyId: arn }));
    const policy = withPolicy
      ? await observe(async () => {
          const { Policy } = await clients.kms.send(
            new (await sdk.kms()).GetKeyPolicyCommand({ KeyId: arn, PolicyName: 'default' }),
          );
          return Policy ?? '';
        })
      : undefined;
    return {
      ...(KeyMetadata?.KeyState === undefined ? {} : { keyState: KeyMetadata.KeyState }),
      ...(KeyMetadata?.DeletionDate === undefined ? {} : { deletionDate: KeyMetadata.DeletionDate.toISOString() }),
      ...(policy ? { policy } : {}),
    };
  });

/**
 * Reads what is deployed of everything `expectation` names: rules with their targets (on the default bus or the hub
 * bus), event buses with their policy, functions with their
 * concurrency and event source mappings, queues' policies, topics with their policy, key and subscriptions (the
 * filter policies of the ones rootwatch deployed), keys with their state and policy. Never rejects: a failed read
 * is in the result as `unreadable`.
 *
 * @example
 * import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
 * import { KMSClient } from '@aws-sdk/client-kms';
 * import { LambdaClient } from '@aws-sdk/client-lambda';
 * import { SNSClient } from '@aws-sdk/client-sns';
 * import { SQSClient } from '@aws-sdk/client-sqs';
 * import type { Expectation } from '../core/guard/expected-state.js';
 *
 * declare const expectation: Expectation;
 * const read = createDeploymentReader({
 *   events: new EventBridgeClient({}),
 *   lambda: new LambdaClient({}),
 *   sns: new SNSClient({}),
 *   sqs: new SQSClient({}),
 *   kms: new KMSClient({}),
 * });
 * const deployed = await read(expectation);
 */
const createDeploymentReader =
  (clients: DeploymentClients) =>
  async (expectation: Expectation): Promise<DeployedState> => {
    const entries = async <I, T>(items: readonly I[], keyOf: (item: I) => string, read: (item: I) => Promise<T>) =>
      Object.fromEntries(await mapLimit(items, CONCURRENCY, async (item) => [keyOf(item), await read(item)] as const));
    const [rules, eventBuses, functions, queues, topics, keys] = await Promise.all([
      entries(expectation.rules, ruleKeyOf, (rule) => readRule(clients, rule)),
      entries(
        expectation.eventBuses,
        (bus) => bus.name,
        (bus) => readEventBus(clients, bus),
      ),
      entries(
        expectation.functions,
        (fn) => fn.name,
        (fn) => readFunction(clients, fn),
      ),
      entries(
        expectation.queues,
        (queue) => queue.name,
        (queue) => readQueue(clients, queue.name),
      ),
      entries(
        expectation.topics,
        (topic) => topic.arn,
        (topic) => readTopic(clients, topic),
      ),
      entries(
        expectation.keys,
        (key) => key.arn,
        (key) => readKey(clients, key.arn, key.policy !== undefined),
      ),
    ]);
    return { rules, eventBuses, functions, queues, topics, keys };
  };

export { createDeploymentReader };
