import type { Heartbeat, HeartbeatHop } from '../core/heartbeat.js';
import { DeliveryError, toError } from '../errors.js';
import { logger } from '../io/logger.js';

/**
 * Where the hops of a heartbeat are written down, for `rootwatch test-alert` to read back (io/heartbeat-log.ts:
 * the item `heartbeat#<id>` of the state table).
 */
interface HeartbeatLog {
  /** Records that `hop` was completed at `atMs` (the first time wins), or, with `error`, that it failed. */
  recordHop(heartbeat: Heartbeat, hop: HeartbeatHop, atMs: number, error?: string): Promise<void>;
}

/** Counts completed hops, one data point each (io/heartbeat-metrics.ts: CloudWatch, embedded metric format). */
interface HopMetrics {
  hop(hop: HeartbeatHop): void;
}

interface HeartbeatPorts {
  log: HeartbeatLog;
  metrics: HopMetrics;
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
}

interface HeartbeatRelayPorts extends HeartbeatPorts {
  /** Publishes the heartbeat to the alert topic, marked `kind: heartbeat` (io/heartbeat-sinks.ts). */
  publish(heartbeat: Heartbeat): Promise<void>;
  /** Sends the heartbeat to the Slack queue, where the notifier recognises it and does not post it. */
  queue(heartbeat: Heartbeat): Promise<void>;
}

/** What the alert function did with a heartbeat. */
interface HeartbeatOutcome {
  status: 'heartbeat';
  id: string;
  hops: HeartbeatHop[];
}

/**
 * A completed hop: its metric data point first (what the alarms watch), then its record in the log. A log
 * that cannot be written is logged and passed over: the hop happened, and the metric says so.
 */
const hopReached = async (ports: HeartbeatPorts, heartbeat: Heartbeat, hop: HeartbeatHop): Promise<void> => {
  ports.metrics.hop(hop);
  try {
    await ports.log.recordHop(heartbeat, hop, (ports.now ?? Date.now)());
  } catch (error) {
    logger.warn('could not record a heartbeat hop', { heartbeatId: heartbeat.id, hop, error: toError(error).message });
  }
};

/** A failed hop, recorded with its error for test-alert to show (best effort, as above). */
const hopFailed = async (ports: HeartbeatPorts, heartbeat: Heartbeat, hop: HeartbeatHop, error: Error) => {
  try {
    await ports.log.recordHop(heartbeat, hop, (ports.now ?? Date.now)(), error.message);
  } catch (logError) {
    logger.warn('could not record a failed heartbeat hop', {
      heartbeatId: heartbeat.id,
      hop,
      error: toError(logError).message,
    });
  }
};

/**
 * The alert function's part of the heartbeat: records its arrival (hop `alert`), then publishes it to the
 * SNS topic and sends it to the Slack queue at the same time, as an alert goes, recording each hop that
 * completes. No detection, no claim: a heartbeat delivered twice is simply relayed twice.
 *
 * @throws DeliveryError when the topic or the queue refused it (after trying both), so that Lambda retries
 *   and the missing hop's metric stays silent until it works.
 * @example
 * import type { Heartbeat } from '../core/heartbeat.js';
 *
 * declare const ports: HeartbeatRelayPorts;
 * declare const heartbeat: Heartbeat;
 * const relay = relayHeartbeat(ports);
 * await relay(heartbeat); // { status: 'heartbeat', id: heartbeat.id, hops: ['alert', 'sns', 'slack-queue'] }
 */
const relayHeartbeat =
  (ports: HeartbeatRelayPorts) =>
  async (heartbeat: Heartbeat): Promise<HeartbeatOutcome> => {
    await hopReached(ports, heartbeat, 'alert');
    const legs: { hop: HeartbeatHop; send: (h: Heartbeat) => Promise<void> }[] = [
      { hop: 'sns', send: (h) => ports.publish(h) },
      { hop: 'slack-queue', send: (h) => ports.queue(h) },
    ];
    const results = await Promise.allSettled(
      legs.map(async ({ hop, send }) => {
        try {
          await send(heartbeat);
        } catch (error) {
          await hopFailed(ports, heartbeat, hop, toError(error));
          throw error;
        }
        await hopReached(ports, heartbeat, hop);
      }),
    );
    const failures = results.flatMap((result, index) =>
      result.status === 'rejected' ? [{ sink: legs[index]?.hop ?? '', error: toError(result.reason) }] : [],
    );
    if (failures.length > 0) throw new DeliveryError(failures);
    const hops: HeartbeatHop[] = ['alert', ...legs.map(({ hop }) => hop)];
    logger.info('heartbeat relayed', { heartbeatId: heartbeat.id, test: heartbeat.test, hops });
    return { status: 'heartbeat', id: heartbeat.id, hops };
  };

/**
 * The Slack notifier's part: records that the heartbeat came off the Slack queue (hop `notifier`). Nothing is
 * posted: heartbeats never reach people. Never rejects.
 *
 * @example
 * import type { Heartbeat } from '../core/heartbeat.js';
 *
 * declare const log: HeartbeatLog;
 * declare const metrics: HopMetrics;
 * declare const heartbeat: Heartbeat;
 * await receiveHeartbeat({ log, metrics })(heartbeat);
 */
const receiveHeartbeat =
  (ports: HeartbeatPorts) =>
  async (heartbeat: Heartbeat): Promise<void> => {
    await hopReached(ports, heartbeat, 'notifier');
    logger.info('heartbeat received; not posted to Slack', { heartbeatId: heartbeat.id, test: heartbeat.test });
  };

export type { HeartbeatLog, HeartbeatOutcome, HeartbeatRelayPorts, HopMetrics };
export { receiveHeartbeat, relayHeartbeat };
