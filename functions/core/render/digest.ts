import { accountLabelOf } from '../alert-document.js';
import type { Detection } from '../detection.js';
import { type Digest, eventNounOf, sortedCounts, timeSpanOf } from '../digest-document.js';
import { shortUtc } from '../expected-window.js';
import { type Email, emailLine, emailSegment, emailValue, subjectWithAccount } from './email.js';
import { detectionById, type Fact, present, type Segment, whoOf } from './facts.js';
import {
  type Block,
  type BlockOf,
  detectionLine,
  fitLines,
  httpsUrl,
  linkButton,
  orUnknown,
  SLACK_LIMITS,
  type SlackMessage,
  slackCode,
  slackField,
  slackPlain,
  slackSegment,
  slackText,
} from './slack.js';
import { attributesOf, renderSnsDocument, type SnsMessage, type SnsRenderOptions, shrinkStrings } from './sns.js';
import { cleanLine, fitValue, MAX_VALUE } from './text.js';

/*
 * A digest in the three media an alert goes to: one Slack message, one e-mail, one SNS message. Everything the
 * events said (event names in a replayed log, client labels, addresses, account names) is escaped exactly as an
 * alert's values are: the helpers are the alert renderers' own (slack.ts, email.ts, facts.ts, text.ts).
 */

/** Event names a Slack digest lists ("top 10, then +k more"); the e-mail lists more, the JSON all of them. */
const SLACK_TOP_EVENT_NAMES = 10;
const EMAIL_TOP_EVENT_NAMES = 50;

/** Longest event name shown: far more than any AWS event name. */
const MAX_NAME = 120;

const plural = (count: number, one: string, many = `${one}s`): string => `${count} ${count === 1 ? one : many}`;

/** The facts both media show: account, who, events, severity, when, region, session. */
const digestFactsOf = (digest: Digest): Fact[] => [
  { label: 'Account', items: [[{ value: accountLabelOf(digest.account) }]] },
  { label: 'Who', items: whoOf(digest.actor) },
  { label: 'Events', items: [[`${digest.count} in this digest`]] },
  { label: 'Severity', items: [[{ strong: digest.severity.toUpperCase() }, ' (the highest in this digest)']] },
  {
    label: 'When',
    items: [[{ value: digest.firstEventTime || 'unknown' }, ' to ', { value: digest.lastEventTime || 'unknown' }]],
  },
  { label: 'Region', items: [[{ value: digest.region || 'unknown' }]] },
  { label: 'Session', items: [[{ value: digest.session.key }]] },
];

/** How many events the sources left out account for: those cut by `fitLines` (the last listed) and `moreSources`. */
const eventsNotShown = (digest: Digest, notShown: number): number => {
  const hidden = digest.moreSources?.sources ?? 0;
  const cut = digest.sources.slice(digest.sources.length - (notShown - hidden));
  return cut.reduce((sum, source) => sum + source.count, digest.moreSources?.count ?? 0);
};

/** A source as segments: "IP `…` · client `…`", or "unknown source". */
const sourceSegments = (source: Digest['sources'][number]): Segment[][] => {
  const parts: Segment[][] = [
    ...(present(source.ip) ? [['IP ', { value: source.ip }]] : []),
    ...(present(source.client) ? [['client ', { value: source.client }]] : []),
  ];
  return parts.length > 0 ? parts : [['unknown source']];
};

/**
 * A window's line, both media: "12 of these events were inside expected window `w-0a1b2c3d` (reason `CHG-123 …`),
 * declared by `arn:…`, until 18:00 UTC". The id, reason and declarer are values (untrusted: escaped by each medium);
 * `until` is our words when it is a time ("18:00 UTC" on the day of the digest's last event), else a value.
 */
const windowSegments = (digest: Digest, window: NonNullable<Digest['expected']>['windows'][number]): Segment[] => [
  `${window.count} of these events ${window.count === 1 ? 'was' : 'were'} inside expected window `,
  { value: window.windowId },
  ' (reason ',
  present(window.reason) ? { value: window.reason } : 'not shown',
  ')',
  ...(present(window.declaredBy) ? [', declared by ', { value: window.declaredBy }] : []),
  ', until ',
  Number.isNaN(Date.parse(window.until)) ? { value: window.until } : shortUtc(window.until, digest.lastEventTime),
];

/** "7 events in 2 more windows", for the windows a digest does not list. */
const moreWindowsText = (more: { windows: number; count: number }): string =>
  `${plural(more.count, 'event')} in ${plural(more.windows, 'more window')}`;

// ── Slack ──────────────────────────────────────────────────────────────────────────────────────────

/**
 * "🔁 HIGH · 998 more root events in prod-payments (111122223333) (16:24:34–16:29:10 UTC)", within the header's
 * 150 characters: the account name gives way first, then the id.
 */
const headerText = (digest: Digest): string => {
  const lead = `🔁 ${digest.severity.toUpperCase()} · ${plural(digest.count, `more ${eventNounOf(digest.actor.type)}`)} in `;
  const span = ` (${timeSpanOf(digest.firstEventTime, digest.lastEventTime)})`;
  const room = SLACK_LIMITS.header - lead.length - span.length;
  const id = slackPlain(digest.account.id, Math.min(40, room)) || 'unknown';
  const name = digest.account.name ?? digest.account.alias ?? '';
  const nameRoom = room - id.length - 3;
  const account = name.trim() !== '' && nameRoom >= 8 ? `${slackPlain(name, nameRoom)} (${id})` : id;
  return `${lead}${account}${span}`;
};

/** "• `ListBuckets` × 412" for the top ten event names, then "+k more event names". */
const eventNamesText = (digest: Digest): string => {
  const names = sortedCounts(digest.eventNames);
  const lines = names
    .slice(0, SLACK_TOP_EVENT_NAMES)
    .map(([name, count]) => `• ${orUnknown(name, MAX_NAME)} × ${count}`);
  return fitLines('*Events by name*', lines, {
    hidden: names.length - lines.length,
    more: (count) => `+${plural(count, 'more event name')}`,
  });
};

const detectionsText = (digest: Digest, detections: readonly Detection[]): string => {
  const counts = sortedCounts(digest.detections);
  const heading = counts.length === 1 ? '*Detection*' : '*Detections*';
  return fitLines(
    heading,
    counts.map(([id, count]) => detectionLine(detections, id, ` × ${count}`)),
  );
};

const sourcesText = (digest: Digest): string => {
  const lines = digest.sources.map(
    (source) =>
      `• ${sourceSegments(source)
        .map((item) => item.map(slackSegment).join(''))
        .join(' · ')} × ${source.count}`,
  );
  return fitLines('*Sources and clients*', lines, {
    hidden: digest.moreSources?.sources ?? 0,
    more: (count) => `+${plural(count, 'more source')} (${plural(eventsNotShown(digest, count), 'event')})`,
  });
};

/** "*Expected*" and a line per window, then "+7 events in 2 more windows"; undefined when none was expected. */
const expectedText = (digest: Digest): string | undefined => {
  const { expected } = digest;
  if (expected === undefined) return undefined;
  const lines = expected.windows.map((window) => `• ${windowSegments(digest, window).map(slackSegment).join('')}`);
  const more = expected.moreWindows;
  return fitLines('*Expected*', lines, {
    hidden: more?.windows ?? 0,
    // Lines cut for room are counted as windows only: their events are in the JSON document.
    more: (count) =>
      more !== undefined && count === more.windows ? `+${moreWindowsText(more)}` : `+${plural(count, 'more window')}`,
  });
};

const mrkdwnSection = (text: string): BlockOf<'section'> => ({
  type: 'section',
  text: { type: 'mrkdwn', text, verbatim: true },
});

/**
 * The Slack message for a digest: a header ("🔁 HIGH · 998 more root events in … (16:24:34–16:29:10 UTC)"), the
 * facts (account, who, events, severity, when, region, session), when some events were inside break-glass windows a
 * line per window ("12 of these events were inside expected window `w-0a1b2c3d` (reason `CHG-123 …`), declared by
 * …, until 18:00 UTC"), the top ten event names with counts, the detections with counts, the sources and clients, the
 * digest id, and a button to the CloudTrail event history. Eight blocks at most; every section within Slack's 3,000
 * characters however many event names, sources or detections the digest has (the rest is counted: "+590 more event
 * names").
 *
 * @example
 * import { loadDetections } from '../../io/detections.js';
 * import type { Digest } from '../digest-document.js';
 *
 * declare const digest: Digest;
 * renderDigestSlack(digest, loadDetections()).blocks[0]; // { type: 'header', text: { type: 'plain_text', text: '🔁 HIGH · 998 more root events in …' } }
 */
const renderDigestSlack = (digest: Digest, detections: readonly Detection[]): SlackMessage => {
  const header: BlockOf<'header'> = { type: 'header', text: { type: 'plain_text', text: headerText(digest) } };
  const facts: BlockOf<'section'> = {
    type: 'section',
    fields: digestFactsOf(digest).slice(0, SLACK_LIMITS.fields).map(slackField),
  };
  const context: BlockOf<'context'> = {
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `Digest ${slackCode(digest.digestID, 100)} · ${digest.count === 1 ? 'its event ID is' : `its ${digest.count} event IDs are`} in the digest document (JSON)`,
        verbatim: true,
      },
    ],
  };
  const button = linkButton('Open event history', 'open-cloudtrail', digest.links.cloudtrail);
  const expected = expectedText(digest);
  const blocks: Block[] = [
    header,
    facts,
    ...(expected === undefined ? [] : [mrkdwnSection(expected)]),
    mrkdwnSection(eventNamesText(digest)),
    mrkdwnSection(detectionsText(digest, detections)),
    mrkdwnSection(sourcesText(digest)),
    context,
    ...(button === undefined ? [] : [{ type: 'actions', elements: [button] } satisfies BlockOf<'actions'>]),
  ];
  return { text: `🔁 ${digest.severity.toUpperCase()}: ${slackText(digest.title, 300)}`, blocks };
};

// ── E-mail ─────────────────────────────────────────────────────────────────────────────────────────

const DIGEST_JSON_NOTE =
  'The full digest document (JSON, with every eventID) goes to the JSON subscribers of this topic (email-json, SQS, HTTPS, Lambda).';

/**
 * The plain-text e-mail for a digest. Subject `[HIGH] digest: 998 root events - prod-payments (111122223333)`
 * (≤ 99 printable ASCII characters, as SNS requires); the body gives the facts one per line, when some events were
 * inside break-glass windows a line per window (`- 12 of these events were inside expected window "w-0a1b2c3d" (reason
 * "CHG-123 …"), declared by "arn:…", until 18:00 UTC`), the top 50 event names with counts, every detection with its
 * count, the sources and clients, and the event history link. Values are quoted and cleaned to one line, as in an
 * alert's e-mail.
 *
 * @example
 * import { loadDetections } from '../../io/detections.js';
 * import type { Digest } from '../digest-document.js';
 *
 * declare const digest: Digest;
 * renderDigestEmail(digest, loadDetections()).subject; // "[HIGH] digest: 998 root events - prod-payments (111122223333)"
 */
const renderDigestEmail = (digest: Digest, detections: readonly Detection[]): Email => {
  const names = sortedCounts(digest.eventNames);
  const shownNames = names.slice(0, EMAIL_TOP_EVENT_NAMES);
  const sources = digest.sources.map(
    (source) =>
      `- ${sourceSegments(source)
        .map((item) => item.map(emailSegment).join(''))
        .join(', ')}: ${source.count}`,
  );
  const href = httpsUrl(digest.links.cloudtrail);
  const body = [
    fitValue(digest.title, MAX_VALUE),
    '',
    ...digestFactsOf(digest).map(emailLine),
    `Digest ID: ${emailValue(digest.digestID)}`,
    '',
    ...(digest.expected
      ? [
          'Expected:',
          ...digest.expected.windows.map((window) => `- ${windowSegments(digest, window).map(emailSegment).join('')}`),
          ...(digest.expected.moreWindows ? [`- and ${moreWindowsText(digest.expected.moreWindows)}`] : []),
          '',
        ]
      : []),
    `Events by name (${names.length}):`,
    ...shownNames.map(([name, count]) => `- ${emailValue(name)}: ${count}`),
    ...(names.length > shownNames.length
      ? [`- and ${plural(names.length - shownNames.length, 'more event name')}`]
      : []),
    '',
    Object.keys(digest.detections).length === 1 ? 'Detection:' : 'Detections:',
    ...sortedCounts(digest.detections).map(([id, count]) => {
      const title = detectionById(detections, id)?.title;
      return `- ${title ? `${cleanLine(title)} ` : ''}(${fitValue(id, 120)}): ${count}`;
    }),
    '',
    'Sources and clients:',
    ...sources,
    ...(digest.moreSources
      ? [`- and ${plural(digest.moreSources.sources, 'more source')} (${plural(digest.moreSources.count, 'event')})`]
      : []),
    ...(href ? ['', 'Links:', `CloudTrail event history: ${href}`] : []),
    '',
    DIGEST_JSON_NOTE,
    '',
  ].join('\n');
  const subject = subjectWithAccount(
    `[${digest.severity.toUpperCase()}] digest: ${plural(digest.count, eventNounOf(digest.actor.type))} - `,
    digest.account,
  );
  return { subject, body };
};

// ── SNS ────────────────────────────────────────────────────────────────────────────────────────────

/**
 * `document: digest`: what tells a digest from an alert (which has no `document` attribute) in filter policies. Not
 * `kind`: only heartbeats carry `kind`, and the e-mail subscriptions keep them out with `"kind": [{"exists": false}]`
 * (resources/parameters.cjs), which digests must pass.
 */
const DIGEST_KIND = { DataType: 'String', StringValue: 'digest' } as const;

/** Counts keyed by names cut to `max` characters; names that become equal add up. */
const shrinkKeys = (counts: Record<string, number>, max: number): Record<string, number> => {
  const shrunk = new Map<string, number>();
  for (const [name, count] of Object.entries(counts)) {
    const key = shrinkStrings(name, max) as string;
    shrunk.set(key, (shrunk.get(key) ?? 0) + count);
  }
  return Object.fromEntries(sortedCounts(shrunk));
};

/** The digest with every string but the eventIDs cut to `max` characters, and a note saying so. */
const shrinkDigest = (digest: Digest, max: number, why: string): Digest => {
  const { eventIDs, eventNames, detections, ...rest } = digest;
  return {
    ...(shrinkStrings(rest, max) as typeof rest),
    eventNames: shrinkKeys(eventNames, max),
    detections: shrinkKeys(detections, max),
    eventIDs,
    truncated: { reason: `Values cut to ${max} characters (eventIDs and counts are whole): ${why}.` },
  };
};

/**
 * The SNS publish input for a digest, the shape renderSnsMessage gives an alert: the e-mail for `email`
 * subscribers, the digest document for every other protocol, and the attributes `document: digest`, `severity`,
 * `detection` (every detection id in the digest) and `account`. Should the message reach SNS's 256 KB (crafted
 * replay input: huge event names), strings other than eventIDs are cut to 1,024 characters, then 128.
 *
 * @throws AlertTooLargeError naming the digestID when even that does not fit (eventIDs of crafted length).
 * @example
 * import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
 * import { loadDetections } from '../../io/detections.js';
 * import type { Digest } from '../digest-document.js';
 *
 * declare const digest: Digest;
 * const message = renderDigestSns(digest, loadDetections());
 * await new SNSClient({}).send(new PublishCommand({ TopicArn: process.env.ALERT_TOPIC_ARN, ...message }));
 */
const renderDigestSns = (
  digest: Digest,
  detections: readonly Detection[],
  options: SnsRenderOptions = {},
): SnsMessage =>
  renderSnsDocument({
    document: digest,
    email: renderDigestEmail(digest, detections),
    attributes: {
      document: DIGEST_KIND,
      ...attributesOf({ ...digest, detections: Object.keys(digest.detections) }),
    },
    id: digest.digestID,
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    fallbacks: [(why) => shrinkDigest(digest, 1024, why), (why) => shrinkDigest(digest, 128, why)],
  });

export { renderDigestEmail, renderDigestSlack, renderDigestSns };
