import type { Forwarder } from '../core/forwarder-silence.js';
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

/** Counts forwarders' heartbeats, one data point each (io/heartbeat-metrics.ts: CloudWatch, embedded metric format). */
interface ForwarderMetrics {
  heartbeat(forwarder: Forwarder): void;
}

/** Where the hub writes down when it last heard from each forwarder (io/forwarder-log.ts: the item `forwarders`). */
interface ForwarderHeartbeatLog {
  /** Records the forwarder's heartbeat at `atMs` (epoch ms). */
  recordHeartbeat(forwarder: Forwarder, atMs: number): Promise<void>;
}

interface ForwarderHeartbeatPorts {
  log: ForwarderHeartbeatLog;
  metrics: ForwarderMetrics;
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
}

/** What the alert function did with a forwarder's heartbeat. */
interface ForwarderHeartbeatOutcome {
  status: 'forwarder-heartbeat';
  id: string;
  account: string;
  region: string;
  /** Whether its time was written to the state table (the metric counts it either way). */
  recorded: boolean;
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

/**
 * The hub's part of a forwarder's heartbeat (`detail.origin: forwarder`, from another region or account through the
 * hub bus): one data point of ForwarderHeartbeat for its account and region (what the per-forwarder alarms watch),
 * then the time it was heard in the forwarders' item (what the guard and `rootwatch forwarders` read). It is not
 * relayed to the topic or the Slack queue: the hub's own heartbeat proves that path. A test heartbeat
 * (`rootwatch test-alert` in a forwarder's region) counts as any other. When the state table cannot be written, that
 * is logged and the heartbeat still counts, as a hop does (hopReached). Never rejects.
 *
 * @example
 * import type { Heartbeat } from '../core/heartbeat.js';
 *
 * declare const ports: Parameters<typeof countForwarderHeartbeat>[0];
 * declare const heartbeat: Heartbeat; // account 210987654321, region eu-west-1, origin forwarder
 * await countForwarderHeartbeat(ports)(heartbeat);
 * // { status: 'forwarder-heartbeat', id: heartbeat.id, account: '210987654321', region: 'eu-west-1', recorded: true }
 */
const countForwarderHeartbeat =
  (ports: ForwarderHeartbeatPorts) =>
  async (heartbeat: Heartbeat): Promise<ForwarderHeartbeatOutcome> => {
    const forwarder = { account: heartbeat.account, region: heartbeat.region };
    ports.metrics.heartbeat(forwarder);
    let recorded = true;
    try {
      await ports.log.recordHeartbeat(forwarder, (ports.now ?? Date.now)());
    } catch (error) {
      recorded = false;
      logger.warn('could not record a forwarder heartbeat', {
        heartbeatId: heartbeat.id,
        ...forwarder,
        error: toError(error).message,
      });
    }
    logger.info('forwarder heartbeat counted; not relayed', {
      heartbeatId: heartbeat.id,
      test: heartbeat.test,
      ...forwarder,
      recorded,
    });
    return { status: 'forwarder-heartbeat', id: heartbeat.id, ...forwarder, recorded };
  };

export type {
  ForwarderHeartbeatLog,
  ForwarderHeartbeatOutcome,
  ForwarderMetrics,
  HeartbeatLog,
  HeartbeatOutcome,
  HeartbeatRelayPorts,
  HopMetrics,
};
export { countForwarderHeartbeat, receiveHeartbeat, relayHeartbeat };
