/**
 * Break-glass windows end to end: `rootwatch expect` (in process, configured only by the SDK's environment) against
 * dynalite (the state table), fauxqs (the topic and the Slack queue) and a local STS answering GetCallerIdentity in
 * its Query protocol through the real @aws-sdk/client-sts; then the deployed alert function's pipeline
 * (functions/alert.ts, createProductionPipeline) reading the windows from the same table, and the real Slack notifier
 * posting what was queued to a local webhook.
 */
import { createServer } from 'node:http';
import { PassThrough } from 'node:stream';
import { DeleteItemCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AlertPipeline } from '../../functions/app/alert-pipeline.js';
import type { HealthMetrics, StateOperation } from '../../functions/app/ports.js';
import { type CloudTrailEvent, recordToEvent } from '../../functions/core/event.js';
import { createDynamoExpectedWindows } from '../../functions/io/expected-windows.js';
import { deployedEnvironment, type LocalAws, startLocalAws } from '../../functions/local/aws.js';
import { listenOnLoopback, readBody } from '../../functions/local/http.js';
import { type SlackServer, startSlackServer } from '../../functions/local/slack-server.js';
import { alertHandlerFor, notifierFor, publishedOf, sqsEventOf } from '../helpers/pipeline.js';
import { readSampleRecord } from '../helpers/samples.js';
import { expectInert, mrkdwnTexts } from '../helpers/slack-checks.js';

const STAGE = 'xw';
const ACCOUNT = '111122223333';
const OTHER_ACCOUNT = '444455556666';
const MINUTE = 60_000;
const HOSTILE_REASON = 'CHG-123 <!channel> *close* `sandbox` <https://evil.example|docs>';
const OPERATOR_ARN = 'arn:aws:sts::000000000000:assumed-role/rootwatch-xw-operator/ana';

let aws: LocalAws;
let slack: SlackServer;
let sts: { origin: string; close(): Promise<void> };
/** Who STS says the caller is, and the actions it was asked. */
let callerArn = OPERATOR_ARN;
const stsActions: string[] = [];
let pipeline: AlertPipeline;

/** STS GetCallerIdentity in the Query protocol (an XML answer), as the real client expects it. */
const startSts = async (account: string) =>
  listenOnLoopback(
    createServer((request, response) => {
      void readBody(request).then((body) => {
        const action = new URLSearchParams(body).get('Action') ?? '';
        stsActions.push(action);
        response.writeHead(200, { 'content-type': 'text/xml' });
        response.end(
          `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${callerArn}</Arn><UserId>AROAEXAMPLE:ana</UserId><Account>${account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
        );
      });
    }),
  );

beforeAll(async () => {
  aws = await startLocalAws(`rootwatch-${STAGE}`);
  slack = await startSlackServer();
  sts = await startSts(aws.topicArn.split(':')[4] ?? '000000000000');
  const env = {
    ...deployedEnvironment(aws, 'http://127.0.0.1:9'),
    AWS_ENDPOINT_URL_STS: sts.origin,
    ACCOUNT_NAMES: JSON.stringify({ [ACCOUNT]: 'prod-payments' }),
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  // The deployed wiring, without folding: each event of these tests is an alert of its own.
  const { createProductionPipeline } = await import('../../functions/alert.js');
  pipeline = await createProductionPipeline({ ...env, DIGEST_QUEUE_URL: undefined });
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await slack?.close();
  await sts?.close();
  await aws?.stop();
});
beforeEach(async () => {
  // Each test starts without windows, its queues empty.
  await aws.dynamodb.send(new DeleteItemCommand({ TableName: aws.tableName, Key: { pk: { S: 'expected-windows' } } }));
  await aws.drain(aws.subscriberQueueUrl);
  await aws.drain(aws.slackQueueUrl);
});

/** Runs `rootwatch expect ARGS` as the command line does, with the stage; stdout, stderr and the exit status. */
const expectCommand = async (...args: string[]) => {
  const { runCli } = await import('../../functions/cli.js');
  let stdout = '';
  const stderr = new PassThrough();
  let errors = '';
  stderr.on('data', (chunk) => {
    errors += String(chunk);
  });
  const code = await runCli(['expect', '--stage', STAGE, ...args], {
    stdout: (text) => {
      stdout += text;
    },
    stderr,
    env: process.env,
  });
  return { code, stdout, stderr: errors };
};

/** Declares a window and returns its id, failing the test when it was not declared. */
const declare = async (...args: string[]): Promise<string> => {
  const { code, stdout, stderr } = await expectCommand(...args);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const id = /declared window (w-[0-9a-f]{8})/.exec(stdout)?.[1];
  expect(id).toBeDefined();
  return id as string;
};

/** Declares a window (declare), then empties the queues of its announcement. */
const declared = async (...args: string[]): Promise<string> => {
  const id = await declare(...args);
  await aws.drain(aws.subscriberQueueUrl);
  await aws.drain(aws.slackQueueUrl);
  return id;
};

let sequence = 0;
/** The next number of this file's eventIDs. */
const nextNumber = (): number => {
  sequence += 1;
  return sequence;
};
/** A sample's record as an event of `account` at `timeMs`, with a fresh eventID. */
const eventAt = (file: string, timeMs: number, account = ACCOUNT): CloudTrailEvent =>
  recordToEvent({
    ...readSampleRecord(file),
    eventID: `expect-${Date.now()}-${nextNumber()}`,
    eventTime: new Date(timeMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    recipientAccountId: account,
  });

/** What SNS published since the last drain, as e-mail subject and JSON document. */
const published = async () =>
  (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf).map((message) => ({
    subject: message.Subject,
    email: message.structure.email as string,
    document: JSON.parse(message.structure.default as string),
    attributes: message.MessageAttributes,
  }));

/** Posts what is on the Slack queue through the real notifier; the Slack requests it made. */
const postSlack = async () => {
  const before = slack.requests.length;
  const result = await notifierFor(aws, slack.url)(sqsEventOf(await aws.drain(aws.slackQueueUrl)));
  expect(result.batchItemFailures).toEqual([]);
  return slack.requests.slice(before).map((request) => request.body as { text: string; blocks: unknown[] });
};

describe('rootwatch expect: declare, alerts inside and outside, expiry, list, end', () => {
  it('declares a window with the caller as declarer, announced in e-mail and Slack with the reason escaped', async () => {
    // Prepare

    // Act
    const id = await declare('--account', ACCOUNT, '--for', '2h', '--reason', HOSTILE_REASON);

    // Assess: recorded, with the caller's ARN and a TTL past the window.
    expect(stsActions).toContain('GetCallerIdentity');
    const item = await aws.dynamodb.send(
      new GetItemCommand({ TableName: aws.tableName, Key: { pk: { S: 'expected-windows' } } }),
    );
    const stored = JSON.parse(item.Item?.windows?.M?.[id]?.S ?? '{}');
    expect(stored).toMatchObject({ id, account: ACCOUNT, reason: HOSTILE_REASON, declaredBy: OPERATOR_ARN });
    expect(Date.parse(stored.until) - Date.parse(stored.declaredAt)).toBe(120 * MINUTE);
    expect(Number(item.Item?.expiresAt?.N) * 1000).toBeGreaterThan(Date.parse(stored.until) + 7 * 24 * 60 * MINUTE);
    // Announced by e-mail (and the document to JSON subscribers)…
    const [notice] = await published();
    expect(notice?.subject).toBe('[EXPECTED WINDOW] declared - 111122223333');
    expect(notice?.attributes.document?.Value).toBe('expected-window');
    expect(notice?.document).toMatchObject({
      schema: 'rootwatch.expected-window/v1',
      event: 'declared',
      window: stored,
    });
    expect(notice?.email).toContain(`Reason: "CHG-123 <!channel> *close* \`sandbox\` <https://evil.example|docs>"`);
    expect(notice?.email).toContain(`Declared by: "${OPERATOR_ARN}"`);
    // …and in Slack, through the real notifier, inert.
    const [posted] = await postSlack();
    expect(posted?.text).toMatch(/^🗓 EXPECTED WINDOW: Expected root use declared — 111122223333 until /);
    expectInert(posted as never);
    expect(mrkdwnTexts(posted as never)).toContain(
      '*Reason*\n`CHG-123 &lt;!channel&gt; *close* ˋsandboxˋ &lt;https://evil.example|docs&gt;`',
    );
  });

  it('delivers an alert inside the window marked expected and one step lower, and one outside unchanged', async () => {
    // Prepare
    await declared('--account', ACCOUNT, '--for', '1h', '--reason', HOSTILE_REASON);
    const soon = Date.now() + 5 * MINUTE;

    // Act
    const inside = await pipeline.process(eventAt('root-api-call-put-bucket-versioning.json', soon), 'req-inside');
    const otherAccount = await pipeline.process(
      eventAt('root-api-call-put-bucket-versioning.json', soon, OTHER_ACCOUNT),
      'req-other',
    );

    // Assess: the outcomes…
    expect(inside).toMatchObject({ status: 'delivered', severity: 'medium', sinks: ['sns', 'slack-queue'] });
    expect((inside as { expected?: string }).expected).toMatch(/^w-[0-9a-f]{8}$/);
    expect(otherAccount).toMatchObject({ status: 'delivered', severity: 'high' });
    expect(otherAccount).not.toHaveProperty('expected');
    // …the e-mail and the JSON document…
    const messages = await published();
    const expected = messages.find((message) => message.document.account.id === ACCOUNT);
    const unchanged = messages.find((message) => message.document.account.id === OTHER_ACCOUNT);
    expect(expected?.subject).toBe('[MEDIUM] [EXPECTED] root-api-call - prod-payments (111122223333)');
    expect(expected?.attributes.expected?.Value).toBe((inside as { expected?: string }).expected);
    expect(expected?.document.expected).toMatchObject({
      reason: HOSTILE_REASON,
      declaredBy: OPERATOR_ARN,
      severityFrom: 'high',
    });
    // The window ends at a time of the event's day, or on the next day (shown with its date) near midnight UTC.
    expect(expected?.email).toMatch(
      /^Expected: "CHG-123 <!channel> \*close\* `sandbox` <https:\/\/evil\.example\|docs>" — declared by "arn:aws:sts::000000000000:assumed-role\/rootwatch-xw-operator\/ana" until (?:\d{4}-\d\d-\d\d )?\d\d:\d\d UTC, severity lowered from high, window "w-[0-9a-f]{8}"$/m,
    );
    expect(unchanged?.subject).toBe('[HIGH] root-api-call - 444455556666');
    expect(unchanged?.document).not.toHaveProperty('expected');
    // …and Slack, where the hostile reason is inert code.
    const posts = await postSlack();
    const post = posts.find((body) => body.text.includes('[EXPECTED]'));
    expect(post?.text).toMatch(/^🟡 MEDIUM: \[EXPECTED\] Root user API call/);
    expectInert(post as never);
    expect(mrkdwnTexts(post as never).find((text) => text.startsWith('*Expected*'))).toMatch(
      /^\*Expected\*\n`CHG-123 &lt;!channel&gt; \*close\* ˋsandboxˋ &lt;https:\/\/evil\.example\|docs&gt;` — declared by `arn:aws:sts::000000000000:assumed-role\/rootwatch-xw-operator\/ana` until (?:\d{4}-\d\d-\d\d )?\d\d:\d\d UTC · severity lowered from high · window `w-[0-9a-f]{8}`$/,
    );
  });

  it('keeps a root access key created critical inside a window, saying the window does not cover it', async () => {
    // Prepare
    await declared('--account', ACCOUNT, '--for', '1h', '--reason', 'CHG-124');

    // Act
    const outcome = await pipeline.process(eventAt('root-create-access-key.json', Date.now() + MINUTE), 'req-key');

    // Assess
    expect(outcome).toMatchObject({ status: 'delivered', severity: 'critical' });
    const [message] = await published();
    expect(message?.subject).toMatch(/^\[CRITICAL\] root-access-key-created/);
    expect(message?.document.expected.notCovered).toContainEqual({
      detection: 'root-access-key-created',
      reason: 'never planned',
    });
    expect(message?.email).toContain(
      'severity kept: expected window does not cover "root-access-key-created (never planned)',
    );
  });

  it('warns that the window will not lower a never-planned detection it names, and declares it all the same', async () => {
    // Act
    const { code, stdout, stderr } = await expectCommand(
      ...['--account', ACCOUNT, '--for', '1h', '--reason', 'CHG-124b'],
      ...['--detections', 'root-api-call,root-access-key-created,mfa-device-deactivated'],
    );

    // Assess
    expect(stderr).toBe(
      "rootwatch expect: --detections: the window will not lower root-access-key-created, mfa-device-deactivated (on root's own device): never planned, their alerts keep their severity (marked expected); declaring it all the same\n",
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/^declared window w-[0-9a-f]{8}: /);
    expect(stdout).toContain('  detections: root-api-call, root-access-key-created, mfa-device-deactivated');
  });

  it('does not mark an event after the window’s until (expiry by event time)', async () => {
    // Prepare
    await declared('--account', ACCOUNT, '--for', '30m', '--reason', 'CHG-125');

    // Act
    const after = await pipeline.process(
      eventAt('root-api-call-put-bucket-versioning.json', Date.now() + 31 * MINUTE),
      'req-after',
    );
    const before = await pipeline.process(
      eventAt('root-api-call-put-bucket-versioning.json', Date.now() - 5 * MINUTE),
      'req-before',
    );

    // Assess
    expect(after).toMatchObject({ status: 'delivered', severity: 'high' });
    expect(after).not.toHaveProperty('expected');
    expect(before).not.toHaveProperty('expected');
  });

  it('lists the windows, in a table with the reason on one line and as JSON', async () => {
    // Prepare
    const id = await declared(
      '--account',
      ACCOUNT,
      '--for',
      '90m',
      '--reason',
      'CHG-126   line  break',
      '--detections',
      'root-api-call,root-console-sign-in',
    );

    // Act
    const table = await expectCommand('--list');
    const json = await expectCommand('--list', '--format', 'json', '--account', ACCOUNT);
    const none = await expectCommand('--list', '--account', OTHER_ACCOUNT);

    // Assess
    expect(table.code).toBe(0);
    const row = table.stdout.split('\n').find((line) => line.startsWith(id));
    expect(row).toMatch(
      new RegExp(
        `^${id}\\s+111122223333\\s+active\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC.*root-api-call,root-console-sign-in\\s+CHG-126 line break$`,
      ),
    );
    expect(table.stdout).toMatch(/\d+ windows?, \d+ active\n$/);
    const listed = JSON.parse(json.stdout).windows.find((window: { id: string }) => window.id === id);
    expect(listed).toMatchObject({ id, status: 'active', detections: ['root-api-call', 'root-console-sign-in'] });
    expect(none.stdout).toBe('no expected window (active, or ended in the last 7 days)\n');
  });

  it('ends a window early, recorded and announced: an event after it is not expected', async () => {
    // Prepare
    const id = await declared('--account', ACCOUNT, '--for', '2h', '--reason', 'CHG-127');
    callerArn = 'arn:aws:sts::000000000000:assumed-role/rootwatch-xw-operator/bo';

    // Act
    const ended = await expectCommand('--end', id);
    const again = await expectCommand('--end', id);
    const outcome = await pipeline.process(
      eventAt('root-api-call-put-bucket-versioning.json', Date.now() + 10 * MINUTE),
      'req-ended',
    );
    callerArn = OPERATOR_ARN;

    // Assess
    expect(ended).toMatchObject({ code: 0, stderr: '' });
    expect(ended.stdout).toContain(`ended window ${id} (CHG-127) of 111122223333`);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      new RegExp(`window ${id} is over already: ended \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC by .*/bo`),
    );
    expect(outcome).toMatchObject({ status: 'delivered', severity: 'high' });
    expect(outcome).not.toHaveProperty('expected');
    const [notice] = (await published()).filter(
      (message) => message.document.schema === 'rootwatch.expected-window/v1',
    );
    expect(notice?.subject).toBe('[EXPECTED WINDOW] ended early - 111122223333');
    expect(notice?.document.window).toMatchObject({
      id,
      endedBy: 'arn:aws:sts::000000000000:assumed-role/rootwatch-xw-operator/bo',
    });
    const [posted] = await postSlack();
    expect(posted?.text).toMatch(/^🗓 EXPECTED WINDOW: Expected root use ended early — 111122223333 at /);
    const list = JSON.parse((await expectCommand('--list', '--format', 'json')).stdout);
    expect(list.windows.find((window: { id: string }) => window.id === id).status).toBe('ended early');
  });

  it('ends a window at once when it cannot be announced, so no alert is lowered unannounced', async () => {
    // Prepare: SNS unreachable (a closed port) for this declaration only.
    vi.stubEnv('AWS_ENDPOINT_URL_SNS', 'http://127.0.0.1:9');

    // Act
    const { code, stdout, stderr } = await expectCommand('--account', ACCOUNT, '--for', '1h', '--reason', 'CHG-128');
    vi.stubEnv('AWS_ENDPOINT_URL_SNS', aws.endpoints.fauxqs);
    const outcome = await pipeline.process(
      eventAt('root-api-call-put-bucket-versioning.json', Date.now() + MINUTE),
      'req-unannounced',
    );

    // Assess
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/could not announce window w-[0-9a-f]{8} to sns \(.+\): it was ended at once/);
    expect(outcome).not.toHaveProperty('expected');
  });

  it('still alerts, unmarked, when the window lookup fails; counted as the state being unavailable', async () => {
    // Prepare: the windows read from a DynamoDB that does not answer (a closed port), the rest of the state working.
    const operations: StateOperation[] = [];
    const metrics: HealthMetrics = { stateUnavailable: (operation) => operations.push(operation) };
    const broken = createDynamoExpectedWindows(
      new DynamoDBClient({
        region: 'us-east-1',
        endpoint: 'http://127.0.0.1:9',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
        maxAttempts: 1,
      }),
      aws.tableName,
    );
    await declared('--account', ACCOUNT, '--for', '1h', '--reason', 'CHG-129');
    const handler = alertHandlerFor(aws, { expectedWindows: broken, metrics });

    // Act
    const record = {
      ...readSampleRecord('root-api-call-put-bucket-versioning.json'),
      eventID: `expect-broken-${Date.now()}`,
    };
    const outcome = await handler(
      { ...recordToEvent({ ...record, eventTime: new Date(Date.now() + MINUTE).toISOString() }), id: 'eb-1' },
      { awsRequestId: 'req-broken' },
    );

    // Assess
    expect(outcome).toMatchObject({ status: 'delivered', severity: 'high', sinks: ['sns', 'slack-queue'] });
    expect(outcome).not.toHaveProperty('expected');
    expect(operations).toStrictEqual(['expectedWindows']);
  });
});

describe('rootwatch expect: bad usage', () => {
  it.each([
    [['--for', '1h', '--reason', 'x'], /expect needs --account/],
    [['--account', '1234', '--for', '1h', '--reason', 'x'], /--account takes a 12-digit account id \(got "1234"\)/],
    [
      ['--account', ACCOUNT, '--for', '3d', '--reason', 'x'],
      /--for takes hours and minutes, like 90m, 2h or 1h30m \(got "3d"\)/,
    ],
    [
      ['--account', ACCOUNT, '--for', '25h', '--reason', 'x'],
      /--for must be from 1m to 24h: a break-glass window is short/,
    ],
    [['--account', ACCOUNT, '--for', '1h'], /expect needs --reason/],
    [['--account', ACCOUNT, '--for', '1h', '--reason', '   '], /expect needs --reason/],
    [
      ['--account', ACCOUNT, '--for', '1h', '--reason', 'a\nb'],
      /--reason must be one line without control characters: it has a line break \(U\+000A\) at character 2/,
    ],
    [
      ['--account', ACCOUNT, '--for', '1h', '--reason', 'CHG-1\r'],
      /--reason .* a line break \(U\+000D\) at character 6/,
    ],
    [
      ['--account', ACCOUNT, '--for', '1h', '--reason', 'é\u2028x'],
      /--reason .* a line break \(U\+2028\) at character 2/,
    ],
    [['--account', ACCOUNT, '--for', '1h', '--reason', 'a\tb'], /--reason .* a control character \(U\+0009\)/],
    [['--account', ACCOUNT, '--for', '1h', '--reason', 'a\u0007'], /--reason .* a control character \(U\+0007\)/],
    [['--account', ACCOUNT, '--for', '1h', '--reason', 'ok\u202etxt'], /--reason .* a control character \(U\+202E\)/],
    [['--account', ACCOUNT, '--for', '1h', '--reason', 'x'.repeat(201)], /--reason is 201 characters; at most 200/],
    [
      ['--account', ACCOUNT, '--for', '1h', '--reason', 'x', '--detections', 'root-api-call,nope\u202e'],
      /--detections names "nope", not in the catalog/,
    ],
    [['--list', '--end', 'w-00000000'], /expect takes one of --for \(declare\), --list and --end ID/],
    [['--end', 'CHG-1'], /--end takes a window id/],
    [['--list', '--format', 'csv'], /--format must be table or json/],
  ])('refuses %j with exit status 2, before any AWS call', async (args, message) => {
    // Prepare
    const calls = stsActions.length;
    // Act
    const { code, stdout, stderr } = await expectCommand(...args);
    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\u202e/);
    expect(stsActions.length).toBe(calls);
  });

  it('says which table it could not find, and asks whether the stage is deployed there, with exit status 1', async () => {
    // Act: a stage whose table does not exist.
    const { runCli } = await import('../../functions/cli.js');
    const stderr = new PassThrough();
    let errors = '';
    stderr.on('data', (chunk) => {
      errors += String(chunk);
    });
    const code = await runCli(['expect', '--stage', 'missing', '--list'], {
      stdout: () => {},
      stderr,
      env: process.env,
    });
    // Assess
    expect(code).toBe(1);
    expect(errors).toMatch(/ResourceNotFoundException.*table rootwatch-missing-state.*is stage missing deployed/);
    expect(errors).not.toMatch(/policies|operator/);
  });
});

describe('rootwatch expect: what it says when AWS fails', () => {
  /** Runs `rootwatch expect ARGS` with AWS_ENDPOINT_URL_<SERVICE> pointing at `endpoint`. */
  const expectWith = async (service: 'DYNAMODB' | 'STS', endpoint: string, ...args: string[]) => {
    vi.stubEnv(`AWS_ENDPOINT_URL_${service}`, endpoint);
    try {
      return await expectCommand(...args);
    } finally {
      vi.stubEnv(`AWS_ENDPOINT_URL_${service}`, service === 'STS' ? sts.origin : aws.endpoints.dynamodb);
    }
  };

  it('says it could not reach the table’s endpoint when the connection is refused, not that access is wrong', async () => {
    // Act: a closed port.
    const { code, stdout, stderr } = await expectWith('DYNAMODB', 'http://127.0.0.1:9', '--list');
    // Assess
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^rootwatch expect: could not reach AWS at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED; /);
    expect(stderr).toContain('AWS did not answer, so this says nothing of access');
    expect(stderr).not.toMatch(/policies|operator role/);
  });

  it('says it could not reach STS when the connection is reset, before declaring anything', async () => {
    // Prepare: an STS that drops every connection without answering.
    const dropping = await listenOnLoopback(createServer((request) => request.socket.destroy()));
    try {
      // Act
      const { code, stdout, stderr } = await expectWith(
        'STS',
        dropping.origin,
        ...['--account', ACCOUNT, '--for', '1h', '--reason', 'CHG-130'],
      );
      // Assess
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(
        new RegExp(`could not reach AWS at ${dropping.origin.replaceAll('.', '\\.')} \\(ECONNRESET; .*socket hang up`),
      );
      expect(stderr).not.toMatch(/policies|operator role/);
      const windows = await createDynamoExpectedWindows(aws.dynamodb, aws.tableName).read();
      expect(windows.windows).toEqual([]);
    } finally {
      await dropping.close();
    }
  });

  it('gives the policy and operator-role hint when AWS answers AccessDenied', async () => {
    // Prepare: a DynamoDB that refuses every request, as a resource policy does (the JSON protocol's error shape).
    const refusing = await listenOnLoopback(
      createServer((request, response) => {
        void readBody(request).then(() => {
          response.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
          response.end(
            JSON.stringify({
              __type: 'com.amazon.coral.service#AccessDeniedException',
              message:
                'User: arn:aws:sts::000000000000:assumed-role/dev/ana is not authorized to perform: dynamodb:GetItem',
            }),
          );
        });
      }),
    );
    try {
      // Act
      const { code, stderr } = await expectWith('DYNAMODB', refusing.origin, '--list');
      // Assess
      expect(code).toBe(1);
      expect(stderr).toMatch(
        /AccessDeniedException: User: .* is not authorized .*table rootwatch-xw-state.*their policies admit rootwatch's roles and rootwatch-xw-operator only; use credentials of the operator role/,
      );
      expect(stderr).not.toContain('could not reach');
    } finally {
      await refusing.close();
    }
  });
});
