import type { Alert } from '../core/alert-document.js';
import { compareDeployment, type DeployedState, type Drift } from '../core/guard/compare.js';
import type { Expectation } from '../core/guard/expected-state.js';
import { toError } from '../errors.js';
import { logger } from '../io/logger.js';
import { deliver } from './deliver.js';
import type { ForwarderWatch } from './forwarder-watch.js';
import type { AlertState, Sink } from './ports.js';
import { DEFAULT_STATE_TIMEOUT_MS, guardState } from './state-guard.js';

interface GuardOptions {
  /** What rootwatch deployed, resolved for this account and region. */
  expectation: Expectation;
  /** What is deployed now (io/deployment.ts); never rejects. */
  readDeployment: (expectation: Expectation) => Promise<DeployedState>;
  /** The alert for the drifts found at `nowMs` (core/guard/alert.ts, buildDriftAlert). */
  alertOf: (drifts: readonly Drift[], nowMs: number) => Alert;
  /** Remembers which destinations have an alert, so a drift that stays is alerted once per reminder period. */
  state: AlertState;
  /** The SNS topic and the Slack queue, written to directly: no rule stands between the guard and people. */
  sinks: readonly Sink[];
  /**
   * The forwarders' proof of life (app/forwarder-watch.ts), checked every run after the deployment: the silent ones
   * are alerted through the same sinks, once per reminder period. Absent: the deployment only.
   */
  forwarders?: ForwarderWatch;
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
}

/** What the forwarder check found and did. */
type ForwarderOutcome =
  | { status: 'all-heard'; watched: number }
  | { status: 'already-alerted'; watched: number; silent: number; eventID: string }
  | { status: 'alerted'; watched: number; silent: number; eventID: string; sinks: string[] };

/** What one check found and did; `forwarders` when the guard watches them. */
type GuardOutcome = (
  | { status: 'in-sync'; checked: number }
  | { status: 'already-alerted'; drifts: number; eventID: string }
  | { status: 'alerted'; drifts: number; eventID: string; severity: Alert['severity']; sinks: string[] }
) & { forwarders?: ForwarderOutcome };

/** How many resources an expectation names (for the logs). */
const countOf = (expectation: Expectation): number =>
  expectation.rules.length +
  expectation.functions.length +
  expectation.queues.length +
  expectation.topics.length +
  expectation.keys.length;

/**
 * The guard: reads the deployment, compares it with what rootwatch deployed, and alerts on any drift straight to
 * the SNS topic and the Slack queue (the path a disabled rule cannot cut). The same drifts are alerted once per
 * reminder period (the alert's eventID), through the state port; when the state cannot be reached the alert goes
 * out anyway, a duplicate being better than silence. With `forwarders`, every run also reports the forwarders
 * not heard from for more than two heartbeat periods (app/forwarder-watch.ts), the same way.
 *
 * `check(invocation)` resolves to what it did; it rejects with DeliveryError when a destination did not take an
 * alert (after every destination was tried), or with the state table's error when the forwarders' item could not be
 * read, so the guard's error alarm fires.
 */
const createGuard = (options: GuardOptions) => {
  const now = options.now ?? Date.now;
  const { expectation, state, sinks } = options;

  /**
   * Sends `alert` to every sink that does not have it yet in this reminder period (the claim on its eventID), and
   * resolves to the sinks sent to; undefined when another run holds the claim or every sink has it. A failing or hanging state answers "no destination has
   * it" (app/state-guard.ts): the alert goes out. Rejects with DeliveryError after trying every sink.
   */
  const alertOnce = async (alert: Alert, invocation: string, nowMs: number): Promise<string[] | undefined> => {
    const guarded = guardState(undefined, DEFAULT_STATE_TIMEOUT_MS);
    const delivered = await guarded.call('claim', () => state.claim(alert.eventID, invocation, nowMs), new Set());
    if (!delivered || sinks.every((sink) => delivered.has(sink.name))) return undefined;
    return deliver(alert, sinks, {
      delivered,
      markDelivered: (sink) =>
        guarded.call('markDelivered', () => state.markDelivered(alert.eventID, sink, now()), undefined),
    });
  };

  const checkDeployment = async (invocation: string): Promise<GuardOutcome> => {
    const deployed = await options.readDeployment(expectation);
    const drifts = compareDeployment(expectation, deployed);
    if (drifts.length === 0) {
      logger.info('deployment as deployed', { checked: countOf(expectation) });
      return { status: 'in-sync', checked: countOf(expectation) };
    }
    const nowMs = now();
    const alert = options.alertOf(drifts, nowMs);
    logger.warn('deployment drifted', {
      eventID: alert.eventID,
      drifts: drifts.map((drift) => ({ resource: drift.resource, name: drift.name, property: drift.property })),
    });
    const sent = await alertOnce(alert, invocation, nowMs);
    if (!sent) {
      logger.info('drift already alerted in this period', { eventID: alert.eventID });
      return { status: 'already-alerted', drifts: drifts.length, eventID: alert.eventID };
    }
    logger.info('drift alerted', { eventID: alert.eventID, severity: alert.severity, sinks: sent });
    return {
      status: 'alerted',
      drifts: drifts.length,
      eventID: alert.eventID,
      severity: alert.severity,
      sinks: sent,
    };
  };

  const checkForwarders = async (watch: ForwarderWatch, invocation: string): Promise<ForwarderOutcome> => {
    const nowMs = now();
    const { watched, silent, alert } = await watch.check(nowMs);
    if (!alert) return { status: 'all-heard', watched };
    const sent = await alertOnce(alert, invocation, nowMs);
    if (!sent) {
      logger.info('silent forwarders already alerted in this period', { eventID: alert.eventID });
      return { status: 'already-alerted', watched, silent: silent.length, eventID: alert.eventID };
    }
    logger.info('silent forwarders alerted', { eventID: alert.eventID, sinks: sent });
    return { status: 'alerted', watched, silent: silent.length, eventID: alert.eventID, sinks: sent };
  };

  return {
    /**
     * The deployment, then the forwarders (when watched). Each runs whatever the other did: when either fails
     * (a destination refused its alert, the forwarders' item could not be read), the other's alert still goes out,
     * then the first failure is rethrown so the guard's error alarm fires.
     */
    async check(invocation: string): Promise<GuardOutcome> {
      const [deployment, forwarders] = await Promise.allSettled([
        checkDeployment(invocation),
        options.forwarders ? checkForwarders(options.forwarders, invocation) : Promise.resolve(undefined),
      ]);
      if (forwarders.status === 'rejected') {
        const error = toError(forwarders.reason);
        logger.error('forwarder check failed', { errorName: error.name, error: error.message });
      }
      if (deployment.status === 'rejected') throw deployment.reason;
      if (forwarders.status === 'rejected') throw forwarders.reason;
      return forwarders.value === undefined ? deployment.value : { ...deployment.value, forwarders: forwarders.value };
    },
  };
};

type Guard = ReturnType<typeof createGuard>;

export type { Guard, GuardOutcome };
export { createGuard };
