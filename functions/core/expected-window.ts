import type { Alert } from './alert-document.js';
import type { Match } from './classify.js';
import { SEVERITIES, type Severity, severityRank } from './severity.js';
import * as z from './zod.js';

/*
 * Break-glass windows: root use declared beforehand (`rootwatch expect`), so that its alerts say "expected" instead of
 * paging as an attack would. A window never silences anything: an alert inside one is still delivered everywhere,
 * marked `expected` and one severity step lower, and the detections no planned task needs keep their severity.
 * Pure: the windows are stored in the state table (io/expected-windows.ts) and handed in.
 */

/**
 * The longest window `rootwatch expect --for` declares: 24 hours. Break-glass work (closing an account, changing the
 * support plan, unlocking a bucket policy) takes minutes to hours; a window of days would be a standing exception,
 * which belongs in the catalog (a detection's modifiers or falsePositives), reviewed, not in a command line. A short
 * cap also bounds what a stolen operator credential could soften: a day, announced in Slack and e-mail.
 */
const MAX_WINDOW_MS = 24 * 60 * 60 * 1000;

/** The shortest window: a minute. */
const MIN_WINDOW_MS = 60 * 1000;

/**
 * How long a window is kept after it ends (its `until`, or `endedAt` when ended early), for `--list` and for an event
 * that arrives late: a week. The state table's TTL removes it later still (io/expected-windows.ts).
 */
const WINDOW_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/** The longest reason, in characters: a change ticket and a few words ("CHG-123 close the sandbox account"). */
const MAX_REASON_CHARS = 200;

/** What the log and the documents call a window: "w-" and 8 hex digits. */
const WINDOW_ID = /^w-[0-9a-f]{8}$/;

/**
 * Detections no planned root task needs, which a window never lowers: a root access key created, audit-trail
 * tampering, and changes to rootwatch itself. MFA deactivated is among them when it is root's device (the detection
 * scored critical: events/mfa-device-deactivated.yml); another user's device, or the medium of a centralized root
 * session's task policy, is lowered like the rest.
 */
const NEVER_PLANNED: readonly string[] = ['root-access-key-created', 'audit-trail-tampering', 'alerter-tampering'];
/** The detection a window never lowers when it is root's own device (scored critical), and lowers otherwise. */
const MFA_DEACTIVATED = 'mfa-device-deactivated';

const isoTime = z.string().check(z.refine((value) => !Number.isNaN(Date.parse(value)), 'an ISO 8601 time'));

/**
 * One declared window, as the state table keeps it and `rootwatch expect --list --format json` prints it. Times are
 * ISO 8601 UTC. `reason` and the ARNs are untrusted text wherever they are shown.
 */
const ExpectedWindowSchema = z.object({
  id: z.string().check(z.regex(WINDOW_ID)),
  account: z.string().check(z.regex(/^\d{12}$/)),
  reason: z.string().check(z.minLength(1), z.maxLength(MAX_REASON_CHARS)),
  /** The declarer's ARN, from STS GetCallerIdentity. */
  declaredBy: z.string(),
  declaredAt: isoTime,
  until: isoTime,
  /** The detections the window covers; absent: all of them (but NEVER_PLANNED). */
  detections: z.optional(z.array(z.string())),
  endedAt: z.optional(isoTime),
  endedBy: z.optional(z.string()),
});

/** A declared window (see ExpectedWindowSchema). */
type ExpectedWindow = z.infer<typeof ExpectedWindowSchema>;

/** A detection of the alert that its window does not lower, and why. */
const NOT_COVERED_REASONS = ['never planned', 'not named by the window'] as const;

/**
 * The alert document's `expected` field (core/alert-document.ts reads this schema): the window the event fell in.
 */
const ExpectedSchema = z
  .object({
    // windowId and declaredAt are always sent; optional in the schema, so that a document with DESIGN.md's three
    // fields (reason, declaredBy, until) alone still validates.
    windowId: z
      .optional(z.string())
      .check(z.describe('The window, as `rootwatch expect --list` and `--end` name it (always sent)')),
    reason: z.string().check(z.describe('Why root was to be used, as declared (untrusted text)')),
    declaredBy: z.string().check(z.describe('The ARN of whoever declared the window (STS GetCallerIdentity)')),
    declaredAt: z
      .optional(z.string())
      .check(z.describe('When the window was declared, and began (ISO 8601; always sent)')),
    until: z.string().check(z.describe('When the window ends (ISO 8601); an event at or after it is not expected')),
    detections: z
      .optional(z.array(z.string()))
      .check(z.describe('The detections the window names; absent: it covers every detection but the never-planned')),
    severityFrom: z
      .optional(z.enum(SEVERITIES))
      .check(z.describe('The severity before the window lowered it (one step); absent when it was not lowered')),
    notCovered: z
      .optional(z.array(z.object({ detection: z.string(), reason: z.enum(NOT_COVERED_REASONS) })))
      .check(
        z.describe(
          "The alert's detections the window does not lower: never planned (root-access-key-created, root's MFA deactivated, audit-trail-tampering, alerter-tampering), or not among the window's detections; they keep their severity",
        ),
      ),
  })
  .check(
    z.describe(
      'Present when the event fell inside a declared break-glass window (rootwatch expect) of its account: the alert is still delivered, one severity step lower unless a detection is not covered',
    ),
  );

/** The alert document's `expected` field. */
type Expected = z.infer<typeof ExpectedSchema>;

/**
 * When the window stops covering events, in epoch ms: its `until`, or `endedAt` when it was ended earlier.
 *
 * @example
 * windowEndMs({ until: '2026-10-02T10:30:00Z', endedAt: '2026-10-02T09:45:00Z' }); // Date.parse('2026-10-02T09:45:00Z')
 */
const windowEndMs = (window: Pick<ExpectedWindow, 'until' | 'endedAt'>): number => {
  const until = Date.parse(window.until);
  const ended = window.endedAt === undefined ? Number.NaN : Date.parse(window.endedAt);
  return Number.isNaN(ended) ? until : Math.min(until, ended);
};

/**
 * Whether `window` covers an event of `account` at `timeMs` (event time, epoch ms): the same account, from
 * `declaredAt` (included) to `until` or `endedAt` (excluded), so a window of 09:00 to 10:30 UTC does not cover an
 * event at 10:30:00. Expiry is by event time, never by the table's TTL, so a late-arriving event of the window is
 * still expected, and a replayed one after it is not.
 */
const isActiveAt = (window: ExpectedWindow, account: string, timeMs: number): boolean =>
  window.account === account && Date.parse(window.declaredAt) <= timeMs && timeMs < windowEndMs(window);

/**
 * The windows of `account` active at `timeMs` (isActiveAt); none for a time that is not a number.
 *
 * @example
 * declare const windows: ExpectedWindow[];
 * activeWindows(windows, '111122223333', Number.NaN); // []
 */
const activeWindows = (windows: readonly ExpectedWindow[], account: string, timeMs: number): ExpectedWindow[] =>
  Number.isFinite(timeMs) ? windows.filter((window) => isActiveAt(window, account, timeMs)) : [];

/**
 * One severity step down: critical → high → medium → low → info (info stays).
 *
 * @example
 * lowerSeverity('high'); // 'medium'
 */
const lowerSeverity = (severity: Severity): Severity => SEVERITIES[Math.max(0, severityRank(severity) - 1)] ?? 'info';

/** Why a window does not lower a match, or undefined when it does. */
const notCoveredReason = (match: Match, window: ExpectedWindow): (typeof NOT_COVERED_REASONS)[number] | undefined => {
  const id = match.detection.id;
  if (NEVER_PLANNED.includes(id) || (id === MFA_DEACTIVATED && match.severity === 'critical')) return 'never planned';
  if (window.detections !== undefined && !window.detections.includes(id)) return 'not named by the window';
  return undefined;
};

/** Whether a window applies to the matches at all: it names none (all), or at least one of them. */
const applies = (window: ExpectedWindow, matches: readonly Match[]): boolean =>
  window.detections === undefined || matches.some((match) => window.detections?.includes(match.detection.id));

/**
 * The alert as the window it fell in makes it. Each match the window covers is lowered one step (lowerSeverity); the
 * others keep theirs: never-planned detections, and those a window with `detections` does not name. The alert's
 * severity is the highest of the results, so an alert is lowered only when all its most severe detections are
 * covered. `expected` says which window, who declared it and until when, `severityFrom` when it was lowered, and
 * `notCovered` what it did not lower. The detections keep their order (by severity before the window) and the title
 * is unchanged: the renderers say "expected".
 *
 * `windows` are those active for the event (activeWindows); a window naming detections applies only when it names
 * one of the alert's. Of several, the one that lowers the alert most wins, then the one that ends last. No window
 * applying: the alert unchanged.
 *
 * @example
 * import type { Alert } from './alert-document.js';
 * import type { Match } from './classify.js';
 *
 * declare const alert: Alert; // a root API call, high
 * declare const matches: Match[]; // root-api-call, high
 * declare const window: ExpectedWindow; // CHG-123, all detections
 * const marked = markExpected(alert, matches, [window]);
 * marked.severity; // 'medium'
 * marked.expected?.severityFrom; // 'high'
 */
const markExpected = (alert: Alert, matches: readonly Match[], windows: readonly ExpectedWindow[]): Alert => {
  const candidates = windows
    .filter((window) => applies(window, matches))
    .map((window) => {
      const severities = matches.map((match) =>
        notCoveredReason(match, window) === undefined ? lowerSeverity(match.severity) : match.severity,
      );
      const severity = severities.reduce<Severity>(
        (highest, each) => (severityRank(each) > severityRank(highest) ? each : highest),
        'info',
      );
      return { window, severity };
    })
    .sort(
      (a, b) => severityRank(a.severity) - severityRank(b.severity) || windowEndMs(b.window) - windowEndMs(a.window),
    );
  const chosen = candidates[0];
  if (chosen === undefined) return alert;
  const { window } = chosen;
  const notCovered = matches.flatMap((match) => {
    const reason = notCoveredReason(match, window);
    return reason === undefined ? [] : [{ detection: match.detection.id, reason }];
  });
  const lowered = severityRank(chosen.severity) < severityRank(alert.severity);
  const expected: Expected = {
    windowId: window.id,
    reason: window.reason,
    declaredBy: window.declaredBy,
    declaredAt: window.declaredAt,
    until: window.until,
    ...(window.detections === undefined ? {} : { detections: window.detections }),
    ...(lowered ? { severityFrom: alert.severity } : {}),
    ...(notCovered.length > 0 ? { notCovered } : {}),
  };
  return { ...alert, severity: lowered ? chosen.severity : alert.severity, expected };
};

/**
 * "10:30 UTC" for a time on the day of `reference`, else "2026-10-03 10:30 UTC"; the text itself when it is no time.
 *
 * @example
 * shortUtc('2026-10-02T10:30:00Z', '2026-10-02T09:01:00Z'); // "10:30 UTC"
 * shortUtc('2026-10-03T10:30:00Z', '2026-10-02T09:01:00Z'); // "2026-10-03 10:30 UTC"
 */
const shortUtc = (time: string, reference?: string): string => {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) return time;
  const [day = '', clock = ''] = new Date(ms).toISOString().slice(0, 16).split('T');
  const referenceMs = reference === undefined ? Number.NaN : Date.parse(reference);
  const sameDay = !Number.isNaN(referenceMs) && new Date(referenceMs).toISOString().slice(0, 10) === day;
  return sameDay ? `${clock} UTC` : `${day} ${clock} UTC`;
};

export type { ExpectedWindow };
export {
  activeWindows,
  ExpectedSchema,
  ExpectedWindowSchema,
  lowerSeverity,
  MAX_REASON_CHARS,
  MAX_WINDOW_MS,
  MFA_DEACTIVATED,
  MIN_WINDOW_MS,
  markExpected,
  NEVER_PLANNED,
  shortUtc,
  WINDOW_ID,
  WINDOW_RETENTION_MS,
  windowEndMs,
};
