import { setTimeout as delay } from 'node:timers/promises';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { AlertSchema } from '../core/alert-document.js';
import type { Detection } from '../core/detection.js';
import { DigestSchema } from '../core/digest-document.js';
import { ExpectedWindowNoticeSchema, NOTICE_SCHEMA } from '../core/expected-window-notice.js';
import { isDriftAlert } from '../core/guard/alert.js';
import { type Heartbeat, heartbeatOfMessage } from '../core/heartbeat.js';
import { renderDigestSlack } from '../core/render/digest.js';
import { renderNoticeSlack } from '../core/render/expected-window.js';
import { renderSlackMessage, type SlackMessage } from '../core/render/slack.js';
import { type RoutedMessage, routeParametersOf, type SlackRoute } from '../core/slack-routes.js';
import { ConfigError, SlackDeliveryError, toError } from '../errors.js';
import { logger } from '../io/logger.js';
import type { AlertState, HealthMetrics } from './ports.js';
import { DEFAULT_STATE_TIMEOUT_MS, guardState } from './state-guard.js';

/** What the notifier needs from the world; io/ has the production adapters, local/ the demo's. */
interface SlackNotifierPorts {
  detections: readonly Detection[];
  state: Pick<AlertState, 'delivered' | 'markDelivered'>;
  /**
   * Posts one message by `deadlineMs` (epoch ms; no attempt or wait runs past it) to the default webhook, or with
   * `route` to the webhook of that route (its SSM parameter's name, one of `routes`). Rejects with
   * SlackDeliveryError when Slack did not take it, or ConfigError when the webhook cannot be had (its SSM
   * parameter missing, empty, denied, not a webhook URL): for the default webhook that fails the whole invocation;
   * for a route, it is that route's failure alone, retried like a Slack outage.
   */
  post(message: SlackMessage, options: { deadlineMs: number; route?: string }): Promise<void>;
  /**
   * Extra channels (the parameter slackRoutes, core/slack-routes.ts): a message also goes to each route it matches,
   * each its own destination in the state (`slack:<parameter>`; the default channel is `slack`), so one failing
   * webhook never stops the others and a retry posts only where the message has not been posted. None by default.
   */
  routes?: readonly SlackRoute[];
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

/**
 * What a queue message holds to post: its id (eventID or digestID: what the state records the post under), what
 * routes match on (kind, severity, detections) and its text.
 */
interface Postable extends RoutedMessage {
  id: string;
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
      kind: 'digest',
      severity: document.severity,
      detections: Object.keys(document.detections),
      render: (detections) => renderDigestSlack(document, detections),
    };
  }
  if ((value as { schema?: unknown } | null)?.schema === NOTICE_SCHEMA) {
    // A break-glass window declared or ended (rootwatch expect): routed as an alert of its severity (medium).
    const notice = ExpectedWindowNoticeSchema.safeParse(value);
    if (!notice.success) return { problem: `not a rootwatch expected-window notice: ${issuesOf(notice.error.issues)}` };
    const document = notice.data;
    return {
      id: document.noticeID,
      kind: 'alert',
      severity: document.severity,
      detections: document.window.detections ?? [],
      render: () => renderNoticeSlack(document),
    };
  }
  const alert = AlertSchema.safeParse(value);
  if (!alert.success) return { problem: `not a rootwatch alert document: ${issuesOf(alert.error.issues)}` };
  const document = alert.data;
  return {
    id: document.eventID,
    kind: isDriftAlert(document) ? 'drift' : 'alert',
    severity: document.severity,
    detections: document.detections,
    render: (detections) => renderSlackMessage(document, detections),
  };
};

/** "25 h", "40 min": how long a message has been waiting, for a reason a person reads. */
const durationText = (ms: number): string =>
  ms >= 2 * HOUR ? `${Math.floor(ms / HOUR)} h` : `${Math.floor(ms / MINUTE)} min`;

/** What became of one message. */
type RecordOutcome =
  /** Posted everywhere it goes, dead-lettered, a duplicate or a heartbeat: SQS may delete it. */
  | { kind: 'done' }
  /** A destination failed on it (now or earlier in the batch): it stays queued, hidden until its retry. */
  | { kind: 'queued' }
  /** Not posted: the invocation has no time left for it. */
  | { kind: 'no-time' };

/** The state's name for a destination: `slack` for the default webhook (as before routes), `slack:<parameter>` for a route's. */
const sinkOf = (route: string | undefined): string => (route === undefined ? SINK : `${SINK}:${route}`);

/** One destination's failed post. */
interface DestinationFailure {
  /** The route's parameter; undefined for the default webhook. */
  route: string | undefined;
  error: Error;
  /** A later attempt may succeed: network, timeout, 5xx, 429, or a route's webhook that could not be read. */
  retryable: boolean;
  statusCode?: number;
  retryAfterMs?: number;
}

/** A failure as a reason and a log read it: the default webhook's as before routes, a route's prefixed with its parameter. */
const describeFailure = (failure: DestinationFailure): string =>
  failure.route === undefined ? failure.error.message : `route ${failure.route}: ${failure.error.message}`;

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
 * - With `routes`, a message goes to the default webhook and to each route it matches, all at once; each is a
 *   destination of its own: the state records each post (`slack`, `slack:<parameter>`), a failing webhook leaves the
 *   message queued for that one only (the retry posts nowhere it was posted), and the rest of the batch is not tried
 *   against that webhook but still goes to the others. A message goes to the DLQ once nothing it still needs is worth
 *   waiting for (every failure for good, or too old), its reason naming each failed destination by its parameter.
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

  /** The wait before a destination is tried again: Slack's Retry-After, else the backoff for this receive. */
  const delayOf = (record: SQSRecord, retryAfterMs: number | undefined): number => retryAfterMs ?? backoffFor(record);

  /** Posts to each destination in `targets` (undefined: the default webhook) at once; resolves to the failures. */
  const postEach = async (
    parsed: Postable,
    targets: readonly (string | undefined)[],
    deadlineMs: number,
  ): Promise<DestinationFailure[]> => {
    const message = parsed.render(ports.detections);
    let results: PromiseSettledResult<void>[];
    try {
      results = await Promise.allSettled(
        targets.map((route) => ports.post(message, { deadlineMs, ...(route === undefined ? {} : { route }) })),
      );
    } finally {
      lastPostAt = now();
    }
    const state = guardState(ports.metrics, DEFAULT_STATE_TIMEOUT_MS);
    const failures: DestinationFailure[] = [];
    let webhookUnavailable: Error | undefined;
    for (const [index, result] of results.entries()) {
      const route = targets[index];
      if (result.status === 'fulfilled') {
        await state.call('markDelivered', () => ports.state.markDelivered(parsed.id, sinkOf(route), now()), undefined);
        continue;
      }
      const error = toError(result.reason);
      if (error instanceof ConfigError && route === undefined) {
        webhookUnavailable = error;
        continue;
      }
      if (error instanceof ConfigError) {
        // Logged here, once per try: a route's missing or denied parameter holds up that route only.
        logger.error('Slack route unavailable', { route, errorName: error.name, error: error.message });
      }
      const slack = error instanceof SlackDeliveryError ? error : undefined;
      failures.push({
        route,
        error,
        retryable: slack?.retryable ?? true,
        ...(slack?.statusCode === undefined ? {} : { statusCode: slack.statusCode }),
        ...(slack?.retryAfterMs === undefined ? {} : { retryAfterMs: slack.retryAfterMs }),
      });
    }
    // The default webhook cannot be had: fail the invocation (the routes' posts above are recorded).
    if (webhookUnavailable) throw webhookUnavailable;
    const posted = targets.filter((route) => !failures.some((failure) => failure.route === route));
    if (posted.length > 0) {
      const routes = posted.filter((route) => route !== undefined);
      logger.info('posted to Slack', {
        eventId: parsed.id,
        severity: parsed.severity,
        ...(routes.length > 0 ? { routes, defaultChannel: posted.includes(undefined) } : {}),
      });
    }
    return failures;
  };

  /**
   * One message: posted to every destination it still needs that has not failed in this batch (`down`, by sink
   * name, with Slack's Retry-After when it gave one), then deleted, left queued or dead-lettered.
   */
  const handleRecord = async (
    record: SQSRecord,
    deadlineMs: number,
    down: Map<string, { retryAfterMs?: number }>,
  ): Promise<RecordOutcome> => {
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
    const delivered = await state.call('delivered', () => ports.state.delivered(id), new Set<string>());
    const targets = [undefined, ...routeParametersOf(ports.routes ?? [], parsed)];
    const pending = targets.filter((route) => !delivered.has(sinkOf(route)));
    if (pending.length === 0) {
      logger.info('already posted to Slack', { eventId: id });
      return { kind: 'done' };
    }
    // Not tried against a webhook that failed earlier in this batch: it waits as long as the message that failed.
    const skipped = pending.filter((route) => down.has(sinkOf(route)));
    const tried = pending.filter((route) => !down.has(sinkOf(route)));
    const skippedDelays = skipped.map((route) => delayOf(record, down.get(sinkOf(route))?.retryAfterMs));
    if (tried.length === 0) {
      await leave(record, Math.max(...skippedDelays));
      return { kind: 'queued' };
    }
    const wait = lastPostAt + ports.minIntervalMs - now();
    if (now() + Math.max(0, wait) + MIN_POST_MS > deadlineMs) return { kind: 'no-time' };
    if (wait > 0) await sleep(wait);
    const failures = await postEach(parsed, tried, deadlineMs);
    if (failures.length === 0 && skipped.length === 0) return { kind: 'done' };

    const age = ageOf(record);
    const passing = failures.filter((failure) => failure.retryable);
    if (skipped.length > 0 || (passing.length > 0 && age < ports.maxAgeMs)) {
      for (const failure of passing) {
        down.set(
          sinkOf(failure.route),
          failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs },
        );
      }
      const delayMs = Math.max(...passing.map((failure) => delayOf(record, failure.retryAfterMs)), ...skippedDelays);
      logger.warn('Slack post failed; the message stays queued', {
        eventId: id,
        error: failures.map(describeFailure).join('; ') || 'a webhook failed earlier in this batch',
        retryInMs: delayMs,
      });
      await leave(record, delayMs);
      return { kind: 'queued' };
    }
    // Nothing it still needs is worth waiting for: every failure is for good, or the message is too old.
    const failed = failures.map(describeFailure).join('; ');
    const reason =
      passing.length > 0
        ? `still failing after ${durationText(age)} (${receivesOf(record)} receives): ${failed}`
        : failed;
    await ports.deadLetter(record, reason, failures.find((failure) => failure.statusCode !== undefined)?.statusCode);
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
    /** The destinations (by sink name) that failed in this batch: the rest is not tried against them. */
    const down = new Map<string, { retryAfterMs?: number }>();
    let outOfTime = false;

    for (const record of event.Records) {
      if (outOfTime || deadlineMs - now() < MIN_POST_MS) {
        // No time to post it: back on the queue at once, for the next invocation.
        outOfTime = true;
        await leave(record, 0);
        failures.push(record.messageId);
        continue;
      }
      try {
        const outcome = await handleRecord(record, deadlineMs, down);
        if (outcome.kind === 'no-time') {
          outOfTime = true;
          await leave(record, 0);
          failures.push(record.messageId);
        } else if (outcome.kind === 'queued') {
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
