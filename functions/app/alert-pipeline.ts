import { type Alert, buildAlert } from '../core/alert-document.js';
import {
  followedDetections,
  type Match,
  matchDetections,
  needsCount,
  type PrecedingCount,
  type RecentCount,
  scoreMatches,
} from '../core/classify.js';
import type { Detection } from '../core/detection.js';
import type { CloudTrailEvent } from '../core/event.js';
import { activeWindows, markExpected } from '../core/expected-window.js';
import { FOLD_WINDOW_MS, sessionEntryOf, sessionKeyOf, sessionSeedOf } from '../core/session.js';
import { type Severity, severityRank } from '../core/severity.js';
import { toError } from '../errors.js';
import { logger } from '../io/logger.js';
import { deliver } from './deliver.js';
import type { Enricher } from './enrich.js';
import type {
  AlertState,
  ExpectedWindows,
  FoldTimer,
  HealthMetrics,
  SessionDecision,
  SessionState,
  Sink,
} from './ports.js';
import { DEFAULT_STATE_TIMEOUT_MS, type GuardedState, guardState } from './state-guard.js';

/**
 * What folding a root session needs (see the session step of createAlertPipeline). Without it, every alerting event
 * is alerted on its own, as before sessions.
 */
interface SessionPorts {
  state: SessionState;
  /** Arms a fold's flush FOLD_WINDOW_MS after its first event (the digest queue, in production). */
  timer: FoldTimer;
  /**
   * Flushes a fold now (app/digest.ts, createFoldFlusher, with the digest sinks): called in the invocation whose event
   * filled the fold (FOLD_MAX_EVENTS). `owner` is the invocation.
   */
  flush(foldId: string, owner: string): Promise<unknown>;
}

interface AlertPipelineOptions {
  detections: readonly Detection[];
  /** Alerts below this severity are dropped (counted, never sent). */
  minSeverity: Severity;
  /** Base URL the detection file names are appended to, for `links.runbook`. */
  runbookBaseUrl?: string | undefined;
  state: AlertState;
  enrich: Enricher;
  sinks: readonly Sink[];
  /** Root sessions: the first alert of a session now, the rest folded into digests. None: every event alerts. */
  sessions?: SessionPorts;
  /**
   * The break-glass windows (`rootwatch expect`): an alert inside one of its account's is marked `expected` and, for
   * the detections it covers, one severity step lower (core/expected-window.ts, markExpected). None: no window ever
   * applies (replay, which has no declarations to read).
   */
  expectedWindows?: ExpectedWindows;
  /** Counts the state failing (CloudWatch in the alert function); none by default. */
  metrics?: HealthMetrics;
  /**
   * The longest one state call may take before the alert goes on without the state. Default 6000: above the
   * DynamoDB client's own worst case (io/aws-clients.ts, about 5 s), so this bounds any state port, not the SDK.
   * Number.POSITIVE_INFINITY: no timer at all (replay's state in memory answers or throws, never hangs).
   */
  stateTimeoutMs?: number;
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
}

/** What the pipeline did with one event. */
type AlertOutcome =
  | { status: 'no-match' | 'duplicate' }
  | { status: 'below-threshold'; severity: Severity }
  | {
      status: 'delivered';
      eventID: string;
      detections: string[];
      severity: Severity;
      sinks: string[];
      /** Present, false, when the state failed: sent without deduplication, thresholds scored as first. */
      deduplicated?: false;
      /** The alert's session (first, or an escalation), when sessions are on and the session state answered. */
      session?: Alert['session'];
      /** The window the event fell in, when it did (severity is then the severity after the window). */
      expected?: string;
    }
  | {
      /** Folded into fold `foldId` of its session: it goes out in that fold's digest, not as an alert of its own. */
      status: 'folded';
      eventID: string;
      detections: string[];
      severity: Severity;
      foldId: string;
    };

interface AlertPipeline {
  /**
   * The detections whose patterns match the event: synchronous and free of state, so a caller with
   * millions of records (replay) skips the ones that match nothing without a promise.
   */
  match(event: CloudTrailEvent): Detection[];
  /**
   * claim → count → score → severity floor → enrich → build → expected windows → session → deliver, for an event
   * `match` matched.
   * `invocation` names who claims the event (the Lambda request id). When the state fails or hangs,
   * the alert still goes out, without deduplication or folding (duplicates are better than silence). Rejects with
   * DeliveryError when a destination failed (after every destination was tried), and with the timer's error when a
   * fold's timer could not be set, so that Lambda retries what is missing.
   */
  alert(event: CloudTrailEvent, matched: readonly Detection[], invocation: string): Promise<AlertOutcome>;
  /** `match`, then `alert` when something matched. */
  process(event: CloudTrailEvent, invocation: string): Promise<AlertOutcome>;
}

/**
 * Counts for the matched detections' modifiers, per detection and account, in event time: threshold modifiers count
 * their own detection's recent events (recording this one); follows modifiers read, without recording, the recent
 * events of the detection they follow; and an event of a detection another one follows is recorded, so that its
 * follower can count it. A failing counter degrades the count to "first of its kind" (the default severity, nothing
 * before): it never stops the alert.
 */
const countsFor = async (
  event: CloudTrailEvent,
  matched: readonly Detection[],
  followed: ReadonlyMap<string, number>,
  state: AlertState,
  guard: GuardedState,
): Promise<{ recent: RecentCount; preceding: PrecedingCount }> => {
  const counts = new Map<string, number>();
  const preceding = new Map<string, number>();
  const timeMs = Date.parse(event.time) || 0;
  for (const detection of matched) {
    const key = `${detection.id}#${event.account}`;
    if (needsCount(detection)) {
      for (const modifier of detection.modifiers) {
        if (modifier.kind !== 'threshold') continue;
        const count = await guard.call(
          'countRecent',
          () => state.countRecent(key, event.id, timeMs, modifier.withinMs),
          1,
        );
        counts.set(`${detection.id}|${modifier.withinMs}`, count);
      }
    } else if (followed.has(detection.id)) {
      // Recorded for a detection that follows this one (a root sign-in after failed ones); its count is not used here.
      const windowMs = followed.get(detection.id) ?? 0;
      await guard.call('countRecent', () => state.countRecent(key, event.id, timeMs, windowMs), 1);
    }
    for (const modifier of detection.modifiers) {
      if (modifier.kind !== 'follows') continue;
      const count = await guard.call(
        'countWindow',
        () => state.countWindow(`${modifier.detection}#${event.account}`, timeMs, modifier.withinMs),
        0,
      );
      preceding.set(`${modifier.detection}|${modifier.withinMs}`, count);
    }
  }
  return {
    recent: (detection, windowMs) => counts.get(`${detection.id}|${windowMs}`) ?? 1,
    preceding: (detectionId, windowMs) => preceding.get(`${detectionId}|${windowMs}`) ?? 0,
  };
};

/** What the log says when the session state is not asked (an earlier state call failed for this event). */
const WITHOUT_SESSIONS = 'session state unavailable: alerting without folding';

/**
 * The one alert pipeline, written once for the alert Lambda, replay and the demo; each passes its own
 * state, enrichment and sinks (DynamoDB, SNS and the Slack queue; memory and stdout; the local
 * stand-ins). One eventID yields one alert, whichever rule, retry or duplicate delivered it, as long as
 * the state answers; when it does not, the alert goes out anyway, and may go out twice.
 *
 * With `sessions`, the session step between build and deliver asks the session state (SessionState.observe) what the
 * event is to its root session (core/session.ts: the key, the decision):
 * - first: alerted now, with `session: { key, first: true }`;
 * - escalate: alerted now, with `session: { key, first: false, escalation: { reason } }`;
 * - fold: not alerted; it is in fold `foldId`, whose digest will carry it. The fold's first event arms its timer
 *   (FOLD_WINDOW_MS); the event that fills it flushes it at once (a failed flush is left to the timer). The event's
 *   claim is then marked delivered to every destination, so a retry or duplicate does nothing.
 * When the session state fails or hangs (or an earlier state call for the event did), the event is alerted on its own,
 * without `session`, with the log line "session state unavailable: alerting without folding" and the StateUnavailable
 * metric for `observe`: never lost, at worst alerted besides its digest.
 */
const createAlertPipeline = (options: AlertPipelineOptions): AlertPipeline => {
  const now = options.now ?? Date.now;
  const stateTimeoutMs = options.stateTimeoutMs ?? DEFAULT_STATE_TIMEOUT_MS;
  const floor = severityRank(options.minSeverity);
  const { detections, state, sinks, sessions } = options;
  const followed = followedDetections(detections);

  const match = (event: CloudTrailEvent): Detection[] => matchDetections(event, detections);

  /**
   * The alert marked by the window it fell in, if any. The windows are asked through the event's guarded state: when
   * the lookup fails or hangs (or an earlier state call for the event did), the alert goes out as if no window had
   * been declared, logged and counted (StateUnavailable, operation expectedWindows): never quieter than without it.
   */
  const expect = async (
    event: CloudTrailEvent,
    document: Alert,
    matches: readonly Match[],
    guard: GuardedState,
  ): Promise<Alert> => {
    const windows = options.expectedWindows;
    if (!windows) return document;
    const timeMs = Date.parse(event.time);
    if (Number.isNaN(timeMs)) return document;
    const active = await guard.call('expectedWindows', () => windows.activeAt(event.account, timeMs), []);
    return markExpected(document, matches, activeWindows(active, event.account, timeMs));
  };

  /** The session's decision for the built alert; undefined when the session state is unavailable. */
  const observe = async (
    event: CloudTrailEvent,
    document: Alert,
    guard: GuardedState,
  ): Promise<{ key: string; decision: SessionDecision } | undefined> => {
    if (!sessions) return undefined;
    if (!guard.available) {
      logger.warn(WITHOUT_SESSIONS, { operation: 'observe' });
      options.metrics?.stateUnavailable('observe');
      return undefined;
    }
    const key = sessionKeyOf(event);
    const decision = await guard.call<SessionDecision | undefined>(
      'observe',
      () => sessions.state.observe(key, sessionEntryOf(document), sessionSeedOf(document), now()),
      undefined,
    );
    return decision ? { key, decision } : undefined;
  };

  /** A folded event: its fold's timer armed (when it opened it), its claim closed, its fold flushed when full. */
  const fold = async (
    document: Alert,
    decision: Extract<SessionDecision, { kind: 'fold' }>,
    invocation: string,
    guard: GuardedState,
  ): Promise<AlertOutcome> => {
    const ports = sessions as SessionPorts;
    // Rejects when the timer cannot be set: Lambda retries the event, observe answers `opened` again, and the timer
    // is set then. A fold is never left without its timer.
    if (decision.opened) await ports.timer.schedule(decision.foldId, FOLD_WINDOW_MS);
    await Promise.all(
      sinks.map((sink) =>
        guard.call('markDelivered', () => state.markDelivered(document.eventID, sink.name, now()), undefined),
      ),
    );
    if (decision.full) {
      try {
        await ports.flush(decision.foldId, invocation);
      } catch (error) {
        // The event is safe in its fold, and the fold's timer message flushes it (it was set when the fold opened).
        const err = toError(error);
        logger.warn('full fold not flushed; its timer will', {
          foldId: decision.foldId,
          errorName: err.name,
          error: err.message,
        });
      }
    }
    logger.info('event folded', { foldId: decision.foldId, opened: decision.opened, full: decision.full });
    return {
      status: 'folded',
      eventID: document.eventID,
      detections: document.detections,
      severity: document.severity,
      foldId: decision.foldId,
    };
  };

  const alert = async (
    event: CloudTrailEvent,
    matched: readonly Detection[],
    invocation: string,
  ): Promise<AlertOutcome> => {
    const guard = guardState(options.metrics, stateTimeoutMs);
    const claimed = await guard.call<Set<string> | undefined | 'unavailable'>(
      'claim',
      () => state.claim(event.id, invocation, now()),
      'unavailable',
    );
    if (!claimed || (claimed !== 'unavailable' && sinks.every((sink) => claimed.has(sink.name)))) {
      logger.info('duplicate delivery: another invocation is alerting, or has alerted, on this event');
      return { status: 'duplicate' };
    }
    const delivered: ReadonlySet<string> = claimed === 'unavailable' ? new Set() : claimed;
    const { recent, preceding } = await countsFor(event, matched, followed, state, guard);
    const matches = scoreMatches(event, matched, recent, preceding);
    const severity = matches[0]?.severity ?? 'info';
    if (severityRank(severity) < floor) {
      logger.info('below MIN_SEVERITY', { severity });
      return { status: 'below-threshold', severity };
    }
    let document = buildAlert(event, matches, {
      runbookBaseUrl: options.runbookBaseUrl,
      enrichment: await options.enrich(event),
    });
    // After the floor: an expected alert is lowered, never dropped for being expected. Before the session: an event
    // after its window ended ranks above the lowered ones before it, and escalates the session at once.
    document = await expect(event, document, matches, guard);
    const session = await observe(event, document, guard);
    if (session?.decision.kind === 'fold') return fold(document, session.decision, invocation, guard);
    if (session) {
      const { key, decision } = session;
      document = {
        ...document,
        session:
          decision.kind === 'escalate'
            ? { key, first: false, escalation: { reason: decision.reason } }
            : { key, first: true },
      };
    }
    const sent = await deliver(document, sinks, {
      delivered,
      markDelivered: (sink) => guard.call('markDelivered', () => state.markDelivered(event.id, sink, now()), undefined),
    });
    const deduplicated = guard.available;
    logger.info('alert delivered', {
      detections: document.detections,
      severity: document.severity,
      ...(document.expected ? { expected: document.expected.windowId ?? 'unknown' } : {}),
      sinks: sent,
      deduplicated,
      ...(document.session ? { session: document.session } : {}),
    });
    return {
      status: 'delivered',
      eventID: document.eventID,
      detections: document.detections,
      severity: document.severity,
      sinks: sent,
      ...(deduplicated ? {} : { deduplicated }),
      ...(document.session ? { session: document.session } : {}),
      ...(document.expected ? { expected: document.expected.windowId ?? 'unknown' } : {}),
    };
  };

  return {
    match,
    alert,
    async process(event, invocation) {
      const matched = match(event);
      if (matched.length === 0) {
        // A rule matched but the catalog does not: the two disagree, and retrying will not help.
        logger.warn('no detection matched', { detailType: event['detail-type'], source: event.source });
        return { status: 'no-match' };
      }
      return alert(event, matched, invocation);
    },
  };
};

export type { AlertOutcome, AlertPipeline, AlertPipelineOptions };
export { createAlertPipeline };
