import { type Alert, buildAlert, type Enrichment } from './alert-document.js';
import { createRecentCounter, matchDetections, needsCount, scoreMatches } from './classify.js';
import type { Detection } from './detection.js';
import type { CloudTrailEvent } from './event.js';
import { type Severity, severityRank } from './severity.js';

interface ReplayPipelineOptions {
  detections: readonly Detection[];
  minSeverity: Severity;
  runbookBaseUrl: string;
  enrich?: (event: CloudTrailEvent) => Enrichment;
}

/**
 * detect → classify → alert for a stream of events in one process (replay, the demo): counts repeated
 * events in memory, in event time, and yields one alert per eventID however often the event is read.
 */
const createReplayPipeline = (options: ReplayPipelineOptions) => {
  const counter = createRecentCounter();
  const alerted = new Set<string>();
  const floor = severityRank(options.minSeverity);
  return (event: CloudTrailEvent): Alert | undefined => {
    const matched = matchDetections(event, options.detections);
    if (matched.length === 0 || alerted.has(event.id)) return undefined;
    const timeMs = Date.parse(event.time) || 0;
    for (const detection of matched) if (needsCount(detection)) counter.record(detection, event.account, timeMs);
    const matches = scoreMatches(event, matched, (detection, windowMs) =>
      counter.count(detection, event.account, timeMs, windowMs),
    );
    alerted.add(event.id);
    const alert = buildAlert(event, matches, {
      runbookBaseUrl: options.runbookBaseUrl,
      ...(options.enrich ? { enrichment: options.enrich(event) } : {}),
    });
    return severityRank(alert.severity) >= floor ? alert : undefined;
  };
};

export type { ReplayPipelineOptions };
export { createReplayPipeline };
