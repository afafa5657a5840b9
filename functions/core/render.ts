import { Buffer } from 'node:buffer';
import type { IncomingWebhookSendArguments } from '@slack/webhook';
import { AlerterError } from '../errors.js';
import type { Alert } from './alert-document.js';
import type { Detection } from './detection.js';
import type { Severity } from './severity.js';

/*
 * Three renderings of one alert document: a Slack Block Kit message, a plain-text e-mail, and the SNS
 * publish input that carries the e-mail and the JSON document side by side.
 *
 * Everything that came from the event is data, never markup: an attacker who can make a CloudTrail
 * record (a user agent, a request parameter, an error message, a user or account name — and in a
 * replayed log file, any field at all) must not be able to ping @channel, plant a link, fake a line of
 * the e-mail or blow Slack's size limits. Catalog text (detection titles, descriptions, runbooks) is
 * reviewed data, but it goes through the same escaping: it costs nothing.
 */

/** `@slack/webhook` re-exports the block union of `@slack/types` through its send arguments only. */
type Block = NonNullable<IncomingWebhookSendArguments['blocks']>[number];
type BlockOf<T extends string> = Extract<Block, { type: T }>;

interface SlackMessage {
  /** Fallback for notifications and screen readers: one line, severity and title. */
  text: string;
  blocks: Block[];
}

interface Email {
  subject: string;
  body: string;
}

interface SnsMessageAttribute {
  DataType: 'String' | 'String.Array';
  StringValue: string;
}

/** The PublishCommand input for the alerts topic, without TopicArn. */
interface SnsMessage {
  Subject: string;
  Message: string;
  MessageStructure: 'json';
  MessageAttributes: Record<string, SnsMessageAttribute>;
}

/** Stands in for `record` in the JSON copies when the full SNS message would be too big. */
interface TruncatedRecord {
  truncated: true;
  eventID: string;
  reason: string;
}

interface SnsRenderOptions {
  /** The SNS limit for message plus attributes; lower it in tests only. */
  maxBytes?: number;
}

// Slack's documented Block Kit limits (docs.slack.dev/reference/block-kit).
const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  field: 2000,
  fields: 10,
  header: 150,
  buttonText: 75,
  buttonUrl: 3000,
} as const;

/** Visible length of one untrusted value: enough for an ARN or a user agent, small enough for 8 in a field. */
const MAX_VALUE = 300;
/** SNS: "maximum message size is 256 KB", message body and attributes together. */
const SNS_MAX_BYTES = 262_144;
/** SNS e-mail subjects: ASCII, no line breaks, fewer than 100 characters. */
const MAX_SUBJECT = 99;

const SEVERITY_EMOJI: Readonly<Record<Severity, string>> = {
  critical: '🔴',
  high: '🟠',
  medium: '🟡',
  low: '🔵',
  info: '⚪',
};

// ── Cleaning: one line of readable text, whatever came in ─────────────────────────────────────────

const ELLIPSIS = '…';
/** Where a value had a line break: visible, so nobody mistakes two lines for one, but on one line. */
const NEWLINE_MARK = ' ⏎ ';
/** Invisible; placed after "@" so "@channel" cannot notify, after "://" and between domain labels so nothing links. */
const WORD_JOINER = '\u2060';
const ZERO_WIDTH_JOINER = '\u200D';

/** Bidi overrides and isolates (U+202A–U+202E, U+2066–U+2069) and marks: they reorder what the reader sees. */
const isBidiControl = (code: number): boolean =>
  (code >= 0x202a && code <= 0x202e) ||
  (code >= 0x2066 && code <= 0x2069) ||
  code === 0x200e ||
  code === 0x200f ||
  code === 0x061c;

const isLineBreak = (code: number): boolean =>
  code === 0x0a || code === 0x0d || code === 0x85 || code === 0x2028 || code === 0x2029;

/**
 * One line, no control characters, no bidi tricks, no lone surrogates (Slack and SNS reject invalid
 * UTF-16). Cyrillic, CJK, emoji and right-to-left letters pass through untouched.
 */
const cleanLine = (value: string): string => {
  let out = '';
  let previous = 0;
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    const crlf = code === 0x0a && previous === 0x0d; // one line break, one mark
    previous = code;
    if (crlf || isBidiControl(code)) continue;
    if (isLineBreak(code)) out += NEWLINE_MARK;
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) out += ' ';
    else if (code >= 0xd800 && code <= 0xdfff)
      out += '\uFFFD'; // a lone surrogate: for..of yields pairs whole
    else out += char;
  }
  return out;
};

/** "@channel", "@here", "@everyone": broken by an invisible joiner, so no client turns them into a broadcast. */
const neutraliseMentions = (value: string): string =>
  value.replace(/@(?=(?:channel|here|everyone)\b)/giu, `@${ZERO_WIDTH_JOINER}`);

/** Bare URLs and domains outside code spans: "https://evil.example" → "https:⁠//evil.⁠example", unlinkable. */
const defangLinks = (value: string): string =>
  value.replace(/:\/\//gu, `:${WORD_JOINER}//`).replace(/(?<=[\p{L}\p{N}])\.(?=[\p{L}\p{N}])/gu, `.${WORD_JOINER}`);

const identity = <T>(value: T): T => value;

/**
 * At most `max` UTF-16 units of output after `escape`, cut at a character boundary with "…". Counting
 * escaped output (not input) is what keeps a field of `&&&…` inside Slack's limits; never splits an
 * entity or a surrogate pair. `truncated`: the input was already shortened, so end with "…" anyway.
 */
const clip = (
  value: string,
  max: number,
  escapeChar: (char: string) => string = identity,
  truncated = false,
): string => {
  let out = '';
  let cut = 0;
  for (const char of value) {
    const piece = escapeChar(char);
    if (out.length + piece.length > max) return `${out.slice(0, cut).trimEnd()}${ELLIPSIS}`;
    out += piece;
    if (out.length < max) cut = out.length;
  }
  if (!truncated) return out;
  return `${(out.length < max ? out : out.slice(0, cut)).trimEnd()}${ELLIPSIS}`;
};

/**
 * One untrusted value made fit to show: cleaned to one line, prepared (mentions, links…), escaped and
 * cut to `max`. A 100 KB value is sliced first: every character that survives cleaning yields at least
 * one character of output, so twice `max` (plus slack for stripped controls) is all that can show.
 */
const fitValue = (
  value: string,
  max: number,
  options: { prepare?: (text: string) => string; escape?: (char: string) => string; keepSpaces?: boolean } = {},
): string => {
  const bound = 2 * max + 16;
  const sliced = value.length > bound;
  const line = cleanLine(sliced ? value.slice(0, bound) : value);
  const text = (options.prepare ?? identity)(options.keepSpaces ? line : line.trim());
  return clip(text, max, options.escape, sliced);
};

// ── Slack mrkdwn ─────────────────────────────────────────────────────────────────────────────────

/** Slack's three control characters; the back-tick becomes a look-alike so no value can close a code span. */
const escapeCodeChar = (char: string): string => {
  if (char === '&') return '&amp;';
  if (char === '<') return '&lt;';
  if (char === '>') return '&gt;';
  if (char === '`') return 'ˋ';
  return char;
};

/** Outside code spans, formatting characters become look-alikes too: `*bold*` and `~strike~` stay literal. */
const escapeTextChar = (char: string): string => {
  if (char === '*') return '∗';
  if (char === '~') return '∼';
  return escapeCodeChar(char);
};

/** Underscores italicise only at word edges; keep them inside names ("prod_payments") and replace the rest. */
const neutraliseUnderscores = (value: string): string => value.replace(/(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu, 'ˍ');

/**
 * An untrusted value as inline code: no formatting, no mentions and no links apply inside it, and its
 * look is "this is data". Empty values never reach here.
 */
const slackCode = (value: string, max = MAX_VALUE): string =>
  `\`${fitValue(value, max - 2, { prepare: neutraliseMentions, escape: escapeCodeChar })}\``;

/** Text outside code spans (catalog titles, the fallback line): escaped, formatting and links neutralised. */
const slackText = (value: string, max: number): string =>
  fitValue(value, max, {
    prepare: (text) => defangLinks(neutraliseUnderscores(neutraliseMentions(text))),
    escape: escapeTextChar,
  });

/**
 * plain_text is never parsed as mrkdwn, but `<`, `>` and back-ticks become look-alikes anyway: the same
 * text also reaches notifications and clients that do their own parsing.
 */
const escapePlainChar = (char: string): string => {
  if (char === '<') return '‹';
  if (char === '>') return '›';
  if (char === '`') return 'ˋ';
  return char;
};

const slackPlain = (value: string, max: number): string =>
  fitValue(value, max, { prepare: (text) => defangLinks(neutraliseMentions(text)), escape: escapePlainChar });

// ── The facts: one model, rendered for Slack and for e-mail ─────────────────────────────────────────

/** A piece of a fact: words we wrote, a value from the event (untrusted), or our words in emphasis. */
type Segment = string | { value: string } | { strong: string };
interface Fact {
  label: string;
  /** Rendered joined by " · " in Slack and ", " in e-mail. */
  items: Segment[][];
}

const present = (value: string | undefined | null): value is string =>
  typeof value === 'string' && value.trim().length > 0;

const accountLabelOf = (account: Alert['account']): string => {
  const name = account.name ?? account.alias;
  return present(name) ? `${name} (${account.id})` : account.id;
};

/** Request parameters as compact JSON (what bucket, which user, which trail); none when absent or null. */
const requestOf = (alert: Alert): string | undefined => {
  const parameters = (alert.record as Record<string, unknown>).requestParameters;
  if (parameters === undefined || parameters === null) return undefined;
  return typeof parameters === 'string' ? parameters : JSON.stringify(parameters);
};

/** What a non-address sourceIPAddress means, for the reader. */
const HOST_KINDS: Readonly<Record<string, string>> = {
  'aws-service': ' (an AWS service)',
  'aws-internal': ' (inside AWS)',
};

const factsOf = (alert: Alert): Fact[] => {
  const { actor, source, outcome } = alert;
  const who: Segment[][] = [[present(actor.type) ? { value: actor.type } : 'unknown']];
  const principal = actor.arn ?? actor.userName;
  if (present(principal)) who.push([{ value: principal }]);
  if (actor.credential) who.push([`credential: ${actor.credential}`]);
  if (present(actor.invokedBy)) who.push(['invoked by ', { value: actor.invokedBy }]);

  const network = [source.asn === undefined ? '' : `AS${source.asn}`, source.org ?? ''].join(' ').trim();
  const where: Segment[][] = [
    ...(present(source.ip) ? [['IP ', { value: source.ip }]] : []),
    ...(present(source.host) ? [[{ value: source.host }, HOST_KINDS[source.kind ?? ''] ?? '']] : []),
    ...(present(source.country) ? [['country ', { value: source.country }]] : []),
    ...(present(network) ? [['network ', { value: network }]] : []),
    ...(present(source.client) ? [['client ', { value: source.client }]] : []),
  ];

  const result: Segment[][] =
    outcome.result === 'success'
      ? [['success']]
      : [
          [{ strong: 'failure' }],
          ...(present(outcome.errorCode) ? [[{ value: outcome.errorCode }]] : []),
          ...(present(outcome.errorMessage) ? [[{ value: outcome.errorMessage }]] : []),
        ];

  const request = requestOf(alert);
  return [
    { label: 'What', items: [[{ value: alert.eventName }, ' on ', { value: alert.eventSource }]] },
    { label: 'Account', items: [[{ value: accountLabelOf(alert.account) }]] },
    { label: 'Who', items: who },
    { label: 'From where', items: where.length > 0 ? where : [['unknown']] },
    { label: 'MFA', items: [[actor.mfa === undefined ? 'unknown' : actor.mfa ? 'yes' : { strong: 'NO' }]] },
    { label: 'Outcome', items: result },
    ...(present(request) ? [{ label: 'Request', items: [[{ value: request }]] }] : []),
    ...(present(source.userAgent) ? [{ label: 'User agent', items: [[{ value: source.userAgent }]] }] : []),
  ];
};

const detectionById = (detections: readonly Detection[], id: string): Detection | undefined =>
  detections.find((detection) => detection.id === id);

// ── Slack ──────────────────────────────────────────────────────────────────────────────────────────

const slackSegment = (segment: Segment): string => {
  // Our own words between values (" on ", "IP "): their spaces are layout.
  if (typeof segment === 'string') return fitValue(segment, MAX_VALUE, { escape: escapeTextChar, keepSpaces: true });
  if ('value' in segment) return slackCode(segment.value);
  return `*${slackText(segment.strong, MAX_VALUE)}*`;
};

/**
 * "*Label*\nitem · item": at most 8 items of ≤ 300 characters each, well inside a field's 2,000. Should
 * a fact ever grow past that, whole items are dropped from the end: cutting the text could split a
 * code span or an entity.
 */
const slackField = (fact: Fact) => {
  const items = fact.items.map((item) => item.map(slackSegment).join(''));
  const textOf = (count: number) =>
    `*${fact.label}*\n${[...items.slice(0, count), ...(count < items.length ? [ELLIPSIS] : [])].join(' · ')}`;
  let count = items.length;
  while (count > 1 && textOf(count).length > SLACK_LIMITS.field) count -= 1;
  // verbatim: Slack does no auto-linking or mention parsing of its own on top of our escaping.
  return { type: 'mrkdwn' as const, text: textOf(count), verbatim: true };
};

const detectionsText = (alert: Alert, detections: readonly Detection[]): string => {
  const heading = alert.detections.length === 1 ? '*Detection*' : '*Detections*';
  const lines = alert.detections.map((id) => {
    const title = detectionById(detections, id)?.title;
    const reason = alert.reasons?.[id];
    return [
      '• ',
      title ? `*${slackText(title, 150)}* ` : '',
      slackCode(id, 120),
      reason ? ` — ${slackText(reason, 200)}` : '',
    ].join('');
  });
  // Whole lines only, and room for the "and N more" line: a section holds 3,000 characters.
  const kept: string[] = [];
  let length = heading.length;
  for (const [i, line] of lines.entries()) {
    const more = lines.length - i - 1;
    const reserve = more > 0 ? 40 : 0;
    if (length + 1 + line.length + reserve > SLACK_LIMITS.sectionText) {
      kept.push(`…and ${lines.length - i} more`);
      break;
    }
    kept.push(line);
    length += 1 + line.length;
  }
  return [heading, ...kept].join('\n');
};

/** The link if it is an https URL within Slack's URL limit; undefined for anything else (javascript:, http:, garbage). */
const httpsUrl = (url: string): string | undefined => {
  let href: string;
  try {
    href = new URL(url).href;
  } catch {
    return undefined;
  }
  return href.startsWith('https://') && href.length <= SLACK_LIMITS.buttonUrl ? href : undefined;
};

const linkButton = (text: string, actionId: string, url: string) => {
  const href = httpsUrl(url);
  return href === undefined
    ? undefined
    : { type: 'button' as const, text: { type: 'plain_text' as const, text }, url: href, action_id: actionId };
};

const orUnknown = (value: string, max: number): string => (present(value) ? slackCode(value, max) : 'unknown');

const severityLine = (alert: Alert): string => `${SEVERITY_EMOJI[alert.severity]} ${alert.severity.toUpperCase()}`;

/**
 * The Slack message for an alert, readable on a phone: header with severity and title, the facts as
 * fields, the detections, when/where/which event, and buttons to CloudTrail and the runbook.
 *
 * @example
 * const message = renderSlackMessage(alert, loadDetections());
 * await new IncomingWebhook(url).send(message);
 */
const renderSlackMessage = (alert: Alert, detections: readonly Detection[]): SlackMessage => {
  const severity = severityLine(alert);
  const header: BlockOf<'header'> = {
    type: 'header',
    text: {
      type: 'plain_text',
      text: `${severity} · ${slackPlain(alert.title, SLACK_LIMITS.header - severity.length - 3)}`,
    },
  };
  const facts: BlockOf<'section'> = {
    type: 'section',
    fields: factsOf(alert).slice(0, SLACK_LIMITS.fields).map(slackField),
  };
  const matched: BlockOf<'section'> = {
    type: 'section',
    text: { type: 'mrkdwn', text: detectionsText(alert, detections), verbatim: true },
  };
  const context: BlockOf<'context'> = {
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: [
          `When ${orUnknown(alert.eventTime, 100)}`,
          `Region ${orUnknown(alert.region, 100)}`,
          `Event ID ${orUnknown(alert.eventID, 200)}`,
        ].join(' · '),
        verbatim: true,
      },
    ],
  };
  // action_ids must be unique within the message; fixed ids also let an app tell the buttons apart.
  const buttons = [
    linkButton('Open in CloudTrail', 'open-cloudtrail', alert.links.cloudtrail),
    linkButton('Runbook', 'open-runbook', alert.links.runbook),
  ].filter((button) => button !== undefined);
  const blocks: Block[] = [header, facts, matched, context];
  if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons } satisfies BlockOf<'actions'>);
  return { text: `${severity}: ${slackText(alert.title, 300)}`, blocks };
};

// ── E-mail ─────────────────────────────────────────────────────────────────────────────────────────

/** Values are quoted; a quote or backslash inside is escaped, so where a value ends is never in doubt. */
const escapeQuotedChar = (char: string): string => (char === '"' || char === '\\' ? `\\${char}` : char);

const emailValue = (value: string): string => `"${fitValue(value, MAX_VALUE, { escape: escapeQuotedChar })}"`;

const emailSegment = (segment: Segment): string => {
  if (typeof segment === 'string') return cleanLine(segment);
  if ('value' in segment) return emailValue(segment.value);
  return cleanLine(segment.strong);
};

const emailLine = (fact: Fact): string =>
  `${fact.label}: ${fact.items.map((item) => item.map(emailSegment).join('')).join(', ')}`;

/**
 * Printable ASCII only: accents dropped ("é" → "e"), other letters become "?", control characters and
 * whitespace runs a single space. SNS rejects anything else in a subject.
 */
const toAscii = (value: string): string =>
  value
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[\s\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ')
    .replace(/[^\x20-\x7e]+/gu, '?')
    .replace(/ {2,}/g, ' ')
    .trim();

const clipAscii = (value: string, max: number): string =>
  value.length <= max ? value : `${value.slice(0, Math.max(0, max - 3)).trimEnd()}...`;

/** "[CRITICAL] root-console-sign-in - prod-payments (111122223333)", ≤ 99 printable ASCII characters. */
const subjectOf = (alert: Alert): string => {
  const others = alert.detections.length - 1;
  const detection = clipAscii(toAscii(alert.detections[0] ?? '') || 'alert', 50);
  const prefix = `[${alert.severity.toUpperCase()}] ${detection}${others > 0 ? ` +${others}` : ''} - `;
  const id = toAscii(alert.account.id) || 'unknown';
  const name = toAscii(alert.account.name ?? alert.account.alias ?? '');
  const suffix = name ? ` (${clipAscii(id, 20)})` : clipAscii(id, 40);
  const room = MAX_SUBJECT - prefix.length - suffix.length;
  const subject = name ? `${prefix}${clipAscii(name, Math.max(room, 0))}${suffix}` : `${prefix}${suffix}`;
  // The prefix starts with "[": SNS wants a subject to begin with a letter, number or punctuation.
  return clipAscii(subject.replace(/ {2,}/g, ' ').trim(), MAX_SUBJECT);
};

const JSON_NOTE =
  'The full alert document (JSON, with the CloudTrail record) goes to the JSON subscribers of this topic (email-json, SQS, HTTPS, Lambda).';

/** The IP databases are CC BY 4.0: where their country or network appears, credit them. */
const IP_DATA_NOTE =
  'IP data: NRO, RouteViews and DB-IP.com (https://db-ip.com), CC BY 4.0, packaged by ip-location-db.';
const hasIpData = (alert: Alert): boolean =>
  alert.source.country !== undefined || alert.source.asn !== undefined || alert.source.org !== undefined;

/** Catalog text on one line each: descriptions are folded YAML; runbooks keep their numbered lines. */
const catalogLines = (text: string): string[] =>
  text
    .split('\n')
    .map((line) => cleanLine(line).trim())
    .filter((line) => line.length > 0);

/**
 * The plain-text e-mail for the distribution group: subject (severity, detection, account), the facts
 * one "Label: value" per line, the detections, what to do, and the links.
 *
 * @example
 * const { subject, body } = renderEmail(alert, loadDetections());
 * // subject: "[CRITICAL] root-console-sign-in - prod-payments (111122223333)"
 */
const renderEmail = (alert: Alert, detections: readonly Detection[]): Email => {
  const primary = alert.detections[0] === undefined ? undefined : detectionById(detections, alert.detections[0]);
  const facts = factsOf(alert).map(emailLine);
  const listed = alert.detections.flatMap((id) => {
    const detection = detectionById(detections, id);
    const reason = alert.reasons?.[id];
    const head = `- ${detection ? `${cleanLine(detection.title)} ` : ''}(${fitValue(id, 120)})`;
    return [
      reason ? `${head}: ${fitValue(reason, MAX_VALUE)}` : head,
      ...(detection ? catalogLines(detection.description).map((line) => `  ${line}`) : []),
    ];
  });
  const links = [
    ['CloudTrail', alert.links.cloudtrail],
    ['Runbook', alert.links.runbook],
  ].flatMap(([label, url]) => {
    const href = httpsUrl(url ?? '');
    return href ? [`${label}: ${href}`] : [];
  });
  const body = [
    fitValue(alert.title, MAX_VALUE),
    '',
    `Severity: ${alert.severity.toUpperCase()}`,
    ...facts,
    `When: ${present(alert.eventTime) ? emailValue(alert.eventTime) : 'unknown'}`,
    `Region: ${present(alert.region) ? emailValue(alert.region) : 'unknown'}`,
    `Event ID: ${present(alert.eventID) ? emailValue(alert.eventID) : 'unknown'}`,
    '',
    alert.detections.length === 1 ? 'Detection:' : 'Detections:',
    ...listed,
    '',
    'What to do:',
    ...(primary ? catalogLines(primary.runbook) : ['Follow the runbook linked below.']),
    ...(links.length > 0 ? ['', 'Links:', ...links] : []),
    '',
    JSON_NOTE,
    ...(hasIpData(alert) ? [IP_DATA_NOTE] : []),
    '',
  ].join('\n');
  return { subject: subjectOf(alert), body };
};

// ── SNS ────────────────────────────────────────────────────────────────────────────────────────────

/** Every string longer than `max` cut to `max` characters with "…"; a last resort for crafted input. */
const shrinkStrings = (value: unknown, max: number): unknown => {
  if (typeof value === 'string') return value.length > max ? clip(value, max) : value;
  if (Array.isArray(value)) return value.map((item) => shrinkStrings(item, max));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, shrinkStrings(item, max)]));
  }
  return value;
};

const withoutRecord = (alert: Alert, reason: string): Omit<Alert, 'record'> & { record: TruncatedRecord } => ({
  ...alert,
  record: { truncated: true, eventID: alert.eventID, reason },
});

const attributesOf = (alert: Alert): Record<string, SnsMessageAttribute> => ({
  severity: { DataType: 'String', StringValue: alert.severity },
  // Filter policies match String.Array attributes element by element: one id per element.
  detection: {
    DataType: 'String.Array',
    StringValue: JSON.stringify(alert.detections.map((id) => fitValue(id, 256))),
  },
  account: { DataType: 'String', StringValue: fitValue(alert.account.id, 256) || 'unknown' },
});

/** Bytes SNS counts against its limit: the message and every attribute's name, type and value (and, to be safe, the subject). */
const snsSize = (message: SnsMessage): number =>
  Buffer.byteLength(message.Message) +
  Buffer.byteLength(message.Subject) +
  Object.entries(message.MessageAttributes).reduce(
    (sum, [name, attribute]) =>
      sum + Buffer.byteLength(name) + Buffer.byteLength(attribute.DataType) + Buffer.byteLength(attribute.StringValue),
    0,
  );

/** SNS MessageStructure json: one body per protocol; `default` serves any protocol not named. */
const snsMessageOf = (document: unknown, emailBody: string): string => {
  const json = JSON.stringify(document);
  return JSON.stringify({ default: json, email: emailBody, 'email-json': json, sqs: json, https: json, lambda: json });
};

/**
 * The SNS publish input: `MessageStructure: 'json'` gives each protocol its own body — the e-mail text
 * for `email`, the alert document for everything else — plus attributes for filter policies.
 *
 * The document is repeated for five protocols, so a large CloudTrail record (a big policy document in
 * requestParameters) can push the message past SNS's 256 KB. Then the copies carry a marker instead of
 * the record (it stays in CloudTrail, by eventID); if that is not enough (crafted replay input), long
 * strings are cut too. The result is always under `maxBytes`, or this throws.
 *
 * @example
 * await sns.send(new PublishCommand({ TopicArn, ...renderSnsMessage(alert, loadDetections()) }));
 */
const renderSnsMessage = (
  alert: Alert,
  detections: readonly Detection[],
  options: SnsRenderOptions = {},
): SnsMessage => {
  const maxBytes = options.maxBytes ?? SNS_MAX_BYTES;
  const email = renderEmail(alert, detections);
  const attributes = attributesOf(alert);
  const render = (document: unknown): SnsMessage => ({
    Subject: email.subject,
    Message: snsMessageOf(document, email.body),
    MessageStructure: 'json',
    MessageAttributes: attributes,
  });
  const full = render(alert);
  const fullSize = snsSize(full);
  if (fullSize < maxBytes) return full;
  const why = `the SNS message would have been ${fullSize} bytes, over the limit of ${maxBytes}; read the record in CloudTrail by eventID`;
  // Cheapest loss first; each step is computed only if the one before did not fit.
  const fallbacks = [
    () => withoutRecord(alert, `Record left out: ${why}.`),
    () => withoutRecord(shrinkStrings(alert, 1024) as Alert, `Record left out, values cut to 1024 characters: ${why}.`),
    () => withoutRecord(shrinkStrings(alert, 128) as Alert, `Record left out, values cut to 128 characters: ${why}.`),
  ];
  let size = fullSize;
  for (const fallback of fallbacks) {
    const message = render(fallback());
    size = snsSize(message);
    if (size < maxBytes) return message;
  }
  const eventId = fitValue(alert.eventID, 100);
  throw new AlerterError(`SNS message for ${eventId} is ${size} bytes even with values cut; limit ${maxBytes}`);
};

export type { Block, Email, SlackMessage, SnsMessage, SnsMessageAttribute, SnsRenderOptions, TruncatedRecord };
export { renderEmail, renderSlackMessage, renderSnsMessage, SLACK_LIMITS, SNS_MAX_BYTES };
