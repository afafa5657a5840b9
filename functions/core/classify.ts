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

/**
 * How many events of the detection `detectionId` (another one) the state recorded for this event's account in
 * the `windowMs` up to this event's time, from any source: what a follows modifier reads. Read, never recorded
 * (AlertState.countWindow); the pipeline hands the numbers in. Default: none.
 */
type PrecedingCount = (detectionId: string, windowMs: number) => number;

/** The placeholder a follows modifier's reason may hold: how many events of the followed detection there were. */
const COUNT_PLACEHOLDER = '{count}';

const severityOf = (
  detection: Detection,
  event: unknown,
  recentCount: RecentCount,
  precedingCount: PrecedingCount,
): Omit<Match, 'detection'> => {
  for (const modifier of detection.modifiers) {
    if (modifier.kind === 'follows') {
      const count = precedingCount(modifier.detection, modifier.withinMs);
      if (count >= modifier.count) {
        return { severity: modifier.severity, reason: modifier.reason.replaceAll(COUNT_PLACEHOLDER, String(count)) };
      }
      continue;
    }
    const applies =
      modifier.kind === 'match' ? modifier.matches(event) : recentCount(detection, modifier.withinMs) >= modifier.count;
    if (applies) return { severity: modifier.severity, reason: modifier.reason };
  }
  return { severity: detection.severity };
};

/**
 * A centralized root session: short-term root credentials that the Organization's management account
 * (or the delegated administrator for IAM) obtained with `sts:AssumeRoot` for one privileged task in a
 * member account, scoped by an AWS-managed task policy and lasting at most 15 minutes. CloudTrail records
 * its calls with `userIdentity.type` Root and `userIdentity.sessionContext.assumedRoot` "true". AWS
 * recommends this over keeping root credentials in member accounts, and the AssumeRoot call that opened
 * the session alerts on its own in the calling account (root-session-assumed, high). So whatever
 * detection a call inside the session matches (root-api-call, root-credentials-changed when it deletes
 * root's login profile, mfa-device-deactivated when it removes root's MFA, any other), it takes the
 * session's severity, medium, in place of the detection's own: a catalog-wide rule, which is why it
 * lives here rather than in every detection file. The AssumeRoot caller's own record may carry
 * `assumedRoot` too (the IAM User Guide's example does), but its identity is the caller's role, not
 * Root, so it keeps its severity.
 *
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user-privileged-task.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-track-privileged-tasks.html
 */
const CENTRALIZED_ROOT_SESSION = {
  severity: 'medium',
  reason: 'inside a centralized root session (sts:AssumeRoot)',
} as const satisfies Omit<Match, 'detection'>;

/**
 * Whether the event is a call made inside a centralized root session (see CENTRALIZED_ROOT_SESSION):
 * identity Root with `sessionContext.assumedRoot` "true" (a boolean true, as some exports write it, too).
 *
 * @example
 * isCentralizedRootSession({ detail: { userIdentity: { type: 'Root', sessionContext: { assumedRoot: 'true' } } } }); // true
 */
const isCentralizedRootSession = (event: unknown): boolean => {
  const identity = (event as { detail?: { userIdentity?: unknown } } | null)?.detail?.userIdentity as
    | { type?: unknown; sessionContext?: { assumedRoot?: unknown } | null }
    | null
    | undefined;
  const assumedRoot = identity?.sessionContext?.assumedRoot;
  return identity?.type === 'Root' && (assumedRoot === true || String(assumedRoot).toLowerCase() === 'true');
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

/**
 * Gives each matched detection its severity, most severe first: from its modifiers (the first that applies), or,
 * inside a centralized root session, the session's (CENTRALIZED_ROOT_SESSION) for every detection alike.
 * `recentCount` answers threshold modifiers (default: each event the first of its kind); `precedingCount` answers
 * follows modifiers (default: nothing came before), whose reason gets the count in place of `{count}`.
 *
 * @example
 * import { loadDetections } from '../io/detections.js';
 * import type { CloudTrailEvent } from './event.js';
 *
 * declare const event: CloudTrailEvent; // a root sign-in with MFA (events/samples/root-console-sign-in-mfa-upper-case.json)
 * const detections = loadDetections();
 * const signIn = detections.filter((detection) => detection.id === 'root-console-sign-in');
 * scoreMatches(event, signIn); // [{ detection: signIn[0], severity: 'high', reason: 'signed in with MFA' }]
 * // after 4 failed root sign-ins in the 15 minutes before it:
 * scoreMatches(event, signIn, undefined, (id) => (id === 'root-console-sign-in-failure' ? 4 : 0));
 * // [{ detection: signIn[0], severity: 'critical', reason: 'after 4 failed root sign-in(s) within 15 minutes, from any source' }]
 */
const scoreMatches = (
  event: unknown,
  matched: readonly Detection[],
  recentCount: RecentCount = () => 1,
  precedingCount: PrecedingCount = () => 0,
): Match[] => {
  const session = isCentralizedRootSession(event) ? CENTRALIZED_ROOT_SESSION : undefined;
  return matched
    .map((detection) => ({ detection, ...(session ?? severityOf(detection, event, recentCount, precedingCount)) }))
    .sort(bySeverityThenId);
};

/** Every detection the event matches, most severe first, each with its severity (see scoreMatches). */
const classify = (
  event: unknown,
  detections: readonly Detection[],
  recentCount: RecentCount = () => 1,
  precedingCount: PrecedingCount = () => 0,
): Match[] => scoreMatches(event, matchDetections(event, detections), recentCount, precedingCount);

/** Whether a detection's severity depends on how many like events came before (needs a counter). */
const needsCount = (detection: Detection): boolean => detection.modifiers.some((m) => m.kind === 'threshold');

/**
 * The detections some detection of `detections` follows (a follows modifier), by id, each with the longest window
 * (ms) it is followed over. The pipeline records their events even when they have no threshold of their own, so
 * the follower can count them (AlertState.countRecent records, countWindow reads).
 *
 * @example
 * import { loadDetections } from '../io/detections.js';
 *
 * followedDetections(loadDetections()); // Map { 'root-console-sign-in-failure' => 900000 }
 */
const followedDetections = (detections: readonly Detection[]): ReadonlyMap<string, number> => {
  const windows = new Map<string, number>();
  for (const modifier of detections.flatMap((detection) => detection.modifiers)) {
    if (modifier.kind !== 'follows') continue;
    windows.set(modifier.detection, Math.max(windows.get(modifier.detection) ?? 0, modifier.withinMs));
  }
  return windows;
};

export type { Match, PrecedingCount, RecentCount };
export {
  CENTRALIZED_ROOT_SESSION,
  classify,
  followedDetections,
  isCentralizedRootSession,
  matchDetections,
  needsCount,
  scoreMatches,
};
