import { createHash } from 'node:crypto';
import { accountLabelOf, CREDENTIAL_KINDS, consoleDomainOf, partitionOfArn } from './alert-document.js';
import { encodeUrlPart } from './render/text.js';
import { accessKeyIdOfSession, type Fold, type SessionEntry } from './session.js';
import { SEVERITIES, type Severity, severityRank } from './severity.js';
import * as z from './zod.js';

const DIGEST_SCHEMA = 'rootwatch.digest/v1';

/** Sources listed one by one in a digest; the rest are summed up in `moreSources`. */
const DIGEST_MAX_SOURCES = 20;

/** Break-glass windows listed one by one in a digest's `expected`; the rest are summed up in `moreWindows`. */
const DIGEST_MAX_WINDOWS = 5;

const count = z.number().check(z.int(), z.positive());

/**
 * The digest document: one per flushed fold of a root session (DESIGN.md "The digest document"). The
 * session's first event, and any event that escalates it, are alerts of their own (rootwatch.alert/v1, with
 * `session`); every other alerting event of the session is counted in exactly one digest, by eventID. The
 * same document goes to the SNS topic's JSON subscribers, and is what `schema/digest.schema.json` describes
 * (`npm run schema`). Fields may be added within v1; none is removed or changes meaning.
 */
const DigestSchema = z
  .object({
    schema: z.literal(DIGEST_SCHEMA).check(z.describe('Names this document kind and its version')),
    digestID: z
      .string()
      .check(
        z.regex(/^digest-[0-9a-f]{16}$/),
        z.describe(
          'Stable id of the digest: "digest-" and the first 16 hex digits of SHA-256 of "<session key>#<fold number>"; a redelivered digest has the same id',
        ),
      ),
    title: z.string().check(z.describe('One line: how many more root events, in which account, over what time')),
    session: z
      .object({
        key: z
          .string()
          .check(z.minLength(1), z.describe("The session key, as the session's alerts carry it in session.key")),
        fold: z
          .number()
          .check(
            z.int(),
            z.nonnegative(),
            z.describe('Which fold of the session this digest flushes; folds of one session never overlap'),
          ),
      })
      .check(z.describe('The root session the digest belongs to')),
    account: z
      .object({ id: z.string(), name: z.optional(z.string()), alias: z.optional(z.string()) })
      .check(z.describe("The account, named as the session's first alert named it")),
    actor: z
      .object({
        type: z.string().check(z.describe('userIdentity.type of the session\'s first event, "Unknown" when absent')),
        arn: z.optional(z.string()),
        credential: z.optional(z.enum(CREDENTIAL_KINDS)).check(z.describe('How the caller authenticated')),
      })
      .check(z.describe("Who, as the session's first event shows it")),
    region: z.string().check(z.describe("The region of the session's first event")),
    firstEventTime: z
      .string()
      .check(z.describe('Event time of the earliest event in the digest (ISO 8601, as CloudTrail wrote it)')),
    lastEventTime: z.string().check(z.describe('Event time of the latest event in the digest')),
    count: count.check(z.describe('How many events the digest holds: the length of eventIDs')),
    severity: z.enum(SEVERITIES).check(z.describe('The highest severity of the events in the digest')),
    eventNames: z.record(z.string(), count).check(z.describe('How many events of each eventName, most frequent first')),
    detections: z
      .record(z.string(), count)
      .check(z.describe('How many events raised each detection id (an event raising two counts for both)')),
    sources: z
      .array(
        z.object({
          ip: z.optional(z.string()).check(z.describe('The source IP address, when sourceIPAddress was one')),
          client: z.optional(z.string()).check(z.describe('A short label for the user agent: "aws-cli 2.27.0"')),
          count: count.check(z.describe('Events from this address with this client')),
        }),
      )
      .check(
        z.maxLength(DIGEST_MAX_SOURCES),
        z.describe(
          `Where the events came from, by address and client, most events first; at most ${DIGEST_MAX_SOURCES}`,
        ),
      ),
    moreSources: z
      .optional(
        z.object({
          sources: count.check(z.describe('Address and client pairs not listed in sources')),
          count: count.check(z.describe('Events from them')),
        }),
      )
      .check(z.describe(`Present when there were more than ${DIGEST_MAX_SOURCES} address and client pairs`)),
    expected: z
      .optional(
        z.object({
          count: count.check(
            z.describe("How many of the digest's events were inside a declared break-glass window (rootwatch expect)"),
          ),
          windows: z
            .array(
              z.object({
                windowId: z
                  .string()
                  .check(
                    z.describe('The window, as `rootwatch expect --list` and `--end` name it ("w-" and 8 hex digits)'),
                  ),
                reason: z
                  .string()
                  .check(
                    z.describe(
                      'Why root was to be used, as declared (untrusted text), cut to 120 bytes with "…" (the window itself has it whole)',
                    ),
                  ),
                declaredBy: z
                  .optional(z.string())
                  .check(
                    z.describe('The ARN of whoever declared the window, cut to 128 bytes; absent when cut for room'),
                  ),
                until: z.string().check(z.describe('When the window ends (ISO 8601), as declared')),
                count: count.check(z.describe("The digest's events inside this window")),
              }),
            )
            .check(
              z.minLength(1),
              z.maxLength(DIGEST_MAX_WINDOWS),
              z.describe(`The windows the events fell in, most events first; at most ${DIGEST_MAX_WINDOWS}`),
            ),
          moreWindows: z
            .optional(
              z.object({
                windows: count.check(z.describe('Windows not listed in windows')),
                count: count.check(z.describe('Events inside them')),
              }),
            )
            .check(z.describe(`Present when the events fell in more than ${DIGEST_MAX_WINDOWS} windows`)),
        }),
      )
      .check(
        z.describe(
          "Present when some of the digest's events fell inside a declared break-glass window: how many, and which windows (each event's alert would have carried `expected`)",
        ),
      ),
    eventIDs: z
      .array(z.string().check(z.minLength(1)))
      .check(z.minLength(1), z.describe('The CloudTrail eventID of every event in the digest, each once, sorted')),
    links: z
      .object({
        cloudtrail: z
          .string()
          .check(
            z.describe(
              "The console's CloudTrail event history in the first event's region, filtered by the session's access key id, or by user name root for a session without one",
            ),
          ),
      })
      .check(z.describe('Where to look further')),
    truncated: z
      .optional(z.object({ reason: z.string() }))
      .check(
        z.describe(
          "Present when SNS's 256 KB limit made long values be cut in this copy (never an eventID); the counts are whole",
        ),
      ),
  })
  .check(
    z.meta({
      title: 'rootwatch digest',
      description:
        'The events of one root session folded after its first alert: counts, time span, sources and every eventID.',
    }),
  );

/** The digest document (see DigestSchema). */
type Digest = z.infer<typeof DigestSchema>;

/**
 * The digest document as a JSON Schema (draft 2020-12), for SIEM subscribers; `schema/digest.schema.json` in the
 * repository is this, written by `npm run schema`. Objects are open, as the alert schema's are: v1 may gain fields.
 *
 * @example
 * digestJsonSchema().$id; // "urn:rootwatch:schema:digest:v1"
 */
const digestJsonSchema = (): Record<string, unknown> => ({
  $id: 'urn:rootwatch:schema:digest:v1',
  ...z.toJSONSchema(DigestSchema, { target: 'draft-2020-12', io: 'input' }),
});

/**
 * Whether a value is a digest document: what a reader of the Slack queue or a JSON subscriber uses to tell
 * digests from alerts.
 *
 * @example
 * isDigest({ schema: 'rootwatch.alert/v1' }); // false
 */
const isDigest = (value: unknown): value is Digest => DigestSchema.safeParse(value).success;

/**
 * The digest id of fold `number` of session `key`: "digest-" and the first 16 hex digits of the SHA-256 of
 * "<key>#<number>". The "#" keeps key "…A1" fold 2 apart from key "…A" fold 12.
 *
 * @example
 * digestIdOf('111122223333#key#ASIAIOSFODNN7EXAMPLE', 1); // "digest-" and 16 hex digits
 */
const digestIdOf = (key: string, number: number): string =>
  `digest-${createHash('sha256').update(`${key}#${number}`).digest('hex').slice(0, 16)}`;

/** Milliseconds of an ISO 8601 time; undefined when it does not parse. */
const timeOf = (time: string): number | undefined => {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? undefined : ms;
};

/**
 * A short, readable time span in UTC: "16:24:34–16:29:10 UTC" within a day, "2024-05-01 23:59:00 – 2024-05-02
 * 00:04:00 UTC" across midnight, "16:24:34 UTC" for one instant, "time unknown" when a time does not parse.
 *
 * @example
 * timeSpanOf('2022-11-10T16:24:34Z', '2022-11-10T16:29:10Z'); // "16:24:34–16:29:10 UTC"
 */
const timeSpanOf = (first: string, last: string): string => {
  const from = timeOf(first);
  const to = timeOf(last);
  if (from === undefined || to === undefined) return 'time unknown';
  const [fromDay = '', fromTime = ''] = new Date(from).toISOString().slice(0, 19).split('T');
  const [toDay = '', toTime = ''] = new Date(to).toISOString().slice(0, 19).split('T');
  if (fromDay === toDay) return fromTime === toTime ? `${fromTime} UTC` : `${fromTime}–${toTime} UTC`;
  return `${fromDay} ${fromTime} – ${toDay} ${toTime} UTC`;
};

/** Each eventID once, its first entry kept: the state never counts an eventID twice, and neither does a digest. */
const uniqueEntries = (entries: readonly SessionEntry[]): SessionEntry[] => {
  const seen = new Set<string>();
  return entries.filter((entry) => {
    if (seen.has(entry.eventID)) return false;
    seen.add(entry.eventID);
    return true;
  });
};

/** Counts as a plain object, most frequent first, then by name. Built from a Map, so "__proto__" is just a name. */
const countsOf = (names: Iterable<string>): Record<string, number> => {
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  return Object.fromEntries(sortedCounts(counts));
};

/** [name, count] pairs, most frequent first, then by name (code unit order): the order renderers list them in. */
const sortedCounts = (counts: Map<string, number> | Record<string, number>): [string, number][] =>
  (counts instanceof Map ? [...counts] : Object.entries(counts)).sort(
    ([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0),
  );

/** Events by source address and client, most first; the first DIGEST_MAX_SOURCES, and what is left over. */
const sourcesOf = (entries: readonly SessionEntry[]): Pick<Digest, 'sources' | 'moreSources'> => {
  const groups = new Map<string, { ip?: string; client?: string; count: number }>();
  for (const { sourceIp, client } of entries) {
    const id = JSON.stringify([sourceIp ?? null, client ?? null]);
    const group = groups.get(id) ?? {
      ...(sourceIp === undefined ? {} : { ip: sourceIp }),
      ...(client === undefined ? {} : { client }),
      count: 0,
    };
    group.count += 1;
    groups.set(id, group);
  }
  const sorted = [...groups.entries()]
    .sort(([a, x], [b, y]) => y.count - x.count || (a < b ? -1 : a > b ? 1 : 0))
    .map(([, group]) => group);
  const listed = sorted.slice(0, DIGEST_MAX_SOURCES);
  const rest = sorted.slice(DIGEST_MAX_SOURCES);
  return {
    sources: listed,
    ...(rest.length > 0
      ? { moreSources: { sources: rest.length, count: rest.reduce((sum, group) => sum + group.count, 0) } }
      : {}),
  };
};

/** The earliest and latest event time; unparsable times are left out, unless no time parses. */
const spanOf = (entries: readonly SessionEntry[]): { first: string; last: string } => {
  const timed = entries
    .map((entry) => ({ time: entry.eventTime, ms: timeOf(entry.eventTime) }))
    .filter((item): item is { time: string; ms: number } => item.ms !== undefined)
    .sort((a, b) => a.ms - b.ms);
  const first = timed[0]?.time ?? entries[0]?.eventTime ?? '';
  const last = timed.at(-1)?.time ?? entries.at(-1)?.eventTime ?? '';
  return { first, last };
};

/** The longer of two texts; `a` on a tie. */
const longerOf = (a: string | undefined, b: string | undefined): string | undefined =>
  (b ?? '').length > (a ?? '').length ? b : a;

/**
 * The events inside break-glass windows, by window, most events first (then by window id); the first
 * DIGEST_MAX_WINDOWS, and what is left over. Of the entries of one window, the longest reason and declarer win (an
 * entry short of room had them cut). Nothing when no entry has a window.
 */
const expectedOf = (entries: readonly SessionEntry[]): Pick<Digest, 'expected'> => {
  const groups = new Map<string, NonNullable<Digest['expected']>['windows'][number]>();
  for (const { expected } of entries) {
    if (expected === undefined) continue;
    const group = groups.get(expected.windowId);
    if (group === undefined) {
      groups.set(expected.windowId, { ...expected, count: 1 });
      continue;
    }
    group.count += 1;
    group.reason = longerOf(group.reason, expected.reason) ?? '';
    const declaredBy = longerOf(group.declaredBy, expected.declaredBy);
    if (declaredBy !== undefined) group.declaredBy = declaredBy;
  }
  if (groups.size === 0) return {};
  const sorted = [...groups.values()].sort(
    (a, b) => b.count - a.count || (a.windowId < b.windowId ? -1 : a.windowId > b.windowId ? 1 : 0),
  );
  const rest = sorted.slice(DIGEST_MAX_WINDOWS);
  return {
    expected: {
      count: sorted.reduce((sum, window) => sum + window.count, 0),
      windows: sorted.slice(0, DIGEST_MAX_WINDOWS).map(({ windowId, reason, declaredBy, until, count }) => ({
        windowId,
        reason,
        ...(declaredBy === undefined ? {} : { declaredBy }),
        until,
        count,
      })),
      ...(rest.length > 0
        ? { moreWindows: { windows: rest.length, count: rest.reduce((sum, window) => sum + window.count, 0) } }
        : {}),
    },
  };
};

const highestOf = (entries: readonly SessionEntry[]): Severity =>
  entries.reduce<Severity>(
    (highest, entry) => (severityRank(entry.severity) > severityRank(highest) ? entry.severity : highest),
    SEVERITIES[0],
  );

/**
 * The console's CloudTrail event history in `region`, filtered by the access key id, or by user name "root".
 * The fragment's parameter names are LookupEvents' attribute keys (AccessKeyId, Username:
 * https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupAttribute.html); AWS does not document
 * the console's URL format, so the filter may be dropped by a future console, leaving the unfiltered history.
 */
const eventHistoryLinkOf = (region: string, partition: string | undefined, accessKeyId: string | undefined) => {
  const regionPart = encodeUrlPart(region);
  const filter = accessKeyId === undefined ? 'Username=root' : `AccessKeyId=${encodeUrlPart(accessKeyId)}`;
  return `https://${regionPart}.${consoleDomainOf(partition)}/cloudtrailv2/home?region=${regionPart}#/events?${filter}`;
};

interface DigestOptions {
  /** The partition for the console link ("aws", "aws-us-gov", "aws-cn"); default: the first event actor's ARN's. */
  partition?: string;
}

/**
 * The digest document of a fold: each eventID counted once (the first entry of a repeated eventID wins), counts
 * by event name and by detection, the top 20 address and client pairs (the rest summed in `moreSources`), every
 * eventID sorted, the highest severity, the time span, and a link to the CloudTrail event history of the first
 * event's region filtered by the session's access key (or user name root when the session has none). When some
 * entries fell inside break-glass windows, `expected` counts them, by window (the top 5, the rest in `moreWindows`).
 *
 * @throws TypeError when the fold has no entries: a fold is opened by its first entry, so this is a bug.
 * @example
 * import type { Fold } from './session.js';
 *
 * declare const fold: Fold; // 998 ListBuckets calls folded after the session's first alert
 * const digest = buildDigest(fold, {});
 * digest.title; // "998 more root events in prod-payments (111122223333) (16:24:34–16:29:10 UTC)"
 */
const buildDigest = (fold: Fold, options: DigestOptions = {}): Digest => {
  const entries = uniqueEntries(fold.entries);
  if (entries.length === 0) throw new TypeError(`buildDigest: fold ${fold.foldId} has no entries`);
  const { seed } = fold;
  const { first, last } = spanOf(entries);
  const account = {
    id: seed.account.id,
    ...(seed.account.name === undefined ? {} : { name: seed.account.name }),
    ...(seed.account.alias === undefined ? {} : { alias: seed.account.alias }),
  };
  const total = entries.length;
  const partition = options.partition ?? partitionOfArn(seed.actor.arn);
  return {
    schema: DIGEST_SCHEMA,
    digestID: digestIdOf(fold.key, fold.number),
    title: `${total} more ${eventNounOf(seed.actor.type)}${total === 1 ? '' : 's'} in ${accountLabelOf(account)} (${timeSpanOf(first, last)})`,
    session: { key: fold.key, fold: fold.number },
    account,
    actor: {
      type: seed.actor.type,
      ...(seed.actor.arn === undefined ? {} : { arn: seed.actor.arn }),
      ...(seed.actor.credential === undefined ? {} : { credential: seed.actor.credential }),
    },
    region: seed.region,
    firstEventTime: first,
    lastEventTime: last,
    count: total,
    severity: highestOf(entries),
    eventNames: countsOf(entries.map((entry) => entry.eventName)),
    detections: countsOf(entries.flatMap((entry) => [...new Set(entry.detections)])),
    ...sourcesOf(entries),
    ...expectedOf(entries),
    eventIDs: entries.map((entry) => entry.eventID).sort(),
    links: { cloudtrail: eventHistoryLinkOf(seed.region, partition, accessKeyIdOfSession(fold.key)) },
  };
};

/**
 * What a digest's events are called: "root event" when the session is root's, else "event" (sessions of other
 * principals fold too: an assumed role tampering with rootwatch, an IAM user deactivating an MFA device).
 *
 * @example
 * eventNounOf('Root'); // 'root event'
 * eventNounOf('AssumedRole'); // 'event'
 */
const eventNounOf = (actorType: string | undefined): string => (actorType === 'Root' ? 'root event' : 'event');

export type { Digest };
export {
  buildDigest,
  DIGEST_MAX_SOURCES,
  DIGEST_MAX_WINDOWS,
  DigestSchema,
  digestIdOf,
  digestJsonSchema,
  eventNounOf,
  isDigest,
  sortedCounts,
  timeSpanOf,
};
