/**
 * Duplicates are better than silence: with the state table stopped, hanging or throttling, the alert still reaches
 * SNS and the Slack queue, within the alert function's time budget, without deduplication, with a log line and
 * the StateUnavailable metric. Real servers on loopback (fauxqs, dynalite, a TCP port that never answers, an HTTP
 * server answering as a throttled DynamoDB) through the real SDK clients, configured as deployed
 * (io/aws-clients.ts).
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import dynalite from 'dynalite';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AlertState, HealthMetrics, StateOperation } from '../../functions/app/ports.js';
import { clientOptionsFor, STATE_BUDGET } from '../../functions/io/aws-clients.js';
import { createDynamoState } from '../../functions/io/dynamo-state.js';
import { type LocalAws, startLocalAws } from '../../functions/local/aws.js';
import { alertHandlerFor, envelopeOf, publishedOf } from '../helpers/pipeline.js';
import { readSample } from '../helpers/samples.js';

/**
 * The alert function's timeout is 30 s. With the state gone, an alert must be out well inside it: the state costs
 * one call's worst case (2 attempts × 2 s), then is not asked again for that event.
 */
const BUDGET_MS = 10_000;
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

let aws: LocalAws;
let run = 0;

const fresh = (fixture: string, extra: Record<string, unknown> = {}) => {
  run += 1;
  const record = readSample(fixture);
  return { ...record, eventID: `${String(record.eventID)}-state-${run}`, ...extra };
};

/** A DynamoDB client exactly as the functions configure theirs, pointed at `endpoint`. */
const stateClientAt = (endpoint: string) =>
  new DynamoDBClient({ ...clientOptionsFor(STATE_BUDGET), region: 'us-east-1', credentials: CREDENTIALS, endpoint });

/** Records what the pipeline counted. */
const recordMetrics = (): HealthMetrics & { operations: StateOperation[] } => {
  const operations: StateOperation[] = [];
  return { operations, stateUnavailable: (operation) => void operations.push(operation) };
};

const listen = async <T extends Server | TcpServer>(server: T): Promise<T> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return server;
};
const endpointOf = (server: Server | TcpServer) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

/** A DynamoDB that was running, and is stopped: its port refuses connections. */
const stoppedDynamoEndpoint = async (): Promise<string> => {
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return endpoint;
};

/** A TCP port that accepts connections and never says a word. */
const sockets = new Set<Socket>();
const hangingServer = createTcpServer((socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});

/** DynamoDB answering every request as throttled, as AWS does: HTTP 400 with the JSON protocol's error type. */
let throttledRequests = 0;
const throttlingServer = createHttpServer((req, res) => {
  req.resume();
  req.on('end', () => {
    throttledRequests += 1;
    res.writeHead(400, {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-errortype': 'ProvisionedThroughputExceededException',
    });
    res.end(
      JSON.stringify({
        __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
        message: 'The level of configured provisioned throughput for the table was exceeded.',
      }),
    );
  });
});

beforeAll(async () => {
  aws = await startLocalAws('rootwatch-state-faults');
  await listen(hangingServer);
  await listen(throttlingServer);
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => hangingServer.close(() => resolve()));
  await new Promise<void>((resolve) => throttlingServer.close(() => resolve()));
  await aws?.stop();
});
beforeEach(async () => {
  await aws.drain(aws.subscriberQueueUrl);
  await aws.drain(aws.slackQueueUrl);
});

const FAULTS: Array<{ fault: string; endpoint: () => Promise<string> }> = [
  { fault: 'the state table is stopped (connection refused)', endpoint: stoppedDynamoEndpoint },
  { fault: 'the state table accepts connections and never answers', endpoint: async () => endpointOf(hangingServer) },
  {
    fault: 'the state table throttles (ProvisionedThroughputExceededException)',
    endpoint: async () => endpointOf(throttlingServer),
  },
];

describe.each(FAULTS)('when $fault', ({ endpoint }) => {
  it('delivers the alert to SNS and the Slack queue within the budget, without deduplication, and counts it', async () => {
    // Prepare
    const metrics = recordMetrics();
    const state = createDynamoState(stateClientAt(await endpoint()), aws.tableName);
    const record = fresh('root-console-sign-in-no-mfa.json');

    // Act
    const started = Date.now();
    const outcome = await alertHandlerFor(aws, { state, metrics })(envelopeOf(record), { awsRequestId: 'req-1' });
    const elapsed = Date.now() - started;

    // Assess
    expect(outcome).toMatchObject({ status: 'delivered', sinks: ['sns', 'slack-queue'], deduplicated: false });
    expect(elapsed).toBeLessThan(BUDGET_MS);
    const published = (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf);
    expect(published.map((message) => JSON.parse(message.structure.sqs ?? '{}').eventID)).toEqual([record.eventID]);
    const queued = await aws.drain(aws.slackQueueUrl);
    expect(queued.map((message) => JSON.parse(message.Body ?? '{}').eventID)).toEqual([record.eventID]);
    // The claim failed; the state was not asked again for this event (no count, no delivery record).
    expect(metrics.operations).toEqual(['claim']);
  }, 20_000);

  it('scores a threshold modifier as the first of its kind', async () => {
    // Prepare: the 5th failed root sign-in in 15 minutes would be high; without counts, each is the first.
    const metrics = recordMetrics();
    const state = createDynamoState(stateClientAt(await endpoint()), aws.tableName);
    const record = fresh('root-console-sign-in-failure.json');

    // Act
    const outcome = await alertHandlerFor(aws, { state, metrics })(envelopeOf(record), { awsRequestId: 'req-2' });

    // Assess
    expect(outcome).toMatchObject({ status: 'delivered', severity: 'medium', deduplicated: false });
    expect(metrics.operations).toEqual(['claim']);
  }, 20_000);
});

describe('the state table throttling', () => {
  it('is retried by the SDK before the alert goes on without it', async () => {
    // Prepare
    throttledRequests = 0;
    const state = createDynamoState(stateClientAt(endpointOf(throttlingServer)), aws.tableName);

    // Act
    await alertHandlerFor(aws, { state })(envelopeOf(fresh('root-create-access-key.json')), { awsRequestId: 'r' });

    // Assess: the claim's two attempts, and nothing after them.
    expect(throttledRequests).toBe(STATE_BUDGET.maxAttempts);
  }, 20_000);
});

describe('a state table that fails after the claim', () => {
  it('delivers everywhere, counting the delivery records it could not write', async () => {
    // Prepare: the claim works (dynalite); recording the deliveries fails.
    const metrics = recordMetrics();
    const healthy = createDynamoState(aws.dynamodb, aws.tableName);
    const state: AlertState = {
      ...healthy,
      markDelivered: async () => {
        throw Object.assign(new Error('Throughput exceeds the current capacity of your table'), {
          name: 'ProvisionedThroughputExceededException',
        });
      },
    };

    // Act
    const outcome = await alertHandlerFor(aws, { state, metrics })(envelopeOf(fresh('root-password-updated.json')), {
      awsRequestId: 'req-3',
    });

    // Assess
    expect(outcome).toMatchObject({ status: 'delivered', sinks: ['sns', 'slack-queue'], deduplicated: false });
    expect(metrics.operations[0]).toBe('markDelivered');
    expect(await aws.drain(aws.subscriberQueueUrl)).toHaveLength(1);
    expect(await aws.drain(aws.slackQueueUrl)).toHaveLength(1);
  });

  it('goes on without a state call that never settles, after the pipeline’s own time limit', async () => {
    // Prepare: a state port (not the SDK) that hangs: the pipeline's limit bounds it.
    const metrics = recordMetrics();
    const state: AlertState = {
      ...createDynamoState(aws.dynamodb, aws.tableName),
      claim: () => new Promise(() => {}),
    };

    // Act
    const started = Date.now();
    const outcome = await alertHandlerFor(aws, { state, metrics, stateTimeoutMs: 300 })(
      envelopeOf(fresh('root-password-updated.json')),
      { awsRequestId: 'req-4' },
    );

    // Assess
    expect(outcome).toMatchObject({ status: 'delivered', deduplicated: false });
    expect(Date.now() - started).toBeLessThan(BUDGET_MS);
    expect(metrics.operations).toEqual(['claim']);
  });
});

describe('the deployed alert handler with its state table hanging', () => {
  it('delivers from its environment alone, logging the StateUnavailable metric in embedded metric format', async () => {
    // Prepare: the deployed handler, configured by its environment; DynamoDB is the silent port.
    const env: Record<string, string> = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_SNS: aws.endpoints.fauxqs,
      AWS_ENDPOINT_URL_SQS: aws.endpoints.fauxqs,
      AWS_ENDPOINT_URL_DYNAMODB: endpointOf(hangingServer),
      AWS_ENDPOINT_URL_ORGANIZATIONS: 'http://127.0.0.1:9',
      AWS_ENDPOINT_URL_IAM: 'http://127.0.0.1:9',
      ALERT_TOPIC_ARN: aws.topicArn,
      SLACK_QUEUE_URL: aws.slackQueueUrl,
      STATE_TABLE: aws.tableName,
      ACCOUNT_NAMES: '{"111122223333":"prod-payments"}',
      ACCOUNT_LOOKUP: 'none',
      ROOTWATCH_STAGE: 'test',
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    const written: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const context = {
      awsRequestId: 'req-deployed',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:rootwatch-test-alert',
      functionName: 'rootwatch-test-alert',
    } as unknown as Context;
    const record = fresh('root-console-sign-in-no-mfa.json');

    try {
      // Act
      const { handler } = await import('../../functions/alert.js');
      const started = Date.now();
      const outcome = await handler(envelopeOf(record), context);
      const elapsed = Date.now() - started;

      // Assess
      expect(outcome).toMatchObject({ status: 'delivered', sinks: ['sns', 'slack-queue'], deduplicated: false });
      expect(elapsed).toBeLessThan(BUDGET_MS);
      const emf = written
        .flatMap((chunk) => chunk.split('\n'))
        .filter((line) => line.includes('"_aws"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(emf).toContainEqual(
        expect.objectContaining({
          StateUnavailable: 1,
          operation: 'claim',
          service: 'rootwatch',
          stage: 'test',
          _aws: expect.objectContaining({
            CloudWatchMetrics: [
              {
                Namespace: 'rootwatch',
                Dimensions: [['service', 'stage']],
                Metrics: [{ Name: 'StateUnavailable', Unit: 'Count' }],
              },
            ],
          }),
        }),
      );
      expect(await aws.drain(aws.subscriberQueueUrl)).toHaveLength(1);
      expect(await aws.drain(aws.slackQueueUrl)).toHaveLength(1);
    } finally {
      stdout.mockRestore();
      vi.unstubAllEnvs();
    }
  }, 20_000);
});
