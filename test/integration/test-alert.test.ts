/**
 * `rootwatch test-alert` as an operator runs it: the real binary in a child process, with credentials, region and
 * endpoints from its environment or a profile, as the AWS SDK reads them. Its PutEvents goes to a local event bus
 * (EventBridge's wire protocol) whose heartbeat rule hands the event to the alert function's path on the local
 * stand-ins (fauxqs, dynalite), then to the Slack notifier; test-alert reads the hops back from the state table.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../functions/cli.js';
import { HEARTBEAT_PATTERN, isHeartbeatEvent, parseHeartbeatEvent } from '../../functions/core/heartbeat.js';
import { PutEventsError } from '../../functions/errors.js';
import { putTestHeartbeat } from '../../functions/io/event-bus.js';
import { createLocalHeartbeat } from '../../functions/local/alerter.js';
import { type LocalAws, sqsEventOf, startLocalAws } from '../../functions/local/aws.js';
import { type EventBridgeServer, startEventBridgeServer } from '../../functions/local/eventbridge-server.js';
import { type SlackServer, startSlackServer } from '../../functions/local/slack-server.js';
import { REPO_ROOT } from '../helpers/corpus.js';
import { packagingEnv } from '../helpers/package.js';
import { alertHandlerFor, notifierFor } from '../helpers/pipeline.js';

const STAGE = 'local';
const ALL_HOPS = [
  '  ✓ rule rootwatch-local-heartbeat → alert function rootwatch-local-alert',
  '  ✓ alert function → SNS topic rootwatch-local-alerts',
  '  ✓ alert function → Slack queue rootwatch-local-slack',
  '  ✓ Slack queue → notifier rootwatch-local-notify-slack (heartbeats are not posted)',
];

let aws: LocalAws;
let bus: EventBridgeServer;
let slack: SlackServer;
let home: string;

/**
 * The heartbeat rule on the local bus: the alert function's dispatch (functions/alert.ts), then, when `notifier` is
 * on, the notifier taking the Slack queue's messages as the SQS event source mapping would hand them over.
 */
const heartbeatRule = ({ notifier }: { notifier: boolean }) => {
  const heartbeat = createLocalHeartbeat(aws);
  const alert = alertHandlerFor(aws);
  const notify = notifierFor(aws, slack.url);
  return {
    name: `rootwatch-${STAGE}-heartbeat`,
    pattern: HEARTBEAT_PATTERN,
    target: async (event: unknown) => {
      if (isHeartbeatEvent(event)) await heartbeat.relay(parseHeartbeatEvent(event));
      else await alert(event, { awsRequestId: 'local' });
      if (notifier) await notify(sqsEventOf(await aws.drain(aws.slackQueueUrl)));
    },
  };
};

/** Runs `rootwatch test-alert …` in a child process with `env` over a CI runner's credential-free environment. */
const testAlert = async (args: string[], env: Record<string, string> = {}) => {
  const result = await promisify(execFile)(
    process.execPath,
    [join(REPO_ROOT, 'bin/rootwatch.mjs'), 'test-alert', ...args],
    {
      cwd: REPO_ROOT,
      env: {
        ...packagingEnv(),
        AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: aws.endpoints.dynamodb,
        ...env,
      },
      timeout: 60_000,
    },
  ).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: Error & { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === 'number' ? error.code : -1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? String(error),
    }),
  );
  return { ...result, lines: result.stdout.split('\n') };
};
const KEYS = { AWS_ACCESS_KEY_ID: 'AKIDLOCALENV', AWS_SECRET_ACCESS_KEY: 'local' };

beforeAll(async () => {
  aws = await startLocalAws(`rootwatch-${STAGE}`);
  bus = await startEventBridgeServer();
  slack = await startSlackServer();
  home = await mkdtemp(join(tmpdir(), 'rootwatch-test-alert-'));
});
afterAll(async () => {
  await bus?.close();
  await slack?.close();
  await aws?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});
beforeEach(async () => {
  for (const queue of [aws.subscriberQueueUrl, aws.slackQueueUrl, aws.slackDlqUrl]) await aws.drain(queue);
  slack.requests.length = 0;
});

describe('rootwatch test-alert', () => {
  it('reports each hop and exits 0 when the test event reaches the notifier', async () => {
    // Prepare
    bus.setRules([heartbeatRule({ notifier: true })]);

    // Act
    const { code, lines, stderr } = await testAlert(
      ['--stage', STAGE, '--region', 'us-east-1', '--timeout', '30'],
      KEYS,
    );

    // Assess
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(lines[0]).toBe('rootwatch test-alert: a test heartbeat through stage local in us-east-1');
    expect(lines[1]).toMatch(
      /^ {2}✓ put on the default event bus of us-east-1 {2}\d+\.\d s {2}\(event [0-9a-f-]{36}\)$/,
    );
    expect(
      lines
        .slice(2, 6)
        .map((line) => line.replace(/ {2}\d+\.\d s$/, ''))
        .sort(),
    ).toStrictEqual([...ALL_HOPS].sort());
    expect(lines[6]).toMatch(/^arrived: every hop in \d+\.\d s$/);
    // What EventBridge was given, and what came of it: the heartbeat rule matched, nobody was posted to.
    const [put] = bus.puts.slice(-1);
    expect(put?.event).toMatchObject({ source: 'rootwatch.heartbeat', 'detail-type': 'rootwatch heartbeat' });
    expect(put?.event.detail).toStrictEqual({ test: true, id: expect.stringMatching(/^test-[0-9a-f-]{36}$/) });
    expect(put?.matched).toStrictEqual(['rootwatch-local-heartbeat']);
    expect(put?.accessKeyId).toBe('AKIDLOCALENV');
    expect(slack.requests).toStrictEqual([]);
  });

  it('takes credentials and region from --profile, as the AWS SDK reads the shared files', async () => {
    // Prepare
    bus.setRules([heartbeatRule({ notifier: true })]);
    const credentials = join(home, 'credentials');
    const config = join(home, 'config');
    await writeFile(credentials, '[rootwatch-operator]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = x\n');
    await writeFile(config, '[profile rootwatch-operator]\nregion = eu-west-1\n');

    // Act
    const { code, lines } = await testAlert(['--stage', STAGE, '--profile', 'rootwatch-operator', '--timeout', '30'], {
      AWS_SHARED_CREDENTIALS_FILE: credentials,
      AWS_CONFIG_FILE: config,
    });

    // Assess
    expect(code).toBe(0);
    expect(lines[0]).toBe('rootwatch test-alert: a test heartbeat through stage local in eu-west-1');
    expect(bus.puts.at(-1)?.accessKeyId).toBe('AKIDPROFILE');
  });

  it('exits 1 naming the bus as the last hop reached when no rule takes the event', async () => {
    // Prepare: the heartbeat rule deleted (or disabled).
    bus.setRules([]);

    // Act
    const { code, lines } = await testAlert(['--stage', STAGE, '--region', 'us-east-1', '--timeout', '2'], KEYS);

    // Assess
    expect(code).toBe(1);
    expect(bus.puts.at(-1)?.matched).toStrictEqual([]);
    expect(lines).toContain(
      '  ✗ rule rootwatch-local-heartbeat → alert function rootwatch-local-alert  not within 2.0 s',
    );
    expect(lines).toContain('did not arrive within 2.0 s: last hop reached: put on the default event bus');
    expect(lines).toContain(
      "  check that the rule rootwatch-local-heartbeat is enabled and targets rootwatch-local-alert, the function's logs and its alarm rootwatch-local-alert-errors, and rootwatch-local-rules-dlq",
    );
  });

  it('exits 1 naming the Slack queue as the last hop reached when the notifier never takes it', async () => {
    // Prepare: the notifier's trigger disabled.
    bus.setRules([heartbeatRule({ notifier: false })]);

    // Act
    const { code, lines } = await testAlert(['--stage', STAGE, '--region', 'us-east-1', '--timeout', '3'], KEYS);

    // Assess
    expect(code).toBe(1);
    for (const hop of ALL_HOPS.slice(0, 3)) expect(lines.some((line) => line.startsWith(hop))).toBe(true);
    expect(lines).toContain(
      '  ✗ Slack queue → notifier rootwatch-local-notify-slack (heartbeats are not posted)  not within 3.0 s',
    );
    expect(lines).toContain(
      'did not arrive within 3.0 s: last hop reached: alert function → Slack queue rootwatch-local-slack',
    );
    expect(await aws.drain(aws.slackQueueUrl)).toHaveLength(1);
  });

  it('exits 1 saying which table it could not read, and which role may', async () => {
    // Prepare
    bus.setRules([heartbeatRule({ notifier: true })]);

    // Act
    const { code, stderr } = await testAlert(['--stage', STAGE, '--region', 'us-east-1', '--timeout', '5'], {
      ...KEYS,
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9',
    });

    // Assess: the error on stderr, not mixed into the report
    expect(code).toBe(1);
    expect(stderr.split('\n').find((line) => line.includes('could not read'))).toMatch(
      /^rootwatch test-alert: could not read the state table rootwatch-local-state: .+ use credentials of the operator role \(--profile\)$/,
    );
  });

  it.each([
    [['--region', 'us-east-1'], /test-alert needs --stage/],
    [['--stage', 'prod', '--timeout', '0'], /--timeout must be a whole number of seconds from 1 to 3600 \(got "0"\)/],
    [['--stage', 'prod/../x'], /--stage "prod\/..\/x" is not a stage name/],
  ])('exits 2 on bad usage: %j', async (args, message) => {
    // Prepare
    let stderr = '';
    const err = new Writable({
      write(chunk, _encoding, done) {
        stderr += String(chunk);
        done();
      },
    });

    // Act
    const code = await runCli(['test-alert', ...args], { stdout: () => {}, stderr: err, env: {} });

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });
});

describe('the local event bus (EventBridge PutEvents)', () => {
  const client = () =>
    new EventBridgeClient({
      endpoint: bus.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });

  it('refuses, entry by entry, what EventBridge refuses, and delivers the rest', async () => {
    // Prepare
    bus.setRules([{ name: 'everything', pattern: { source: [{ prefix: '' }] }, target: async () => {} }]);
    const before = bus.puts.length;

    // Act
    const response = await client().send(
      new PutEventsCommand({
        Entries: [
          { Source: 'aws.signin', DetailType: 'AWS Console Sign In via CloudTrail', Detail: '{}' },
          { Source: 'rootwatch.heartbeat', DetailType: 'rootwatch heartbeat', Detail: '[1]' },
          { Source: 'rootwatch.heartbeat', DetailType: 'rootwatch heartbeat' },
          { Source: 'rootwatch.heartbeat', DetailType: 'rootwatch heartbeat', Detail: '{"test":true}' },
        ],
      }),
    );
    await bus.settled();

    // Assess
    expect(response.FailedEntryCount).toBe(3);
    expect(response.Entries?.map((entry) => entry.ErrorCode ?? 'ok')).toStrictEqual([
      'NotAuthorizedForSourceException',
      'MalformedDetail',
      'InvalidArgument',
      'ok',
    ]);
    expect(bus.puts.slice(before).map((put) => [put.event.detail, put.matched])).toStrictEqual([
      [{ test: true }, ['everything']],
    ]);
  });

  it('answers an operation it does not know as EventBridge does', async () => {
    // Act
    const response = await fetch(bus.endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': 'AWSEvents.PutRule', 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
    });

    // Assess
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });

  it('gives putTestHeartbeat a PutEventsError with the cause when the bus cannot be reached', async () => {
    // Prepare
    const closed = new EventBridgeClient({
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });

    // Act
    const error = await putTestHeartbeat(closed, 'test-x').then(
      () => undefined,
      (e: unknown) => e as PutEventsError,
    );

    // Assess
    expect(error).toBeInstanceOf(PutEventsError);
    expect(error?.message).toMatch(/^could not put the event on the bus: /);
    expect(error?.cause).toBeInstanceOf(Error);
  });
});
