import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { buildDigest } from '../core/digest-document.js';
import * as z from '../core/zod.js';
import { toError } from '../errors.js';
import { logger } from '../io/logger.js';
import { deliverDigest } from './deliver.js';
import type { AlertState, DigestSink, SessionState } from './ports.js';

/*
 * Flushing a fold: the rest of a root session, folded by the alert pipeline, goes out as one digest
 * (rootwatch.digest/v1) when its timer comes due (the digest function) or when it fills up (the alert function, in the
 * invocation that added the last entry). Exactly once per destination: the digest is claimed and recorded by its
 * digestID in the alert state, as an alert is by its eventID, and the fold is closed only once every destination has
 * it. Whatever fails leaves the fold flushable: the timer message comes back, and whoever takes the fold next sends
 * only what is missing.
 */

/** What a flush did. */
type FlushOutcome =
  /** The digest went to `sinks` (those that did not have it yet); the fold is closed. */
  | { status: 'flushed'; foldId: string; digestID: string; count: number; sinks: string[] }
  /** Nothing to do: the fold was flushed already (by its size, or an earlier timer message), or is unknown. */
  | { status: 'done'; foldId: string }
  /** Another invocation is flushing the fold, or holds its digest: try again later. */
  | { status: 'busy'; foldId: string };

interface FoldFlusherOptions {
  sessions: SessionState;
  /** Claims the digest by digestID and records its destinations, as for an alert by eventID. */
  state: Pick<AlertState, 'claim' | 'markDelivered'>;
  sinks: readonly DigestSink[];
  /** The partition for the digest's console link; default: the session's first actor's ARN's. */
  partition?: string;
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
}

/**
 * Creates `flushFold(foldId, owner)`: takeFold (as `owner`, the invocation) → build the digest (core/digest-document.ts;
 * the account names are the session's first alert's) → claim its digestID → deliver to every digest sink that does not
 * have it → finishFold. Resolves to what it did; rejects (DeliveryError when a destination failed, the state's error
 * when the table did) with the fold left flushable, so the caller retries: the digest function by its timer message,
 * the alert function by leaving it to the timer. Unlike an alert, a digest never goes out without the state: its
 * events wait safely in the fold, and a retry is better than a duplicate digest.
 *
 * @example
 * import type { AlertState, DigestSink, SessionState } from './ports.js';
 *
 * declare const sessions: SessionState; // io/dynamo-sessions.ts; fold 1 of this session holds 41 events
 * declare const state: AlertState; // io/dynamo-state.ts
 * declare const sinks: DigestSink[]; // io/sinks.ts: 'sns', then 'slack-queue'
 * const flushFold = createFoldFlusher({ sessions, state, sinks });
 * await flushFold('111122223333#key#ASIAIOSFODNN7EXAMPLE#1', 'request-1');
 * // { status: 'flushed', foldId: '111122223333#key#ASIAIOSFODNN7EXAMPLE#1', digestID: 'digest-9d538c4b62b071a8',
 * //   count: 41, sinks: ['sns', 'slack-queue'] }
 * await flushFold('111122223333#key#ASIAIOSFODNN7EXAMPLE#1', 'request-2');
 * // { status: 'done', foldId: '111122223333#key#ASIAIOSFODNN7EXAMPLE#1' }: flushed already
 */
const createFoldFlusher = (options: FoldFlusherOptions) => {
  const now = options.now ?? Date.now;
  return async (foldId: string, owner: string): Promise<FlushOutcome> => {
    const fold = await options.sessions.takeFold(foldId, owner, now());
    if (!fold) {
      const status = await options.sessions.foldStatus(foldId);
      if (status === 'flushing' || status === 'open') {
        logger.info('fold is being flushed by another invocation', { foldId });
        return { status: 'busy', foldId };
      }
      logger.info('fold already flushed', { foldId, foldStatus: status ?? 'unknown' });
      return { status: 'done', foldId };
    }
    const digest = buildDigest(fold, options.partition === undefined ? {} : { partition: options.partition });
    const delivered = await options.state.claim(digest.digestID, owner, now());
    if (!delivered) {
      logger.info('digest is being delivered by another invocation', { foldId, digestID: digest.digestID });
      return { status: 'busy', foldId };
    }
    const sent = await deliverDigest(digest, options.sinks, {
      delivered,
      markDelivered: (sink) => options.state.markDelivered(digest.digestID, sink, now()),
    });
    await options.sessions.finishFold(foldId, now());
    logger.info('digest delivered', {
      foldId,
      digestID: digest.digestID,
      count: digest.count,
      severity: digest.severity,
      sinks: sent,
    });
    return { status: 'flushed', foldId, digestID: digest.digestID, count: digest.count, sinks: sent };
  };
};

type FoldFlusher = ReturnType<typeof createFoldFlusher>;

/** The fold timer's message (ports.ts, FoldTimerMessage), as io/fold-timer.ts writes it. */
const FoldTimerMessageSchema = z.object({ foldId: z.string().check(z.minLength(1), z.maxLength(1024)) });

/** The fold id a timer message names, or why it names none. */
const foldIdOfMessage = (body: string): { foldId: string } | { problem: string } => {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return { problem: `not JSON: ${toError(error).message}` };
  }
  const result = FoldTimerMessageSchema.safeParse(value);
  return result.success
    ? { foldId: result.data.foldId }
    : { problem: 'not a fold timer message: expected {"foldId": "…"}' };
};

/**
 * At this many receives a fold that still fails goes to the digest DLQ with its reason: with the digest queue's
 * 180 s visibility timeout, about half an hour of tries (an SNS or DynamoDB outage outlasting that is an incident of
 * its own; the DLQ alarm says so).
 */
const DEFAULT_MAX_RECEIVES = 10;

interface DigestQueuePorts {
  flushFold: FoldFlusher;
  /** Moves a message to the digest DLQ with its reason (io/fold-timer.ts, createDigestDeadLetters). */
  deadLetter(record: SQSRecord, reason: string): Promise<void>;
  /** Receives after which a failing fold is dead-lettered; default 10. */
  maxReceives?: number;
}

/**
 * The digest function's batch logic: each fold timer message is flushed (createFoldFlusher), as `<invocation>:<message
 * id>`. Resolves to SQS's partial batch response, the messages to leave on the queue:
 * - flushed, or nothing left to do: the message is done;
 * - another invocation holds the fold or its digest, or the flush failed (a destination, the state): it stays queued
 *   and comes back after the queue's visibility timeout, the fold still flushable;
 * - still failing at its `maxReceives`-th receive, or not a timer message at all: it goes to the digest DLQ with the
 *   reason (if that fails too, it stays queued, and the queue's own redrive policy is the backstop).
 *
 * @example
 * import { SQSClient } from '@aws-sdk/client-sqs';
 * import type { Context, SQSEvent } from 'aws-lambda';
 * import { createDigestDeadLetters } from '../io/fold-timer.js';
 *
 * declare const flushFold: ReturnType<typeof createFoldFlusher>;
 * declare const event: SQSEvent; // fold timer messages: {"foldId": "111122223333#key#ASIAIOSFODNN7EXAMPLE#1"}
 * declare const context: Context;
 * const deadLetter = createDigestDeadLetters(new SQSClient({}), 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-digest-dlq');
 * const consume = createDigestQueueConsumer({ flushFold, deadLetter });
 * await consume(event, context.awsRequestId); // { batchItemFailures: [] }: every fold flushed, or flushed already
 */
const createDigestQueueConsumer = (ports: DigestQueuePorts) => {
  const maxReceives = ports.maxReceives ?? DEFAULT_MAX_RECEIVES;
  const receivesOf = (record: SQSRecord): number => Math.max(1, Number(record.attributes.ApproximateReceiveCount) || 1);

  const handle = async (record: SQSRecord, invocation: string): Promise<boolean> => {
    const parsed = foldIdOfMessage(record.body);
    if ('problem' in parsed) {
      await ports.deadLetter(record, parsed.problem);
      return true;
    }
    try {
      const outcome = await ports.flushFold(parsed.foldId, `${invocation}:${record.messageId}`);
      if (outcome.status !== 'busy') return true;
      if (receivesOf(record) < maxReceives) return false;
      await ports.deadLetter(record, `still held by another invocation after ${receivesOf(record)} receives`);
      return true;
    } catch (error) {
      const err = toError(error);
      if (receivesOf(record) >= maxReceives) {
        await ports.deadLetter(record, `still failing after ${receivesOf(record)} receives: ${err.message}`);
        return true;
      }
      logger.warn('digest flush failed; the fold stays flushable and its timer message comes back', {
        foldId: parsed.foldId,
        errorName: err.name,
        error: err.message,
      });
      return false;
    }
  };

  return async (event: SQSEvent, invocation: string): Promise<SQSBatchResponse> => {
    const failures: string[] = [];
    for (const record of event.Records) {
      try {
        if (!(await handle(record, invocation))) failures.push(record.messageId);
      } catch (error) {
        // The DLQ send failed: the message stays queued (the queue's redrive policy is the backstop).
        const err = toError(error);
        logger.error('could not handle a fold timer message; it stays queued', {
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

export type { FlushOutcome };
export { createDigestQueueConsumer, createFoldFlusher };
