import type { Alert } from '../core/alert-document.js';
import type { Digest } from '../core/digest-document.js';
import { DeliveryError, toError } from '../errors.js';
import { logger } from '../io/logger.js';
import type { DigestSink, Sink } from './ports.js';

interface DeliveryRecord {
  /** Destinations that already have this alert or digest (a retry skips them). */
  delivered: ReadonlySet<string>;
  /**
   * Records that `sink` has it. Resolves even when the state fails (app/state-guard.ts logs and counts it) for an
   * alert: delivered but not remembered, a retry may repeat the destination. Better twice than never. A digest's
   * flush passes a recorder that rejects instead (app/digest.ts): its fold stays flushable and is tried again.
   */
  markDelivered(sink: string): Promise<void>;
}

/**
 * Sends to every destination in `sinks` that does not have the document yet, all at once, so one slow or failing
 * destination never delays or loses another; each success is recorded as it lands. Resolves to the names of the
 * destinations sent to; if any failed, throws DeliveryError after all have been tried (each failure logged once).
 */
const deliverEach = async <S extends { name: string }>(
  sinks: readonly S[],
  send: (sink: S) => Promise<void>,
  record: DeliveryRecord,
): Promise<string[]> => {
  const pending = sinks.filter((sink) => !record.delivered.has(sink.name));
  const results = await Promise.allSettled(
    pending.map(async (sink) => {
      await send(sink);
      await record.markDelivered(sink.name);
      return sink.name;
    }),
  );
  const failures = results.flatMap((result, i) =>
    result.status === 'rejected' ? [{ sink: pending[i]?.name ?? '?', error: toError(result.reason) }] : [],
  );
  for (const failure of failures) {
    logger.error('delivery failed', {
      sink: failure.sink,
      errorName: failure.error.name,
      error: failure.error.message,
    });
  }
  if (failures.length > 0) throw new DeliveryError(failures);
  return pending.map((sink) => sink.name);
};

/**
 * Sends the alert to every destination that does not have it yet, all at once, so one slow or failing
 * destination never delays or loses another. Each success is recorded as it lands; if any destination
 * failed, throws DeliveryError after all have been tried, so Lambda retries only what is missing.
 *
 * @example
 * import type { Alert } from '../core/alert-document.js';
 * import type { Sink } from './ports.js';
 *
 * declare const alert: Alert;
 * declare const sinks: Sink[]; // io/sinks.ts: 'sns', then 'slack-queue'
 * const sent = await deliver(alert, sinks, { delivered: new Set(['sns']), markDelivered: async () => {} });
 * sent; // ['slack-queue']: SNS had it already
 */
const deliver = async (alert: Alert, sinks: readonly Sink[], record: DeliveryRecord): Promise<string[]> =>
  deliverEach(sinks, (sink) => sink.send(alert), record);

/**
 * Sends a digest to every digest destination that does not have it yet (by digestID), as `deliver` does an alert:
 * all at once, each success recorded as it lands, DeliveryError after all were tried when any failed.
 *
 * @example
 * import type { Digest } from '../core/digest-document.js';
 * import type { DigestSink } from './ports.js';
 *
 * declare const digest: Digest;
 * declare const sinks: DigestSink[]; // io/sinks.ts: 'sns', then 'slack-queue'
 * const sent = await deliverDigest(digest, sinks, { delivered: new Set(), markDelivered: async () => {} });
 * sent; // ['sns', 'slack-queue']
 */
const deliverDigest = async (digest: Digest, sinks: readonly DigestSink[], record: DeliveryRecord): Promise<string[]> =>
  deliverEach(sinks, (sink) => sink.sendDigest(digest), record);

export { deliver, deliverDigest };
