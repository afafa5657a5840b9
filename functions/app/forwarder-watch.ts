import type { Alert } from '../core/alert-document.js';
import {
  type Forwarder,
  type ForwarderSightings,
  type ForwarderStatus,
  forwarderStatuses,
  unrecordedForwarders,
} from '../core/forwarder-silence.js';
import { logger } from '../io/logger.js';

/** The forwarders' item as the guard uses it (io/forwarder-log.ts). */
interface ForwarderWatchLog {
  /** When each forwarder was last heard from, and since when each never heard from is expected. */
  read(): Promise<ForwarderSightings>;
  /** Records `nowMs` as the time these forwarders (`<account>:<region>`) were first expected. */
  expect(keys: readonly string[], nowMs: number): Promise<void>;
}

interface ForwarderWatchOptions {
  log: ForwarderWatchLog;
  /** Forwarders expected even if never heard from: this account's FORWARDER_REGIONS (not the hub's own region). */
  expected: readonly Forwarder[];
  /** The heartbeat's period: a forwarder quiet for more than two is silent. */
  heartbeatMinutes: number;
  /** Emits the count of silent forwarders (io/heartbeat-metrics.ts, SilentForwarders), every check. */
  countSilent: (count: number) => void;
  /** The alert naming the silent forwarders found at `nowMs` (core/forwarder-silence.ts). */
  alertOf: (silent: readonly ForwarderStatus[], nowMs: number) => Alert;
}

/** What one check of the forwarders found: how many are watched, which are silent, and the alert to send if any. */
interface ForwarderCheck {
  watched: number;
  silent: ForwarderStatus[];
  alert?: Alert;
}

/**
 * The guard's watch over the forwarders: reads when each was last heard from, records as expected from now on each
 * forwarder of `expected` it has no record of (so its silence is counted from the first check that expected it, not
 * from before it could have been deployed), emits the number of silent forwarders, and builds the alert naming them.
 * Delivering the alert, once per reminder period, is the guard's (app/guard.ts).
 *
 * `check(nowMs)` rejects with the state table's error when the item cannot be read or written: the count is then
 * not emitted and the guard fails, so its error alarm fires; a silent forwarder is never passed over quietly.
 *
 * @example
 * import type { Alert } from '../core/alert-document.js';
 * import type { ForwarderStatus } from '../core/forwarder-silence.js';
 *
 * declare const log: ForwarderWatchLog;
 * declare const alertOf: (silent: readonly ForwarderStatus[], nowMs: number) => Alert;
 * const watch = createForwarderWatch({
 *   log, expected: [{ account: '111122223333', region: 'eu-west-1' }], heartbeatMinutes: 10,
 *   countSilent: (count) => console.log(count), alertOf,
 * });
 * const { silent, alert } = await watch.check(Date.now());
 */
const createForwarderWatch = (options: ForwarderWatchOptions) => ({
  async check(nowMs: number): Promise<ForwarderCheck> {
    const sightings = await options.log.read();
    const unrecorded = unrecordedForwarders(sightings, options.expected);
    if (unrecorded.length > 0) {
      await options.log.expect(unrecorded, nowMs);
      logger.info('forwarders expected from now on', { forwarders: unrecorded });
    }
    const statuses = forwarderStatuses(sightings, {
      expected: options.expected,
      nowMs,
      heartbeatMinutes: options.heartbeatMinutes,
    });
    const silent = statuses.filter((status) => status.silent);
    options.countSilent(silent.length);
    if (silent.length === 0) {
      logger.info('every forwarder heard from', { watched: statuses.length });
      return { watched: statuses.length, silent };
    }
    const alert = options.alertOf(silent, nowMs);
    logger.warn('forwarders silent', {
      eventID: alert.eventID,
      watched: statuses.length,
      silent: silent.map((status) => ({
        account: status.account,
        region: status.region,
        lastSeenMs: status.lastSeenMs,
      })),
    });
    return { watched: statuses.length, silent, alert };
  },
});

type ForwarderWatch = ReturnType<typeof createForwarderWatch>;

export type { ForwarderWatch, ForwarderWatchLog };
export { createForwarderWatch };
