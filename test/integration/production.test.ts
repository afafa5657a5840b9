/**
 * The deployed entry points exactly as Lambda calls them: `handler` configured only by its environment,
 * with the SDK's per-service endpoint variables pointing at local servers.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deployedEnvironment, type LocalAws, startLocalAws } from '../../functions/local/aws.js';
import { envelopeOf, publishedOf, sqsEventOf } from '../helpers/pipeline.js';
import { readSample } from '../helpers/samples.js';

let aws: LocalAws;
let ssm: Server;
const ssmRequests: Array<{ target: string; body: Record<string, unknown> }> = [];
let ssmAnswer: () => { status: number; body: unknown } = () => ({ status: 200, body: {} });

/** A local server speaking SSM's JSON protocol, for GetParameter. */
const startSsm = async () => {
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => {
      ssmRequests.push({ target: String(req.headers['x-amz-target']), body: JSON.parse(text) });
      const { status, body } = ssmAnswer();
      const type = (body as { __type?: string }).__type;
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        ...(type ? { 'x-amzn-errortype': type } : {}),
      });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return server;
};

const lambdaContext = (name: string) =>
  ({
    awsRequestId: `req-${Math.random()}`,
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:rootwatch-test-${name}`,
    functionName: `rootwatch-test-${name}`,
    getRemainingTimeInMillis: () => 60_000,
  }) as unknown as Context;

beforeAll(async () => {
  aws = await startLocalAws('rootwatch-prod');
  ssm = await startSsm();
  const env = deployedEnvironment(aws, `http://127.0.0.1:${(ssm.address() as AddressInfo).port}`, {
    ACCOUNT_NAMES: '{"111122223333":"prod-payments"}',
    SLACK_WEBHOOK_PARAMETER: '/rootwatch/test/slack-webhook-url',
  });
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await new Promise<void>((resolve) => ssm?.close(() => resolve()));
  await aws?.stop();
});

describe('the deployed alert handler', () => {
  it('alerts from its environment alone', async () => {
    const { handler } = await import('../../functions/alert.js');
    const record = { ...readSample('root-console-sign-in-no-mfa.json'), eventID: 'production-handler-1' };
    const outcome = await handler(envelopeOf(record), lambdaContext('alert'));
    expect(outcome).toMatchObject({ status: 'delivered', sinks: ['sns', 'slack-queue'] });
    const [message] = (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf);
    expect(message?.Subject).toBe('[CRITICAL] root-console-sign-in - prod-payments (111122223333)');
  });

  it('throws on an event that is not from EventBridge, so Lambda retries and dead-letters it', async () => {
    const { handler } = await import('../../functions/alert.js');
    await expect(handler({ hello: 'world' }, lambdaContext('alert'))).rejects.toThrow(
      /not a CloudTrail event from EventBridge/,
    );
  });
});

describe('the deployed Slack notifier', () => {
  it('reads the webhook URL from SSM, and fails without revealing it when it is not a Slack URL', async () => {
    const secret = 'notslacksecret';
    ssmAnswer = () => ({
      status: 200,
      body: {
        Parameter: {
          Name: '/rootwatch/test/slack-webhook-url',
          Type: 'SecureString',
          Value: `https://example.com/${secret}`,
        },
      },
    });
    const { handler } = await import('../../functions/notify-slack.js');
    await aws.drain(aws.slackQueueUrl);
    const record = { ...readSample('root-password-updated.json'), eventID: 'production-handler-2' };
    const { handler: alert } = await import('../../functions/alert.js');
    await alert(envelopeOf(record), lambdaContext('alert'));
    // A wrong parameter is a configuration error: the invocation fails (the Errors alarm); nothing is dead-lettered.
    const error = await handler(sqsEventOf(await aws.drain(aws.slackQueueUrl)), lambdaContext('notify-slack')).catch(
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(
      /SSM parameter \/rootwatch\/test\/slack-webhook-url does not hold a Slack incoming-webhook URL/,
    );
    expect((error as Error).message).not.toContain(secret);
    expect(ssmRequests.at(-1)).toEqual({
      target: 'AmazonSSM.GetParameter',
      body: { Name: '/rootwatch/test/slack-webhook-url', WithDecryption: true },
    });
    expect(await aws.drain(aws.slackDlqUrl)).toHaveLength(0);
  });
});

describe('createWebhookUrlReader', () => {
  it('caches the URL, so SSM is asked once per five minutes, not once per message', async () => {
    const { createWebhookUrlReader } = await import('../../functions/io/slack-webhook-url.js');
    ssmAnswer = () => ({ status: 200, body: { Parameter: { Value: 'https://hooks.slack.com/services/T/B/c' } } });
    const client = new SSMClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${(ssm.address() as AddressInfo).port}`,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const before = ssmRequests.length;
    const read = createWebhookUrlReader(client, '/rootwatch/test/slack-webhook-url');
    expect(await read()).toBe('https://hooks.slack.com/services/T/B/c');
    expect(await read()).toBe('https://hooks.slack.com/services/T/B/c');
    expect(ssmRequests.length - before).toBe(1);
  });

  it('fails with the parameter named when it does not exist', async () => {
    const { createWebhookUrlReader } = await import('../../functions/io/slack-webhook-url.js');
    ssmAnswer = () => ({ status: 400, body: { __type: 'ParameterNotFound', message: '' } });
    const client = new SSMClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${(ssm.address() as AddressInfo).port}`,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    await expect(createWebhookUrlReader(client, '/rootwatch/test/missing')()).rejects.toThrow(
      /SSM parameter \/rootwatch\/test\/missing: ParameterNotFound \(create it: aws ssm put-parameter/,
    );
  });
});
