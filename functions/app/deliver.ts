import type { Alert } from '../core/alert-document.js';
import { DeliveryError, toError } from '../errors.js';
import { logger } from '../io/logger.js';
import type { Sink } from './ports.js';

interface DeliveryRecord {
  /** Destinations that already have this alert (a retry skips them). */
  delivered: ReadonlySet<string>;
  /**
   * Records that `sink` has the alert. Resolves even when the state fails (app/state-guard.ts logs and counts
   * it): delivered but not remembered, a retry may repeat the destination. Better twice than never.
   */
  markDelivered(sink: string): Promise<void>;
}

/**
 * Sends the alert to every destination that does not have it yet, all at once, so one slow or failing
 * destination never delays or loses another. Each success is recorded as it lands; if any destination
 * failed, throws DeliveryError after all have been tried, so Lambda retries only what is missing.
 */
const deliver = async (alert: Alert, sinks: readonly Sink[], record: DeliveryRecord): Promise<string[]> => {
  const pending = sinks.filter((sink) => !record.delivered.has(sink.name));
  const results = await Promise.allSettled(
    pending.map(async (sink) => {
      await sink.send(alert);
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

export { deliver };
