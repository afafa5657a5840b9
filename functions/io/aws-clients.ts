import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SSMClient } from '@aws-sdk/client-ssm';

/*
 * Loading. No module of the functions imports the AWS SDK at load: a client is made by the factories below, which
 * import its package on first use (`await import(…)`), and each io/ module imports its commands inside the call that
 * sends them. So a cold start evaluates none of the SDK until an invocation needs it. The deployed bundles leave the
 * SDK out (serverless.yml, custom.esbuild.exclude): it comes from the nodejs22.x runtime, which includes the AWS SDK
 * for JavaScript v3 (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html#runtimes-sdk-included).
 */
/*
 * Every AWS client the functions use, with timeouts that fit the function's own. The SDK's defaults have none:
 * NodeHttpHandler's connectionTimeout and requestTimeout "default to 0, which disables the timeout", so one hung
 * connection to DynamoDB used to hold the alert function until Lambda killed it at 30 s, and no alert went out.
 *   https://github.com/smithy-lang/smithy-typescript/blob/main/packages/types/src/http/httpHandlerInitialization.ts
 *   https://github.com/aws/aws-sdk-js-v3/blob/main/UPGRADING.md (requestHandler, throwOnRequestTimeout)
 * - connectionTimeout: the TCP (and TLS) connection must be up within this;
 * - requestTimeout with throwOnRequestTimeout: the whole request and response within this. Without
 *   throwOnRequestTimeout, @smithy/node-http-handler (from 4.4) only logs a warning when it is exceeded;
 * - maxAttempts: the first request included. A timeout and a throttle are retried with the SDK's standard backoff
 *   (a random wait below 50 ms × 2^n, or 1 s × 2^n when throttled: @smithy/core retry, "retries-2026").
 * Worst case of one call: maxAttempts × requestTimeout, plus the backoff between attempts.
 */

/** Timeouts and attempts of one client, in milliseconds. */
interface ClientBudget {
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  maxAttempts: number;
}

/**
 * The state table. A lookup by key answers in milliseconds; when it does not, the alert goes out without
 * deduplication rather than late (app/alert-pipeline.ts): 2 × 2 s + ≤ 1 s of backoff ≈ 5 s at worst.
 */
const STATE_BUDGET: ClientBudget = { connectionTimeoutMs: 1_000, requestTimeoutMs: 2_000, maxAttempts: 2 };

/** SNS and the Slack queue, the alert's destinations: worth a third try, 3 × 3 s + backoff ≈ 10 s at worst. */
const DELIVERY_BUDGET: ClientBudget = { connectionTimeoutMs: 1_000, requestTimeoutMs: 3_000, maxAttempts: 3 };

/** Organizations and IAM: an account name is nice to have, and enrichment gives up after 3 s anyway. */
const LOOKUP_BUDGET: ClientBudget = { connectionTimeoutMs: 1_000, requestTimeoutMs: 2_000, maxAttempts: 2 };

/**
 * The notifier's SQS calls (dead-letter, extend a message's visibility) and SSM (the webhook URL): each must leave
 * the batch time to finish, 2 × 2 s + backoff ≈ 5 s at worst (app/slack-notifier.ts keeps that much in reserve).
 */
const NOTIFIER_QUEUE_BUDGET: ClientBudget = { connectionTimeoutMs: 1_000, requestTimeoutMs: 2_000, maxAttempts: 2 };

/**
 * The client options for a budget: `maxAttempts` and the NodeHttpHandler options with its connect and request
 * timeouts (a request timeout throws TimeoutError, which the SDK retries like any transient error). The handler is
 * given as its options, which the client passes to `NodeHttpHandler.create`, so this module imports no SDK package.
 *
 * @example
 * import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
 *
 * const client = new DynamoDBClient(clientOptionsFor({ connectionTimeoutMs: 1000, requestTimeoutMs: 2000, maxAttempts: 2 }));
 */
const clientOptionsFor = (budget: ClientBudget) => ({
  maxAttempts: budget.maxAttempts,
  requestHandler: {
    connectionTimeout: budget.connectionTimeoutMs,
    requestTimeout: budget.requestTimeoutMs,
    throwOnRequestTimeout: true,
  },
});

/**
 * Each AWS SDK package rootwatch calls, imported on first call and never when a module loads (see "Loading" above):
 * the clients below and every io/ module's commands come from here.
 */
const sdk = {
  account: () => import('@aws-sdk/client-account'),
  athena: () => import('@aws-sdk/client-athena'),
  dynamodb: () => import('@aws-sdk/client-dynamodb'),
  eventbridge: () => import('@aws-sdk/client-eventbridge'),
  iam: () => import('@aws-sdk/client-iam'),
  kms: () => import('@aws-sdk/client-kms'),
  lambda: () => import('@aws-sdk/client-lambda'),
  organizations: () => import('@aws-sdk/client-organizations'),
  sns: () => import('@aws-sdk/client-sns'),
  s3: () => import('@aws-sdk/client-s3'),
  sqs: () => import('@aws-sdk/client-sqs'),
  ssm: () => import('@aws-sdk/client-ssm'),
  sts: () => import('@aws-sdk/client-sts'),
};

/**
 * A client made on the first call, once: its SDK package is imported then (`load`), not when the module is loaded.
 * Concurrent first calls share one client: `lazyClient(async () => new (await sdk.sns()).SNSClient({}))`
 * gives a function whose first call makes the SNSClient and whose every later call returns the same one.
 */
const lazyClient = <T>(load: () => Promise<T>): (() => Promise<T>) => {
  let client: Promise<T> | undefined;
  return () => {
    client ??= load().catch((error: unknown) => {
      client = undefined; // a failed import is retried on the next call
      throw error;
    });
    return client;
  };
};

/** The alert function's clients, each made (and its SDK package imported) on first use. */
interface AlertFunctionClients {
  dynamodb: () => Promise<DynamoDBClient>;
  sns: () => Promise<SNSClient>;
  sqs: () => Promise<SQSClient>;
  organizations: () => Promise<OrganizationsClient>;
  iam: () => Promise<IAMClient>;
}

/**
 * The alert function's clients (timeout 30 s), each a getter that makes its client on first use. Worst case with the state table hanging: claim ≈ 5 s (then the
 * state is not asked again for that event), enrichment ≤ 3 s, delivery ≈ 10 s: about 18 s.
 *
 * The SQS client sends to its regional endpoint rather than the queue URL's host (the same host in Lambda), so
 * a local run's AWS_ENDPOINT_URL_SQS holds. Organizations answers from us-east-1 whatever the caller's region.
 *
 * @example
 * const clients = createAlertFunctionClients();
 * await clients.dynamodb(); // DynamoDBClient: 1 s to connect, 2 s a request, 2 attempts
 */
const createAlertFunctionClients = (): AlertFunctionClients => ({
  dynamodb: lazyClient(async () => new (await sdk.dynamodb()).DynamoDBClient(clientOptionsFor(STATE_BUDGET))),
  sns: lazyClient(async () => new (await sdk.sns()).SNSClient(clientOptionsFor(DELIVERY_BUDGET))),
  sqs: lazyClient(
    async () =>
      new (await sdk.sqs()).SQSClient({
        ...clientOptionsFor(DELIVERY_BUDGET),
        useQueueUrlAsEndpoint: false,
      }),
  ),
  organizations: lazyClient(
    async () =>
      new (await sdk.organizations()).OrganizationsClient({
        ...clientOptionsFor(LOOKUP_BUDGET),
        region: 'us-east-1',
      }),
  ),
  iam: lazyClient(async () => new (await sdk.iam()).IAMClient(clientOptionsFor(LOOKUP_BUDGET))),
});

/**
 * The Slack notifier's clients (timeout 60 s): the state table, the Slack queue and its DLQ, and SSM for the
 * webhook URL, made at once (the notifier needs all three from its first invocation), their packages imported now.
 *
 * @example
 * const clients = await createNotifierClients();
 * clients.ssm; // SSMClient: 1 s to connect, 2 s a request, 2 attempts
 */
const createNotifierClients = async (): Promise<{ dynamodb: DynamoDBClient; sqs: SQSClient; ssm: SSMClient }> => {
  const [dynamodb, sqs, ssm] = await Promise.all([sdk.dynamodb(), sdk.sqs(), sdk.ssm()]);
  return {
    dynamodb: new dynamodb.DynamoDBClient(clientOptionsFor(STATE_BUDGET)),
    sqs: new sqs.SQSClient({ ...clientOptionsFor(NOTIFIER_QUEUE_BUDGET), useQueueUrlAsEndpoint: false }),
    ssm: new ssm.SSMClient(clientOptionsFor(NOTIFIER_QUEUE_BUDGET)),
  };
};

export type { AlertFunctionClients, ClientBudget };
export {
  clientOptionsFor,
  createAlertFunctionClients,
  createNotifierClients,
  DELIVERY_BUDGET,
  lazyClient,
  STATE_BUDGET,
  sdk,
};
