/**
 * The alert pipeline end to end, through the real SDK clients: the alert handler against fauxqs (SNS,
 * SQS) and dynalite (DynamoDB), the Slack notifier against a local webhook server.
 */

import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { SNSClient } from '@aws-sdk/client-sns';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEnricher } from '../../functions/app/enrich.js';
import { classify } from '../../functions/core/classify.js';
import { recordToEvent } from '../../functions/core/event.js';
import { DeliveryError, EventParseError } from '../../functions/errors.js';
import { createAccountNames } from '../../functions/io/accounts.js';
import { createSlackQueueSink, createSnsSink } from '../../functions/io/sinks.js';
import { type LocalAws, startLocalAws } from '../../functions/local/aws.js';
import { type SlackServer, startSlackServer } from '../../functions/local/slack-server.js';
import { corpusAvailable, readCorpus } from '../helpers/corpus.js';
import { alertHandlerFor, detections, envelopeOf, notifierFor, publishedOf, sqsEventOf } from '../helpers/pipeline.js';
import { readSample } from '../helpers/samples.js';

let aws: LocalAws;
let slack: SlackServer;
let run = 0;

/** A sample with an eventID of its own for this test, since the state table outlives a test. */
const fresh = (fixture: string, extra: Record<string, unknown> = {}): Record<string, unknown> & { eventID: string } => {
  const record = readSample(fixture);
  run += 1;
  return { ...record, eventID: `${record.eventID as string}-${run}`, ...extra };
};
const context = (id = `req-${Math.random()}`) => ({ awsRequestId: id });

beforeAll(async () => {
  aws = await startLocalAws();
  slack = await startSlackServer();
});
afterAll(async () => {
  await slack?.close();
  await aws?.stop();
});
beforeEach(async () => {
  await aws.drain(aws.subscriberQueueUrl);
  await aws.drain(aws.slackQueueUrl);
  await aws.drain(aws.slackDlqUrl);
  slack.requests.length = 0;
  slack.setScript([]);
});

describe('the alert handler', () => {
  it('alerts once, to SNS and to Slack, for every catalog sample that should match', async () => {
    const handler = alertHandlerFor(aws);
    const fixtures = [
      ...new Set(detections.flatMap((d) => d.samples.filter((s) => s.expect === 'match').map((s) => s.fixture))),
    ];
    const expected = new Map<string, string[]>();
    for (const fixture of fixtures) {
      // A failed root sign-in in an account of its own: root-console-sign-in follows failed ones (any source, 15
      // minutes of event time), and the later tests' sign-ins in 111122223333 must not count these.
      const failed = classify(recordToEvent(readSample(fixture)), detections).some(
        (m) => m.detection.id === 'root-console-sign-in-failure',
      );
      const record = fresh(fixture, failed ? { recipientAccountId: '444455556666' } : {});
      const outcome = await handler(envelopeOf(record), context());
      const want = classify(recordToEvent(record), detections).map((m) => m.detection.id);
      expect(outcome, fixture).toMatchObject({ status: 'delivered', detections: want, sinks: ['sns', 'slack-queue'] });
      expected.set(record.eventID, want);
    }
    const published = (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf);
    expect(published).toHaveLength(fixtures.length);
    for (const message of published) {
      const document = JSON.parse(message.structure.default as string);
      expect(document.detections).toEqual(expected.get(document.eventID));
      expect(JSON.parse(message.MessageAttributes.detection?.Value ?? '[]')).toEqual(document.detections);
      expect(message.MessageAttributes.severity?.Value).toBe(document.severity);
      expect(message.Subject).toMatch(/^\[(CRITICAL|HIGH|MEDIUM|LOW|INFO)\] /);
    }

    const queued = await aws.drain(aws.slackQueueUrl);
    expect(queued).toHaveLength(fixtures.length);
    const result = await notifierFor(aws, slack.url)(sqsEventOf(queued));
    expect(result.batchItemFailures).toEqual([]);
    expect(slack.requests).toHaveLength(fixtures.length);
    for (const request of slack.requests) {
      const body = request.body as { text: string; blocks: unknown[] };
      expect(body.text).toMatch(/critical|high|medium|low|info/i);
      expect(body.blocks.length).toBeGreaterThan(2);
      expect(body.blocks.length).toBeLessThanOrEqual(50);
    }
  });

  it('delivers the documented e-mail, JSON document, attributes and Slack message for a root sign-in without MFA', async () => {
    const record = fresh('root-console-sign-in-no-mfa.json');
    const id = record.eventID;
    await alertHandlerFor(aws)(envelopeOf(record), context());
    const [published] = (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf);
    const cloudtrail = `https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/${id}`;
    const runbook = 'https://runbooks.example/root-console-sign-in.yml';

    expect(published?.Subject).toBe('[CRITICAL] root-console-sign-in - prod-payments (111122223333)');
    expect(published?.MessageAttributes).toEqual({
      severity: { Type: 'String', Value: 'critical' },
      detection: { Type: 'String.Array', Value: '["root-console-sign-in"]' },
      account: { Type: 'String', Value: '111122223333' },
    });
    expect(Object.keys(published?.structure ?? {}).sort()).toEqual([
      'default',
      'email',
      'email-json',
      'https',
      'lambda',
      'sqs',
    ]);
    expect(published?.structure.email).toBe(
      [
        'Root console sign-in without MFA — prod-payments (111122223333)',
        '',
        'Severity: CRITICAL',
        'What: "ConsoleLogin" on "signin.amazonaws.com"',
        'Account: "prod-payments (111122223333)"',
        'Who: "Root", "arn:aws:iam::111122223333:root", credential: console',
        'From where: IP "203.0.113.11", client "Firefox 62 on macOS"',
        'MFA: NO',
        'Outcome: success',
        'User agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:62.0) Gecko/20100101 Firefox/62.0"',
        'When: "2022-11-10T16:24:34Z"',
        'Region: "us-east-1"',
        `Event ID: "${id}"`,
        '',
        'Detection:',
        '- Root console sign-in (root-console-sign-in)',
        '  Someone signed in to the AWS Management Console as the account root user. Root needs no permissions and cannot be limited by IAM; it should be used only for the few tasks that require it. Without MFA, a stolen password alone was enough.',
        '',
        'What to do:',
        '1. Ask the owners of account "prod-payments (111122223333)" whether root work was planned around "2022-11-10 16:24 UTC"; an unplanned sign-in is an incident.',
        '2. Check "203.0.113.11", `source.country` and "Firefox 62 on macOS" against where your administrators work, and "no MFA".',
        '3. List every event with `userIdentity.type = Root` in the 24 hours after "2022-11-10 16:24 UTC" (rootwatch replay over the trail, or CloudTrail Lake).',
        '4. If unexplained: reset the root password through the account e-mail, re-register MFA, delete any root access keys, and review IAM changes made in that window.',
        '',
        'Links:',
        `CloudTrail: ${cloudtrail}`,
        `Runbook: ${runbook}`,
        '',
        'The full alert document (JSON, with the CloudTrail record) goes to the JSON subscribers of this topic (email-json, SQS, HTTPS, Lambda).',
        '',
      ].join('\n'),
    );
    const document = {
      schema: 'rootwatch.alert/v1',
      eventID: id,
      detections: ['root-console-sign-in'],
      severity: 'critical',
      title: 'Root console sign-in without MFA — prod-payments (111122223333)',
      eventTime: '2022-11-10T16:24:34Z',
      eventName: 'ConsoleLogin',
      eventSource: 'signin.amazonaws.com',
      region: 'us-east-1',
      account: { id: '111122223333', name: 'prod-payments' },
      actor: { type: 'Root', arn: 'arn:aws:iam::111122223333:root', credential: 'console', mfa: false },
      source: { ip: '203.0.113.11', client: 'Firefox 62 on macOS', userAgent: record.userAgent },
      outcome: { result: 'success' },
      tags: ['attack.t1078.004'],
      links: { cloudtrail, runbook },
      record,
    };
    for (const key of ['default', 'email-json', 'sqs', 'https', 'lambda']) {
      expect(JSON.parse(published?.structure[key] as string), key).toEqual(document);
    }

    await notifierFor(aws, slack.url)(sqsEventOf(await aws.drain(aws.slackQueueUrl)));
    expect(slack.requests).toHaveLength(1);
    expect(slack.requests[0]?.headers['content-type']).toMatch(/^application\/json/);
    const field = (text: string) => ({ type: 'mrkdwn', text, verbatim: true });
    expect(slack.requests[0]?.body).toEqual({
      text: '🔴 CRITICAL: Root console sign-in without MFA — prod-payments (111122223333)',
      blocks: [
        {
          type: 'header',
          text: {
            type: 'plain_text',
            text: '🔴 CRITICAL · Root console sign-in without MFA — prod-payments (111122223333)',
          },
        },
        {
          type: 'section',
          fields: [
            field('*What*\n`ConsoleLogin` on `signin.amazonaws.com`'),
            field('*Account*\n`prod-payments (111122223333)`'),
            field('*Who*\n`Root` · `arn:aws:iam::111122223333:root` · credential: console'),
            field('*From where*\nIP `203.0.113.11` · client `Firefox 62 on macOS`'),
            field('*MFA*\n*NO*'),
            field('*Outcome*\nsuccess'),
            field('*User agent*\n`Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:62.0) Gecko/20100101 Firefox/62.0`'),
          ],
        },
        { type: 'section', text: field('*Detection*\n• *Root console sign-in* `root-console-sign-in`') },
        {
          type: 'section',
          text: field(
            [
              '*What to do*',
              '1. Ask the owners of account `prod-payments (111122223333)` whether root work was planned around `2022-11-10 16:24 UTC`; an unplanned sign-in is an incident.',
              '2. Check `203.0.113.11`, `source.country` and `Firefox 62 on macOS` against where your administrators work, and `no MFA`.',
              '3. List every event with `userIdentity.type = Root` in the 24 hours after `2022-11-10 16:24 UTC` (rootwatch replay over the trail, or CloudTrail Lake).',
              '4. If unexplained: reset the root password through the account e-mail, re-register MFA, delete any root access keys, and review IAM changes made in that window.',
            ].join('\n'),
          ),
        },
        {
          type: 'context',
          elements: [field(`When \`2022-11-10T16:24:34Z\` · Region \`us-east-1\` · Event ID \`${id}\``)],
        },
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              text: { type: 'plain_text', text: 'Open in CloudTrail' },
              url: cloudtrail,
              action_id: 'open-cloudtrail',
            },
            { type: 'button', text: { type: 'plain_text', text: 'Runbook' }, url: runbook, action_id: 'open-runbook' },
          ],
        },
      ],
    });
  });

  it.skipIf(!corpusAvailable)('alerts on every root record of the corpus exactly as replay classifies it', async () => {
    const handler = alertHandlerFor(aws);
    const files = [
      'cloudtrail/panther-scenario-compromised-root-creds.jsonl',
      'cloudtrail/aws-docs-records.jsonl',
      'cloudtrail/panther-rule-tests.jsonl',
    ];
    const root = files
      .flatMap((file) => readCorpus<{ record: Record<string, unknown>; facts: { identity_type?: string } }>(file))
      .filter((row) => row.facts.identity_type === 'Root');
    expect(root.length).toBeGreaterThan(30);
    let alerts = 0;
    for (const [i, row] of root.entries()) {
      const record = { ...row.record, eventID: `corpus-root-${i}-${run}` };
      const want = classify(recordToEvent(record), detections).map((m) => m.detection.id);
      const outcome = await handler(envelopeOf(record), context());
      if (want.length === 0) expect(outcome).toEqual({ status: 'no-match' });
      else {
        alerts += 1;
        expect(outcome).toMatchObject({ status: 'delivered', detections: want });
      }
    }
    expect((await aws.drain(aws.subscriberQueueUrl)).length).toBe(alerts);
    expect((await aws.drain(aws.slackQueueUrl)).length).toBe(alerts);
  });

  it('alerts once when the same event arrives twice (two rules, or at-least-once delivery)', async () => {
    const handler = alertHandlerFor(aws);
    const event = envelopeOf(fresh('root-create-access-key.json'));
    expect((await handler(event, context('first'))).status).toBe('delivered');
    expect(await handler(event, context('second'))).toEqual({ status: 'duplicate' });
    expect(await aws.drain(aws.subscriberQueueUrl)).toHaveLength(1);
    expect(await aws.drain(aws.slackQueueUrl)).toHaveLength(1);
  });

  it('keeps Slack going when SNS fails, and on retry sends only what is missing', async () => {
    const brokenSns = new SNSClient({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    const event = envelopeOf(fresh('root-console-sign-in-no-mfa.json'));
    const failing = alertHandlerFor(aws, {
      sinks: [createSnsSink(brokenSns, aws.topicArn, detections), createSlackQueueSink(aws.sqs, aws.slackQueueUrl)],
    });
    const error = await failing(event, context('attempt')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).failures.map((f) => f.sink)).toEqual(['sns']);
    expect(await aws.drain(aws.slackQueueUrl)).toHaveLength(1);
    expect(await aws.drain(aws.subscriberQueueUrl)).toHaveLength(0);

    // Lambda's retry of the same invocation: SNS works again.
    const retried = await alertHandlerFor(aws)(event, context('attempt'));
    expect(retried).toMatchObject({ status: 'delivered', sinks: ['sns'] });
    expect(await aws.drain(aws.subscriberQueueUrl)).toHaveLength(1);
    expect(await aws.drain(aws.slackQueueUrl)).toHaveLength(0);
  });

  it('publishes to SNS even when Slack is down', async () => {
    slack.setScript([500, 500, 500, 500]);
    await alertHandlerFor(aws)(envelopeOf(fresh('root-password-updated.json')), context());
    expect(await aws.drain(aws.subscriberQueueUrl)).toHaveLength(1);
    const result = await notifierFor(aws, slack.url)(sqsEventOf(await aws.drain(aws.slackQueueUrl)));
    expect(result.batchItemFailures).toHaveLength(1);
  });

  it('rejects an event that does not parse, naming the field, so Lambda dead-letters it', async () => {
    const event = envelopeOf(fresh('root-console-sign-in-no-mfa.json'));
    await expect(alertHandlerFor(aws)({ ...event, account: 111122223333 }, context())).rejects.toThrow(EventParseError);
    await expect(alertHandlerFor(aws)({ ...event, detail: { eventSource: 'x' } }, context())).rejects.toThrow(
      /detail\.eventName/,
    );
    expect(await aws.drain(aws.subscriberQueueUrl)).toHaveLength(0);
  });

  it('alerts on a CloudTrail record whose envelope lacks a field, taking it from the record', async () => {
    const { time: _, ...noTime } = envelopeOf(fresh('root-console-sign-in-no-mfa.json'));
    const outcome = await alertHandlerFor(aws)(noTime, context());
    expect(outcome).toMatchObject({ status: 'delivered' });
    const [published] = (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf);
    expect(JSON.parse(published?.structure.sqs ?? '{}').eventTime).toBe(noTime.detail.eventTime);
  });

  it('still alerts when the account-name lookup is denied, leaving the name out', async () => {
    const organizations = new OrganizationsClient({ region: 'us-east-1' });
    const denied = Object.assign(new Error('User is not authorized to perform organizations:DescribeAccount'), {
      name: 'AccessDeniedException',
    });
    const send = vi.spyOn(organizations, 'send').mockRejectedValue(denied as never);
    const handler = alertHandlerFor(aws, {
      enrich: createEnricher({ accountNames: createAccountNames({ organizations }) }),
    });
    const outcome = await handler(envelopeOf(fresh('root-api-call-long-term-key.json')), context());
    expect(outcome.status).toBe('delivered');
    expect(send).toHaveBeenCalled();
    const [message] = (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf);
    expect(JSON.parse(message?.structure.default as string).account).toEqual({ id: '111122223333' });
  });

  it('raises the 5th root sign-in failure within 15 minutes to high, counting in DynamoDB', async () => {
    const handler = alertHandlerFor(aws);
    const account = `9${String(run).padStart(11, '0')}`;
    const severities: string[] = [];
    for (const minute of [0, 3, 6, 9, 12]) {
      const record = fresh('root-console-sign-in-failure.json', {
        recipientAccountId: account,
        eventTime: new Date(Date.UTC(2025, 5, 1, 8, minute)).toISOString(),
      });
      const event = { ...envelopeOf(record), account };
      const outcome = await handler(event, context());
      severities.push(outcome.status === 'delivered' ? outcome.severity : outcome.status);
      // A retried or duplicated event is counted once.
      await handler(event, context());
    }
    expect(severities).toEqual(['medium', 'medium', 'medium', 'medium', 'high']);
  });

  it('drops alerts below MIN_SEVERITY without publishing', async () => {
    const handler = alertHandlerFor(aws, {
      minSeverity: 'critical',
    });
    expect(await handler(envelopeOf(fresh('root-password-updated.json')), context())).toEqual({
      status: 'below-threshold',
      severity: 'high',
    });
    expect(await aws.drain(aws.subscriberQueueUrl)).toHaveLength(0);
  });
});

describe('the Slack notifier', () => {
  const queueOne = async (fixture = 'root-console-sign-in-no-mfa.json') => {
    await alertHandlerFor(aws)(envelopeOf(fresh(fixture)), context());
    await aws.drain(aws.subscriberQueueUrl);
    return aws.drain(aws.slackQueueUrl);
  };

  it('posts after a 500, retrying once', async () => {
    slack.setScript([500, 200]);
    const result = await notifierFor(aws, slack.url)(sqsEventOf(await queueOne()));
    expect(result.batchItemFailures).toEqual([]);
    expect(slack.requests).toHaveLength(2);
  });

  it('honours 429 Retry-After, then posts', async () => {
    const slept: number[] = [];
    slack.setScript([{ status: 429, headers: { 'retry-after': '1' }, body: 'rate_limited' }, 200]);
    const notifier = notifierFor(aws, slack.url, {
      postOptions: { allowInsecureLocalhost: true, maxAttempts: 2, sleep: async (ms) => void slept.push(ms) },
    });
    expect((await notifier(sqsEventOf(await queueOne()))).batchItemFailures).toEqual([]);
    expect(slept).toContain(1000);
    expect(slack.requests).toHaveLength(2);
  });

  it('postpones a message on the queue when Slack asks to wait longer than the notifier waits', async () => {
    // Prepare: the alert on the Slack queue, received but not deleted, as the event source mapping does.
    slack.setScript([{ status: 429, headers: { 'retry-after': '120' }, body: 'rate_limited' }]);
    await alertHandlerFor(aws)(envelopeOf(fresh('root-password-updated.json')), context());
    await aws.drain(aws.subscriberQueueUrl);
    const { Messages = [] } = await aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: aws.slackQueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 4 }),
    );
    expect(Messages).toHaveLength(1);
    // Act
    const result = await notifierFor(aws, slack.url)(sqsEventOf(Messages));
    // Assess: left on the queue, hidden for Slack's two minutes (not the 4 s it was received with)
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: Messages[0]?.MessageId }]);
    expect(slack.requests).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    expect(await aws.drain(aws.slackQueueUrl)).toHaveLength(0);
    expect(await aws.drain(aws.slackDlqUrl)).toHaveLength(0);
  });

  it('posts after a timeout', async () => {
    slack.setScript(['hang', 200]);
    expect((await notifierFor(aws, slack.url)(sqsEventOf(await queueOne()))).batchItemFailures).toEqual([]);
    expect(slack.requests).toHaveLength(2);
  });

  it('leaves the message queued when the connection is refused, and dead-letters it with the reason once a day old', async () => {
    const queued = await queueOne();
    const refused = 'http://127.0.0.1:9/services/T000/B000/refusedsecret';
    const first = await notifierFor(aws, refused)(sqsEventOf(queued, 1));
    expect(first.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([queued[0]?.MessageId]);
    expect(await aws.drain(aws.slackDlqUrl)).toHaveLength(0);
    const dayOld = Date.now() - 25 * 3_600_000;
    const last = await notifierFor(aws, refused)(sqsEventOf(queued, 3, dayOld));
    expect(last.batchItemFailures).toEqual([]);
    const [dead] = await aws.drain(aws.slackDlqUrl);
    expect(dead?.MessageAttributes?.reason?.StringValue).toMatch(
      /^still failing after 25 h \(3 receives\): Slack request failed/,
    );
    expect(JSON.stringify(dead)).not.toContain('refusedsecret');
  });

  it.each([
    [400, 'invalid_payload'],
    [410, 'channel_is_archived'],
  ])('dead-letters at once, without retrying, when Slack answers %i %s', async (status, body) => {
    slack.setScript([{ status, body }]);
    const queued = await queueOne();
    const result = await notifierFor(aws, slack.url)(sqsEventOf(queued));
    expect(result.batchItemFailures).toEqual([]);
    expect(slack.requests).toHaveLength(1);
    const [dead] = await aws.drain(aws.slackDlqUrl);
    expect(dead?.MessageAttributes?.reason?.StringValue).toContain(body);
    expect(dead?.MessageAttributes?.statusCode?.StringValue).toBe(String(status));
    expect(JSON.parse(dead?.Body as string).eventID).toBe(JSON.parse(queued[0]?.Body as string).eventID);
  });

  it('does not post an alert twice when SQS delivers it twice', async () => {
    const queued = await queueOne();
    const notifier = notifierFor(aws, slack.url);
    await notifier(sqsEventOf(queued));
    await notifier(sqsEventOf(queued));
    expect(slack.requests).toHaveLength(1);
  });

  it('dead-letters a message that is not an alert document', async () => {
    const queued = await queueOne();
    const result = await notifierFor(aws, slack.url)(sqsEventOf([{ ...queued[0], Body: '{"hello":1}' }]));
    expect(result.batchItemFailures).toEqual([]);
    expect(slack.requests).toHaveLength(0);
    const [dead] = await aws.drain(aws.slackDlqUrl);
    expect(dead?.MessageAttributes?.reason?.StringValue).toMatch(
      /^not a rootwatch alert document: schema: .*; eventID: .*; detections: /,
    );
  });

  it('keeps the rest of a batch queued once Slack fails', async () => {
    const a = await queueOne('root-password-updated.json');
    const b = await queueOne('root-create-access-key.json');
    slack.setScript([503, 503]);
    const result = await notifierFor(aws, slack.url)(sqsEventOf([...a, ...b]));
    expect(result.batchItemFailures).toHaveLength(2);
    expect(slack.requests).toHaveLength(2); // two attempts for the first message, none for the second
  });

  it('spaces posts at the configured interval', async () => {
    const messages = [...(await queueOne('root-password-updated.json')), ...(await queueOne('root-create-user.json'))];
    const slept: number[] = [];
    let clock = 0;
    const notifier = notifierFor(aws, slack.url, {
      overrides: {
        minIntervalMs: 1100,
        now: () => clock,
        sleep: async (ms) => {
          slept.push(ms);
          clock += ms;
        },
      },
    });
    await notifier(sqsEventOf(messages));
    expect(slack.requests).toHaveLength(2);
    expect(slept).toEqual([1100]);
  });
});

describe('secrets', () => {
  it('never writes the webhook URL to a log, an error or a dead letter', async () => {
    const { logger } = await import('../../functions/io/logger.js');
    const written: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    };
    const spies = [
      vi.spyOn(process.stdout, 'write').mockImplementation(capture),
      vi.spyOn(process.stderr, 'write').mockImplementation(capture),
    ];
    logger.setLogLevel('DEBUG');
    try {
      slack.setScript([{ status: 400, body: 'invalid_payload' }, 'hang', 'hang', 'destroy', 'destroy']);
      const secret = slack.url.split('/').at(-1) as string;
      for (let i = 0; i < 3; i += 1) {
        const queued = await (async () => {
          await alertHandlerFor(aws)(envelopeOf(fresh('root-console-sign-in-no-mfa.json')), context());
          await aws.drain(aws.subscriberQueueUrl);
          return aws.drain(aws.slackQueueUrl);
        })();
        await notifierFor(aws, slack.url)(sqsEventOf(queued, 3));
      }
      const dead = await aws.drain(aws.slackDlqUrl);
      expect(dead.length).toBeGreaterThan(0);
      expect(written.join('')).toContain('Slack');
      expect(written.join('')).not.toContain(secret);
      expect(JSON.stringify(dead)).not.toContain(secret);
    } finally {
      logger.setLogLevel('SILENT');
      for (const spy of spies) spy.mockRestore();
    }
  });
});

describe('an unpublishable alert', () => {
  it('reaches the other destination when SNS rejects the message', async () => {
    const sns = new SNSClient({ region: 'us-east-1' });
    vi.spyOn(sns, 'send').mockRejectedValue(
      Object.assign(new Error('Invalid parameter: Message too long'), { name: 'InvalidParameterException' }) as never,
    );
    const handler = alertHandlerFor(aws, {
      sinks: [createSnsSink(sns, aws.topicArn, detections), createSlackQueueSink(aws.sqs, aws.slackQueueUrl)],
    });
    await expect(handler(envelopeOf(fresh('root-create-user.json')), context())).rejects.toThrow(
      /Delivery failed for sns \(Invalid parameter: Message too long\)/,
    );
    expect(await aws.drain(aws.slackQueueUrl)).toHaveLength(1);
  });
});
