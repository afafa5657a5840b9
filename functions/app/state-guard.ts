import { StateTimeoutError, toError } from '../errors.js';
import { logger } from '../io/logger.js';
import type { HealthMetrics, StateOperation } from './ports.js';

/*
 * Duplicates are better than silence: the state table deduplicates alerts and counts repeated events, but an
 * alert never waits on it. A state call that fails or hangs is logged and counted, and the alert goes on
 * without the state.
 */

/**
 * The longest one state call may take, by default. Above the DynamoDB client's own worst case (io/aws-clients.ts,
 * about 5 s), so it bounds any state port rather than the SDK's.
 */
const DEFAULT_STATE_TIMEOUT_MS = 6_000;

/** What the log says when the state fails on each call: what the alert does without it. */
const WITHOUT_STATE: Record<StateOperation, string> = {
  claim: 'state table unavailable: delivering without deduplication',
  countRecent: 'state table unavailable: scoring the threshold modifiers as the first of their kind',
  countWindow: 'state table unavailable: scoring the follows modifiers as if nothing came before',
  markDelivered: 'state table unavailable: the delivery is not recorded, so a retry may repeat it',
  delivered: 'state table unavailable: posting without checking for an earlier post',
  observe: 'session state unavailable: alerting without folding',
  expectedWindows: 'state table unavailable: alerting as if no expected window had been declared',
};

/** The state as one event's alert uses it (see guardState). */
interface GuardedState {
  /** `run`'s answer, or `fallback` once the state has failed or timed out for this event. */
  call<T>(operation: StateOperation, run: () => Promise<T>, fallback: T): Promise<T>;
  /** False once a call failed: from then on the event goes on without the state. */
  readonly available: boolean;
}

/** `promise`, or a StateTimeoutError after `timeoutMs`. */
const withinMs = async <T>(promise: Promise<T>, timeoutMs: number, operation: StateOperation): Promise<T> => {
  // No budget (replay's state in memory): no timer, which setTimeout would fire after 1 ms for Infinity.
  if (!Number.isFinite(timeoutMs)) return await promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StateTimeoutError(operation, timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
};

/**
 * The state for one event: a call that fails or takes longer than `timeoutMs` is logged (what the alert does
 * without it) and counted (`StateUnavailable`), and the state is not asked again for this event, so a hanging
 * table costs one timeout, not one per call. Each call then answers its fallback: no claim held (send to every
 * destination), a count of 1 (first of its kind), a delivery not recorded.
 */
const guardState = (metrics: HealthMetrics | undefined, timeoutMs: number): GuardedState => {
  let available = true;
  return {
    get available() {
      return available;
    },
    async call(operation, run, fallback) {
      if (!available) return fallback;
      try {
        return await withinMs(run(), timeoutMs, operation);
      } catch (error) {
        available = false;
        const err = toError(error);
        logger.warn(WITHOUT_STATE[operation], { operation, errorName: err.name, error: err.message });
        metrics?.stateUnavailable(operation);
        return fallback;
      }
    },
  };
};

export type { GuardedState };
export { DEFAULT_STATE_TIMEOUT_MS, guardState };
