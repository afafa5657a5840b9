import type { Detection } from './detection.js';
import { type Severity, severityRank } from './severity.js';

/** One detection an event matched, with the severity its modifiers gave. */
interface Match {
  detection: Detection;
  severity: Severity;
  /** Why the severity differs from the detection's default, if it does. */
  reason?: string;
}

/**
 * How many events of this detection and account fell within `windowMs` up to and including this one.
 * Replay counts in memory; the Lambda counts in DynamoDB and hands the numbers in.
 */
type RecentCount = (detection: Detection, windowMs: number) => number;

const severityOf = (detection: Detection, event: unknown, recentCount: RecentCount): Omit<Match, 'detection'> => {
  for (const modifier of detection.modifiers) {
    const applies =
      modifier.kind === 'match' ? modifier.matches(event) : recentCount(detection, modifier.withinMs) >= modifier.count;
    if (applies) return { severity: modifier.severity, reason: modifier.reason };
  }
  return { severity: detection.severity };
};

const bySeverityThenId = (a: Match, b: Match): number =>
  severityRank(b.severity) - severityRank(a.severity) || a.detection.id.localeCompare(b.detection.id);

/** The detections whose patterns match the event: no severity yet, no state touched. */
const matchDetections = (event: unknown, detections: readonly Detection[]): Detection[] => {
  const source = (event as { source?: unknown } | null)?.source;
  return detections.filter(
    (detection) =>
      (detection.sources === undefined || (typeof source === 'string' && detection.sources.has(source))) &&
      detection.matches(event),
  );
};

/** Gives each matched detection its severity, most severe first. */
const scoreMatches = (event: unknown, matched: readonly Detection[], recentCount: RecentCount = () => 1): Match[] =>
  matched.map((detection) => ({ detection, ...severityOf(detection, event, recentCount) })).sort(bySeverityThenId);

/** Every detection the event matches, most severe first, each with its severity. */
const classify = (event: unknown, detections: readonly Detection[], recentCount: RecentCount = () => 1): Match[] =>
  scoreMatches(event, matchDetections(event, detections), recentCount);

/** Whether a detection's severity depends on how many like events came before (needs a counter). */
const needsCount = (detection: Detection): boolean => detection.modifiers.some((m) => m.kind === 'threshold');

export type { Match, RecentCount };
export { classify, matchDetections, needsCount, scoreMatches };
