/**
 * Routing (issue 13, point 4): extra Slack channels by severity, kind and detection (the parameter slackRoutes), the
 * alert topic's message attributes that SNS filter policies route on, and PagerDuty and Opsgenie subscribed to the
 * topic. Real servers on loopback through the real SDK clients: fauxqs (SNS, SQS), dynalite (the state table), local
 * Slack webhooks (functions/local/slack-server.ts) and local stand-ins for the vendors' endpoints.
 *
 * fauxqs 1.9.2 applies subscription filter policies on message attributes (exact values, exists, anything-but, $or;
 * not String.Array element matching) but delivers to SQS subscriptions only, and passes a MessageStructure 'json'
 * message through whole. So a vendor's HTTPS subscription is stood in for by an SQS subscription with the same
 * filter policy, and the last hop, SNS posting the notification to the endpoint, is done here as SNS documents it:
 * the body is the JSON notification (Type, MessageId, TopicArn, Subject, Message, Timestamp, …, MessageAttributes)
 * whose Message is the `https` entry of the structure (else `default`), sent as text/plain with the
 * x-amz-sns-message-type header. https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html,
 * https://docs.aws.amazon.com/sns/latest/api/API_Publish.html (MessageStructure)
 */

import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSlackNotifier } from '../../functions/app/slack-notifier.js';
import type { Alert } from '../../functions/core/alert-document.js';
import { buildDigest } from '../../functions/core/digest-document.js';
import { buildDriftAlert } from '../../functions/core/guard/alert.js';
import type { Drift } from '../../functions/core/guard/compare.js';
import type { Severity } from '../../functions/core/severity.js';
import { parseSlackRoutes } from '../../functions/core/slack-routes.js';
import { ConfigError } from '../../functions/errors.js';
import { createDynamoState } from '../../functions/io/dynamo-state.js';
import { createHeartbeatSinks } from '../../functions/io/heartbeat-sinks.js';
import { createSlackQueueSink, createSnsSink } from '../../functions/io/sinks.js';
import { createDeadLetters, createPostponer } from '../../functions/io/slack-queue.js';
import { postSlackMessage } from '../../functions/io/slack-webhook.js';
import { type LocalAws, sqsEventOf, startLocalAws } from '../../functions/local/aws.js';
import { listenOnLoopback, readBody } from '../../functions/local/http.js';
import { type SlackServer, startSlackServer } from '../../functions/local/slack-server.js';
import { entryAt, foldOf } from '../helpers/digests.js';
import { PACKAGE_TIMEOUT_MS, packageService, removeWorkDir, STAGE } from '../helpers/package.js';
import { detections, signInAlert } from '../helpers/render-alerts.js';

const SEVERITY_LIST: Severity[] = ['info', 'low', 'medium', 'high', 'critical'];
const PAGING = '/rootwatch/test/slack-paging';
const REVIEW = '/rootwatch/test/slack-review';
const DIGESTS = '/rootwatch/test/slack-digests';
const ROUTES = `critical=${PAGING}, medium+&kind:alert|drift=${REVIEW}, kind:digest=${DIGESTS}`;

let aws: LocalAws;
let run = 0;

beforeAll(async () => {
  aws = await startLocalAws('rootwatch-routing');
});

afterAll(async () => {
  await aws?.stop();
});

/** A fresh id for this test's documents, so the state (one table for the file) never mixes tests. */
const nextId = (what: string) => {
  run += 1;
  return `routing-${what}-${run}`;
};

/** The representative alert at `severity`, with its own eventID and a title naming both. */
const alertAt = (severity: Severity): Alert => {
  const eventID = nextId(severity);
  const alert = signInAlert();
  return { ...alert, eventID, severity, title: `${alert.title} ${eventID}` };
};

/** A guard finding (kind drift): one subscription pending confirmation, high. */
const driftAlert = (): Alert => {
  const drift: Drift = {
    resource: 'subscription',
    name: 'email sec@example.com',
    property: 'PendingConfirmation',
    message: `pending ${nextId('drift')}`,
    severity: 'high',
  };
  const detection = detections.find((candidate) => candidate.id === 'alerter-tampering');
  if (!detection) throw new Error('the catalog has no alerter-tampering');
  return buildDriftAlert([drift], {
    stage: 'test',
    accountId: '111122223333',
    region: 'us-east-1',
    partition: 'aws',
    detection,
    nowMs: Date.parse('2026-03-01T12:00:00Z') + run * 60_000,
  });
};

/** A digest of three folded root-api-call events (high), with its own digestID. */
const digestOf = () => {
  const id = nextId('digest');
  return buildDigest(foldOf([entryAt(1), entryAt(2), entryAt(3)], { foldId: id, key: id }));
};

/** A Slack queue of the test's own: what an earlier test left in flight never comes back in a later one. */
const freshSlackQueue = async (): Promise<string> => {
  const { QueueUrl } = await aws.sqs.send(new CreateQueueCommand({ QueueName: nextId('slack') }));
  return QueueUrl as string;
};

/** Every message now on `queueUrl`, received as the event source mapping receives them (left in flight). */
const receiveQueued = async (queueUrl: string): Promise<Message[]> => {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 300,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return all;
    all.push(...Messages);
  }
};

describe('Slack routes (slackRoutes)', () => {
  let servers: Record<'default' | 'paging' | 'review' | 'digests', SlackServer>;
  /** What each route parameter resolves to, as the notifier reads them from SSM; a function throws instead. */
  let webhookOf: Map<string, string | (() => never)>;
  /** This test's Slack queue, and the sink that queues alerts and digests on it as the alert function does. */
  let queueUrl: string;
  let sink: ReturnType<typeof createSlackQueueSink>;
  const queued = async () => sqsEventOf(await receiveQueued(queueUrl));

  const notifierWith = (routes: string) =>
    createSlackNotifier({
      detections,
      state: createDynamoState(aws.dynamodb, aws.tableName),
      routes: parseSlackRoutes(routes).routes,
      post: async (message, { deadlineMs, route }) => {
        const url = route === undefined ? servers.default.url : webhookOf.get(route);
        if (url === undefined) throw new ConfigError(`no Slack route reads SSM parameter ${route}`);
        await postSlackMessage(typeof url === 'string' ? url : url(), message, {
          deadline: deadlineMs,
          allowInsecureLocalhost: true,
          timeoutMs: 500,
          maxAttempts: 1,
        });
      },
      deadLetter: createDeadLetters(aws.sqs, aws.slackDlqUrl, 'Slack message'),
      postpone: createPostponer(aws.sqs, queueUrl),
      minIntervalMs: 0,
      maxAgeMs: 24 * 3_600_000,
    });

  /** The ids (eventIDs, digestIDs, drift titles) each Slack server was sent and answered 2xx to. */
  const postedTo = (server: SlackServer, ids: readonly string[]): string[] =>
    ids.filter((id) => server.requests.some((request) => request.rawBody.includes(id)));

  beforeAll(async () => {
    servers = {
      default: await startSlackServer(),
      paging: await startSlackServer(),
      review: await startSlackServer(),
      digests: await startSlackServer(),
    };
  });

  beforeEach(async () => {
    for (const server of Object.values(servers)) {
      server.requests.length = 0;
      server.setScript([]);
    }
    webhookOf = new Map([
      [PAGING, servers.paging.url],
      [REVIEW, servers.review.url],
      [DIGESTS, servers.digests.url],
    ]);
    queueUrl = await freshSlackQueue();
    sink = createSlackQueueSink(aws.sqs, queueUrl);
  });

  afterEach(async () => {
    await aws.drain(aws.slackDlqUrl);
  });

  afterAll(async () => {
    for (const server of Object.values(servers ?? {})) await server.close();
  });

  it('posts an alert of each severity to the default channel and to exactly the routes it matches', async () => {
    // Prepare
    const alerts = SEVERITY_LIST.map(alertAt);
    for (const alert of alerts) await sink.send(alert);
    const ids = alerts.map((alert) => alert.eventID);
    const [info, low, medium, high, critical] = ids;

    // Act
    const result = await notifierWith(ROUTES)(await queued());

    // Assess
    expect(result).toStrictEqual({ batchItemFailures: [] });
    expect(postedTo(servers.default, ids)).toStrictEqual([info, low, medium, high, critical]);
    expect(postedTo(servers.paging, ids)).toStrictEqual([critical]);
    expect(postedTo(servers.review, ids)).toStrictEqual([medium, high, critical]);
    expect(postedTo(servers.digests, ids)).toStrictEqual([]);
    expect(servers.default.requests).toHaveLength(5);
    const state = createDynamoState(aws.dynamodb, aws.tableName);
    expect([...(await state.delivered(critical as string))].sort()).toStrictEqual([
      'slack',
      `slack:${PAGING}`,
      `slack:${REVIEW}`,
    ]);
    expect([...(await state.delivered(info as string))]).toStrictEqual(['slack']);
  });

  it('routes digests and the guard’s drift findings by kind', async () => {
    // Prepare
    const digest = digestOf();
    const drift = driftAlert();
    await sink.sendDigest(digest);
    await sink.send(drift);
    const ids = [digest.digestID, drift.eventID];

    // Act
    const result = await notifierWith(ROUTES)(await queued());

    // Assess: the digest (high) is no alert for the review channel; the drift (high) is.
    expect(result).toStrictEqual({ batchItemFailures: [] });
    expect(postedTo(servers.default, ids)).toStrictEqual(ids);
    expect(postedTo(servers.digests, ids)).toStrictEqual([digest.digestID]);
    expect(postedTo(servers.review, ids)).toStrictEqual([drift.eventID]);
    expect(postedTo(servers.paging, ids)).toStrictEqual([]);
  });

  it('routes by detection id', async () => {
    // Prepare
    const signIn = alertAt('high');
    const keyCreated = { ...alertAt('high'), detections: ['root-access-key-created', 'root-api-call'] };
    await sink.send(signIn);
    await sink.send(keyCreated);

    // Act
    await notifierWith(`detection:root-access-key-created|mfa-device-deactivated=${PAGING}`)(await queued());

    // Assess
    expect(postedTo(servers.paging, [signIn.eventID, keyCreated.eventID])).toStrictEqual([keyCreated.eventID]);
    expect(postedTo(servers.default, [signIn.eventID, keyCreated.eventID])).toHaveLength(2);
  });

  it('posts to the other channels when one route’s webhook fails (5xx, timeout), and the retry posts only where it failed', async () => {
    // Prepare: the review webhook answers 500, the paging webhook never answers (the client times out at 500 ms).
    const critical = alertAt('critical');
    const high = alertAt('high');
    await sink.send(critical);
    await sink.send(high);
    servers.review.setScript([500]);
    servers.paging.setScript(['hang']);
    const notify = notifierWith(ROUTES);
    const messages = await receiveQueued(queueUrl);
    const ids = [critical.eventID, high.eventID];

    // Act
    const first = await notify(sqsEventOf(messages));

    // Assess: both reached the default channel; the review webhook, down since the first message, is not tried
    // again in this batch; both stay queued for the routes that did not get them.
    expect(first.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toStrictEqual(
      messages.map((message) => message.MessageId).sort(),
    );
    expect(postedTo(servers.default, ids)).toStrictEqual(ids);
    expect(servers.review.requests).toHaveLength(1);
    expect(servers.paging.requests).toHaveLength(1);
    expect(await aws.drain(aws.slackDlqUrl)).toStrictEqual([]);

    // Act: the same messages come back (SQS redelivers them after their backoff); the webhooks now answer.
    const defaultPosts = servers.default.requests.length;
    const retry = await notify(sqsEventOf(messages, 2));

    // Assess: nothing twice to the default channel; each route gets what it missed, once.
    expect(retry).toStrictEqual({ batchItemFailures: [] });
    expect(servers.default.requests).toHaveLength(defaultPosts);
    expect(postedTo(servers.paging, ids)).toStrictEqual([critical.eventID]);
    expect(servers.paging.requests).toHaveLength(2);
    expect(postedTo(servers.review, ids)).toStrictEqual(ids);
    expect(servers.review.requests).toHaveLength(3);

    // Act: a third delivery finds every destination done.
    const again = await notify(sqsEventOf(messages, 3));

    // Assess
    expect(again).toStrictEqual({ batchItemFailures: [] });
    expect(servers.paging.requests).toHaveLength(2);
    expect(servers.review.requests).toHaveLength(3);
  });

  it('posts to the default channel when a route’s webhook parameter cannot be read, keeping the message for that route', async () => {
    // Prepare
    webhookOf.set(PAGING, () => {
      throw new ConfigError(`SSM parameter ${PAGING} has no value: put the Slack webhook URL in it`);
    });
    const critical = alertAt('critical');
    await sink.send(critical);

    // Act
    const result = await notifierWith(ROUTES)(await queued());

    // Assess
    expect(result.batchItemFailures).toHaveLength(1);
    expect(postedTo(servers.default, [critical.eventID])).toStrictEqual([critical.eventID]);
    expect(postedTo(servers.review, [critical.eventID])).toStrictEqual([critical.eventID]);
    expect(servers.paging.requests).toHaveLength(0);
  });

  it('dead-letters a message a route refuses for good once nothing else is pending, naming the route, never its URL', async () => {
    // Prepare
    servers.paging.setScript([{ status: 404, body: 'no_service' }]);
    const critical = alertAt('critical');
    await sink.send(critical);

    // Act
    const result = await notifierWith(ROUTES)(await queued());

    // Assess
    expect(result).toStrictEqual({ batchItemFailures: [] });
    expect(postedTo(servers.default, [critical.eventID])).toStrictEqual([critical.eventID]);
    const [dead, ...more] = await aws.drain(aws.slackDlqUrl);
    expect(more).toStrictEqual([]);
    const reason = dead?.MessageAttributes?.reason?.StringValue ?? '';
    expect(reason).toBe(`route ${PAGING}: Slack answered 404 no_service`);
    expect(reason).not.toContain(new URL(servers.paging.url).pathname);
    expect(dead?.MessageAttributes?.statusCode?.StringValue).toBe('404');
  });

  it('posts once to a channel that several entries name, and never again to the default one', async () => {
    // Prepare
    const critical = alertAt('critical');
    await sink.send(critical);

    // Act
    await notifierWith(`critical=${PAGING}, high+=${PAGING}, *=${PAGING}`)(await queued());

    // Assess
    expect(servers.paging.requests).toHaveLength(1);
    expect(servers.default.requests).toHaveLength(1);
  });
});

// ── The alert topic: attributes, filter policies, PagerDuty and Opsgenie ──────────────────────────────────────

/** An SQS queue subscribed to the alert topic with `policy` (on message attributes), as a subscriber of it. */
const subscribeQueue = async (name: string, policy?: unknown) => {
  const { QueueUrl } = await aws.sqs.send(new CreateQueueCommand({ QueueName: `rootwatch-routing-${name}` }));
  const { Attributes } = await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await aws.sns.send(
    new SubscribeCommand({
      TopicArn: aws.topicArn,
      Protocol: 'sqs',
      Endpoint: Attributes?.QueueArn,
      ...(policy === undefined
        ? {}
        : { Attributes: { FilterPolicyScope: 'MessageAttributes', FilterPolicy: JSON.stringify(policy) } }),
    }),
  );
  return QueueUrl as string;
};

/** An SNS notification as an SQS subscription (raw delivery off) receives it. */
interface Notification {
  Type: string;
  MessageId: string;
  TopicArn: string;
  Subject: string | null;
  Message: string;
  Timestamp: string;
  MessageAttributes?: Record<string, { Type: string; Value: string }>;
}
const notificationOf = (message: Message): Notification => JSON.parse(message.Body ?? '{}') as Notification;

/** The id of what a notification carries: an alert's eventID, a digest's digestID, a heartbeat's id. */
const idOf = (notification: Notification): string => {
  const parsed = JSON.parse(notification.Message) as Record<string, unknown>;
  const document =
    typeof parsed.default === 'string' ? (JSON.parse(parsed.default) as Record<string, unknown>) : parsed;
  return String(document.eventID ?? document.digestID ?? document.id);
};

/** The filter-policy recipes of the README ("Routing: channels by severity, PagerDuty and Opsgenie"). */
const RECIPES = {
  /** Critical alerts only: no digests, no heartbeats (both carry attributes alerts lack). */
  paging: { severity: ['critical'], document: [{ exists: false }], kind: [{ exists: false }] },
  /** Medium and above, alerts and digests. */
  review: { severity: ['medium', 'high', 'critical'] },
  /** Digests only. */
  digests: { document: ['digest'] },
  /** Everything but heartbeats (a SIEM). */
  siem: { kind: [{ exists: false }] },
  /** One account's. */
  account: { account: ['111122223333'] },
};

describe('the alert topic’s message attributes and filter-policy recipes', () => {
  /** What reached each recipe's queue, by id, after publishing one of everything. */
  let received: Record<keyof typeof RECIPES | 'all', Notification[]>;
  let sent: { alerts: Alert[]; digest: string; drift: string; heartbeat: string };

  beforeAll(async () => {
    const queues = {
      all: await subscribeQueue('all'),
      ...Object.fromEntries(
        await Promise.all(
          Object.entries(RECIPES).map(async ([name, policy]) => [name, await subscribeQueue(name, policy)] as const),
        ),
      ),
    } as Record<keyof typeof received, string>;
    const sns = createSnsSink(aws.sns, aws.topicArn, detections);
    const alerts = SEVERITY_LIST.map(alertAt);
    for (const alert of alerts) await sns.send(alert);
    const digest = digestOf();
    await sns.sendDigest(digest);
    const drift = driftAlert();
    await sns.send(drift);
    const heartbeat = nextId('heartbeat');
    await createHeartbeatSinks({
      sns: aws.sns,
      topicArn: aws.topicArn,
      sqs: aws.sqs,
      slackQueueUrl: aws.slackQueueUrl,
    }).publish({
      schema: 'rootwatch.heartbeat/v1',
      id: heartbeat,
      test: false,
      time: '2026-03-01T12:00:00Z',
      account: '111122223333',
      region: 'us-east-1',
    });
    await aws.drain(aws.slackQueueUrl);
    sent = { alerts, digest: digest.digestID, drift: drift.eventID, heartbeat };
    received = Object.fromEntries(
      await Promise.all(
        Object.entries(queues).map(async ([name, url]) => [name, (await aws.drain(url)).map(notificationOf)] as const),
      ),
    ) as typeof received;
  });

  const idsIn = (name: keyof typeof received) => received[name].map(idOf).sort();
  const alertId = (severity: Severity) => sent.alerts[SEVERITY_LIST.indexOf(severity)]?.eventID ?? '';

  it('marks each alert with its severity, detections (one per element) and account', () => {
    // Prepare
    const critical = received.all.find((notification) => idOf(notification) === alertId('critical'));

    // Assess
    expect(critical?.MessageAttributes).toStrictEqual({
      severity: { Type: 'String', Value: 'critical' },
      detection: { Type: 'String.Array', Value: '["root-console-sign-in"]' },
      account: { Type: 'String', Value: '111122223333' },
    });
  });

  it('marks a digest with document: digest, a heartbeat with kind: heartbeat, and a drift with alerter-tampering', () => {
    // Prepare
    const byId = (id: string) => received.all.find((notification) => idOf(notification) === id)?.MessageAttributes;

    // Assess
    expect(byId(sent.digest)).toStrictEqual({
      document: { Type: 'String', Value: 'digest' },
      severity: { Type: 'String', Value: 'high' },
      detection: { Type: 'String.Array', Value: '["root-api-call"]' },
      account: { Type: 'String', Value: '111122223333' },
    });
    expect(byId(sent.heartbeat)).toStrictEqual({ kind: { Type: 'String', Value: 'heartbeat' } });
    expect(byId(sent.drift)?.detection).toStrictEqual({ Type: 'String.Array', Value: '["alerter-tampering"]' });
    expect(byId(sent.drift)?.severity).toStrictEqual({ Type: 'String', Value: 'high' });
  });

  it('delivers to each recipe’s subscription exactly what the recipe says', () => {
    // Assess
    expect(idsIn('all')).toHaveLength(8);
    expect(idsIn('paging')).toStrictEqual([alertId('critical')]);
    expect(idsIn('review')).toStrictEqual(
      [alertId('medium'), alertId('high'), alertId('critical'), sent.digest, sent.drift].sort(),
    );
    expect(idsIn('digests')).toStrictEqual([sent.digest]);
    expect(idsIn('siem')).toStrictEqual([...sent.alerts.map((alert) => alert.eventID), sent.digest, sent.drift].sort());
    expect(idsIn('account')).toStrictEqual(
      [...sent.alerts.map((alert) => alert.eventID), sent.digest, sent.drift].sort(),
    );
  });
});

/** One POST a vendor stand-in received. */
interface VendorRequest {
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** A local HTTP server standing in for a vendor's SNS endpoint: records each POST, answers 202. */
const startVendor = async () => {
  const requests: VendorRequest[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      requests.push({ headers: req.headers, body: JSON.parse(await readBody(req)) as Record<string, unknown> });
      res.writeHead(202).end();
    })();
  });
  const { origin, close } = await listenOnLoopback(server);
  return { origin, requests, close };
};

/**
 * SNS's last hop to an HTTPS subscriber (raw message delivery off), which fauxqs does not make: the notification as
 * JSON, its Message the structure's `https` entry (else `default`), POSTed as text/plain with SNS's headers.
 * https://docs.aws.amazon.com/sns/latest/dg/http-header.html
 */
const deliverAsHttps = async (notification: Notification, endpoint: string): Promise<void> => {
  const structure = JSON.parse(notification.Message) as Record<string, string>;
  const body = { ...notification, Message: structure.https ?? structure.default };
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'text/plain; charset=UTF-8',
      'x-amz-sns-message-type': notification.Type,
      'x-amz-sns-message-id': notification.MessageId,
      'x-amz-sns-topic-arn': notification.TopicArn,
    },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(202);
};

describe('PagerDuty and Opsgenie as HTTPS subscribers of the alert topic', () => {
  /** README: PagerDuty pages on critical alerts; digests and heartbeats (no severity) never page. */
  const PAGERDUTY_POLICY = { severity: ['critical'], document: [{ exists: false }] };
  /** README: Opsgenie takes high and above, alerts and digests, no heartbeats (they have no severity). */
  const OPSGENIE_POLICY = { severity: ['high', 'critical'] };

  let pagerduty: Awaited<ReturnType<typeof startVendor>>;
  let opsgenie: Awaited<ReturnType<typeof startVendor>>;
  let sent: { alerts: Alert[]; digest: string };

  beforeAll(async () => {
    pagerduty = await startVendor();
    opsgenie = await startVendor();
    const pagerdutyQueue = await subscribeQueue('pagerduty', PAGERDUTY_POLICY);
    const opsgenieQueue = await subscribeQueue('opsgenie', OPSGENIE_POLICY);
    const sns = createSnsSink(aws.sns, aws.topicArn, detections);
    const alerts = SEVERITY_LIST.map(alertAt);
    for (const alert of alerts) await sns.send(alert);
    const digest = digestOf();
    await sns.sendDigest(digest);
    sent = { alerts, digest: digest.digestID };
    for (const message of await aws.drain(pagerdutyQueue)) {
      await deliverAsHttps(notificationOf(message), `${pagerduty.origin}/x-ere/R0UT1NGKEY`);
    }
    for (const message of await aws.drain(opsgenieQueue)) {
      await deliverAsHttps(notificationOf(message), `${opsgenie.origin}/v1/json/amazonsns?apiKey=0PSG3N13KEY`);
    }
  });

  afterAll(async () => {
    await pagerduty?.close();
    await opsgenie?.close();
  });

  it('sends PagerDuty the critical alert only, with what its SNS ingestion reads: Subject as the title, Message as details', () => {
    // Assess: https://htnosm.hatenablog.com/entry/2022/04/01/090000 (PagerDuty Event Rules / Orchestration endpoint
    // https://events.pagerduty.com/x-ere/<key> confirms the subscription itself; the incident title is $.Subject, the
    // details $.Message); the severity rule reads MessageAttributes.severity.Value.
    expect(pagerduty.requests).toHaveLength(1);
    const [request] = pagerduty.requests;
    const critical = sent.alerts.at(-1) as Alert;
    expect(request?.headers['x-amz-sns-message-type']).toBe('Notification');
    expect(request?.body).toMatchObject({
      Type: 'Notification',
      TopicArn: aws.topicArn,
      Subject: expect.stringMatching(/^\[CRITICAL\] root-console-sign-in - prod-payments \(111122223333\)$/),
      MessageAttributes: { severity: { Type: 'String', Value: 'critical' } },
    });
    expect(String(request?.body.Subject).length).toBeLessThan(100);
    const details = JSON.parse(String(request?.body.Message)) as Alert;
    expect(details.eventID).toBe(critical.eventID);
    expect(details.schema).toBe('rootwatch.alert/v1');
  });

  it('sends Opsgenie the high and critical alerts and digests, Subject as the alert message and Message as its description', () => {
    // Assess: Opsgenie's Amazon SNS integration (https://api.opsgenie.com/v1/json/amazonsns?apiKey=…, raw message
    // delivery off) makes the alert's message from the Subject (at most 130 characters) and its description from
    // the Message. https://support.atlassian.com/opsgenie/docs/integrate-opsgenie-with-amazon-sns/
    const ids = opsgenie.requests.map((request) => {
      const document = JSON.parse(String(request.body.Message)) as { eventID?: string; digestID?: string };
      return document.eventID ?? document.digestID;
    });
    expect(ids.sort()).toStrictEqual([sent.alerts[3]?.eventID, sent.alerts[4]?.eventID, sent.digest].sort());
    for (const request of opsgenie.requests) {
      expect(request.body.Type).toBe('Notification');
      expect(String(request.body.Subject)).toMatch(/^\[(HIGH|CRITICAL)\] .{1,118}$/);
      expect(typeof request.body.Message).toBe('string');
    }
  });

  it('gives other HTTPS subscribers the same alert document as ever', () => {
    // Assess: what the vendors read is the notification every HTTPS subscriber gets; nothing vendor-specific.
    const [request] = pagerduty.requests;
    expect(JSON.parse(String(request?.body.Message))).toStrictEqual(JSON.parse(JSON.stringify(sent.alerts.at(-1))));
  });
});

describe('serverless package with slackRoutes', () => {
  let workDir: string;
  let template: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'rootwatch-routing-'));
    const outputDir = await packageService(workDir, [
      `slackRoutes=critical=/rootwatch/${STAGE}/slack-paging, medium+&kind:alert=/rootwatch/${STAGE}/slack-review`,
    ]);
    template = JSON.parse(await readFile(join(outputDir, 'cloudformation-template-update-stack.json'), 'utf8'));
  }, PACKAGE_TIMEOUT_MS);

  afterAll(async () => {
    if (workDir) await removeWorkDir(workDir);
  });

  it('lets the notifier read and decrypt the routes’ parameters, by name only', () => {
    // Prepare
    const arn = (name: string) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/rootwatch/${STAGE}/${name}`,
    });
    const policy = template.Resources.NotifySlackRoutesPolicy;
    const statements =
      (policy?.Properties.PolicyDocument as { Statement: Record<string, unknown>[] } | undefined)?.Statement ?? [];

    // Assess
    expect(policy?.Type).toBe('AWS::IAM::Policy');
    expect(policy?.Properties.Roles).toStrictEqual([{ Ref: 'NotifySlackRole' }]);
    expect(template.Resources.NotifySlackRole?.Type).toBe('AWS::IAM::Role');
    expect(statements.map((statement) => [statement.Action, statement.Resource])).toStrictEqual([
      ['ssm:GetParameter', [arn('slack-paging'), arn('slack-review')]],
      ['kms:Decrypt', { 'Fn::Sub': `arn:\${AWS::Partition}:kms:\${AWS::Region}:\${AWS::AccountId}:key/*` }],
    ]);
    expect(statements[1]?.Condition).toStrictEqual({
      StringEquals: {
        'kms:ViaService': { 'Fn::Sub': `ssm.\${AWS::Region}.amazonaws.com` },
        'kms:EncryptionContext:PARAMETER_ARN': [arn('slack-paging'), arn('slack-review')],
      },
    });
  });

  it('gives the notifier the routes as written, names and selectors only', () => {
    // Prepare
    const notifier = Object.values(template.Resources).find(
      (resource) =>
        resource.Type === 'AWS::Lambda::Function' &&
        resource.Properties.FunctionName === `rootwatch-${STAGE}-notify-slack`,
    );
    const variables =
      (notifier?.Properties.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {};

    // Assess
    expect(variables.SLACK_ROUTES).toBe(
      `critical=/rootwatch/${STAGE}/slack-paging, medium+&kind:alert=/rootwatch/${STAGE}/slack-review`,
    );
    expect(parseSlackRoutes(String(variables.SLACK_ROUTES)).problems).toStrictEqual([]);
  });
});
