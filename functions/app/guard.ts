import type { Alert } from '../core/alert-document.js';
import { compareDeployment, type DeployedState, type Drift } from '../core/guard/compare.js';
import type { Expectation } from '../core/guard/expected-state.js';
import { logger } from '../io/logger.js';
import { deliver } from './deliver.js';
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
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
}

/** What one check found and did. */
type GuardOutcome =
  | { status: 'in-sync'; checked: number }
  | { status: 'already-alerted'; drifts: number; eventID: string }
  | { status: 'alerted'; drifts: number; eventID: string; severity: Alert['severity']; sinks: string[] };

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
 * out anyway, a duplicate being better than silence.
 *
 * `check(invocation)` resolves to what it did; it rejects with DeliveryError when a destination did not take the
 * alert (after every destination was tried), so the guard's error alarm fires.
 */
const createGuard = (options: GuardOptions) => {
  const now = options.now ?? Date.now;
  const { expectation, state, sinks } = options;

  return {
    async check(invocation: string): Promise<GuardOutcome> {
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
      // A failing or hanging state answers "no destination has it" (app/state-guard.ts): the alert goes out.
      const guarded = guardState(undefined, DEFAULT_STATE_TIMEOUT_MS);
      const delivered = await guarded.call('claim', () => state.claim(alert.eventID, invocation, nowMs), new Set());
      if (!delivered || sinks.every((sink) => delivered.has(sink.name))) {
        logger.info('drift already alerted in this period', { eventID: alert.eventID });
        return { status: 'already-alerted', drifts: drifts.length, eventID: alert.eventID };
      }
      const sent = await deliver(alert, sinks, {
        delivered,
        markDelivered: (sink) =>
          guarded.call('markDelivered', () => state.markDelivered(alert.eventID, sink, now()), undefined),
      });
      logger.info('drift alerted', { eventID: alert.eventID, severity: alert.severity, sinks: sent });
      return {
        status: 'alerted',
        drifts: drifts.length,
        eventID: alert.eventID,
        severity: alert.severity,
        sinks: sent,
      };
    },
  };
};

type Guard = ReturnType<typeof createGuard>;

export type { Guard, GuardOutcome };
export { createGuard };
