import { setTimeout as delay } from 'node:timers/promises';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { AlertSchema } from '../core/alert-document.js';
import type { Detection } from '../core/detection.js';
import { DigestSchema } from '../core/digest-document.js';
import { type Heartbeat, heartbeatOfMessage } from '../core/heartbeat.js';
import { renderDigestSlack } from '../core/render/digest.js';
import { renderSlackMessage, type SlackMessage } from '../core/render/slack.js';
import { ConfigError, SlackDeliveryError, toError } from '../errors.js';
import { logger } from '../io/logger.js';
import type { AlertState, HealthMetrics } from './ports.js';
import { DEFAULT_STATE_TIMEOUT_MS, guardState } from './state-guard.js';

/** What the notifier needs from the world; io/ has the production adapters, local/ the demo's. */
interface SlackNotifierPorts {
  detections: readonly Detection[];
  state: Pick<AlertState, 'delivered' | 'markDelivered'>;
  /**
   * Posts one message to the webhook by `deadlineMs` (epoch ms; no attempt or wait runs past it). Rejects with
   * SlackDeliveryError when Slack did not take it, or ConfigError when the webhook cannot be had (its SSM
   * parameter missing, empty, denied, not a webhook URL): that one fails the whole invocation.
   */
  post(message: SlackMessage, options: { deadlineMs: number }): Promise<void>;
  /** Moves a queue message to the Slack DLQ with its reason (and Slack's status when it answered). */
  deadLetter(record: SQSRecord, reason: string, statusCode?: number): Promise<void>;
  /**
   * Hides a queue message for `ms` from now (SQS ChangeMessageVisibility; 0: visible at once), so it comes back
   * after a backoff, when Slack's Retry-After said, or at once.
   */
  postpone(record: SQSRecord, ms: number): Promise<void>;
  /** The least time between two posts of this notifier, in ms (Slack takes about one a second per webhook). */
  minIntervalMs: number;
  /**
   * How long a message may keep failing, in ms from when it was queued (its SentTimestamp), before a failed
   * post sends it to the DLQ. Until then a passing failure (network, timeout, 5xx, 429) leaves it queued.
   */
  maxAgeMs: number;
  /** The wait after a passing failure: `baseMs` × 2^(receives − 1), at most `maxMs`. Default 1 min to 15 min. */
  backoff?: { baseMs: number; maxMs: number };
  /** Counts the state failing (CloudWatch in the notifier function); none by default. */
  metrics?: HealthMetrics;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Records a heartbeat that came off the queue (app/heartbeat.ts, receiveHeartbeat); it is never posted. */
  heartbeat?: (heartbeat: Heartbeat) => Promise<void>;
}

/** The part of the Lambda context the notifier reads: how long the invocation has left. */
interface InvocationClock {
  getRemainingTimeInMillis(): number;
}

const SINK = 'slack';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DEFAULT_BACKOFF = { baseMs: MINUTE, maxMs: 15 * MINUTE };
/**
 * Kept back from the invocation's remaining time: after a failed post the notifier still calls SQS (postpone or
 * dead-letter, about 5 s at worst with io/aws-clients.ts's budget) for it and for the rest of the batch.
 */
const RESERVE_MS = 10_000;
/** Less than this left (before the reserve), and a message is not started: it goes back to the queue at once. */
const MIN_POST_MS = 2_000;

/** What a queue message holds to post: its id (eventID or digestID: what the state records the post under) and text. */
interface Postable {
  id: string;
  severity: string;
  render(detections: readonly Detection[]): SlackMessage;
}

const DIGEST_SCHEMA = DigestSchema.shape.schema.def.values[0];

/**
 * The alert or digest document in a queue message, or why it is none (zod's first problems, with their paths). A
 * message whose `schema` is the digest's is judged as a digest, any other as an alert.
 */
const parseMessage = (body: string): Postable | { problem: string } => {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return { problem: `not JSON: ${toError(error).message}` };
  }
  const issuesOf = (issues: readonly { path: PropertyKey[]; message: string }[]) =>
    issues
      .slice(0, 3)
      .map((issue) => `${issue.path.map(String).join('.') || '(document)'}: ${issue.message}`)
      .join('; ');
  if ((value as { schema?: unknown } | null)?.schema === DIGEST_SCHEMA) {
    const digest = DigestSchema.safeParse(value);
    if (!digest.success) return { problem: `not a rootwatch digest document: ${issuesOf(digest.error.issues)}` };
    const document = digest.data;
    return {
      id: document.digestID,
      severity: document.severity,
      render: (detections) => renderDigestSlack(document, detections),
    };
  }
  const alert = AlertSchema.safeParse(value);
  if (!alert.success) return { problem: `not a rootwatch alert document: ${issuesOf(alert.error.issues)}` };
  const document = alert.data;
  return {
    id: document.eventID,
    severity: document.severity,
    render: (detections) => renderSlackMessage(document, detections),
  };
};

/** "25 h", "40 min": how long a message has been waiting, for a reason a person reads. */
const durationText = (ms: number): string =>
  ms >= 2 * HOUR ? `${Math.floor(ms / HOUR)} h` : `${Math.floor(ms / MINUTE)} min`;

/** What became of one message. */
type RecordOutcome =
  /** Posted, dead-lettered, a duplicate or a heartbeat: SQS may delete it. */
  | { kind: 'done' }
  /** Slack failed on it: it stays queued, hidden for `delayMs`, and the rest of the batch waits as long. */
  | { kind: 'slack-failed'; delayMs: number; retryAfterMs?: number }
  /** Not posted: the invocation has no time left for it. */
  | { kind: 'no-time' };

/**
 * The Slack notifier's batch logic, behind the SQS-triggered Lambda. Posts queued alert documents (Block Kit,
 * render/slack.ts) and digest documents (render/digest.ts) one at a time, at least `minIntervalMs` apart, and never
 * twice (the state records the post by eventID or digestID; when the state fails the post goes out anyway). Resolves
 * to SQS's partial batch response: the messages to leave on the queue. One notifier serves one Slack lane (its pace
 * and its `postpone` queue); createLaneNotifier routes each lane's batches.
 *
 * - A message that is no alert document, or that Slack refuses for good (4xx), goes to the Slack DLQ with its
 *   reason; one message's problem (its DLQ send failing too) never holds up the others.
 * - A passing Slack failure (network, timeout, 5xx, 429) leaves the message queued, hidden for a backoff of
 *   1, 2, 4, 8, then 15 minutes by its receive count, or for Slack's Retry-After; the rest of the batch is not
 *   tried against a failing Slack and waits as long. Only once the message is older than `maxAgeMs` does a
 *   failed post send it to the DLQ, so an outage of a day is ridden out on the queue.
 * - The invocation never outlives its time (`clock`, the Lambda context): a post and its retries end before the
 *   deadline, and a message there is no time left for goes back to the queue at once.
 * - A webhook that cannot be had (ConfigError) rejects the whole batch: the function fails, its Errors alarm
 *   fires, and every message stays queued.
 */
const createSlackNotifier = (ports: SlackNotifierPorts) => {
  const now = ports.now ?? Date.now;
  const sleep = ports.sleep ?? ((ms: number) => delay(ms));
  const backoff = ports.backoff ?? DEFAULT_BACKOFF;
  let lastPostAt = Number.NEGATIVE_INFINITY;

  const receivesOf = (record: SQSRecord): number => Math.max(1, Number(record.attributes.ApproximateReceiveCount) || 1);
  const backoffFor = (record: SQSRecord): number =>
    Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(30, receivesOf(record) - 1));
  /** Since the message was queued; 0 when SQS did not say. */
  const ageOf = (record: SQSRecord): number => {
    const sent = Number(record.attributes.SentTimestamp);
    return Number.isFinite(sent) && sent > 0 ? Math.max(0, now() - sent) : 0;
  };

  /** Leaves a message on the queue, hidden for `ms`; if SQS refuses, it comes back after the queue's own timeout. */
  const leave = async (record: SQSRecord, ms: number): Promise<void> => {
    try {
      await ports.postpone(record, ms);
    } catch (error) {
      logger.warn('could not change the visibility of a Slack message', {
        messageId: record.messageId,
        error: toError(error).message,
      });
    }
  };

  const handleRecord = async (record: SQSRecord, deadlineMs: number): Promise<RecordOutcome> => {
    // A heartbeat proves the path and reaches nobody: recorded, never posted, never dead-lettered.
    const heartbeat = heartbeatOfMessage(record.body);
    if (heartbeat) {
      await ports.heartbeat?.(heartbeat);
      return { kind: 'done' };
    }
    const parsed = parseMessage(record.body);
    if ('problem' in parsed) {
      await ports.deadLetter(record, parsed.problem);
      return { kind: 'done' };
    }
    const { id } = parsed;
    const state = guardState(ports.metrics, DEFAULT_STATE_TIMEOUT_MS);
    if ((await state.call('delivered', () => ports.state.delivered(id), new Set<string>())).has(SINK)) {
      logger.info('already posted to Slack', { eventId: id });
      return { kind: 'done' };
    }
    const message = parsed.render(ports.detections);
    const wait = lastPostAt + ports.minIntervalMs - now();
    if (now() + Math.max(0, wait) + MIN_POST_MS > deadlineMs) return { kind: 'no-time' };
    if (wait > 0) await sleep(wait);
    try {
      await ports.post(message, { deadlineMs });
    } catch (error) {
      const err = toError(error);
      if (err instanceof ConfigError) throw err;
      const slack = err instanceof SlackDeliveryError ? err : undefined;
      if (slack && !slack.retryable) {
        await ports.deadLetter(record, err.message, slack.statusCode);
        return { kind: 'done' };
      }
      const age = ageOf(record);
      if (age >= ports.maxAgeMs) {
        const reason = `still failing after ${durationText(age)} (${receivesOf(record)} receives): ${err.message}`;
        await ports.deadLetter(record, reason, slack?.statusCode);
        return { kind: 'done' };
      }
      const retryAfterMs = slack?.retryAfterMs;
      const delayMs = retryAfterMs ?? backoffFor(record);
      logger.warn('Slack post failed; the message stays queued', {
        eventId: id,
        error: err.message,
        retryInMs: delayMs,
      });
      await leave(record, delayMs);
      return { kind: 'slack-failed', delayMs, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
    } finally {
      lastPostAt = now();
    }
    await state.call('markDelivered', () => ports.state.markDelivered(id, SINK, now()), undefined);
    logger.info('posted to Slack', { eventId: id, severity: parsed.severity });
    return { kind: 'done' };
  };

  return async (event: SQSEvent, clock?: InvocationClock): Promise<SQSBatchResponse> => {
    const startedAt = now();
    // No clock (the demo, replay-like callers, a test's bare context): no deadline.
    const budgetMs =
      typeof clock?.getRemainingTimeInMillis === 'function'
        ? clock.getRemainingTimeInMillis() - RESERVE_MS
        : Number.POSITIVE_INFINITY;
    const deadlineMs = startedAt + budgetMs;
    const failures: string[] = [];
    /** Set once Slack failed in this batch: the rest is not tried, and waits as long as the failed message. */
    let slackDown: { retryAfterMs?: number } | undefined;
    let outOfTime = false;

    for (const record of event.Records) {
      if (slackDown) {
        await leave(record, slackDown.retryAfterMs ?? backoffFor(record));
        failures.push(record.messageId);
        continue;
      }
      if (outOfTime || deadlineMs - now() < MIN_POST_MS) {
        // No time to post it: back on the queue at once, for the next invocation.
        outOfTime = true;
        await leave(record, 0);
        failures.push(record.messageId);
        continue;
      }
      try {
        const outcome = await handleRecord(record, deadlineMs);
        if (outcome.kind === 'no-time') {
          outOfTime = true;
          await leave(record, 0);
          failures.push(record.messageId);
        } else if (outcome.kind === 'slack-failed') {
          slackDown = outcome.retryAfterMs === undefined ? {} : { retryAfterMs: outcome.retryAfterMs };
          failures.push(record.messageId);
        }
      } catch (error) {
        const err = toError(error);
        // The webhook cannot be had: fail the invocation (the Errors alarm), leaving every message queued.
        if (err instanceof ConfigError) throw err;
        // This message only (its DLQ send or its postponing failed): it comes back later, the others go on.
        logger.error('could not handle a Slack message; it stays queued', {
          messageId: record.messageId,
          errorName: err.name,
          error: err.message,
        });
        failures.push(record.messageId);
      }
    }
    return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
  };
};

type SlackNotifier = ReturnType<typeof createSlackNotifier>;

/** The queue name an SQS record came from: the last part of its eventSourceARN. */
const queueNameOf = (record: SQSRecord): string => record.eventSourceARN?.split(':').at(-1) ?? '';

/**
 * The notifier of several Slack lanes in one function: each record goes to the notifier of its queue (by the queue
 * name ending its eventSourceARN), `fallback` for any other. Each lane keeps its own pace (minIntervalMs from its own
 * last post), so a priority message never waits for a normal one posted by the same instance; the lanes' batches
 * are polled apart (an event source mapping each), so one lane's backlog never delays the other. Resolves to the
 * union of the lanes' partial batch responses.
 *
 * @example
 * import { SQSClient } from '@aws-sdk/client-sqs';
 * import type { Context, SQSEvent } from 'aws-lambda';
 * import { createPostponer } from '../io/slack-queue.js';
 *
 * declare const ports: Omit<SlackNotifierPorts, 'postpone'>;
 * declare const event: SQSEvent; // records of both queues
 * declare const context: Context;
 * const sqs = new SQSClient({});
 * const queue = 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-slack';
 * const priorityQueue = 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-slack-priority';
 * const normal = createSlackNotifier({ ...ports, postpone: createPostponer(sqs, queue) });
 * const priority = createSlackNotifier({ ...ports, postpone: createPostponer(sqs, priorityQueue) });
 * const notify = createLaneNotifier([{ queueName: 'rootwatch-prod-slack-priority', notify: priority }], normal);
 * await notify(event, context); // { batchItemFailures: [] } when every message was posted (or dead-lettered)
 */
const createLaneNotifier =
  (lanes: readonly { queueName: string; notify: SlackNotifier }[], fallback: SlackNotifier) =>
  async (event: SQSEvent, clock?: InvocationClock): Promise<SQSBatchResponse> => {
    const groups = new Map<SlackNotifier, SQSRecord[]>();
    for (const record of event.Records) {
      const notify = lanes.find((lane) => lane.queueName === queueNameOf(record))?.notify ?? fallback;
      groups.set(notify, [...(groups.get(notify) ?? []), record]);
    }
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    for (const [notify, records] of groups) {
      failures.push(...(await notify({ Records: records }, clock)).batchItemFailures);
    }
    return { batchItemFailures: failures };
  };

export type { SlackNotifierPorts };
export { createLaneNotifier, createSlackNotifier };
