import { setTimeout as delay } from 'node:timers/promises';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type Alert, AlertSchema } from '../core/alert-document.js';
import type { Detection } from '../core/detection.js';
import { renderSlackMessage, type SlackMessage } from '../core/render/slack.js';
import { SlackDeliveryError, toError } from '../errors.js';
import { logger } from '../io/logger.js';
import type { AlertState } from './ports.js';

/** What the notifier needs from the world; io/ has the production adapters, local/ the demo's. */
interface SlackNotifierPorts {
  detections: readonly Detection[];
  state: Pick<AlertState, 'delivered' | 'markDelivered'>;
  /** Posts one message to the webhook; rejects with SlackDeliveryError (or a ConfigError for the URL). */
  post(message: SlackMessage): Promise<void>;
  /** Moves a queue message to the Slack DLQ with its reason (and Slack's status when it answered). */
  deadLetter(record: SQSRecord, reason: string, statusCode?: number): Promise<void>;
  /** Hides a queue message for `ms` (SQS ChangeMessageVisibility), so it comes back when Slack asked. */
  postpone(record: SQSRecord, ms: number): Promise<void>;
  /** The least time between two posts of this notifier, in ms (Slack takes about one a second per webhook). */
  minIntervalMs: number;
  /** Receives after which a message Slack keeps failing goes to the DLQ. */
  maxReceives: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const SINK = 'slack';

/** The alert document in a queue message, or why it is none (zod's first problems, with their paths). */
const parseAlert = (body: string): { alert: Alert } | { problem: string } => {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return { problem: `not JSON: ${toError(error).message}` };
  }
  const result = AlertSchema.safeParse(value);
  if (result.success) return { alert: result.data };
  const issues = result.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(document)'}: ${issue.message}`);
  return { problem: `not a rootwatch alert document: ${issues.join('; ')}` };
};

/**
 * The Slack notifier's batch logic, behind the SQS-triggered Lambda: posts queued alert documents one at
 * a time, at least `minIntervalMs` apart, and never twice (the state records the post). A message that
 * is no alert document, that Slack refuses for good (4xx), or that keeps failing for `maxReceives`
 * receives goes to the Slack DLQ with its reason. A passing failure (network, 5xx, 429) leaves it and
 * the rest of the batch on the queue for a later try; when Slack named a Retry-After longer than the
 * poster waits in process, the message is postponed by that much. Resolves to SQS's partial batch
 * response: the messages to leave on the queue.
 */
const createSlackNotifier = (ports: SlackNotifierPorts) => {
  const now = ports.now ?? Date.now;
  const sleep = ports.sleep ?? ((ms: number) => delay(ms));
  let lastPostAt = Number.NEGATIVE_INFINITY;

  const handleRecord = async (record: SQSRecord): Promise<'done' | 'retry'> => {
    const parsed = parseAlert(record.body);
    if ('problem' in parsed) {
      await ports.deadLetter(record, parsed.problem);
      return 'done';
    }
    const { alert } = parsed;
    if ((await ports.state.delivered(alert.eventID)).has(SINK)) {
      logger.info('already posted to Slack', { eventId: alert.eventID });
      return 'done';
    }
    const message = renderSlackMessage(alert, ports.detections);
    const wait = lastPostAt + ports.minIntervalMs - now();
    if (wait > 0) await sleep(wait);
    try {
      await ports.post(message);
    } catch (error) {
      const err = toError(error);
      const slack = err instanceof SlackDeliveryError ? err : undefined;
      const retryable = !slack || slack.retryable;
      const receives = Number(record.attributes.ApproximateReceiveCount || '1');
      if (!retryable || receives >= ports.maxReceives) {
        const reason = `${retryable ? `still failing after ${receives} tries: ` : ''}${err.message}`;
        await ports.deadLetter(record, reason, slack?.statusCode);
        return 'done';
      }
      if (slack?.retryAfterMs !== undefined) await ports.postpone(record, slack.retryAfterMs);
      logger.warn('Slack post failed; the message stays queued', { eventId: alert.eventID, error: err.message });
      return 'retry';
    } finally {
      lastPostAt = now();
    }
    try {
      await ports.state.markDelivered(alert.eventID, SINK, now());
    } catch (error) {
      // Posted, but not remembered: a redelivery may post again. Better twice than never.
      logger.error('posted to Slack but could not record it', {
        eventId: alert.eventID,
        error: toError(error).message,
      });
    }
    logger.info('posted to Slack', { eventId: alert.eventID, severity: alert.severity });
    return 'done';
  };

  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const failures: string[] = [];
    for (const record of event.Records) {
      // Once Slack fails, leave the rest for later rather than hammer it.
      if (failures.length > 0) {
        failures.push(record.messageId);
        continue;
      }
      try {
        if ((await handleRecord(record)) === 'retry') failures.push(record.messageId);
      } catch (error) {
        logger.error('could not handle a Slack message', {
          messageId: record.messageId,
          error: toError(error).message,
        });
        failures.push(record.messageId);
      }
    }
    return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
  };
};

export type { SlackNotifierPorts };
export { createSlackNotifier };
