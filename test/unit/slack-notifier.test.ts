import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createSlackNotifier, type SlackNotifierPorts } from '../../functions/app/slack-notifier.js';
import { ConfigError, SlackDeliveryError } from '../../functions/errors.js';
import { detections, signInAlert } from '../helpers/render-alerts.js';

const MINUTE = 60_000;

/** Queue messages holding the representative alert, as the event source mapping hands them over. */
const eventOf = (count: number, receiveCount: number): SQSEvent =>
  ({
    Records: Array.from({ length: count }, (_, i) => ({
      messageId: `m${i}`,
      receiptHandle: `r${i}`,
      body: JSON.stringify({ ...signInAlert(), eventID: `event-${i}` }),
      attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: String(Date.now()) },
    })),
  }) as unknown as SQSEvent;

/** A notifier over in-memory ports whose post fails with `error`; records what it postponed. */
const notifierFailingWith = (error: Error, extra: Partial<SlackNotifierPorts> = {}) => {
  const postponed: Array<[string, number]> = [];
  const notifier = createSlackNotifier({
    detections,
    state: { delivered: async () => new Set(), markDelivered: async () => {} },
    post: async () => {
      throw error;
    },
    deadLetter: async () => {},
    postpone: async (record: SQSRecord, ms: number) => void postponed.push([record.messageId, ms]),
    minIntervalMs: 0,
    maxAgeMs: 24 * 60 * MINUTE,
    ...extra,
  });
  return { notifier, postponed };
};

const slackDown = () => new SlackDeliveryError(503, 'service_unavailable', true);

describe('createSlackNotifier', () => {
  it.each([
    [1, 1],
    [2, 2],
    [3, 4],
    [4, 8],
    [5, 15],
    [40, 15],
  ])('backs off a message Slack failed on its receive %i for %i minutes', async (receives, minutes) => {
    // Prepare
    const { notifier, postponed } = notifierFailingWith(slackDown());
    // Act
    const result = await notifier(eventOf(1, receives));
    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }]);
    expect(postponed).toEqual([['m0', minutes * MINUTE]]);
  });

  it('holds the rest of the batch back for as long as Slack’s Retry-After', async () => {
    // Prepare
    const limited = Object.assign(new SlackDeliveryError(429, 'rate_limited', true), { retryAfterMs: 30_000 });
    const { notifier, postponed } = notifierFailingWith(limited);
    // Act
    const result = await notifier(eventOf(3, 1));
    // Assess
    expect(result.batchItemFailures).toHaveLength(3);
    expect(postponed).toEqual([
      ['m0', 30_000],
      ['m1', 30_000],
      ['m2', 30_000],
    ]);
  });

  it('rejects the whole batch when the webhook cannot be had, postponing nothing', async () => {
    // Prepare
    const { notifier, postponed } = notifierFailingWith(new ConfigError('SSM parameter /x has no value'));
    // Act
    const error = await notifier(eventOf(2, 1)).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect(postponed).toEqual([]);
  });

  it('keeps a message queued when its postponing fails too, and goes on', async () => {
    // Prepare: SQS refuses ChangeMessageVisibility; the message comes back after the queue's own timeout.
    const { notifier } = notifierFailingWith(slackDown(), {
      postpone: async () => {
        throw new Error('Service Unavailable');
      },
    });
    // Act
    const result = await notifier(eventOf(2, 1));
    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }, { itemIdentifier: 'm1' }]);
  });
});

describe('createSlackNotifier with digests', () => {
  const record = (body: string, messageId = 'd0') =>
    ({
      messageId,
      receiptHandle: `r-${messageId}`,
      body,
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()) },
    }) as unknown as SQSRecord;

  it('dead-letters a message that claims to be a digest and is not one, naming what is wrong', async () => {
    // Prepare
    const dead: string[] = [];
    const { notifier } = notifierFailingWith(new Error('no post expected'), {
      deadLetter: async (_record: SQSRecord, reason: string) => void dead.push(reason),
    });

    // Act
    const result = await notifier({ Records: [record('{"schema":"rootwatch.digest/v1","digestID":"x"}')] });

    // Assess
    expect(result.batchItemFailures).toEqual([]);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatch(/^not a rootwatch digest document: digestID: /);
  });

  it('routes each record to the notifier of its queue, the rest to the fallback', async () => {
    // Prepare
    const { createLaneNotifier } = await import('../../functions/app/slack-notifier.js');
    const seen: Record<string, string[]> = { priority: [], normal: [] };
    const lane = (name: string) => async (event: SQSEvent) => {
      seen[name]?.push(...event.Records.map((r) => r.messageId));
      return { batchItemFailures: event.Records.slice(0, 1).map((r) => ({ itemIdentifier: r.messageId })) };
    };
    const at = (queue: string, messageId: string) =>
      ({ ...record('{}', messageId), eventSourceARN: `arn:aws:sqs:us-east-1:111122223333:${queue}` }) as SQSRecord;
    const notify = createLaneNotifier(
      [{ queueName: 'rootwatch-prod-slack-priority', notify: lane('priority') }],
      lane('normal'),
    );

    // Act
    const result = await notify({
      Records: [
        at('rootwatch-prod-slack', 'n1'),
        at('rootwatch-prod-slack-priority', 'p1'),
        at('rootwatch-prod-slack', 'n2'),
      ],
    });

    // Assess
    expect(seen).toEqual({ priority: ['p1'], normal: ['n1', 'n2'] });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'n1' }, { itemIdentifier: 'p1' }]);
  });
});
