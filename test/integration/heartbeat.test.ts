/**
 * The heartbeat on the local stand-ins, through the real SDK clients: a local event bus (PutEvents over the wire)
 * whose heartbeat rule hands the event to the alert function's path, fauxqs for the topic and the Slack queue,
 * dynalite for the hops, the Slack notifier against a local webhook; and the deployed handlers configured by their
 * environment alone. Shows the heartbeat travelling every hop without reaching e-mail or Slack.
 */
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createGuard } from '../../functions/app/guard.js';
import { AlertSchema } from '../../functions/core/alert-document.js';
import { DRIFT_DETECTION } from '../../functions/core/guard/alert.js';
import { HEARTBEAT_PATTERN, isHeartbeatEvent, parseHeartbeatEvent } from '../../functions/core/heartbeat.js';
import { createProductionForwarderWatch } from '../../functions/guard.js';
import { GuardConfigSchema } from '../../functions/io/config.js';
import { loadDetections } from '../../functions/io/detections.js';
import { createDynamoState } from '../../functions/io/dynamo-state.js';
import { putTestHeartbeat } from '../../functions/io/event-bus.js';
import { createDynamoForwarderLog } from '../../functions/io/forwarder-log.js';
import { createSinks } from '../../functions/io/sinks.js';
import { createLocalHeartbeat, createRecordedHopMetrics } from '../../functions/local/alerter.js';
import { deployedEnvironment, type LocalAws, startLocalAws } from '../../functions/local/aws.js';
import { type EventBridgeServer, startEventBridgeServer } from '../../functions/local/eventbridge-server.js';
import { type SlackServer, startSlackServer } from '../../functions/local/slack-server.js';
import { deployedAsExpected, sampleExpectation } from '../helpers/guard.js';
import { alertHandlerFor, envelopeOf, notifierFor, publishedOf, sqsEventOf } from '../helpers/pipeline.js';
import { readSample } from '../helpers/samples.js';

/** resources/parameters.cjs: the e-mail subscriptions' filter policy, as packaged. */
const { emailFilterPolicy } = createRequire(import.meta.url)('../../resources/parameters.cjs') as {
  emailFilterPolicy: (minSeverity: string) => Record<string, unknown>;
};

let aws: LocalAws;
let slack: SlackServer;
let bus: EventBridgeServer;
let events: EventBridgeClient;

beforeAll(async () => {
  aws = await startLocalAws('rootwatch-heartbeat');
  slack = await startSlackServer();
  bus = await startEventBridgeServer();
  events = new EventBridgeClient({
    endpoint: bus.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});
afterAll(async () => {
  events?.destroy();
  await bus?.close();
  await slack?.close();
  await aws?.stop();
});
beforeEach(async () => {
  for (const queue of [aws.subscriberQueueUrl, aws.slackQueueUrl, aws.slackDlqUrl]) await aws.drain(queue);
  slack.requests.length = 0;
});

/** A queue subscribed to the alert topic with `filterPolicy` (attribute scope), as an e-mail subscription is. */
const subscribeQueue = async (name: string, filterPolicy: Record<string, unknown>) => {
  const { QueueUrl } = await aws.sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await aws.sns.send(
    new SubscribeCommand({
      TopicArn: aws.topicArn,
      Protocol: 'sqs',
      Endpoint: Attributes?.QueueArn,
      Attributes: { FilterPolicy: JSON.stringify(filterPolicy), FilterPolicyScope: 'MessageAttributes' },
    }),
  );
  return QueueUrl as string;
};

describe('a heartbeat on the local bus', () => {
  it('travels rule → alert function → topic and Slack queue → notifier, each hop recorded, reaching nobody', async () => {
    // Prepare: the heartbeat rule hands the event to the alert function's path; the notifier drains the queue as
    // the SQS event source mapping would.
    const metrics = createRecordedHopMetrics();
    const heartbeat = createLocalHeartbeat(aws, metrics);
    const alert = alertHandlerFor(aws);
    const notifier = notifierFor(aws, slack.url, { overrides: { heartbeat: heartbeat.receive } });
    bus.setRules([
      {
        name: 'rootwatch-local-heartbeat',
        pattern: HEARTBEAT_PATTERN,
        // The alert function's dispatch (functions/alert.ts): a heartbeat takes the heartbeat's path.
        target: async (event) =>
          isHeartbeatEvent(event) ? heartbeat.relay(parseHeartbeatEvent(event)) : alert(event, { awsRequestId: 'x' }),
      },
    ]);

    // Act
    await putTestHeartbeat(events, 'local-1');
    await bus.settled();
    const published = (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf);
    const queued = await aws.drain(aws.slackQueueUrl);
    const result = await notifier(sqsEventOf(queued));

    // Assess
    expect(bus.puts.at(-1)?.matched).toStrictEqual(['rootwatch-local-heartbeat']);
    expect(bus.puts.at(-1)?.failures).toStrictEqual([]);
    expect(published).toHaveLength(1);
    expect(published[0]?.MessageAttributes.kind).toStrictEqual({ Type: 'String', Value: 'heartbeat' });
    expect(published[0]?.MessageAttributes.severity).toBeUndefined();
    expect(JSON.parse(published[0]?.Message ?? '{}')).toMatchObject({
      schema: 'rootwatch.heartbeat/v1',
      id: 'local-1',
      test: true,
    });
    expect(queued).toHaveLength(1);
    expect(result.batchItemFailures).toStrictEqual([]);
    expect(slack.requests).toStrictEqual([]);
    expect(await aws.drain(aws.slackDlqUrl)).toStrictEqual([]);
    const record = await heartbeat.log.read('local-1');
    expect(record).toMatchObject({ id: 'local-1', test: true, errors: {} });
    expect(Object.keys(record?.hops ?? {}).sort()).toStrictEqual(['alert', 'notifier', 'slack-queue', 'sns']);
    expect(metrics.hops[0]).toBe('alert');
    expect(metrics.hops.at(-1)).toBe('notifier');
    expect([...metrics.hops].sort()).toStrictEqual(['alert', 'notifier', 'slack-queue', 'sns']);
  });

  it('keeps heartbeats out of the e-mail subscriptions, at every severity floor, and lets alerts through', async () => {
    // Prepare
    const info = await subscribeQueue('rootwatch-heartbeat-email-info', emailFilterPolicy('info'));
    const high = await subscribeQueue('rootwatch-heartbeat-email-high', emailFilterPolicy('high'));
    const heartbeat = createLocalHeartbeat(aws);
    const alert = alertHandlerFor(aws);

    // Act
    await heartbeat.relay(
      parseHeartbeatEvent({
        version: '0',
        id: 'c4f7a8e2-9b1d-4e6f-8a3c-2d5e7f9a1b3c',
        'detail-type': 'rootwatch heartbeat',
        source: 'rootwatch.heartbeat',
        account: '111122223333',
        time: '2025-06-04T12:00:00Z',
        region: 'us-east-1',
        resources: [],
        detail: { id: 'email-filter-1' },
      }),
    );
    await alert(envelopeOf({ ...readSample('root-console-sign-in-no-mfa.json'), eventID: 'hb-critical' }), {
      awsRequestId: 'a',
    });
    await alert(envelopeOf({ ...readSample('root-console-sign-in-failure.json'), eventID: 'hb-medium' }), {
      awsRequestId: 'b',
    });
    const documentsIn = async (queue: string) =>
      (await aws.drain(queue)).map((message) => JSON.parse(publishedOf(message).structure.default ?? '{}'));

    // Assess
    expect((await documentsIn(info)).map((document) => [document.eventID, document.severity])).toStrictEqual([
      ['hb-critical', 'critical'],
      ['hb-medium', 'medium'],
    ]);
    expect((await documentsIn(high)).map((document) => document.eventID)).toStrictEqual(['hb-critical']);
    // The unfiltered subscriber (a SIEM's queue) gets all three; it can drop heartbeats by `kind`.
    const all = (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf);
    expect(all.map((message) => message.MessageAttributes.kind?.Value ?? 'alert')).toStrictEqual([
      'heartbeat',
      'alert',
      'alert',
    ]);
  });
});

describe('the deployed handlers and a heartbeat', () => {
  let ssm: Server;
  const ssmTargets: string[] = [];
  const context = (name: string) =>
    ({
      awsRequestId: `req-${Math.random()}`,
      invokedFunctionArn: `arn:aws:lambda:us-east-1:111122223333:function:rootwatch-local-${name}`,
      functionName: `rootwatch-local-${name}`,
      getRemainingTimeInMillis: () => 60_000,
    }) as unknown as Context;

  beforeAll(async () => {
    // SSM's JSON protocol, for the notifier's GetParameter: it reads the webhook URL before any message, so a
    // heartbeat also proves the URL can be read. Nothing is posted to it.
    ssm = createServer((req, res) => {
      ssmTargets.push(String(req.headers['x-amz-target']));
      req.resume().on('end', () => {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ Parameter: { Value: 'https://hooks.slack.com/services/T000/B000/heartbeat' } }));
      });
    });
    await new Promise<void>((resolve) => ssm.listen(0, '127.0.0.1', () => resolve()));
    const env = deployedEnvironment(aws, `http://127.0.0.1:${(ssm.address() as AddressInfo).port}`, {
      SLACK_WEBHOOK_PARAMETER: '/rootwatch/local/slack-webhook-url',
      ROOTWATCH_STAGE: 'local',
    });
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    await new Promise<void>((resolve) => ssm?.close(() => resolve()));
  });

  it('relays it from the alert function and takes it off the queue in the notifier, with an EMF line per hop', async () => {
    // Prepare
    const emf: Record<string, unknown>[] = [];
    const write = process.stdout.write.bind(process.stdout);
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk, ...rest) => {
      if (String(chunk).includes('"_aws"')) {
        emf.push(JSON.parse(String(chunk)));
        return true;
      }
      return write(chunk, ...(rest as []));
    });
    const { handler: alert } = await import('../../functions/alert.js');
    const { handler: notify } = await import('../../functions/notify-slack.js');
    const event = {
      version: '0',
      id: '5e0b0c3a-0d4e-4f5a-8b6c-7d8e9f0a1b2c',
      'detail-type': 'rootwatch heartbeat',
      source: 'rootwatch.heartbeat',
      account: '111122223333',
      time: '2025-06-04T12:00:00Z',
      region: 'us-east-1',
      resources: ['arn:aws:scheduler:us-east-1:111122223333:schedule/default/rootwatch-local-heartbeat'],
      detail: { id: 'deployed-1', scheduledTime: '2025-06-04T12:00:00Z' },
    };

    // Act
    const outcome = await alert(event, context('alert'));
    const published = (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf);
    const result = await notify(sqsEventOf(await aws.drain(aws.slackQueueUrl)), context('notify-slack'));

    // Assess
    expect(outcome).toStrictEqual({ status: 'heartbeat', id: 'deployed-1', hops: ['alert', 'sns', 'slack-queue'] });
    expect(published.map((message) => message.MessageAttributes.kind?.Value)).toStrictEqual(['heartbeat']);
    expect(result.batchItemFailures).toStrictEqual([]);
    expect(ssmTargets).toStrictEqual(['AmazonSSM.GetParameter']);
    expect(await aws.drain(aws.slackDlqUrl)).toStrictEqual([]);
    expect(emf.map((blob) => [blob.stage, blob.hop, blob.HeartbeatHop]).sort()).toStrictEqual(
      [
        ['local', 'alert', 1],
        ['local', 'notifier', 1],
        ['local', 'slack-queue', 1],
        ['local', 'sns', 1],
      ].sort(),
    );
    const record = await createLocalHeartbeat(aws).log.read('deployed-1');
    expect(Object.keys(record?.hops ?? {}).sort()).toStrictEqual(['alert', 'notifier', 'slack-queue', 'sns']);
  });

  it("counts a forwarder's heartbeat without relaying it, and the guard names the forwarder two periods after", async () => {
    // Prepare: the heartbeat of the forwarder in eu-west-1 of account 210987654321, as the hub bus delivers it.
    const emf: Record<string, unknown>[] = [];
    const write = process.stdout.write.bind(process.stdout);
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk, ...rest) => {
      if (String(chunk).includes('"_aws"')) {
        emf.push(JSON.parse(String(chunk)));
        return true;
      }
      return write(chunk, ...(rest as []));
    });
    const { handler: alert } = await import('../../functions/alert.js');
    const event = {
      version: '0',
      id: '8d2f4a6b-1c3e-4f5a-9b7d-0e2f4a6c8e1b',
      'detail-type': 'rootwatch heartbeat',
      source: 'rootwatch.heartbeat',
      account: '210987654321',
      time: '2025-06-04T12:00:00Z',
      region: 'eu-west-1',
      resources: ['arn:aws:scheduler:eu-west-1:210987654321:schedule/default/rootwatch-local-forwarder-heartbeat'],
      detail: { id: 'forwarder-1', scheduledTime: '2025-06-04T12:00:00Z', origin: 'forwarder' },
    };
    const MINUTE = 60_000;

    // Act: the alert function, as the hub bus's heartbeat rule invokes it.
    const before = Date.now();
    const outcome = await alert(event, context('alert'));
    const after = Date.now();
    const { lastSeen } = await createDynamoForwarderLog(aws.dynamodb, aws.tableName).read();
    const relayed = [...(await aws.drain(aws.subscriberQueueUrl)), ...(await aws.drain(aws.slackQueueUrl))];

    // Assess: counted for its account and region, its time recorded, relayed nowhere.
    expect(outcome).toStrictEqual({
      status: 'forwarder-heartbeat',
      id: 'forwarder-1',
      account: '210987654321',
      region: 'eu-west-1',
      recorded: true,
    });
    const heard = lastSeen['210987654321:eu-west-1'] ?? 0;
    expect(heard).toBeGreaterThanOrEqual(before);
    expect(heard).toBeLessThanOrEqual(after);
    expect(relayed).toStrictEqual([]);
    const counted = emf.filter((blob) => 'ForwarderHeartbeat' in blob);
    expect(counted).toHaveLength(1);
    expect(counted[0]).toMatchObject({
      service: 'rootwatch',
      stage: 'local',
      account: '210987654321',
      region: 'eu-west-1',
      ForwarderHeartbeat: 1,
    });
    expect((counted[0]?._aws as { CloudWatchMetrics?: unknown[] } | undefined)?.CloudWatchMetrics).toStrictEqual([
      {
        Namespace: 'rootwatch',
        Dimensions: [['service', 'stage', 'account', 'region']],
        Metrics: [{ Name: 'ForwarderHeartbeat', Unit: 'Count' }],
      },
    ]);

    // Prepare: the guard as deployed (functions/guard.ts's forwarder watch), its clock moved on.
    const detections = loadDetections();
    const detection = detections.find((candidate) => candidate.id === DRIFT_DETECTION);
    if (!detection) throw new Error(`the catalog has no ${DRIFT_DETECTION}`);
    const config = GuardConfigSchema.parse({
      ALERT_TOPIC_ARN: aws.topicArn,
      SLACK_QUEUE_URL: aws.slackQueueUrl,
      STATE_TABLE: aws.tableName,
      EXPECTED_STATE_FILE: '.rootwatch/expected-state.json',
      ACCOUNT_NAMES: JSON.stringify({ '210987654321': 'prod-payments' }),
      HEARTBEAT_MINUTES: '10',
    });
    const expectation = sampleExpectation();
    let nowMs = heard + 20 * MINUTE;
    const guard = createGuard({
      expectation,
      readDeployment: async () => deployedAsExpected(expectation),
      alertOf: () => {
        throw new Error('the deployment is as deployed: no drift alert');
      },
      state: createDynamoState(aws.dynamodb, aws.tableName),
      sinks: createSinks({
        sns: aws.sns,
        topicArn: aws.topicArn,
        sqs: aws.sqs,
        slackQueueUrl: aws.slackQueueUrl,
        detections,
      }),
      forwarders: createProductionForwarderWatch({
        dynamodb: aws.dynamodb,
        config,
        stage: 'local',
        accountId: '111122223333',
        region: 'us-east-1',
        partition: 'aws',
        detection,
      }),
      now: () => nowMs,
    });

    // Act: exactly two periods after the heartbeat, then a minute more, twice (the next run, within the hour).
    const atTwoPeriods = await guard.check('guard-1');
    nowMs += MINUTE;
    const silent = await guard.check('guard-2');
    const again = await guard.check('guard-3');
    const published = (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf);
    const queued = await aws.drain(aws.slackQueueUrl);
    vi.restoreAllMocks();

    // Assess: one alert, to the topic and the Slack queue, naming the account (and its name) and the region.
    expect(atTwoPeriods.forwarders).toStrictEqual({ status: 'all-heard', watched: 1 });
    expect(silent.forwarders).toMatchObject({
      status: 'alerted',
      watched: 1,
      silent: 1,
      sinks: ['sns', 'slack-queue'],
    });
    expect(again.forwarders).toMatchObject({ status: 'already-alerted', silent: 1 });
    expect(published).toHaveLength(1);
    expect(queued).toHaveLength(1);
    const document = AlertSchema.parse(JSON.parse(published[0]?.structure.default ?? '{}'));
    expect(document).toMatchObject({
      severity: 'high',
      title:
        'rootwatch local: forwarder silent in eu-west-1 of prod-payments (210987654321), no heartbeat for 21 minutes',
      account: { id: '210987654321', name: 'prod-payments' },
      region: 'eu-west-1',
      detections: ['alerter-tampering'],
    });
    expect(published[0]?.MessageAttributes.account).toStrictEqual({ Type: 'String', Value: '210987654321' });
    expect(published[0]?.MessageAttributes.kind).toBeUndefined();
    expect(JSON.parse(queued[0]?.Body ?? '{}')).toMatchObject({ eventID: document.eventID, title: document.title });
    expect(emf.filter((blob) => 'SilentForwarders' in blob).map((blob) => blob.SilentForwarders)).toStrictEqual([
      0, 1, 1,
    ]);
  });
});
