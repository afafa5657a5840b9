import { createHash } from 'node:crypto';
import type { Alert, CredentialKind } from './alert-document.js';
import type { CloudTrailEvent } from './event.js';
import { WINDOW_ID } from './expected-window.js';
import { clip, ELLIPSIS } from './render/text.js';
import { type Severity, severityRank } from './severity.js';
import { classifySourceAddress } from './source-address.js';

/*
 * Root sessions: which events belong together, and whether an event opens a session, escalates it, or is
 * folded into its next digest. Pure: the state that remembers sessions lives behind the SessionState port
 * (app/ports.ts), which calls decideSession under its own atomic update.
 *
 * The session key. Each console sign-in gets its own temporary access key, which every call of that console
 * session carries in userIdentity.accessKeyId; a long-term root access key is one credential, so one session;
 * an sts:AssumeRoot session has its own temporary key. So the key is the access key where the record has one.
 * ConsoleLogin itself, and the few calls recorded without a key, are grouped by where they came from: the
 * source address and the user agent. The account is part of every key, so two accounts never share a session.
 *
 * The key goes into logs, DynamoDB partition keys and Slack, so it holds nothing an attacker can write
 * freely: the account, the access key id and the IP address are kept only in the shape AWS gives them (12
 * digits; [\w]{16,128}; an IPv4 or IPv6 address); anything else, and the user agent always, is replaced by
 * the first 16 hex digits of its SHA-256, marked with "~". A key is at most ~200 characters.
 *   Access key ids: "Length Constraints: Minimum length of 16. Maximum length of 128. Pattern: [\w]+"
 *   https://docs.aws.amazon.com/IAM/latest/APIReference/API_AccessKey.html
 */

/** A session ends after an hour without events: the next event (by event time) opens a new one. */
const SESSION_IDLE_MS = 60 * 60 * 1000;

/**
 * How long a session item outlives its last event: the idle window plus a day, so a late retry or a slow
 * digest still finds it. TTL of the session item = last event time + SESSION_RETENTION_MS.
 */
const SESSION_RETENTION_MS = SESSION_IDLE_MS + 24 * 60 * 60 * 1000;

/**
 * A fold is flushed as a digest this long after its first folded event arrived (arrival time, not event
 * time). The fold timer is an SQS message with DelaySeconds = FOLD_WINDOW_MS / 1000, which SQS caps at 900
 * ("Valid values: 0 to 900. Maximum: 15 minutes"), so this must stay ≤ 15 minutes.
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
 */
const FOLD_WINDOW_MS = 5 * 60 * 1000;

/**
 * A fold reaching this many entries is flushed at once, by whoever added the last one. 500 entries of ~200
 * bytes (sessionEntryOf bounds them) keep the fold item well under DynamoDB's 400 KB item limit.
 *   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
 */
const FOLD_MAX_EVENTS = 500;

/**
 * What an entry keeps of each value. AWS's event names and times, the catalog's ids and describeClient's labels
 * (≤ 60) are shorter; a crafted replayed record's may not be. With them an entry is at most ~550 bytes plus its
 * eventID, so 500 fit DynamoDB's 400 KB item unless the eventIDs themselves are crafted long (then the write fails
 * and the pipeline alerts without folding).
 */
const MAX_ENTRY_NAME = 100;
const MAX_ENTRY_CLIENT = 60;
const MAX_ENTRY_TIME = 40;
const MAX_ENTRY_DETECTIONS = 4;
const MAX_ENTRY_DETECTION = 48;

/**
 * What an entry keeps of its break-glass window, in bytes of JSON (UTF-8, escapes counted): the reason (a window's is
 * at most 200 characters, core/expected-window.ts) and the declarer's ARN, each cut with "…". The window id keeps its
 * shape ("w-" and 8 hex digits) or is hashed; `until` is cut to 40 bytes.
 */
const MAX_ENTRY_REASON_BYTES = 120;
const MAX_ENTRY_DECLARER_BYTES = 128;

/**
 * The most bytes an entry's JSON takes, its eventID's value left out. 500 entries, each stored as JSON under its
 * eventID in the fold item (a UUID written twice: ~80 bytes more with the map's overhead), take at most
 * 500 × (700 + 80) = 390,000 bytes, leaving room for the fold's other attributes under DynamoDB's 400 KB (409,600
 * bytes). The other fields' caps give an entry at most ~570 ASCII bytes; its window gets what room is left: the
 * declarer goes first, then the reason is cut, and the window id and `until` always stay.
 *   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html (item size)
 *   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html (attribute sizes)
 */
const MAX_ENTRY_BYTES = 700;

/** The break-glass window a folded event fell in: its alert's `expected`, cut to fit the entry (sessionEntryOf). */
interface EntryWindow {
  /** The window id ("w-" and 8 hex digits); "~" and 16 hex digits when the alert's was not in that shape. */
  windowId: string;
  /** Why root was to be used, as declared: untrusted text, cut to MAX_ENTRY_REASON_BYTES (or less, for room). */
  reason: string;
  /** The declarer's ARN, cut to MAX_ENTRY_DECLARER_BYTES; absent when the entry had no room left for it. */
  declaredBy?: string;
  /** When the window ends (ISO 8601, as declared). */
  until: string;
}

/** One folded event, as a fold keeps it and a digest counts it. Strings bounded by sessionEntryOf. */
interface SessionEntry {
  /** The CloudTrail eventID: a fold counts each eventID once. */
  eventID: string;
  eventName: string;
  /** CloudTrail's eventTime (ISO 8601), as the record has it; may be empty for a ragged replayed record. */
  eventTime: string;
  /** The event's detections, most severe first. */
  detections: string[];
  /** The event's severity (its most severe detection's). */
  severity: Severity;
  /** The source IP address, when sourceIPAddress is one. */
  sourceIp?: string;
  /** A short label for the user agent ("aws-cli 2.27.0"), when there is one. */
  client?: string;
  /** The break-glass window the event fell in (its alert was marked `expected`), when it did. */
  expected?: EntryWindow;
}

/**
 * What decideSession needs to know of the session so far. The state keeps it per session key and updates it
 * after each decision: `first` resets it to the event's own severity, detections and time; `escalate` raises
 * the severity and adds the detections; every event moves `lastEventTime` forward (never back).
 */
interface SessionSnapshot {
  /** The highest severity the session has alerted on. */
  highestSeverity: Severity;
  /** Every detection the session has alerted on. */
  detections: readonly string[];
  /** Event time (ISO 8601) of the session's latest event. */
  lastEventTime: string;
}

/** What a digest says about the session, taken from its first event's alert document. */
interface SessionSeed {
  account: { id: string; name?: string; alias?: string };
  actor: { type: string; arn?: string; credential?: CredentialKind };
  /** The region of the session's first event: the digest's CloudTrail link opens its event history. */
  region: string;
}

/** A fold claimed for flushing: the `number`-th fold of session `key`, its entries and the session's seed. */
interface Fold {
  /** The state's id of the fold (app/ports.ts). */
  foldId: string;
  /** The session key (sessionKeyOf). */
  key: string;
  /** Which fold of the session this is: with the key, it names the digest (digestIdOf). */
  number: number;
  entries: SessionEntry[];
  seed: SessionSeed;
}

/** What to do with an alerting event, given its session. */
type SessionVerdict = 'first' | 'escalate' | 'fold';

const ACCOUNT_ID = /^\d{12}$/;
const ACCESS_KEY_ID = /^\w{16,128}$/;
/** The longest text form of an IP address (an IPv4-mapped IPv6 address); longer means a zone id or worse. */
const MAX_IP = 45;

/** "~" and the first 16 hex digits of the SHA-256 of `value` (UTF-8). */
const hashToken = (value: string): string => `~${createHash('sha256').update(value).digest('hex').slice(0, 16)}`;

/** `value` when it has the shape `pattern` allows, else its hash token. */
const safeToken = (value: string, pattern: RegExp): string => (pattern.test(value) ? value : hashToken(value));

/** The source address part: the IP as given when it is one (no zone id), "-" when absent, else a hash token. */
const sourceToken = (sourceIPAddress: string | null | undefined): string => {
  const text = sourceIPAddress ?? '';
  if (text.trim() === '') return '-';
  const { ip } = classifySourceAddress(text);
  return ip !== undefined && ip.length <= MAX_IP && !ip.includes('%') ? ip : hashToken(text);
};

/**
 * The session an event belongs to:
 * - `<account>#key#<accessKeyId>` when the record has an access key id (a console session's temporary key, a
 *   long-term key, an AssumeRoot session's key);
 * - else `<account>#src#<sourceIPAddress>#<user agent hash>` (ConsoleLogin, calls without a key), where the
 *   user agent hash is "~" and 16 hex digits of SHA-256 of userAgent, or "-" without one.
 * A value not in AWS's shape is replaced by its hash token (see the top of this file), so nothing an attacker
 * writes freely reaches the key.
 *
 * @example
 * import type { CloudTrailEvent } from './event.js';
 *
 * declare const call: CloudTrailEvent; // a root call with the temporary access key ASIAIOSFODNN7EXAMPLE
 * declare const signIn: CloudTrailEvent; // events/samples/root-console-sign-in-no-mfa.json: no key; Firefox 62 on macOS
 * sessionKeyOf(call); // "111122223333#key#ASIAIOSFODNN7EXAMPLE"
 * sessionKeyOf(signIn); // "111122223333#src#203.0.113.11#~4cd833067e84d1f9"
 */
const sessionKeyOf = (event: CloudTrailEvent): string => {
  const account = safeToken(event.account, ACCOUNT_ID);
  const record = event.detail;
  const accessKeyId = record.userIdentity?.accessKeyId ?? '';
  if (accessKeyId !== '') return `${account}#key#${safeToken(accessKeyId, ACCESS_KEY_ID)}`;
  const userAgent = record.userAgent ?? '';
  return `${account}#src#${sourceToken(record.sourceIPAddress)}#${userAgent === '' ? '-' : hashToken(userAgent)}`;
};

/**
 * The access key id a session key names, when it was kept as AWS gave it; undefined for a source-keyed
 * session or a hashed key.
 *
 * @example
 * accessKeyIdOfSession('111122223333#key#ASIAIOSFODNN7EXAMPLE'); // "ASIAIOSFODNN7EXAMPLE"
 */
const accessKeyIdOfSession = (key: string): string | undefined => {
  const [, kind, value] = key.split('#');
  return kind === 'key' && value !== undefined && ACCESS_KEY_ID.test(value) ? value : undefined;
};

/** Milliseconds since the epoch of an ISO 8601 time; undefined when it does not parse. */
const timeOf = (time: string): number | undefined => {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? undefined : ms;
};

/**
 * Whether an event at `eventTime` starts a new session after `lastEventTime`: more than SESSION_IDLE_MS
 * later. Exactly SESSION_IDLE_MS later still continues the session. A time that does not parse never ends
 * a session (the event is folded or escalates; nothing is lost either way).
 */
const isIdleGap = (lastEventTime: string, eventTime: string): boolean => {
  const last = timeOf(lastEventTime);
  const now = timeOf(eventTime);
  return last !== undefined && now !== undefined && now - last > SESSION_IDLE_MS;
};

/**
 * Decides what an alerting event does to its session:
 * - `first`: there is no session, or its last event is more than SESSION_IDLE_MS before this one (event
 *   time): alert now, and the session starts over from this event;
 * - `escalate`: the event's severity ranks above the session's highest, or it raises a detection the
 *   session has not: alert now (escalationReasonOf says why);
 * - `fold`: anything else: the event goes into the session's next digest.
 *
 * @example
 * decideSession(undefined, 'high', ['root-api-call'], '2024-05-01T10:00:00Z'); // "first"
 * decideSession(
 *   { highestSeverity: 'high', detections: ['root-api-call'], lastEventTime: '2024-05-01T10:00:00Z' },
 *   'critical', ['root-access-key-created', 'root-api-call'], '2024-05-01T10:01:00Z',
 * ); // "escalate"
 */
const decideSession = (
  previous: SessionSnapshot | undefined,
  severity: Severity,
  detections: readonly string[],
  eventTime: string,
): SessionVerdict => {
  if (previous === undefined || isIdleGap(previous.lastEventTime, eventTime)) return 'first';
  return escalationReasonOf(previous, severity, detections) === undefined ? 'fold' : 'escalate';
};

/**
 * Why an event escalates its session, for the alert's `session.escalation.reason`: "severity high →
 * critical", "new detection root-access-key-created", "new detections a, b", or both joined by "; ".
 * Undefined when it does not escalate.
 *
 * @example
 * escalationReasonOf(
 *   { highestSeverity: 'high', detections: ['root-api-call'], lastEventTime: '2024-05-01T10:00:00Z' },
 *   'critical', ['root-access-key-created', 'root-api-call'],
 * ); // "severity high → critical; new detection root-access-key-created"
 */
const escalationReasonOf = (
  previous: SessionSnapshot,
  severity: Severity,
  detections: readonly string[],
): string | undefined => {
  const reasons: string[] = [];
  if (severityRank(severity) > severityRank(previous.highestSeverity)) {
    reasons.push(`severity ${previous.highestSeverity} → ${severity}`);
  }
  const known = new Set(previous.detections);
  const added = [...new Set(detections)].filter((id) => !known.has(id));
  if (added.length > 0) reasons.push(`new detection${added.length === 1 ? '' : 's'} ${added.join(', ')}`);
  return reasons.length === 0 ? undefined : reasons.join('; ');
};

/** `{ key: value }` when value is a non-empty string, else `{}`. */
const optionalText = <K extends string>(key: K, value: string | undefined, max: number): { [P in K]?: string } =>
  (value === undefined || value === '' ? {} : { [key]: clip(value, max) }) as { [P in K]?: string };

/** Bytes of `value` as JSON text, UTF-8. */
const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

/**
 * `value` cut so that its JSON string (quotes left out) takes at most `max` bytes, "…" marking the cut; whole code
 * points only, so nothing cut leaves half a surrogate pair. "" when not even "…" fits.
 */
const clipBytes = (value: string, max: number): string => {
  if (jsonBytes(value) - 2 <= max) return value;
  const room = max - jsonBytes(ELLIPSIS) + 2;
  if (room < 0) return '';
  let out = '';
  let used = 0;
  for (const char of value) {
    const size = jsonBytes(char) - 2;
    if (used + size > room) break;
    out += char;
    used += size;
  }
  return `${out.trimEnd()}${ELLIPSIS}`;
};

/**
 * The entry's window, from the alert's `expected`, within `room` bytes of JSON (`"expected":` and the object):
 * whole when it fits, else without the declarer, else with the reason cut to what is left (possibly "").
 */
const entryWindowOf = (expected: NonNullable<Alert['expected']>, room: number): EntryWindow => {
  const windowId = expected.windowId === undefined ? hashToken('') : safeToken(expected.windowId, WINDOW_ID);
  const until = clipBytes(expected.until, MAX_ENTRY_TIME);
  const reason = clipBytes(expected.reason, MAX_ENTRY_REASON_BYTES);
  const declaredBy = clipBytes(expected.declaredBy, MAX_ENTRY_DECLARER_BYTES);
  const sizeOf = (window: EntryWindow) => jsonBytes({ expected: window }) - 2;
  const whole: EntryWindow = { windowId, reason, ...(declaredBy === '' ? {} : { declaredBy }), until };
  if (sizeOf(whole) <= room) return whole;
  const bare: EntryWindow = { windowId, reason: '', until };
  if (sizeOf({ ...bare, reason }) <= room) return { ...bare, reason };
  return { ...bare, reason: clipBytes(reason, room - sizeOf(bare)) };
};

/**
 * The fold entry of an alerting event, from its alert document. Strings are cut to bounded lengths (event
 * name 100, client 60, time 40, at most 4 detection ids of 48, the most severe first) so 500 entries fit one
 * DynamoDB item; the eventID is kept whole, since it is the entry's identity. An alert inside a break-glass window
 * (`expected`) gives the entry its window: id, reason, declarer and end, within MAX_ENTRY_BYTES for the whole entry
 * (the declarer is left out, then the reason cut, when the other fields took the room).
 *
 * @example
 * import type { Alert } from './alert-document.js';
 *
 * declare const alert: Alert; // root's ListBuckets at 2024-05-01T10:00:00Z, from aws-cli/2.27.0 at 203.0.113.7
 * sessionEntryOf(alert);
 * // { eventID: '3e9fbd8a-…', eventName: 'ListBuckets', eventTime: '2024-05-01T10:00:00Z', detections: ['root-api-call'],
 * //   severity: 'high', sourceIp: '203.0.113.7', client: 'aws-cli 2.27.0' }
 */
const sessionEntryOf = (alert: Alert): SessionEntry => {
  const entry: SessionEntry = {
    eventID: alert.eventID,
    eventName: clip(alert.eventName, MAX_ENTRY_NAME),
    eventTime: clip(alert.eventTime, MAX_ENTRY_TIME),
    detections: alert.detections.slice(0, MAX_ENTRY_DETECTIONS).map((id) => clip(id, MAX_ENTRY_DETECTION)),
    severity: alert.severity,
    ...optionalText('sourceIp', alert.source.ip, MAX_IP),
    ...optionalText('client', alert.source.client, MAX_ENTRY_CLIENT),
  };
  if (alert.expected === undefined) return entry;
  // The room left: MAX_ENTRY_BYTES, less the entry so far (its eventID's value left out) and the comma before the field.
  const room = MAX_ENTRY_BYTES - jsonBytes({ ...entry, eventID: '' }) - 1;
  return { ...entry, expected: entryWindowOf(alert.expected, room) };
};

/**
 * What a digest of the session says of it, from the alert document of the session's first event: the account
 * (with the names enrichment found), who (type, ARN, credential kind) and the region.
 *
 * @example
 * import type { Alert } from './alert-document.js';
 *
 * declare const alert: Alert; // root's ListBuckets with a temporary key, in account prod-payments, us-east-1
 * sessionSeedOf(alert);
 * // { account: { id: '111122223333', name: 'prod-payments' },
 * //   actor: { type: 'Root', arn: 'arn:aws:iam::111122223333:root', credential: 'session' }, region: 'us-east-1' }
 */
const sessionSeedOf = (alert: Alert): SessionSeed => ({
  account: {
    id: alert.account.id,
    ...(alert.account.name === undefined ? {} : { name: alert.account.name }),
    ...(alert.account.alias === undefined ? {} : { alias: alert.account.alias }),
  },
  actor: {
    type: alert.actor.type,
    ...(alert.actor.arn === undefined ? {} : { arn: alert.actor.arn }),
    ...(alert.actor.credential === undefined ? {} : { credential: alert.actor.credential }),
  },
  region: alert.region,
});

export type { EntryWindow, Fold, SessionEntry, SessionSeed, SessionSnapshot };
export {
  accessKeyIdOfSession,
  decideSession,
  escalationReasonOf,
  FOLD_MAX_EVENTS,
  FOLD_WINDOW_MS,
  MAX_ENTRY_BYTES,
  SESSION_IDLE_MS,
  SESSION_RETENTION_MS,
  sessionEntryOf,
  sessionKeyOf,
  sessionSeedOf,
};
