import { buildAlert } from '../core/alert-document.js';
import { matchDetections, needsCount, type RecentCount, scoreMatches } from '../core/classify.js';
import type { Detection } from '../core/detection.js';
import type { CloudTrailEvent } from '../core/event.js';
import { type Severity, severityRank } from '../core/severity.js';
import { logger } from '../io/logger.js';
import { deliver } from './deliver.js';
import type { Enricher } from './enrich.js';
import type { AlertState, HealthMetrics, Sink } from './ports.js';
import { DEFAULT_STATE_TIMEOUT_MS, type GuardedState, guardState } from './state-guard.js';

interface AlertPipelineOptions {
  detections: readonly Detection[];
  /** Alerts below this severity are dropped (counted, never sent). */
  minSeverity: Severity;
  /** Base URL the detection file names are appended to, for `links.runbook`. */
  runbookBaseUrl: string;
  state: AlertState;
  enrich: Enricher;
  sinks: readonly Sink[];
  /** Counts the state failing (CloudWatch in the alert function); none by default. */
  metrics?: HealthMetrics;
  /**
   * The longest one state call may take before the alert goes on without the state. Default 6000: above the
   * DynamoDB client's own worst case (io/aws-clients.ts, about 5 s), so this bounds any state port, not the SDK.
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
    };

interface AlertPipeline {
  /**
   * The detections whose patterns match the event: synchronous and free of state, so a caller with
   * millions of records (replay) skips the ones that match nothing without a promise.
   */
  match(event: CloudTrailEvent): Detection[];
  /**
   * claim → count → score → severity floor → enrich → build → deliver, for an event `match` matched.
   * `invocation` names who claims the event (the Lambda request id). When the state fails or hangs,
   * the alert still goes out, without deduplication (duplicates are better than silence). Rejects with
   * DeliveryError when a destination failed (after every destination was tried), so that Lambda retries
   * what is missing.
   */
  alert(event: CloudTrailEvent, matched: readonly Detection[], invocation: string): Promise<AlertOutcome>;
  /** `match`, then `alert` when something matched. */
  process(event: CloudTrailEvent, invocation: string): Promise<AlertOutcome>;
}

/**
 * Counts for the threshold modifiers of the matched detections, per detection and account. A failing
 * counter degrades the count to "first of its kind" (the default severity): it never stops the alert.
 */
const countsFor = async (
  event: CloudTrailEvent,
  matched: readonly Detection[],
  state: AlertState,
  guard: GuardedState,
): Promise<RecentCount> => {
  const counts = new Map<string, number>();
  const timeMs = Date.parse(event.time) || 0;
  for (const detection of matched.filter(needsCount)) {
    for (const modifier of detection.modifiers) {
      if (modifier.kind !== 'threshold') continue;
      const count = await guard.call(
        'countRecent',
        () => state.countRecent(`${detection.id}#${event.account}`, event.id, timeMs, modifier.withinMs),
        1,
      );
      counts.set(`${detection.id}|${modifier.withinMs}`, count);
    }
  }
  return (detection, windowMs) => counts.get(`${detection.id}|${windowMs}`) ?? 1;
};

/**
 * The one alert pipeline, written once for the alert Lambda, replay and the demo; each passes its own
 * state, enrichment and sinks (DynamoDB, SNS and the Slack queue; memory and stdout; the local
 * stand-ins). One eventID yields one alert, whichever rule, retry or duplicate delivered it, as long as
 * the state answers; when it does not, the alert goes out anyway, and may go out twice.
 */
const createAlertPipeline = (options: AlertPipelineOptions): AlertPipeline => {
  const now = options.now ?? Date.now;
  const stateTimeoutMs = options.stateTimeoutMs ?? DEFAULT_STATE_TIMEOUT_MS;
  const floor = severityRank(options.minSeverity);
  const { detections, state, sinks } = options;

  const match = (event: CloudTrailEvent): Detection[] => matchDetections(event, detections);

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
    const matches = scoreMatches(event, matched, await countsFor(event, matched, state, guard));
    const severity = matches[0]?.severity ?? 'info';
    if (severityRank(severity) < floor) {
      logger.info('below MIN_SEVERITY', { severity });
      return { status: 'below-threshold', severity };
    }
    const document = buildAlert(event, matches, {
      runbookBaseUrl: options.runbookBaseUrl,
      enrichment: await options.enrich(event),
    });
    const sent = await deliver(document, sinks, {
      delivered,
      markDelivered: (sink) => guard.call('markDelivered', () => state.markDelivered(event.id, sink, now()), undefined),
    });
    const deduplicated = guard.available;
    logger.info('alert delivered', { detections: document.detections, severity, sinks: sent, deduplicated });
    return {
      status: 'delivered',
      eventID: document.eventID,
      detections: document.detections,
      severity,
      sinks: sent,
      ...(deduplicated ? {} : { deduplicated }),
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
