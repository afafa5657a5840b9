import { buildAlert } from '../core/alert-document.js';
import { matchDetections, needsCount, type RecentCount, scoreMatches } from '../core/classify.js';
import type { Detection } from '../core/detection.js';
import type { CloudTrailEvent } from '../core/event.js';
import { type Severity, severityRank } from '../core/severity.js';
import { toError } from '../errors.js';
import { logger } from '../io/logger.js';
import { deliver } from './deliver.js';
import type { Enricher } from './enrich.js';
import type { AlertState, Sink } from './ports.js';

interface AlertPipelineOptions {
  detections: readonly Detection[];
  /** Alerts below this severity are dropped (counted, never sent). */
  minSeverity: Severity;
  /** Base URL the detection file names are appended to, for `links.runbook`. */
  runbookBaseUrl: string;
  state: AlertState;
  enrich: Enricher;
  sinks: readonly Sink[];
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
}

/** What the pipeline did with one event. */
type AlertOutcome =
  | { status: 'no-match' | 'duplicate' }
  | { status: 'below-threshold'; severity: Severity }
  | { status: 'delivered'; eventID: string; detections: string[]; severity: Severity; sinks: string[] };

interface AlertPipeline {
  /**
   * The detections whose patterns match the event: synchronous and free of state, so a caller with
   * millions of records (replay) skips the ones that match nothing without a promise.
   */
  match(event: CloudTrailEvent): Detection[];
  /**
   * claim → count → score → severity floor → enrich → build → deliver, for an event `match` matched.
   * `invocation` names who claims the event (the Lambda request id). Rejects with the state's error
   * when the event cannot be claimed, and with DeliveryError when a destination failed (after every
   * destination was tried), so that Lambda retries what is missing.
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
): Promise<RecentCount> => {
  const counts = new Map<string, number>();
  const timeMs = Date.parse(event.time) || 0;
  for (const detection of matched.filter(needsCount)) {
    for (const modifier of detection.modifiers) {
      if (modifier.kind !== 'threshold') continue;
      const key = `${detection.id}|${modifier.withinMs}`;
      try {
        counts.set(
          key,
          await state.countRecent(`${detection.id}#${event.account}`, event.id, timeMs, modifier.withinMs),
        );
      } catch (error) {
        logger.warn('could not count recent events; scoring as the first', {
          detection: detection.id,
          error: toError(error).message,
        });
      }
    }
  }
  return (detection, windowMs) => counts.get(`${detection.id}|${windowMs}`) ?? 1;
};

/**
 * The one alert pipeline, written once for the alert Lambda, replay and the demo; each passes its own
 * state, enrichment and sinks (DynamoDB, SNS and the Slack queue; memory and stdout; the local
 * stand-ins). One eventID yields one alert, whichever rule, retry or duplicate delivered it.
 */
const createAlertPipeline = (options: AlertPipelineOptions): AlertPipeline => {
  const now = options.now ?? Date.now;
  const floor = severityRank(options.minSeverity);
  const { detections, state, sinks } = options;

  const match = (event: CloudTrailEvent): Detection[] => matchDetections(event, detections);

  const alert = async (
    event: CloudTrailEvent,
    matched: readonly Detection[],
    invocation: string,
  ): Promise<AlertOutcome> => {
    const delivered = await state.claim(event.id, invocation, now());
    if (!delivered || sinks.every((sink) => delivered.has(sink.name))) {
      logger.info('duplicate delivery: another invocation is alerting, or has alerted, on this event');
      return { status: 'duplicate' };
    }
    const matches = scoreMatches(event, matched, await countsFor(event, matched, state));
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
      markDelivered: (sink) => state.markDelivered(event.id, sink, now()),
    });
    logger.info('alert delivered', { detections: document.detections, severity, sinks: sent });
    return { status: 'delivered', eventID: document.eventID, detections: document.detections, severity, sinks: sent };
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
